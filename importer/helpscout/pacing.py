"""One budget of units per minute shared by every worker, spent smoothly.

Design (why it holds a fixed *or* sliding window of unknown phase):

* The bucket is an :class:`aiolimiter.AsyncLimiter` refilled at ``HEADROOM`` (97.5 %) of the
  budget and holding only ``burst_s`` (2 s) worth of units. Spending at a steady 97.5 % puts at
  most ``0.975 * B + burst`` units in any 60 s window, whatever its alignment; a fixed window
  therefore never reaches ``B`` in steady state, and a sliding one only right after an idle
  period (the burst). At least ~97 % of the budget is used in every full window while workers
  have work.
* ``X-RateLimit-Limit-Minute`` lower than ``--rate-limit`` lowers the rate (never raises it).
* ``X-RateLimit-Remaining-Minute`` at or below ``low_remaining`` (other apps spend the same
  account) holds every worker for ``low_pause_s``; the next answer tells whether the window
  has turned. In steady state on our own, ~2.5 % of the budget is left at a window's end, above
  the threshold, so this costs nothing when nobody else shares the account.
* A 429 sets one shared pause for every worker: ``X-RateLimit-Retry-After``, else
  ``Retry-After``, else exponential backoff with jitter over consecutive 429s.

``IMPORTER_RATE_WINDOW_S`` (default 60) is the length of the window the ``-Minute`` headers and
``--rate-limit`` count, for rehearsals against ``importer sandbox --window-s S``: the rate, the
burst and the low-remaining pause are scaled by ``S / 60`` (a 429's wait is the server's).

Time comes from ``clock`` (default: the running loop's ``time()``, which the limiter also uses)
and waits go through ``sleep``; tests patch the loop's clock and step it.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from aiolimiter import AsyncLimiter

from importer.helpscout.outcome import backoff_delay

__all__ = ["HEADROOM", "Pacer"]

#: Share of the budget the pacer spends: just under 100 % so a window of any phase holds.
HEADROOM = 0.975
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
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Coroutine[Any, Any, Any]] = asyncio.sleep,
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
        self.burst_s = burst_s * scale
        self._low_remaining = low_remaining
        self.low_pause_s = low_pause_s * scale
        self.backoff_cap_s = backoff_cap_s
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._on_event = on_event
        self.pause_until = 0.0
        self.consecutive_429 = 0
        self.last_remaining: int | None = None
        self._limiter = self._make_limiter()

    # --- state -------------------------------------------------------------------------------

    @property
    def budget(self) -> float:
        """Units per minute we may use: ``--rate-limit``, or less if the API says so."""
        if self.server_limit is not None:
            return min(self.configured, self.server_limit)
        return self.configured

    @property
    def rate(self) -> float:
        """Units per minute actually spent: the budget times the headroom."""
        return self.budget * self.headroom

    @property
    def low_remaining(self) -> int:
        """At or below this many units left in the window, workers hold back."""
        if self._low_remaining is not None:
            return self._low_remaining
        return max(4, int(self.budget * 0.01))

    def now(self) -> float:
        """The pacer's clock (the running loop's time unless injected)."""
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()

    def _make_limiter(self) -> AsyncLimiter:
        capacity = max(self.rate * self.burst_s / self.window_s, 2.0)  # a write must fit
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
            await self._sleep(delay)

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
