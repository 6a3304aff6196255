"""One budget of units per minute shared by every worker, spent smoothly.

Design (why it holds a fixed *or* sliding window of unknown phase, and uses 98-99 % of it):

* The bucket is an :class:`aiolimiter.AsyncLimiter` (a leaky bucket) refilled at ``rate`` units
  a window and banking at most ``burst`` units. For any span of time, the units it lets through
  are at most ``rate * span / window + burst``, whatever came before (idle or not): the span
  starts with at most ``burst`` banked and refills at ``rate``. So any window of our units,
  fixed or sliding, of any phase, holds at most ``rate + burst``.
* ``rate = budget - reserve``, ``reserve = max((1 - HEADROOM) * budget, 3 writes)`` with
  ``HEADROOM`` 99 %, and ``burst`` at most half the reserve (at least two writes, at most
  ``burst_s``, 2 s, of the rate). At 600 units a minute: 594 spent, a burst of 4 units, and
  ``594 + 4 = 598``: a window never reaches the budget from our own spending, with 2 units
  (one write, 0.2 s at that pace) to spare for the requests' travel time varying between the
  client and the server's counter. Smaller budgets keep a larger share in reserve (400: 394 a
  minute); large ones bank more (10,000: 9,900 a minute, a burst of 50 units). In steady state
  (workers waiting on the bucket) the bucket stays within one write of full, so a window of
  any phase holds ``rate`` give or take one write: 592-596 of 600 (98.7-99.3 %).
* Why the burst is small: it only matters after a pause, and there a large one is harmful:
  spent right after a window turns, it lets the new window take ``rate + burst``. The earlier
  bucket of 2 s (~20 units at 600) forced a headroom of 97.5 % for that. Two writes are enough
  to absorb late wake-ups of the event loop (up to one write's time, 0.2 s at 600) without
  losing pace; with a far larger budget (no limit in effect) the bucket grows with the reserve
  so workers do not queue on timers.
* Why not learn the window's phase from ``X-RateLimit-Remaining-Minute`` and spend what is left
  just before it turns: the turn is only known to within a request's round trip, a sliding
  window has none, and a miss puts the extra units into the next window, a 429. The last 1 %
  is not worth that.
* ``X-RateLimit-Limit-Minute`` lower than ``--rate-limit`` lowers the rate (never raises it).
* ``X-RateLimit-Remaining-Minute`` at or below ``low_remaining`` (other apps spend the same
  account) holds every worker for ``low_pause_s``; the next answer tells whether the window
  has turned. The default threshold is ``reserve - burst`` (2 units at 600, 50 at 10,000), the
  least our own spending can leave in a window (``budget - rate - burst``). In steady state a
  run alone leaves at least ``reserve - 2`` (4 at 600), so on its own it is never held back (at
  most once, at the end of a window that began with the bucket full after a pause). When
  others spend, the remaining reaches it before the window's end: we hold, then probe with at
  most the burst; if the window is still spent, that 429 holds everyone until it turns.
* A 429 sets one shared pause for every worker: ``X-RateLimit-Retry-After``, else
  ``Retry-After``, else exponential backoff with jitter over consecutive 429s.

``IMPORTER_RATE_WINDOW_S`` (default 60) is the length of the window the ``-Minute`` headers and
``--rate-limit`` count, for rehearsals against ``importer sandbox --window-s S``: the rate, the
burst's ``burst_s`` and the low-remaining pause are scaled by ``S / 60`` (the reserve is in
units; a 429's wait is the server's).

Time and waits come from ``clock`` (default: the running loop's ``time()``, which the limiter
also uses); tests patch the loop's clock and step it, or pass a fake clock.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from typing import Any

from aiolimiter import AsyncLimiter

from importer.clock import LOOP_CLOCK, Clock
from importer.helpscout.outcome import backoff_delay

__all__ = ["BURST_UNITS", "HEADROOM", "Pacer"]

#: Share of the budget the pacer spends at most (large budgets; smaller ones keep more back).
HEADROOM = 0.99
#: Units of a write (POST, PUT, PATCH, DELETE); a read costs 1.
WRITE_UNITS = 2.0
#: Units the bucket banks at the least: two writes.
BURST_UNITS = 2 * WRITE_UNITS
#: Margin added to a server-given wait, so we do not wake just before the window turns.
RETRY_AFTER_MARGIN_S = 0.1
#: Environment variable: seconds of the window the budget counts (a sandbox's ``--window-s``).
ENV_WINDOW_S = "IMPORTER_RATE_WINDOW_S"
MINUTE_S = 60.0


def window_from_env(environ: Mapping[str, str] | None = None) -> float:
    """``IMPORTER_RATE_WINDOW_S`` when it is a positive number, else 60."""
    raw = (os.environ if environ is None else environ).get(ENV_WINDOW_S, "").strip()
    try:
        value = float(raw) if raw else MINUTE_S
    except ValueError:
        return MINUTE_S
    return value if value > 0 else MINUTE_S


EventSink = Callable[[str, dict[str, Any]], None]


class Pacer:
    """Shared pacing for all workers: ``await pacer.acquire(cost)`` before each request, then
    ``pacer.observe(headers)`` with its answer and ``pacer.throttled(retry_after)`` on a 429."""

    def __init__(
        self,
        rate_limit: float,
        *,
        headroom: float = HEADROOM,
        burst_s: float = 2.0,
        low_remaining: int | None = None,
        low_pause_s: float = 1.0,
        backoff_cap_s: float = 60.0,
        clock: Clock = LOOP_CLOCK,
        rand: Callable[[], float] = random.random,
        on_event: EventSink | None = None,
        window_s: float | None = None,
    ) -> None:
        if rate_limit <= 0:
            raise ValueError("rate_limit must be positive")
        self.configured = float(rate_limit)
        self.server_limit: float | None = None
        self.headroom = headroom
        #: seconds the budget counts (60 against Help Scout)
        self.window_s = window_s if window_s is not None else window_from_env()
        scale = self.window_s / MINUTE_S
        #: the bucket banks at most this long a stretch of the rate (less where the reserve
        #: is smaller: see :attr:`burst_units`)
        self.burst_s = burst_s * scale
        self._low_remaining = low_remaining
        self.low_pause_s = low_pause_s * scale
        self.backoff_cap_s = backoff_cap_s
        self._clock = clock
        self._rand = rand
        self._on_event = on_event
        self.pause_until = 0.0
        self.consecutive_429 = 0
        self.last_remaining: int | None = None
        self._limiter = self._make_limiter()

    # --- state -------------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Whether every worker waits out a pause now (a 429's, or the budget running low)."""
        return self.pause_until > self.now()

    @property
    def budget(self) -> float:
        """Units per minute we may use: ``--rate-limit``, or less if the API says so."""
        if self.server_limit is not None:
            return min(self.configured, self.server_limit)
        return self.configured

    @property
    def reserve(self) -> float:
        """Units of each window left unspent: ``1 - headroom`` of the budget, at least three
        writes (the smallest bucket, two writes, and one to spare)."""
        return max((1.0 - self.headroom) * self.budget, 3 * WRITE_UNITS)

    @property
    def rate(self) -> float:
        """Units per window actually spent: the budget less the reserve (594 of 600)."""
        return max(self.budget - self.reserve, WRITE_UNITS)

    @property
    def burst_units(self) -> float:
        """Units the bucket banks: ``burst_s`` of the rate, but at most half the reserve (so
        ``rate + burst`` stays under the budget); at least two writes. At 600 (and 400): 4
        units; at 10,000: 50 (0.3 s)."""
        stretch = self.rate * self.burst_s / self.window_s
        return max(BURST_UNITS, min(stretch, self.reserve / 2))

    @property
    def low_remaining(self) -> int:
        """At or below this many units left in the window, workers hold back; by default
        ``reserve - burst``, the least our own spending leaves in a window (2 of 600)."""
        if self._low_remaining is not None:
            return self._low_remaining
        return max(0, int(self.reserve - self.burst_units))

    def now(self) -> float:
        """The pacer's clock (the running loop's time unless injected)."""
        return self._clock.time()

    def _make_limiter(self) -> AsyncLimiter:
        capacity = self.burst_units
        return AsyncLimiter(capacity, capacity * self.window_s / self.rate)

    # --- spending ----------------------------------------------------------------------------

    async def acquire(self, cost: float) -> None:
        """Wait for the shared pause to end and for ``cost`` units of the bucket."""
        while True:
            await self._wait_pause()
            limiter = self._limiter
            await limiter.acquire(min(cost, limiter.max_rate))
            if self.now() >= self.pause_until:
                return
            # A 429 or a low-remaining signal arrived while we waited in the bucket: the units
            # taken are lost (conservative), wait out the pause and queue again.

    async def _wait_pause(self) -> None:
        while (delay := self.pause_until - self.now()) > 0:
            await self._clock.sleep(delay)

    # --- feedback ----------------------------------------------------------------------------

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read ``X-RateLimit-Limit-Minute`` and ``X-RateLimit-Remaining-Minute`` of an answer."""
        lowered = {k.lower(): v for k, v in headers.items()}
        limit = _as_int(lowered.get("x-ratelimit-limit-minute"))
        if limit is not None and limit > 0 and limit != self.server_limit:
            before = self.budget
            self.server_limit = float(limit)
            if self.budget != before:
                self._limiter = self._make_limiter()
                self._emit(
                    "rate.adjusted",
                    reason="limit_header",
                    budget=self.budget,
                    rate=round(self.rate, 2),
                )
        remaining = _as_int(lowered.get("x-ratelimit-remaining-minute"))
        if remaining is None:
            return
        self.last_remaining = remaining
        if remaining <= self.low_remaining:
            until = self.now() + self.low_pause_s
            if until > self.pause_until:
                self.pause_until = until
                self._emit(
                    "rate.adjusted",
                    reason="remaining_low",
                    remaining=remaining,
                    pause_s=self.low_pause_s,
                )

    def succeeded(self) -> None:
        """An answer that was not a 429 came back: reset the 429 backoff."""
        self.consecutive_429 = 0

    def throttled(self, retry_after: float | None) -> float:
        """A 429: pause every worker; returns the pause in seconds (from now)."""
        self.consecutive_429 += 1
        if retry_after is not None:
            wait = retry_after + RETRY_AFTER_MARGIN_S
            source = "header"
        else:
            wait = backoff_delay(self.consecutive_429, cap=self.backoff_cap_s, jitter=self._rand())
            source = "backoff"
        until = self.now() + wait
        if until > self.pause_until:
            self.pause_until = until
        pause = self.pause_until - self.now()
        self._emit(
            "rate.throttled",
            retry_after_s=retry_after,
            pause_s=round(pause, 3),
            source=source,
            consecutive=self.consecutive_429,
        )
        return pause

    def _emit(self, name: str, **fields: Any) -> None:
        if self._on_event is not None:
            self._on_event(name, fields)


def _as_int(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(float(raw.strip()))
    except ValueError:
        return None
