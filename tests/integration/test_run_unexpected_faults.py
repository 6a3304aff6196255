"""Every stage of some conversations raises what no code expected: the run still ends, every
conversation is accounted for, nothing is created twice, and a rerun completes the rest.

The run is driven in-process (``run_import``) against the real sandbox and a loopback file
server, so that each stage can be made to raise: the reader's record, the transform, customer
creation, part creation, reconcile, the upload, the URL fetch and a checkpoint write.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import importer.pipeline.parts as parts
import importer.pipeline.pool as pool
import importer.planning.records as stages
import importer.readers.canonical.reader as canonical
from importer.commands.run import run_import
from importer.commands.stopping import GRACE_MARGIN_S
from importer.errors import WorkersLostError
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.downloads import AttachmentDownloader
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.helpscout.transport import Timeouts
from importer.pipeline.checkpoint import PartsLog
from importer.sandbox.testing import SandboxConfig, running_sandbox
from importer.settings import DownloadLimits, RunSettings, TransformSettings

from .file_server import ALLOW_LOOPBACK, FileServer, serving_files

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 30
# the conversation each stage breaks on (once: the rerun meets no fault)
FAULTY = {
    "read": "S1",
    "transform": "S2",
    "customer": "S3",
    "create": "S4",
    "reconcile": "S5",
    "upload": "S6",
    "fetch": "S7",
    "checkpoint": "S8",
}


class InjectedError(RuntimeError):
    """What the faults raise: nothing in the importer knows this type."""


@pytest.fixture
def files() -> Iterator[FileServer]:
    with serving_files() as server:
        yield server


@pytest.fixture
def signals_restored() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def write_export(path: Path, files: FileServer) -> Path:
    (path.parent / "note.txt").write_text("a file uploaded after creation")
    lines = []
    for index in range(COUNT):
        sid = f"S{index}"
        first: dict[str, Any] = {
            "created_at": f"2023-05-{index % 28 + 1:02d}T09:00:00Z",
            "author_role": "customer",
            "body_text": f"{sid} asks",
        }
        if sid == FAULTY["upload"]:
            first["attachments"] = [{"file_name": "note.txt", "path": "note.txt"}]
        if sid == FAULTY["fetch"]:
            first["attachments"] = [
                {"file_name": "a.bin", "url": files.url(f"good/{sid}-a.bin?size=300")}
            ]
        customer: dict[str, Any] = {"email": f"c{index}@example.com", "first_name": "C"}
        if sid == FAULTY["customer"]:
            customer = {"id": "phone-only", "phone": "+1 555 0100"}
        conversation = {
            "source_id": sid,
            "subject": f"Conversation {sid}",
            "customer": customer,
            "messages": [
                first,
                {
                    "created_at": f"2023-05-{index % 28 + 1:02d}T10:00:00Z",
                    "author_role": "agent",
                    "body_text": f"{sid} answered",
                },
            ],
        }
        lines.append(json.dumps(conversation))
    path.write_text("\n".join(lines) + "\n")
    return path


def inject_faults(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Make each stage raise once on its conversation; returns the stages that fired."""
    fired: set[str] = set()

    def once(stage: str) -> bool:
        if stage in fired:
            return False
        fired.add(stage)
        return True

    source_record = canonical.source_record

    def broken_source_record(record: Any, input_file: Any) -> Any:
        if record.data and record.data.get("source_id") == FAULTY["read"] and once("read"):
            raise InjectedError("reader broke")
        return source_record(record, input_file)

    plan_record = stages._plan_record

    def broken_plan(record: Any, ctx: Any) -> Any:
        if record.source_id == FAULTY["transform"] and once("transform"):
            raise InjectedError("transform broke")
        return plan_record(record, ctx)

    create_customer = HelpScoutClient.create_customer

    async def broken_create_customer(self: HelpScoutClient, body: dict[str, Any]) -> Outcome:
        if once("customer"):
            raise InjectedError("customer creation broke")
        return await create_customer(self, body)

    create_conversation = HelpScoutClient.create_conversation

    async def broken_create(self: HelpScoutClient, payload: dict[str, Any]) -> Outcome:
        subject = payload["subject"]
        outcome = await create_conversation(self, payload)  # sent and stored
        if subject == f"Conversation {FAULTY['create']}" and once("create"):
            raise InjectedError("broke after the POST")
        if subject == f"Conversation {FAULTY['reconcile']}" and "lost" not in fired:
            fired.add("lost")
            return Outcome(OutcomeKind.IN_DOUBT, code="timeout", message="answer lost")
        return outcome

    reconcile_part = parts.reconcile_part

    async def broken_reconcile(client: Any, mailbox: int, ref: Any, **kwargs: Any) -> Any:
        if ref.source_id == FAULTY["reconcile"] and once("reconcile"):
            raise InjectedError("reconcile broke")
        return await reconcile_part(client, mailbox, ref, **kwargs)

    upload = HelpScoutClient.upload_attachment

    async def broken_upload(self: HelpScoutClient, *args: Any, **kwargs: Any) -> Outcome:
        if once("upload"):
            raise InjectedError("upload broke")
        return await upload(self, *args, **kwargs)

    fetch = AttachmentDownloader.fetch

    async def broken_fetch(self: AttachmentDownloader, url: str) -> bytes:
        if FAULTY["fetch"] in url and once("fetch"):
            raise InjectedError("fetch broke")
        return await fetch(self, url)

    record_done = PartsLog.record_done

    def broken_record_done(self: PartsLog, source_id: str, *args: Any) -> None:
        if source_id == FAULTY["checkpoint"] and once("checkpoint"):
            raise InjectedError("checkpoint write broke")
        record_done(self, source_id, *args)

    monkeypatch.setattr(canonical, "source_record", broken_source_record)
    monkeypatch.setattr(stages, "_plan_record", broken_plan)
    monkeypatch.setattr(HelpScoutClient, "create_customer", broken_create_customer)
    monkeypatch.setattr(HelpScoutClient, "create_conversation", broken_create)
    monkeypatch.setattr(parts, "reconcile_part", broken_reconcile)
    monkeypatch.setattr(HelpScoutClient, "upload_attachment", broken_upload)
    monkeypatch.setattr(AttachmentDownloader, "fetch", broken_fetch)
    monkeypatch.setattr(PartsLog, "record_done", broken_record_done)
    return fired


def run_once(export: Path, url: str, tmp_path: Path, name: str) -> tuple[int, dict[str, Any]]:
    settings = RunSettings(
        transform=TransformSettings(attachments="upload"),
        mailbox=85,
        api_url=url,
        checkpoint=tmp_path / "cp.sqlite",
        rate_limit=100_000,
        reconcile_wait_s=1.0,
        downloads=DownloadLimits(addresses=ALLOW_LOOPBACK),  # the file server's 127.0.0.1
    )
    report_path = tmp_path / f"{name}.json"
    outcome = asyncio.run(
        run_import(
            [export],
            settings,
            report_path=report_path,
            dead_letter_path=tmp_path / f"{name}-dead.jsonl",
            log_json=tmp_path / f"{name}-events.jsonl",
        )
    )
    return outcome.exit_code, json.loads(report_path.read_text())


def balanced(report: dict[str, Any]) -> bool:
    return report["source_conversations"] == (
        report["imported"] + report["already_imported"] + report["invalid"] + report["failed"]
    )


def test_unexpected_exceptions_in_every_stage(
    tmp_path: Path,
    files: FileServer,
    monkeypatch: pytest.MonkeyPatch,
    signals_restored: None,
) -> None:
    monkeypatch.setenv("HELPSCOUT_APP_ID", "sandbox")
    monkeypatch.setenv("HELPSCOUT_APP_SECRET", "sandbox")
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    export = write_export(export_dir / "c.jsonl", files)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        with monkeypatch.context() as patched:
            fired = inject_faults(patched)
            code, first = run_once(export, sandbox.url, tmp_path, "first")
        assert fired >= set(FAULTY), f"faults that never fired: {set(FAULTY) - fired}"
        assert code == 1
        assert first["source_conversations"] == COUNT
        assert balanced(first)
        broken = {entry["source_id"]: entry for entry in first["errors"] if entry["part"] is None}
        for stage, sid in FAULTY.items():
            assert sid in broken, f"{stage}: {sid} is not in the report's errors"
            assert "InjectedError" in broken[sid]["message"], broken[sid]
        assert first["invalid"] == 1  # the reader's record: unreadable, so invalid
        assert first["failed"] == len(FAULTY) - 1
        dead = [
            json.loads(line) for line in (tmp_path / "first-dead.jsonl").read_text().splitlines()
        ]
        assert {d["source_id"] for d in dead} >= set(FAULTY.values())
        events = (tmp_path / "first-events.jsonl").read_text()
        assert "Traceback" in events
        assert "InjectedError" in events

        code, second = run_once(export, sandbox.url, tmp_path, "second")
        subjects = Counter(conv["subject"] for conv in sandbox.store.conversations(mailbox=85))
    assert code == 0, second["errors"]
    assert second["source_conversations"] == COUNT
    assert balanced(second)
    assert second["failed"] == second["invalid"] == 0
    assert subjects == Counter(f"Conversation S{index}" for index in range(COUNT))


def test_workers_all_gone_stop_the_run_with_3_instead_of_hanging(
    tmp_path: Path, files: FileServer, monkeypatch: pytest.MonkeyPatch, signals_restored: None
) -> None:
    """A worker loop that dies (here: at once) leaves the producer with a full queue that
    nobody reads: the run must end with WorkersLostError (exit 3) and its report."""
    monkeypatch.setenv("HELPSCOUT_APP_ID", "sandbox")
    monkeypatch.setenv("HELPSCOUT_APP_SECRET", "sandbox")
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    export = write_export(export_dir / "c.jsonl", files)

    async def dead_worker(queue: Any, handle: Any) -> None:
        raise InjectedError("worker loop broke")

    monkeypatch.setattr(pool, "work", dead_worker)
    with (
        running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox,
        pytest.raises(WorkersLostError, match="InjectedError") as caught,
    ):
        asyncio.run(asyncio.wait_for(run_once_async(export, sandbox.url, tmp_path), 60))
    assert caught.value.exit_code == 3
    report = json.loads((tmp_path / "lost.json").read_text())
    assert balanced(report)


async def run_once_async(export: Path, url: str, tmp_path: Path, **kwargs: Any) -> Any:
    settings = RunSettings(
        mailbox=85,
        api_url=url,
        checkpoint=tmp_path / "cp.sqlite",
        rate_limit=100_000,
        downloads=DownloadLimits(addresses=ALLOW_LOOPBACK),  # the file server's 127.0.0.1
    )
    return await run_import(
        [export], settings, report_path=tmp_path / "lost.json", dead_letter_path=None, **kwargs
    )


def test_a_request_that_never_ends_is_cancelled_after_the_grace_time(
    tmp_path: Path, files: FileServer, monkeypatch: pytest.MonkeyPatch, signals_restored: None
) -> None:
    """After a first SIGTERM the workers get the request timeout plus a few seconds; one stuck
    past that (here: a create that never returns, whatever the timeouts) is cancelled, its part
    left in doubt, and the run exits 130 with its report."""
    monkeypatch.setenv("HELPSCOUT_APP_ID", "sandbox")
    monkeypatch.setenv("HELPSCOUT_APP_SECRET", "sandbox")
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    export = write_export(export_dir / "c.jsonl", files)
    sent = asyncio.Event()

    async def stuck_create(self: HelpScoutClient, payload: dict[str, Any]) -> Outcome:
        sent.set()
        await asyncio.sleep(3600)
        raise AssertionError("not reached")

    monkeypatch.setattr(HelpScoutClient, "create_conversation", stuck_create)

    async def main(url: str) -> tuple[Any, float]:
        running = asyncio.create_task(
            run_once_async(export, url, tmp_path, timeouts=Timeouts(connect=1, total=1))
        )
        await asyncio.wait_for(sent.wait(), 30)
        signal.raise_signal(signal.SIGTERM)
        started = time.monotonic()
        outcome = await asyncio.wait_for(running, 30)
        return outcome, time.monotonic() - started

    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        outcome, took = asyncio.run(main(sandbox.url))
    assert outcome.exit_code == 130
    assert took < 1 + GRACE_MARGIN_S + 3
    assert balanced(json.loads((tmp_path / "lost.json").read_text()))
