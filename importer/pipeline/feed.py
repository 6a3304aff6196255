"""The feed: planned conversations onto the engine's queue, one at a time, in source order.

The engine's only way in. A conversation to import is put on the queue (which is bounded: the
reader never runs far ahead of the workers); one that needs no worker (imported already, invalid,
or one the transform broke on) is settled at once, through the run's :class:`Settling`. A reader
that breaks down (raises instead of yielding a record) ends the reading, not the run: what was
read is imported, and the run says where the reading stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractContextManager, aclosing
from dataclasses import dataclass
from typing import Any, Protocol

from importer.errors import ImporterError
from importer.findings import Finding
from importer.outputs import staging_writes
from importer.pipeline.parts import EventSink, PartResult
from importer.planning.selection import AlreadyImported
from importer.tally import AlreadyDone, Planned
from importer.transform.plan import ConversationPlan, InvalidConversation


class Settling(Protocol):
    """What the feed needs of the run: conversations settled without a worker."""

    def settle_already_imported(self, plan: ConversationPlan | AlreadyDone) -> None: ...

    def settle_invalid(self, planned: InvalidConversation) -> None: ...

    def settle_failed(
        self, plan: Planned, part: int | None, result: PartResult, *, stage: str = ...
    ) -> None: ...

    def reading_failed(self, exc: Exception, last: str) -> None: ...


@dataclass
class Feed:
    """Puts planned conversations on the queue (``put``) until they end or ``stop`` is set."""

    settle: Settling
    put: Callable[[ConversationPlan], Awaitable[None]]
    #: whether the checkpoint holds a conversation as done (every part, every upload)
    done: Callable[[str], bool]
    stop: asyncio.Event
    emit: EventSink
    warn: Callable[[list[Finding]], None]

    async def feed(
        self,
        conversations: AsyncGenerator[Planned | AlreadyImported, None],
        *,
        counting: AbstractContextManager[Any],
    ) -> None:
        """Take every conversation, inside ``counting`` (the reading's counts; an error the
        reading raised leaves it at once). A full disk met while reading stops the run (exit 4),
        as any output's; any other error of the reader ends the reading only."""
        last = "the start of the export"
        with counting:
            try:
                with staging_writes():
                    async with aclosing(conversations):
                        async for planned in conversations:
                            if self.stop.is_set():
                                break
                            last = planned.location
                            await self._take(planned)
                            await asyncio.sleep(0)
            except (ImporterError, asyncio.CancelledError):
                raise
            except Exception as exc:
                self.settle.reading_failed(exc, last)

    async def _take(self, planned: Planned | AlreadyImported) -> None:
        if isinstance(planned, AlreadyImported):
            self.warn(list(planned.warnings))
            self.settle.settle_already_imported(planned)
        elif not isinstance(planned, ConversationPlan):
            self._settle_invalid(planned)
        elif self.done(planned.source_id):
            self.settle.settle_already_imported(planned)
        else:
            await self.put(planned)

    def _settle_invalid(self, planned: InvalidConversation) -> None:
        if planned.internal is None:
            self.settle.settle_invalid(planned)
            return
        # the transform broke on it: failed, not invalid
        self.emit(
            "conversation.crashed",
            {"source_id": planned.source_id, "error": planned.internal, "traceback": planned.trace},
        )
        self.settle.settle_failed(
            planned, None, PartResult(None, None, planned.internal, "internal"), stage="transform"
        )
