"""The run's events (importer/pipeline/run_events.py): settling publishes them, the terminal's
progress is one listener, and a second listener hears the same events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_import_run import ScriptedClient, make_run, plan, run_all

from importer.errors import OutputWriteError
from importer.pipeline.checkpoint import Checkpoint, RunHeader
from importer.pipeline.run_events import (
    ClientRetries,
    PhaseChanged,
    ProgressListener,
    Pulse,
    Retried,
    RunEvent,
    RunEvents,
    Settled,
    Throttled,
)
from importer.progress import Progress


@pytest.fixture
def checkpoint(tmp_path: Path) -> Checkpoint:
    return Checkpoint.open(tmp_path / "cp.sqlite", RunHeader("http://127.0.0.1:1", 85, "canonical"))


async def test_settling_tells_every_listener_each_conversation_once(
    checkpoint: Checkpoint,
) -> None:
    """Imported, failed and already imported reach both listeners, in order, once each; the
    progress listener counts them as the bar did."""
    hub = RunEvents()
    first: list[RunEvent] = []
    second: list[RunEvent] = []
    hub.subscribe(first.append)
    progress = Progress("run", enabled=False)
    hub.subscribe(ProgressListener(progress))
    hub.subscribe(second.append)
    client = ScriptedClient({"Subject c": ["rejected"]})
    run = make_run(client, checkpoint, events=hub)
    await run_all(run, [plan("a", "a@example.com"), plan("c", "c@example.com")], workers=1)
    run.settle_already_imported(plan("a", "a@example.com"))
    assert first == second
    settled = [(e.source_id, e.outcome) for e in first if isinstance(e, Settled)]
    assert [("a", "imported"), ("c", "failed"), ("a", "already")] == settled
    (failed,) = [e for e in first if isinstance(e, Settled) and e.outcome == "failed"]
    assert failed.error is not None
    assert "subject: bad" in failed.error["message"]
    assert {"imported": 1, "failed": 1, "already imported": 1, "throttled": 0} == progress.counts


async def test_a_crash_with_a_part_in_flight_settles_in_doubt(checkpoint: Checkpoint) -> None:
    """What no code expected, raised while a part's request may have been sent: outcome
    in_doubt (the report counts it failed; the progress shows it failed)."""
    hub = RunEvents()
    heard: list[RunEvent] = []
    hub.subscribe(heard.append)
    run = make_run(ScriptedClient(), checkpoint, events=hub)
    conversation = plan("z", "z@example.com")
    checkpoint.parts.record_intent(
        "z", 1, 1, subject="Subject z", customer_email="z@example.com", payload_digest="d"
    )
    run.settlement.crashed(conversation, RuntimeError("boom"))
    (event,) = [e for e in heard if isinstance(e, Settled)]
    assert ("z", "in_doubt") == (event.source_id, event.outcome)
    assert 1 == run.report.counts["failed"]


def test_a_listener_that_raises_is_logged_and_kept_a_full_disk_stops() -> None:
    """A watcher's bug never stops the run; the other listeners still hear the event."""
    hub = RunEvents()
    calls: list[RunEvent] = []

    def broken(event: RunEvent) -> None:
        calls.append(event)
        raise ValueError("bug")

    heard: list[RunEvent] = []
    hub.subscribe(broken)
    unsubscribe = hub.subscribe(heard.append)
    hub.publish(Pulse(requests=1))
    hub.publish(Pulse(requests=2))
    assert (2, 2) == (len(calls), len(heard))
    unsubscribe()
    hub.publish(Pulse(requests=3))
    assert 2 == len(heard)

    def full(event: RunEvent) -> None:
        raise OutputWriteError("status.json", "disk full")

    hub.subscribe(full)
    with pytest.raises(OutputWriteError):
        hub.publish(Pulse())


def test_phases_are_published_on_change_only_and_end_last() -> None:
    hub = RunEvents()
    heard: list[RunEvent] = []
    hub.subscribe(heard.append)
    for phase in ("sending", "sending", "rate_limited", "sending", "stopping"):
        hub.phase_now(phase)  # type: ignore[arg-type]
    hub.publish(PhaseChanged("ended", 130))
    hub.phase_now("sending")  # after the end: nothing
    phases = [(e.phase, e.exit_code) for e in heard if isinstance(e, PhaseChanged)]
    expected = [
        ("sending", None),
        ("rate_limited", None),
        ("sending", None),
        ("stopping", None),
        ("ended", 130),
    ]
    assert expected == phases


def test_client_retries_become_events_and_still_reach_the_log() -> None:
    """Every client event goes on to --log-json; a retry is Retried, a 429's also Throttled."""
    hub = RunEvents()
    heard: list[RunEvent] = []
    hub.subscribe(heard.append)
    logged: list[tuple[str, dict[str, Any]]] = []
    sink = ClientRetries(hub, lambda name, fields: logged.append((name, fields)))
    sink("request.outcome", {"status": 201})
    sink("request.retry", {"code": "throttled"})
    sink("request.retry", {"code": "server_error"})
    assert 3 == len(logged)
    assert [Throttled(1), Retried(1), Retried(2)] == heard
    progress = Progress("run", enabled=False)
    listener = ProgressListener(progress)
    for event in heard:
        listener(event)
    listener(Settled("a", "imported"))
    assert {"imported": 1, "throttled": 1} == progress.counts
