"""A listener given to ``run_import`` hears the whole run against the real sandbox: started
with the total, every conversation settled once, a pulse, and ``ended`` with the exit code
last (what the status page of ``--status-port`` subscribes to)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from importer.commands.run import run_import
from importer.pipeline.run_events import PhaseChanged, Pulse, RunEvent, RunStarted, Settled
from importer.sandbox.testing import SandboxConfig, running_sandbox
from importer.settings import RunSettings, TransformSettings

from .conftest import write_export
from .test_resume_skips_done import signals_restored  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("signals_restored")
def test_a_listener_hears_every_settling_and_the_end(
    tmp_path: Path, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPSCOUT_APP_ID", "sandbox")
    monkeypatch.setenv("HELPSCOUT_APP_SECRET", "sandbox")
    export = write_export(export_dir / "c.jsonl", 7)
    heard: list[RunEvent] = []
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        settings = RunSettings(
            transform=TransformSettings(),
            mailbox=85,
            api_url=sandbox.url,
            checkpoint=tmp_path / "cp.sqlite",
            rate_limit=100_000,
        )
        requests = []
        for _ in range(2):
            outcome = asyncio.run(run_import([export], settings, listeners=[heard.append]))
            assert 0 == outcome.exit_code
            requests.append(outcome.report.counts["requests"])
    starts = [e for e in heard if isinstance(e, RunStarted)]
    assert [7, 7] == [e.total for e in starts]
    settled = Counter((e.source_id, e.outcome) for e in heard if isinstance(e, Settled))
    assert {(f"S{n}", "imported") for n in range(7)} | {
        (f"S{n}", "already") for n in range(7)
    } == set(settled)
    assert {1} == set(settled.values())
    ends = [e for e in heard if isinstance(e, PhaseChanged) and e.phase == "ended"]
    assert [0, 0] == [e.exit_code for e in ends]
    assert isinstance(heard[-1], PhaseChanged)
    assert "ended" == heard[-1].phase
    # the last pulse of each run comes after its last request (a run shorter than a heartbeat's
    # second has one too): the status page's units per minute hold the run's every unit
    last_pulses = [
        heard[i - 1]
        for i, e in enumerate(heard)
        if isinstance(e, PhaseChanged) and e.phase == "ended"
    ]
    assert all(isinstance(p, Pulse) for p in last_pulses)
    assert requests == [p.requests for p in last_pulses if isinstance(p, Pulse)]
    assert 7 <= requests[0]
