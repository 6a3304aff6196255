"""Two importer processes into one account (make -j2): two pacers, one fixed-window server.

Each pacer is a plain ``importer run`` (``--rate-limit`` at its default, 400, or told the
account's 600); they learn the account's budget from ``X-RateLimit-Limit-Minute`` and share it
by ``X-RateLimit-Remaining-Minute`` and 429s. Simulated on a fake loop clock, minutes in
milliseconds. Also: ``IMPORTER_RATE_WINDOW_S`` gives the pacer the sandbox's short window.
"""

from __future__ import annotations

import asyncio
import math

import pytest
from fake_clock import FakeClock

from importer.helpscout.pacing import Pacer, window_from_env


@pytest.fixture
async def clock(monkeypatch):
    loop = asyncio.get_running_loop()
    fake = FakeClock(loop.time())
    monkeypatch.setattr(loop, "time", fake)
    return fake


class Account:
    """``limit`` units per fixed window of ``window_s`` counted from ``start`` (the sandbox)."""

    def __init__(self, clock: FakeClock, limit: int, start: float, window_s: float) -> None:
        self.clock, self.limit, self.start, self.window_s = clock, limit, start, window_s
        self.used: dict[int, int] = {}
        self.requests = 0
        self.throttled = 0

    def handle(self, cost: int) -> tuple[int, dict[str, str]]:
        self.requests += 1
        w = math.floor((self.clock.now - self.start) / self.window_s)
        used = self.used.get(w, 0)
        if used + cost > self.limit:
            self.throttled += 1
            retry = max(1, math.ceil(self.start + (w + 1) * self.window_s - self.clock.now))
            return 429, {"X-RateLimit-Retry-After": str(retry)}
        self.used[w] = used + cost
        return 201, {
            "X-RateLimit-Limit-Minute": str(self.limit),
            "X-RateLimit-Remaining-Minute": str(self.limit - self.used[w]),
        }


async def worker(pacer: Pacer, account: Account, latency: float) -> None:
    while True:
        await pacer.acquire(2)
        await asyncio.sleep(latency)
        status, headers = account.handle(2)
        await asyncio.sleep(latency)
        if status == 429:
            pacer.throttled(float(headers["X-RateLimit-Retry-After"]))
        else:
            pacer.observe(headers)
            pacer.succeeded()


async def two_processes(
    clock: FakeClock,
    *,
    rate_limit: int,
    budget: int,
    window_s: float,
    windows: int,
    phase: float,
    latency: float = 0.05,
) -> tuple[Account, list[int]]:
    """Two pacers of 8 workers each; the used units of every full window after the first."""
    start = clock.now
    account = Account(clock, budget, start - phase, window_s)
    pacers = [Pacer(rate_limit, window_s=window_s) for _ in range(2)]
    tasks = [
        asyncio.create_task(worker(pacer, account, latency)) for pacer in pacers for _ in range(8)
    ]
    end = start + windows * window_s
    try:
        while clock.now < end:
            clock.now = min(end, clock.now + window_s / 3000)
            for _ in range(4):
                await asyncio.sleep(0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    full = [
        account.used.get(w, 0)
        for w in range(windows + 2)
        if account.start + w * window_s >= start + window_s
        and account.start + (w + 1) * window_s <= end
    ]
    return account, full


@pytest.mark.parametrize("rate_limit", [400, 600])
@pytest.mark.parametrize("phase", [0.0, 23.4])
async def test_two_runs_share_a_600_unit_minute(clock, rate_limit, phase):
    """Two plain runs against 600 units a minute: >= 90% of it used together in every full
    minute after the first, at most 1% of the answers 429."""
    account, full = await two_processes(
        clock, rate_limit=rate_limit, budget=600, window_s=60.0, windows=5, phase=phase
    )
    assert len(full) >= 3
    assert all(540 <= used <= 600 for used in full), full
    assert account.throttled <= 0.01 * account.requests, (account.throttled, account.requests)


async def test_a_short_window_scales_the_pacer(clock):
    """With the sandbox's --window-s 6 given as IMPORTER_RATE_WINDOW_S, the same holds per 6 s."""
    account, full = await two_processes(
        clock, rate_limit=400, budget=600, window_s=6.0, windows=8, phase=1.3, latency=0.005
    )
    assert len(full) >= 5
    assert all(540 <= used <= 600 for used in full), full
    assert account.throttled <= 0.01 * account.requests, (account.throttled, account.requests)


def test_window_from_env():
    assert 60.0 == window_from_env({})
    assert 6.0 == window_from_env({"IMPORTER_RATE_WINDOW_S": "6"})
    assert 60.0 == window_from_env({"IMPORTER_RATE_WINDOW_S": "soon"})
    assert 60.0 == window_from_env({"IMPORTER_RATE_WINDOW_S": "0"})


def test_the_window_sets_the_bucket_rate():
    """600 units a window of 6 s: the bucket refills at 99 % of 100 units a second."""
    pacer = Pacer(600, window_s=6.0)
    limiter = pacer._limiter
    assert math.isclose(limiter.max_rate / limiter.time_period, 0.99 * 100)
    assert limiter.max_rate == 4  # two writes, in units whatever the window
    assert math.isclose(pacer.low_pause_s, 0.1)
