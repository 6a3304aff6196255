"""The one fake clock of the tests: time moves only when a test (or a sleep) moves it.

Tests of time, pacing and rate limits pass it where the code takes a clock and a sleep
(``clock=fake, sleep=fake.sleep``) instead of sleeping for real.
"""

from __future__ import annotations

import asyncio


class FakeClock:
    """Seconds that move only when told: ``advance``, or ``sleep`` (which also records it)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would
