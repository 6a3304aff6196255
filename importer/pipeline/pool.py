"""The worker pool: a bounded queue read by ``size`` workers, each one item at a time.

The producer puts items with :meth:`WorkerPool.put`, which never waits on a queue nobody reads:
when every worker is gone it raises :class:`WorkersLostError`. :meth:`WorkerPool.finish` ends
the workers (one end mark each) and waits for them. What a worker does with an item, and with
whatever that raises, is the handler's: the pool only moves items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from importer.errors import WorkersLostError

T = TypeVar("T")


class WorkerPool(Generic[T]):
    """``size`` workers calling ``handle(item)`` for every item put."""

    def __init__(self, size: int, handle: Callable[[T], Awaitable[None]]) -> None:
        self.size = size
        self.handle = handle
        self.queue: asyncio.Queue[T | None] = asyncio.Queue(maxsize=size * 2)
        self.workers: list[asyncio.Task[None]] = []
        #: items put and not yet handled (queued, or in a worker's hands)
        self.unsettled = 0

    def start(self) -> list[asyncio.Task[None]]:
        self.workers = [
            asyncio.create_task(work(self.queue, self._handled)) for _ in range(self.size)
        ]
        return self.workers

    async def _handled(self, item: T) -> None:
        try:
            await self.handle(item)
        finally:
            self.unsettled -= 1

    @property
    def gone(self) -> bool:
        """Whether every worker has ended (or none was started)."""
        return all(worker.done() for worker in self.workers)

    async def put(self, item: T) -> None:
        """Queue ``item``, waiting for room while a worker is left to make it."""
        putting = asyncio.ensure_future(self.queue.put(item))
        self.unsettled += 1  # before a worker can take it
        try:
            while not putting.done():
                running = [worker for worker in self.workers if not worker.done()]
                if not running:
                    raise WorkersLostError(
                        f"every worker stopped ({self.why_gone()}); nothing more can be "
                        "imported in this run. The checkpoint is consistent: rerun the same "
                        "command to resume"
                    )
                await asyncio.wait([putting, *running], return_when=asyncio.FIRST_COMPLETED)
            putting.result()
        except BaseException:
            if not putting.done() or putting.cancelled() or putting.exception() is not None:
                self.unsettled -= 1
            raise
        finally:
            if not putting.done():
                putting.cancel()

    async def finish(self) -> None:
        """One end mark per worker still running, then wait for them all."""
        for _ in self.workers:
            while not self.gone:
                try:
                    self.queue.put_nowait(None)
                    break
                except asyncio.QueueFull:
                    await asyncio.sleep(0.05)  # workers are busy with a full queue
        await asyncio.gather(*self.workers, return_exceptions=True)

    def why_gone(self) -> str:
        """What ended the workers, for a message."""
        reasons = set()
        for task in self.workers:
            if not task.done():
                continue
            if task.cancelled():
                reasons.add("cancelled")
            elif (error := task.exception()) is not None:
                reasons.add(f"{type(error).__name__}: {error}")
            else:
                reasons.add("ended")
        return "; ".join(sorted(reasons))


async def work(queue: asyncio.Queue[T | None], handle: Callable[[T], Awaitable[None]]) -> None:
    """One worker: take items until an end mark."""
    while True:
        item = await queue.get()
        try:
            if item is None:
                return
            await handle(item)
        finally:
            queue.task_done()
