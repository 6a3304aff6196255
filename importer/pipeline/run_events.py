"""What a run tells whoever watches it: a small set of typed events, and their hub.

Why: settling a conversation (:mod:`importer.pipeline.settlement`) should not know who shows
it. It publishes what happened; the terminal's :class:`~importer.progress.Progress` is one
listener (:class:`ProgressListener`), a status page can be another, a test a third.

Subscribing (the API other code relies on; it stays as it is)::

    from importer.pipeline.run_events import RunEvent, Settled, Pulse, PhaseChanged

    def listener(event: RunEvent) -> None:
        match event:
            case Settled(outcome="imported"): ...
            case Pulse(): ...             # every second: the figures of the moment
            case PhaseChanged(phase="ended", exit_code=code): ...

    await run_import(inputs, settings, listeners=[listener])   # importer.commands.run
    # or, holding the hub: unsubscribe = events.subscribe(listener); ...; unsubscribe()

Listeners are called synchronously, on the event loop's thread, in the order they subscribed;
they must be quick and must not block (copy the figures, serve them from elsewhere). What a
listener raises is logged and the listener is kept: a watcher's bug never stops a run, except a
full disk (:class:`~importer.errors.OutputWriteError`), which stops it as any output's does.

The events, in the order a run meets them:

- :class:`RunStarted`: the pool starts; ``total`` conversations to settle (None: not known).
- :class:`PhaseChanged`: ``sending`` → (``rate_limited`` ↔ ``sending``)* → ``stopping``? →
  ``ended`` (with the run's ``exit_code``).
- :class:`Settled`: one conversation counted, once, with its ``outcome``: ``imported``,
  ``already`` (every part existed before the run), ``invalid``, ``failed``, or ``in_doubt``
  (failed by what no code expected with a part whose request may have been sent, left in doubt
  for the rerun to look up; the report counts it failed). ``error`` is its report error entry.
- :class:`LeftOut`: report error entries of what an imported conversation goes without.
- :class:`Throttled`, :class:`Retried`: a 429 met, a request tried again (running totals).
- :class:`Pulse`: every second, what is happening now (parts in doubt, requests waiting on the
  rate limit, downloads retrying, conversations waiting for a download host) and the client's
  totals (requests, rate-limit units spent, throttled, retries).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from importer.errors import OutputWriteError
from importer.progress import Progress

log = logging.getLogger("importer.run")

Outcome = Literal["imported", "already", "invalid", "failed", "in_doubt"]
Phase = Literal["sending", "rate_limited", "stopping", "ended"]


@dataclass(frozen=True)
class RunStarted:
    """The workers start: ``total`` conversations to settle (None when not counted ahead)."""

    total: int | None


@dataclass(frozen=True)
class PhaseChanged:
    """The run moved to ``phase``; ``exit_code`` once it has ``ended``."""

    phase: Phase
    exit_code: int | None = None


@dataclass(frozen=True)
class Settled:
    """One conversation counted, once (see the module's docstring for ``outcome``)."""

    source_id: str | None
    outcome: Outcome
    #: its report error entry (``invalid``, ``failed``, ``in_doubt``), else None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class LeftOut:
    """Messages or files an imported conversation goes without: report error entries."""

    errors: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Throttled:
    """A 429 was met; ``total`` so far in this run."""

    total: int


@dataclass(frozen=True)
class Retried:
    """A request is tried again; ``total`` so far in this run (429s included)."""

    total: int


@dataclass(frozen=True)
class Pulse:
    """Every second: what is happening now, and the client's running totals."""

    in_doubt: int = 0
    rate_limited: int = 0
    downloads_retrying: int = 0
    downloads_waiting: int = 0
    requests: int = 0
    units: float = 0.0
    throttled: int = 0
    retries: int = 0


RunEvent = RunStarted | PhaseChanged | Settled | LeftOut | Throttled | Retried | Pulse
RunListener = Callable[[RunEvent], None]


class RunEvents:
    """The hub: :meth:`subscribe` listeners, :meth:`publish` events to every one of them."""

    def __init__(self, listeners: Sequence[RunListener] = ()) -> None:
        self._listeners: list[RunListener] = list(listeners)
        self.phase: Phase | None = None

    @property
    def listened(self) -> bool:
        """Whether any listener is subscribed (the run then counts its total ahead)."""
        return bool(self._listeners)

    def subscribe(self, listener: RunListener) -> Callable[[], None]:
        """Call ``listener`` with every later event; returns the function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: RunEvent) -> None:
        """Give ``event`` to every listener (see the module's docstring for what they raise)."""
        if isinstance(event, PhaseChanged):
            if event.phase == self.phase and event.exit_code is None:
                return  # not a change
            self.phase = event.phase
        for listener in list(self._listeners):
            try:
                listener(event)
            except OutputWriteError:
                raise
            except Exception as exc:
                log.error("a run listener failed on %s: %r", type(event).__name__, exc)

    def phase_now(self, phase: Phase) -> None:
        """Publish :class:`PhaseChanged` when ``phase`` is not the current one (``ended`` is
        final: nothing moves the phase after it)."""
        if self.phase != "ended":
            self.publish(PhaseChanged(phase))


class ClientRetries:
    """Stands between the client and ``--log-json``: every event goes on to ``sink``; each
    ``request.retry`` is also told to the listeners, as :class:`Retried` (and :class:`Throttled`
    for a 429's)."""

    def __init__(self, hub: RunEvents, sink: Callable[[str, dict[str, Any]], None]) -> None:
        self.hub = hub
        self.sink = sink
        self.retries = 0
        self.throttled = 0

    def __call__(self, name: str, fields: dict[str, Any]) -> None:
        self.sink(name, fields)
        if name != "request.retry":
            return
        self.retries += 1
        if fields.get("code") == "throttled":
            self.throttled += 1
            self.hub.publish(Throttled(self.throttled))
        self.hub.publish(Retried(self.retries))


#: the terminal's word for each outcome (the bar's postfix and the log line)
PROGRESS_LABELS: dict[Outcome, str] = {
    "imported": "imported",
    "already": "already imported",
    "invalid": "invalid",
    "failed": "failed",
    "in_doubt": "failed",
}


class ProgressListener:
    """The terminal's progress as a listener: a conversation settled moves the bar on (with
    the 429s seen so far), a pulse draws what is happening now."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.throttled = 0

    def __call__(self, event: RunEvent) -> None:
        if isinstance(event, Throttled):
            self.throttled = event.total
        elif isinstance(event, Settled):
            self.progress.counts["throttled"] = self.throttled
            self.progress.update(PROGRESS_LABELS[event.outcome])
        elif isinstance(event, Pulse):
            self.throttled = max(self.throttled, event.throttled)
            self.progress.refresh()
