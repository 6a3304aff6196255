"""`importer run` against the real sandbox with faults: every part exactly once, books balanced."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import base_args, expected_subjects, run_importer, write_export

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def stored_bodies(sandbox: Any) -> Counter[str]:
    """How many times each thread text is stored in mailbox 85 of the sandbox."""
    return Counter(
        thread["text"]
        for conv in sandbox.store.conversations(mailbox=85)
        for thread in sandbox.store.threads(conv["id"])
    )


FAULTS = {"error500": 0.05, "drop": 0.05, "reset": 0.05, "slow": 0.05, "throttle": 0.05}


@pytest.mark.parametrize("search_created_at", ["historical", "api"])
def test_300_conversations_through_every_fault_exist_exactly_once(
    tmp_path: Path, export_dir: Path, search_created_at: str
) -> None:
    """5% of each fault, a 3-second token and a lagging index: still one conversation per part."""
    export = write_export(export_dir / "conversations.jsonl", 300, long_every=40, phone_every=50)
    config = SandboxConfig(
        mailboxes=[85],
        faults=FAULTS,
        seed=7,
        slow_s=1.0,
        window_s=2,  # a throttle fault's Retry-After runs to the next window
        token_ttl=3,
        search_lag=0.5,
        search_created_at=search_created_at,
    )
    report_path = tmp_path / "report.json"
    with running_sandbox(config) as sandbox:
        result = run_importer(
            base_args(
                export,
                sandbox.url,
                tmp_path,
                "--report",
                str(report_path),
                "--reconcile-wait",
                "1.5",
            )
        )
        conversations = sandbox.store.conversations(mailbox=85)
        customers = sandbox.store.customers()
    assert 0 == result.returncode, result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert (300, 300, 0, 0) == (
        report["source_conversations"],
        report["imported"],
        report["invalid"],
        report["failed"],
    )
    created = Counter(conv["subject"] for conv in conversations)
    assert expected_subjects(export) == created
    emails = [c.get("email") or "" for c in customers]
    assert len([e for e in emails if e]) == len({e.lower() for e in emails if e})
    phones = Counter(
        json.dumps(c.get("phones"), sort_keys=True) for c in customers if not c.get("email")
    )
    assert all(1 == n for n in phones.values()), phones
    assert report["split_conversations"] == 7
    # One run created them all, those whose answer was lost and then found included.
    assert report["created_conversations"] == sum(created.values())
    assert report["in_doubt_resolved"] > 0


def test_a_customers_conversations_with_one_subject_each_exist_once(tmp_path: Path) -> None:
    """Twelve "Order issue" conversations of one customer, through writes that fail before
    storing: a failed send is never taken for the customer's other conversation (which would
    lose it behind an exit 0); each ends up in Help Scout exactly once."""
    export = tmp_path / "same.jsonl"
    lines = [
        json.dumps(
            {
                "source_id": f"D{i}",
                "subject": "Order issue",
                "customer": {"email": "same@example.com"},
                "messages": [
                    {
                        "created_at": 1_704_100_000 + i * 600,
                        "author_role": "customer",
                        "body_text": f"uniq-{i} body",
                    }
                ],
            }
        )
        for i in range(12)
    ]
    export.write_text("\n".join(lines) + "\n")
    config = SandboxConfig(
        mailboxes=[85], faults={"error500": 0.3, "reset": 0.2, "drop": 0.1}, seed=3
    )
    report_path = tmp_path / "report.json"
    with running_sandbox(config) as sandbox:
        result = run_importer(
            base_args(
                export, sandbox.url, tmp_path, "--report", str(report_path), "--reconcile-wait", "1"
            )
        )
        bodies = stored_bodies(sandbox)
    report = json.loads(report_path.read_text())
    assert result.returncode in (0, 1), result.stderr[-3000:]
    imported = report["imported"]
    assert 12 == imported + report["failed"]
    assert imported == len(bodies)  # every conversation counted imported is there
    assert all(1 == n for n in bodies.values()), bodies  # and none twice
    assert report["in_doubt_resolved"] > 0  # the drops were found again, not resent


def test_uploads_through_lost_answers_end_with_each_file_once(tmp_path: Path) -> None:
    """Uploads after creation through 5xx before storing and answers dropped after storing: a
    lost answer is looked up on the thread before the file is sent again; what stays unknown
    is retried by the rerun. Every file ends in Help Scout exactly once."""
    export = tmp_path / "files.jsonl"
    records = []
    for i in range(20):
        files = [
            {"file_name": f"f{i}-{n}.txt", "content_type": "text/plain",
             "data_base64": base64.b64encode(f"file {i}-{n}".encode()).decode()}
            for n in range(2)
        ]  # fmt: skip
        records.append(
            {
                "source_id": f"U{i}",
                "subject": f"Files {i}",
                "customer": {"email": f"u{i}@example.com"},
                "messages": [
                    {"created_at": 1_704_100_000 + i * 60, "author_role": "customer",
                     "body_text": f"files {i}", "attachments": files}
                ],
            }
        )  # fmt: skip
    export.write_text("".join(json.dumps(r) + "\n" for r in records))
    config = SandboxConfig(mailboxes=[85], faults={"error500": 0.25, "drop": 0.25}, seed=5)
    args_extra = ["--attachments", "upload", "--reconcile-wait", "1"]
    with running_sandbox(config) as sandbox:
        for _ in range(2):  # the rerun finishes what stayed pending
            result = run_importer(base_args(export, sandbox.url, tmp_path, *args_extra))
            assert result.returncode in (0, 1), result.stderr[-3000:]
        stored = Counter(
            attachment["file_name"]
            for conv in sandbox.store.conversations(mailbox=85)
            for thread in sandbox.store.threads(conv["id"])
            for attachment in sandbox.store.attachments(thread["id"])
        )
    expected = Counter(f"f{i}-{n}.txt" for i in range(20) for n in range(2))
    assert expected == stored


def test_customers_without_email_alike_in_everything_else_each_keep_their_conversation(
    tmp_path: Path,
) -> None:
    """Forty "Welcome" conversations of forty customers without email, one message each at the
    same moment, through lost answers: each lands once, none is taken for another's."""
    export = tmp_path / "welcome.jsonl"
    lines = []
    for i in range(40):
        message = {"created_at": "2023-05-01T00:00:00Z", "author_role": "customer",
                   "body_text": f"token W{i:03d}"}  # fmt: skip
        customer = {"id": f"cust-{i}", "phone": f"+1 555 01{i:02d}"}
        record = {"source_id": f"W{i:03d}", "subject": "Welcome", "customer": customer,
                  "messages": [message]}  # fmt: skip
        lines.append(json.dumps(record) + "\n")
    export.write_text("".join(lines))
    faults = {"drop": 0.2, "reset": 0.2, "slow": 0.2}
    config = SandboxConfig(mailboxes=[85], faults=faults, seed=1, slow_s=1.0, search_lag=0.5)
    report_path = tmp_path / "report.json"
    with running_sandbox(config) as sandbox:
        result = run_importer(
            base_args(export, sandbox.url, tmp_path, "--report", str(report_path),
                      "--reconcile-wait", "1.5")
        )  # fmt: skip
        bodies = stored_bodies(sandbox)
    report = json.loads(report_path.read_text())
    assert result.returncode in (0, 1), result.stderr[-3000:]
    assert report["imported"] == len(bodies)
    assert 40 == report["imported"] + report["failed"]
    assert all(1 == n for n in bodies.values()), bodies
