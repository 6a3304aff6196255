"""SIGINT and SIGTERM: every handler the importer installs is installed here (the sandbox's
server aside), so that what a stop does can be read in one place.

``importer run`` has one controller from the first await to the report:

- **Set-up** (token, mailbox, fields, agents: reads only): a signal sets the run's stop event
  and cancels the main task. Both, because a cancellation swallowed anywhere (a retry loop, a
  timeout wrapper, a library) must not lose the stop: the client sends nothing once the event is
  set, and the pool is never started after it.
- **Pool**: the first signal sets the stop event (no new work; requests in flight finish) and
  arms a grace timer: whatever is still running when it fires (a request that never answers)
  is cancelled, its part left in doubt for the rerun. A second signal cancels at once.
- **Ending** (report, checkpoint): signals are logged, not obeyed, so the report is written.

The handlers are the event loop's, installed explicitly for both signals: a SIGINT ignored by
the parent (a job started in the background by a shell inherits SIG_IGN) still stops the run.
Before the loop runs, :func:`signals_before_the_loop` makes both raise KeyboardInterrupt.

Planning over worker processes (``validate``/``convert --jobs``): while the pool runs a signal
only sets its stop event (:func:`stops_setting`), checked between results; each worker ignores
SIGINT and ends on SIGTERM (:func:`ignore_stops_in_worker`): the main process decides.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

log = logging.getLogger("importer.run")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: seconds past the request timeout that the workers get after a first signal
GRACE_MARGIN_S = 5.0


class Phase(StrEnum):
    SETUP = "setup"
    POOL = "pool"
    ENDING = "ending"


class StopController:
    """Owns the run's signal handlers; see the module's docstring for what a signal does."""

    def __init__(self, stop: asyncio.Event, *, grace_s: float) -> None:
        self.stop = stop
        self.grace_s = grace_s
        self.phase = Phase.SETUP
        self.signals = 0
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        self._pool: list[asyncio.Task[Any]] = []
        self._installed: list[signal.Signals] = []
        self._grace: asyncio.TimerHandle | None = None

    @property
    def interrupted(self) -> bool:
        """Whether a signal asked the run to stop."""
        return self.signals > 0

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            try:
                self._loop.add_signal_handler(signum, self._on_signal, signum)
                self._installed.append(signum)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread
                pass

    def start_pool(self, tasks: Sequence[asyncio.Task[Any]]) -> None:
        """The producer and the workers are running: signals now stop them gently."""
        self._pool = list(tasks)
        self.phase = Phase.POOL
        if self.signals:  # a signal between set-up and now: the pool stops before any work
            self.stop.set()

    def _on_signal(self, signum: signal.Signals) -> None:
        self.signals += 1
        if self.phase is Phase.SETUP:
            if self.signals == 1:
                log.warning("%s during set-up: stopping before anything is sent", signum.name)
            self.stop.set()
            if self._main is not None and not self._main.done():
                self._main.cancel()
            return
        if self.phase is Phase.ENDING:
            log.warning("%s: the run has already ended; writing its report", signum.name)
            return
        if self.signals == 1:
            log.warning(
                "%s: finishing the requests in flight, then stopping (again to stop at once)",
                signum.name,
            )
            self.stop.set()
            self._grace = self._loop.call_later(self.grace_s, self._cancel_pool, "grace")
            return
        self._cancel_pool(f"second {signum.name}")

    def _cancel_pool(self, why: str) -> None:
        running = [task for task in self._pool if not task.done()]
        if running:
            if why == "grace":
                log.warning(
                    "requests still running %.0fs after the stop: stopping now; requests in "
                    "flight stay in doubt",
                    self.grace_s,
                )
            else:
                log.warning("%s: stopping now; requests in flight stay in doubt", why)
        for task in running:
            task.cancel()

    def hand_over(self) -> None:
        """The pool has ended: from now on a signal is logged (the report is being written).

        Removing a loop handler restores the default (a SIGTERM kills, a SIGINT raises
        anywhere), so the signals are blocked while the handlers change and reach the new one.
        The command restores the previous handlers afterwards (``run`` in importer.cli).
        """
        self.phase = Phase.ENDING
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        signal.pthread_sigmask(signal.SIG_BLOCK, self._installed)
        try:
            for signum in self._installed:
                self._loop.remove_signal_handler(signum)
                signal.signal(signum, _signal_after_pool)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self._installed)
        self._installed = []


def _signal_after_pool(signum: int, frame: object) -> None:
    log.warning("%s: the run has already ended; writing its report", signal.Signals(signum).name)


@contextmanager
def signals_before_the_loop(*, exits_after: bool) -> Iterator[None]:
    """SIGINT and SIGTERM around a command, until its :class:`StopController` takes them over:
    both raise KeyboardInterrupt (nothing has been sent yet). Both explicitly: a SIGINT ignored
    by the parent (a job a shell started in the background inherits SIG_IGN) would otherwise be
    ignored during set-up, and the import would go ahead. At the end a process that
    ``exits_after`` the command blocks them (interpreter shutdown restores the default
    handlers, and a signal then would kill the process after the report was written; blocked,
    it is dropped at exit); an in-process caller gets its handlers back."""
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        if exits_after:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        else:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


@contextmanager
def stops_setting(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM (those not ignored) only set ``stop``, which the caller
    checks where it holds no lock: raised at any moment, a KeyboardInterrupt could leave a lock
    of a process pool held and the process hung on its way out. Outside the main thread, where
    handlers cannot be set, nothing changes. The previous handlers come back on the way out."""
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            handler = signal.getsignal(signum)
            if handler is not signal.SIG_IGN:
                previous[signum] = handler
                signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def ignore_stops_in_worker() -> None:
    """In a planning worker process: SIGINT is ignored (the main process decides when to stop)
    and SIGTERM ends it (the main process ends a worker with it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
