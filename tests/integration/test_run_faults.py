"""`importer run` against the real sandbox with faults: every part exactly once, books balanced."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import expected_subjects, run_importer, write_export

pytestmark = [pytest.mark.integration, pytest.mark.slow]

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
            [
                "run",
                str(export),
                "--mailbox",
                "85",
                "--api-url",
                sandbox.url,
                "--checkpoint",
                str(tmp_path / "cp.sqlite"),
                "--report",
                str(report_path),
                "--rate-limit",
                "100000",
                "--reconcile-wait",
                "1.5",
                "--no-progress",
            ]
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
