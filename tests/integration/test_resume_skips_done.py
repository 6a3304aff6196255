"""A rerun counts the conversations the checkpoint holds as done without planning them again
(so resuming a run of days skips done work at the reader's pace), and still plans them when a
date range needs their planned time."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import importer.planning.stream as planned
from importer.commands.run import run_import
from importer.sandbox.testing import SandboxConfig, running_sandbox
from importer.settings import RunSettings, TransformSettings

from .conftest import write_export

pytestmark = pytest.mark.integration


@pytest.fixture
def signals_restored() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def run_once(export: Path, url: str, tmp_path: Path, **transform: Any) -> dict[str, Any]:
    settings = RunSettings(
        transform=TransformSettings(**transform),
        mailbox=85,
        api_url=url,
        checkpoint=tmp_path / "cp.sqlite",
        rate_limit=100_000,
    )
    report_path = tmp_path / "report.json"
    asyncio.run(run_import([export], settings, report_path=report_path))
    return dict(json.loads(report_path.read_text()))


def test_a_rerun_counts_done_conversations_without_planning_them(
    tmp_path: Path, export_dir: Path, monkeypatch: pytest.MonkeyPatch, signals_restored: None
) -> None:
    monkeypatch.setenv("HELPSCOUT_APP_ID", "sandbox")
    monkeypatch.setenv("HELPSCOUT_APP_SECRET", "sandbox")
    export = write_export(export_dir / "c.jsonl", 12)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        first = run_once(export, sandbox.url, tmp_path)
        assert first["imported"] == 12
        planned_now: list[str] = []
        plan_record = planned.plan_record

        def counting(record: Any, ctx: Any) -> Any:
            planned_now.append(record.source_id)
            return plan_record(record, ctx)

        monkeypatch.setattr(planned, "plan_record", counting)
        again = run_once(export, sandbox.url, tmp_path)
        assert (again["already_imported"], again["source_conversations"]) == (12, 12)
        assert planned_now == []
        ranged = run_once(export, sandbox.url, tmp_path, since="2000-01-01")
        assert ranged["already_imported"] == 12
        assert len(planned_now) == 12  # a date range needs each one's planned time
        assert sandbox.store.count_conversations() == 12
