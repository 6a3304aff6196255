"""One clock for everything that reads the time and waits: ``time()`` and ``await sleep(s)``.

Passed as one object (never a clock and a sleep side by side), so a test moves a single fake
(``tests/fake_clock.py``) and every wait and deadline of the code under test follows it. The
method is ``time`` (as on asyncio's loop), not ``now``: the fake keeps ``now`` as its number.

- :data:`SYSTEM_CLOCK`: monotonic seconds, for durations and deadlines (the API client, the
  attachment downloads, the download hosts).
- :data:`WALL_CLOCK`: epoch seconds, for times compared with ones stored in the checkpoint or
  sent to the API (reconciling parts in doubt, customers created in doubt).
- :class:`LoopClock`: the running event loop's time, which aiolimiter also reads (the pacer).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Reads the time in seconds and waits; tests pass a fake that moves only when told."""

    def time(self) -> float:
        """Seconds now (monotonic or epoch, as the clock says)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a fake moves its time instead)."""
        ...


class SystemClock:
    """Monotonic seconds, ``asyncio.sleep``."""

    def time(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class WallClock(SystemClock):
    """Epoch seconds (``time.time``), ``asyncio.sleep``."""

    def time(self) -> float:
        return time.time()


class LoopClock(SystemClock):
    """The running event loop's time (what aiolimiter reads), ``asyncio.sleep``."""

    def time(self) -> float:
        return asyncio.get_running_loop().time()


SYSTEM_CLOCK: Clock = SystemClock()
WALL_CLOCK: Clock = WallClock()
LOOP_CLOCK: Clock = LoopClock()
