"""A reader's pure work done in worker processes, its results taken in the order it was given.

``validate``, ``convert`` and ``plan`` with ``--jobs`` above 1 lend the read their worker count
and their stop event (:func:`staging_workers`); a reader that reads in two passes does the pure
part of its first pass (parsing, routing, encoding: :mod:`importer.readers.parallel_staging`;
parsing mails: the mail reader) through :class:`OrderedWork`, and keeps in the main process what
needs the whole export (the staging store, the mail threads), in read order. Outside
:func:`staging_workers` (``--jobs 1``, a test) nothing is forked.

Nothing is lost to a worker: a piece a worker could not do (it died, the pool broke, the work
raised) comes back without a result, for the caller to do here, and so does every piece sent
after that was seen (those already in flight keep what their worker did). A stop (Ctrl-C)
is taken before each piece is sent and while waiting for one, within a tenth of a second: the
event is set by the signal handler :func:`~importer.commands.stopping.stops_setting` installs,
and KeyboardInterrupt raised here, where no lock of the pool is held.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Generic, TypeVar

from importer.readers.closing import Closing
from importer.worker_process import become_worker, can_fork, result_checking_stops

P = TypeVar("P")
R = TypeVar("R")

#: pieces sent ahead per worker: enough that none waits, few enough that memory stays flat
PIECES_AHEAD = 2


@dataclass(frozen=True)
class StagingWorkers:
    """How many processes may do a read's work, and the event a stop sets."""

    jobs: int
    stop: threading.Event


_workers: ContextVar[StagingWorkers | None] = ContextVar("staging_workers", default=None)


@contextmanager
def staging_workers(jobs: int, stop: threading.Event) -> Iterator[None]:
    """Within: readers do their pure work over ``jobs`` worker processes (1: in this process),
    and stop (KeyboardInterrupt) at their next check once ``stop`` is set."""
    token = _workers.set(StagingWorkers(jobs, stop))
    try:
        yield
    finally:
        _workers.reset(token)


def current_staging_workers() -> StagingWorkers | None:
    """The :func:`staging_workers` the read runs within, ``None`` outside any."""
    return _workers.get()


class OrderedWork(Closing, Generic[P, R]):
    """``work`` (a module-level function, or a partial of one: it is pickled) done on each piece
    in worker processes; :meth:`put` and :meth:`drain` give ``(piece, result)`` in the order
    the pieces were put, ``result`` ``None`` where no worker could do it (do it here)."""

    def __init__(self, work: Callable[[P], R], workers: StagingWorkers) -> None:
        self.work = work
        self.workers = workers
        self.broken = not can_fork()
        self._pool: ProcessPoolExecutor | None = None
        self._window: deque[tuple[P, Future[R] | None]] = deque()

    def put(self, piece: P) -> Iterator[tuple[P, R | None]]:
        """Send ``piece`` to a worker; the earliest pieces once enough are in flight."""
        self.check_stop()
        self._window.append((piece, self._submit(piece)))
        while len(self._window) > self.workers.jobs * PIECES_AHEAD:
            yield self._settle(*self._window.popleft())

    def drain(self) -> Iterator[tuple[P, R | None]]:
        """Every piece still in flight, in order (before anything done here, in between)."""
        while self._window:
            yield self._settle(*self._window.popleft())

    def check_stop(self) -> None:
        """Raise the stop a signal asked for."""
        if self.workers.stop.is_set():
            raise KeyboardInterrupt

    def _submit(self, piece: P) -> Future[R] | None:
        if self.broken:
            return None
        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers.jobs,
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=become_worker,
                    initargs=(os.getpid(),),
                )
            return self._pool.submit(self.work, piece)
        except Exception:  # the pool broke (a worker died): everything here from now on
            self.broken = True
            return None

    def _settle(self, piece: P, future: Future[R] | None) -> tuple[P, R | None]:
        if future is not None:
            try:
                return piece, result_checking_stops(future, self.check_stop)
            except Exception:  # the worker died, or the work failed there: done here
                self.broken = True
        self.check_stop()
        return piece, None

    def close(self) -> None:
        """Drop the pieces not started, wait for those running (one piece each), end the
        workers."""
        self._window.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
