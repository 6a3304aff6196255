"""The live page's figures from the run's events, on a fake clock: exactly the contract's keys,
conversations counted once by outcome, the units spent in each minute, the time left, the last
20 errors newest first, and the end with its exit code."""

from __future__ import annotations

from fake_clock import FakeClock

from importer.pipeline.run_events import (
    LeftOut,
    PhaseChanged,
    Pulse,
    Retried,
    RunStarted,
    Settled,
    Throttled,
)
from importer.status_page.collector import STATUS_KEYS, StatusCollector
from importer.status_page.server import status_address

CONTRACT_KEYS = {
    "phase", "done", "total", "imported", "failed", "in_doubt", "throttled", "retries",
    "eta_s", "units_per_minute", "last_errors", "downloads_waiting",
}  # fmt: skip


def _error(source_id: str) -> dict[str, object]:
    return {"source_id": source_id, "part": None, "stage": "send", "code": "http_400",
            "message": "bad", "location": "x.jsonl:1"}  # fmt: skip


def test_keys_are_the_contracts_and_exit_code_comes_with_the_end(fake_clock: FakeClock) -> None:
    """Before the end no ``exit_code``; after it, the code the run ended with."""
    status = StatusCollector(fake_clock)
    assert CONTRACT_KEYS == set(status.snapshot())
    assert CONTRACT_KEYS | {"exit_code"} == set(STATUS_KEYS)
    status(PhaseChanged("ended", 3))
    assert ("ended", 3) == (status.snapshot()["phase"], status.snapshot()["exit_code"])


def test_outcomes_counted_once_each_in_doubt_among_failed(fake_clock: FakeClock) -> None:
    """``done`` counts every outcome; a conversation left in doubt counts failed, as in the
    report; ``in_doubt`` is the parts being looked up now (the pulse's)."""
    status = StatusCollector(fake_clock)
    status(RunStarted(10))
    for outcome in ("imported", "imported", "already", "invalid", "failed", "in_doubt"):
        status(Settled("s", outcome))  # type: ignore[arg-type]
    status(Pulse(in_doubt=2, downloads_waiting=1, throttled=4, retries=6))
    body = status.snapshot()
    assert (6, 10, 2, 2, 2, 1, 4, 6) == (
        body["done"], body["total"], body["imported"], body["failed"], body["in_doubt"],
        body["downloads_waiting"], body["throttled"], body["retries"],
    )  # fmt: skip


def test_units_per_minute_from_the_running_total(fake_clock: FakeClock) -> None:
    """Each pulse's units since the one before go to the minute they fell in."""
    status = StatusCollector(fake_clock)
    status(RunStarted(None))
    for units in (10, 30, 50):  # at 15, 30 and 45 s: minute 0
        fake_clock.advance(15)
        status(Pulse(units=units))
    fake_clock.advance(80)  # at 125 s, minute 2: nothing spent in minute 1
    status(Pulse(units=80))
    assert [50.0, 0.0, 30.0] == status.snapshot()["units_per_minute"]


def test_eta_at_the_pace_so_far_and_zero_once_ended(fake_clock: FakeClock) -> None:
    """4 of 12 settled in 60 s: 120 s left; unknown without a total or before the first."""
    status = StatusCollector(fake_clock)
    status(RunStarted(12))
    assert status.snapshot()["eta_s"] is None
    fake_clock.advance(60)
    for _ in range(4):
        status(Settled("s", "imported"))
    assert 120.0 == status.snapshot()["eta_s"]
    status(PhaseChanged("ended", 0))
    assert 0.0 == status.snapshot()["eta_s"]


def test_last_errors_newest_first_at_most_20(fake_clock: FakeClock) -> None:
    """Errors of failed conversations and of what was left out, the newest 20, newest first."""
    status = StatusCollector(fake_clock)
    for n in range(25):
        status(Settled(f"s{n}", "failed", _error(f"s{n}")))
    status(LeftOut((_error("left"),)))
    errors = status.snapshot()["last_errors"]
    assert 20 == len(errors)
    assert ["left", "s24", "s23"] == [e["source_id"] for e in errors[:3]]


def test_throttles_and_retries_never_go_back(fake_clock: FakeClock) -> None:
    """Running totals from the events and the pulses: the largest seen."""
    status = StatusCollector(fake_clock)
    status(Throttled(3))
    status(Retried(5))
    status(Pulse(throttled=2, retries=4))
    assert (3, 5) == (status.snapshot()["throttled"], status.snapshot()["retries"])


def test_status_address_found_after_a_warning() -> None:
    """Scripts find the page's address on run's stderr, also after a warning line."""
    lines = [
        "importer: agents without a Help Scout user: 9\n",
        "status page on http://127.0.0.1:4321/\n",
    ]
    assert "http://127.0.0.1:4321/" == status_address(iter(lines))
    assert status_address(iter(["nothing\n"] * 60 + lines)) is None
