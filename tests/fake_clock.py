"""The one fake clock of the tests: time moves only when a test (or a sleep) moves it.

Tests of time, pacing and rate limits pass it where the code takes an ``importer.clock.Clock``
(``clock=fake``) instead of sleeping for real. ``NoWaitClock`` keeps real time but never waits.
"""

from __future__ import annotations

import asyncio
import time


class FakeClock:
    """Seconds that move only when told: ``advance``, or ``sleep`` (which also records it)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would


class NoWaitClock:
    """Real monotonic time, sleeps that only let other tasks run (retries without their waits)."""

    def time(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)
