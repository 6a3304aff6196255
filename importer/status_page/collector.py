"""The figures of the live status page, gathered by listening to the run's events.

A :class:`StatusCollector` is one listener of :class:`importer.pipeline.run_events.RunEvents`
(beside the terminal's progress): it is called on the run's event loop, quickly, and keeps
only counters and the last errors, so :meth:`StatusCollector.snapshot` can be served at any
moment as ``/status.json`` with exactly the keys of the contract's "Watching a run".

What the events do not say is derived here: ``done`` is every conversation settled, ``eta_s``
the conversations left at the pace so far, ``units_per_minute`` the rate-limit units the
client spent in each minute since the workers started (from the running total each pulse
carries).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from importer.clock import SYSTEM_CLOCK, Clock
from importer.pipeline.run_events import (
    LeftOut,
    PhaseChanged,
    Pulse,
    Retried,
    RunEvent,
    RunStarted,
    Settled,
    Throttled,
)

#: the error entries the page keeps, newest first (as ``importer status`` shows 20)
ERRORS_KEPT = 20
#: the keys of ``/status.json`` (the contract's), ``exit_code`` only once the run has ended
STATUS_KEYS = (
    "phase", "exit_code", "done", "total", "imported", "failed", "in_doubt", "throttled",
    "retries", "eta_s", "units_per_minute", "last_errors", "downloads_waiting",
)  # fmt: skip


class StatusCollector:
    """Listens to one run and keeps what its status page shows."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self.phase = "sending"
        self.exit_code: int | None = None
        self.total: int | None = None
        self.counts = {"imported": 0, "failed": 0, "other": 0}
        self.in_doubt = 0
        self.throttled = 0
        self.retries = 0
        self.downloads_waiting = 0
        self.units_per_minute: list[float] = []
        self.errors: deque[dict[str, Any]] = deque(maxlen=ERRORS_KEPT)
        self._started: float | None = None
        self._units_seen: float | None = None

    def __call__(self, event: RunEvent) -> None:
        """Take one event of the run."""
        if isinstance(event, Settled):
            key = event.outcome if event.outcome in ("imported", "failed") else "other"
            if event.outcome == "in_doubt":
                key = "failed"  # the report counts it failed; its part waits for the rerun
            self.counts[key] += 1
            if event.error is not None:
                self.errors.appendleft(dict(event.error))
        elif isinstance(event, Pulse):
            self._pulse(event)
        elif isinstance(event, Throttled):
            self.throttled = max(self.throttled, event.total)
        elif isinstance(event, Retried):
            self.retries = max(self.retries, event.total)
        elif isinstance(event, LeftOut):
            for entry in event.errors:
                self.errors.appendleft(dict(entry))
        elif isinstance(event, RunStarted):
            self.total = event.total
            self._started = self.clock.time()
        elif isinstance(event, PhaseChanged):
            self.phase = event.phase
            if event.phase == "ended":
                self.exit_code = event.exit_code

    def _pulse(self, pulse: Pulse) -> None:
        self.in_doubt = pulse.in_doubt
        self.throttled = max(self.throttled, pulse.throttled)
        self.retries = max(self.retries, pulse.retries)
        self.downloads_waiting = pulse.downloads_waiting
        if self._started is None:
            return
        spent = pulse.units - (self._units_seen if self._units_seen is not None else 0.0)
        self._units_seen = pulse.units
        minute = int(max(0.0, self.clock.time() - self._started) // 60)
        while len(self.units_per_minute) <= minute:
            self.units_per_minute.append(0.0)
        self.units_per_minute[minute] += max(0.0, spent)

    @property
    def done(self) -> int:
        """Conversations settled so far, whatever their outcome."""
        return sum(self.counts.values())

    def eta_s(self) -> float | None:
        """Seconds left at the pace so far; None before a conversation settled or without a
        total; 0 once ended."""
        if self.phase == "ended":
            return 0.0
        if self.total is None or self._started is None or not self.done:
            return None
        elapsed = max(self.clock.time() - self._started, 1e-9)
        return max(self.total - self.done, 0) * elapsed / self.done

    def snapshot(self) -> dict[str, Any]:
        """``/status.json``: the figures now, under the contract's keys."""
        eta = self.eta_s()
        body: dict[str, Any] = {
            "phase": self.phase,
            "done": self.done,
            "total": self.total,
            "imported": self.counts["imported"],
            "failed": self.counts["failed"],
            "in_doubt": self.in_doubt,
            "throttled": self.throttled,
            "retries": self.retries,
            "eta_s": None if eta is None else round(eta, 1),
            "units_per_minute": [round(u, 1) for u in self.units_per_minute],
            "last_errors": list(self.errors),
            "downloads_waiting": self.downloads_waiting,
        }
        if self.phase == "ended":
            body["exit_code"] = self.exit_code
        return {key: body[key] for key in STATUS_KEYS if key in body}
