"""A download host that is down, on a fake clock: when it is said to be down (once), when it
is tried again, when it is given up, and what happens to the conversations waiting for it."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from importer.helpscout.download_hosts import HostDownError, HostWatch, duration, host_of
from importer.pipeline.waiting import HostWaits
from tests.fake_clock import FakeClock

HOST = "files.example.com"
URL = f"https://{HOST}/a.png?sig=x"


def refuse(hosts: HostWatch, times: int) -> bool:
    down = False
    for _ in range(times):
        down = hosts.unreachable(HOST, URL, "refused")
    return down


def test_the_host_of_a_url_is_its_name_and_any_port() -> None:
    assert host_of("https://Files.Example.com/a?b=c") == "files.example.com"
    assert host_of("http://127.0.0.1:8766/x") == "127.0.0.1:8766"
    assert host_of("http://[::1]:81/x") == "[::1]:81"
    assert duration(600) == "10m"
    assert duration(90) == "1m 30s"
    assert duration(0.5) == "0.5s"


def test_five_connections_in_a_row_found_no_one_and_it_is_said_once(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    hosts = HostWatch(600, clock=fake_clock)
    with caplog.at_level(logging.WARNING, logger="importer.run"):
        assert not refuse(hosts, 4)
        assert not hosts.is_down(HOST)
        assert refuse(hosts, 1)
        assert refuse(hosts, 3)  # still down, not said again
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"{HOST}: 5 downloads in a row refused; conversations that need its files wait (up to "
        "10m, --download-host-wait; it is tried again every 30s), the others go on"
    ]
    assert hosts.down() == [HOST]
    error = hosts.error(HOST)
    assert isinstance(error, HostDownError)
    assert error.host == HOST


def test_any_answer_resets_the_count_and_brings_the_host_back(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    hosts = HostWatch(600, clock=fake_clock)
    refuse(hosts, 4)
    hosts.answered(HOST)  # a 404 is an answer: the host is there
    assert not refuse(hosts, 4)
    assert refuse(hosts, 1)
    fake_clock.advance(75)
    with caplog.at_level(logging.WARNING, logger="importer.run"):
        hosts.answered(HOST)
    assert not hosts.is_down(HOST)
    assert f"{HOST} answers again after 1m 15s" in caplog.text


def test_a_file_whose_every_try_found_no_one_makes_its_host_down_at_once(
    fake_clock: FakeClock,
) -> None:
    hosts = HostWatch(600, clock=fake_clock)
    refuse(hosts, 2)
    assert hosts.unreachable(HOST, URL, "connect_timeout", whole_file=True)
    assert "3 downloads in a row timed out connecting" in str(hosts.error(HOST))


def test_a_host_down_is_tried_again_every_tenth_of_the_wait_then_given_up(
    fake_clock: FakeClock,
) -> None:
    hosts = HostWatch(20, clock=fake_clock)  # tried again every 2 s
    refuse(hosts, 5)
    assert hosts.probes_due() == []
    fake_clock.advance(2)
    assert hosts.probes_due() == [(HOST, URL)]
    assert hosts.probes_due() == []  # one try at a time
    fake_clock.advance(17.9)
    assert hosts.expire() == []
    fake_clock.advance(0.1)
    assert hosts.expire() == [HOST]
    assert hosts.expire() == []  # given up once
    assert hosts.given_up(HOST)
    message = str(hosts.error(HOST))
    assert "has not answered for 20s (--download-host-wait" in message
    assert "rerun" in message
    fake_clock.advance(2)
    assert hosts.probes_due() == [(HOST, URL)]  # a host given up is still tried now and then


def test_a_wait_of_zero_gives_the_host_up_as_soon_as_it_is_down(fake_clock: FakeClock) -> None:
    hosts = HostWatch(0, clock=fake_clock)
    refuse(hosts, 5)
    assert hosts.given_up(HOST)


class Waiting:
    """A HostWaits on a fake clock whose probe finds the host up once ``up`` is set."""

    def __init__(self, clock: FakeClock, wait_s: float) -> None:
        self.hosts = HostWatch(wait_s, clock=clock)
        self.up = False
        self.probed: list[float] = []
        self.requeued: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.stop = asyncio.Event()
        self.clock = clock
        self.waits = HostWaits(
            self.hosts,
            self._probe,
            self._requeue,
            self._fail,
            self.stop,
            clock=clock,
        )

    async def _probe(self, url: str) -> None:
        self.probed.append(self.clock.now)
        if self.up:
            self.hosts.answered(host_of(url))

    async def _requeue(self, plan: Any) -> None:
        self.requeued.append(plan.source_id)

    def _fail(self, plan: Any, error: HostDownError) -> None:
        self.failed.append((plan.source_id, str(error)))

    def park(self, *source_ids: str) -> None:
        for source_id in source_ids:
            self.waits.park(SimpleNamespace(source_id=source_id), self.hosts.error(HOST))  # type: ignore[arg-type]

    async def steps(self, seconds: float) -> None:
        """Step the watcher for ``seconds`` of the fake clock."""
        end = self.clock.now + seconds
        while self.clock.now < end - 1e-9:
            await self.waits.step()
            await self.clock.sleep(self.waits.tick_s)


def test_conversations_wait_and_are_sent_again_once_the_host_answers(
    fake_clock: FakeClock,
) -> None:
    async def scenario() -> Waiting:
        waiting = Waiting(fake_clock, wait_s=600)
        refuse(waiting.hosts, 5)
        waiting.park("A", "B", "C")
        assert waiting.waits.count == 3
        await waiting.steps(65)  # still down: tried again every 30 s, nothing moves
        assert waiting.requeued == []
        assert len(waiting.probed) == 2
        waiting.up = True
        await waiting.steps(31)
        return waiting

    waiting = asyncio.run(scenario())
    assert waiting.requeued == ["A", "B", "C"]
    assert waiting.failed == []
    assert waiting.waits.count == 0


def test_conversations_fail_after_the_wait_and_later_ones_fail_at_once(
    fake_clock: FakeClock,
) -> None:
    async def scenario() -> Waiting:
        waiting = Waiting(fake_clock, wait_s=2)
        refuse(waiting.hosts, 5)
        waiting.park("A", "B")
        await waiting.steps(1.5)
        assert waiting.failed == []
        await waiting.steps(1)
        assert [source_id for source_id, _ in waiting.failed] == ["A", "B"]
        waiting.park("C")  # the host is given up: no wait
        return waiting

    waiting = asyncio.run(scenario())
    assert [source_id for source_id, _ in waiting.failed] == ["A", "B", "C"]
    assert all("--download-host-wait" in why for _, why in waiting.failed)
    assert waiting.requeued == []
    assert waiting.waits.count == 0


def test_a_stop_leaves_waiting_conversations_alone(fake_clock: FakeClock) -> None:
    async def scenario() -> Waiting:
        waiting = Waiting(fake_clock, wait_s=2)
        refuse(waiting.hosts, 5)
        waiting.park("A")
        waiting.stop.set()
        await waiting.waits.watch()  # returns at once
        await waiting.steps(10)
        return waiting

    waiting = asyncio.run(scenario())
    assert waiting.failed == []
    assert waiting.requeued == []
    assert waiting.probed == []
    assert waiting.waits.count == 1  # for the rerun, not counted
