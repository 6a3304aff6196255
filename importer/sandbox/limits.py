"""Rate limiting in fixed windows, fault draws, and the counters tests read.

Everything here runs on the server's event loop; :class:`Stats` is also read from test threads,
so it copies under a lock.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from importer.sandbox.config import FAULT_KINDS

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cost_of(method: str) -> int:
    """Units a request costs: writes 2, reads 1 (helpscout-api.md §4)."""
    return 2 if method.upper() in WRITE_METHODS else 1


@dataclass(frozen=True)
class Budget:
    """What the headers of one answer say."""

    limit: int
    remaining: int
    retry_after: int


class RateLimiter:
    """``limit`` units per window of ``window_s`` seconds, windows counted from the start."""

    def __init__(self, limit: int | None, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.started = clock()
        self.used: dict[int, int] = {}
        self._lock = threading.Lock()

    def _window(self) -> tuple[int, float]:
        elapsed = max(0.0, self.clock() - self.started)
        index = int(elapsed // self.window_s)
        to_next = (index + 1) * self.window_s - elapsed
        return index, to_next

    def retry_after(self) -> int:
        """Whole seconds to the next window, at least 1."""
        return max(1, math.ceil(self._window()[1]))

    def peek(self) -> Budget | None:
        """The current budget without spending any; None when unlimited."""
        if self.limit is None:
            return None
        index, _ = self._window()
        remaining = max(0, self.limit - self.used.get(index, 0))
        return Budget(self.limit, remaining, self.retry_after())

    def allows(self, cost: int) -> bool:
        """Whether ``cost`` units fit in the current window."""
        budget = self.peek()
        return budget is None or budget.remaining >= cost

    def spend(self, cost: int) -> None:
        """Charge ``cost`` units to the current window (recorded even when unlimited)."""
        index, _ = self._window()
        with self._lock:
            self.used[index] = self.used.get(index, 0) + cost

    def units_per_window(self) -> list[int]:
        """Units used in each window from the first to the current one."""
        with self._lock:
            used = dict(self.used)
        if not used:
            return []
        last = max(max(used), self._window()[0])
        return [used.get(i, 0) for i in range(last + 1)]


class FaultDrawer:
    """One ``random.Random(seed)`` draw per write: at most one fault kind, by cumulative rate."""

    def __init__(self, faults: Mapping[str, float], rng: random.Random) -> None:
        self.faults = {kind: faults.get(kind, 0.0) for kind in FAULT_KINDS}
        self.rng = rng

    def draw(self) -> str | None:
        """The fault to inject into this write, or None."""
        if not any(self.faults.values()):
            return None
        roll = self.rng.random()
        edge = 0.0
        for kind, rate in self.faults.items():
            edge += rate
            if roll < edge:
                return kind
        return None


class Stats:
    """Counters of one sandbox run."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._lock = threading.Lock()
        self._limiter = limiter
        self._status: Counter[int] = Counter()
        self._faults: Counter[str] = Counter()
        self._requests = 0

    def record_status(self, status: int) -> None:
        """One answered request."""
        with self._lock:
            self._requests += 1
            self._status[status] += 1

    def record_fault(self, kind: str) -> None:
        """One fault injected (a drop or reset also counts as a request without status)."""
        with self._lock:
            self._faults[kind] += 1
            if kind in ("drop", "reset"):
                self._requests += 1

    @property
    def requests(self) -> int:
        """Every request that reached a handler, answered or not."""
        with self._lock:
            return self._requests

    @property
    def by_status(self) -> dict[int, int]:
        """Answered requests by HTTP status."""
        with self._lock:
            return dict(self._status)

    @property
    def faults(self) -> dict[str, int]:
        """Faults injected by kind."""
        with self._lock:
            return dict(self._faults)

    @property
    def throttled(self) -> int:
        """429 answers, real or injected."""
        with self._lock:
            return self._status.get(429, 0)

    @property
    def units_per_window(self) -> list[int]:
        """Rate-limit units spent in each window since the start."""
        return self._limiter.units_per_window()

    def snapshot(self) -> dict[str, Any]:
        """All counters as one plain dict."""
        return {
            "requests": self.requests,
            "by_status": self.by_status,
            "faults": self.faults,
            "throttled": self.throttled,
            "units_per_window": self.units_per_window,
        }
