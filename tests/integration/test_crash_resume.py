"""SIGKILL `importer run` at random moments and resume each time: every part exactly once."""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import expected_subjects, run_importer, start_importer, write_export

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sigkill_five_times_then_resume_creates_every_part_once(
    tmp_path: Path, export_dir: Path
) -> None:
    """Five SIGKILLs, then a run to the end: no part lost, none twice, no customer twice."""
    export = write_export(export_dir / "conversations.jsonl", 150, long_every=30, phone_every=25)
    rng = random.Random(20261125)
    checkpoint = tmp_path / "cp.sqlite"
    args = [
        "run",
        str(export),
        "--mailbox",
        "85",
        "--checkpoint",
        str(checkpoint),
        "--rate-limit",
        "1800",
        "--reconcile-wait",
        "1",
        "--no-progress",
        "--workers",
        "6",
    ]
    kills = 0
    with running_sandbox(
        SandboxConfig(mailboxes=[85], search_lag=0.3, latency_ms=(5, 40), seed=3)
    ) as sandbox:
        api = ["--api-url", sandbox.url]
        before = 0
        while kills < 5:
            process = start_importer([*args, *api])
            time.sleep(rng.uniform(1.0, 2.5))
            if process.poll() is not None:
                break  # finished before we could kill it: nothing left to interrupt
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            assert process.stderr is not None
            process.stderr.close()
            kills += 1
            now = sandbox.store.count_conversations(mailbox=85)
            assert now >= before
            before = now
        report_path = tmp_path / "report.json"
        final = run_importer([*args, *api, "--report", str(report_path)])
        conversations = sandbox.store.conversations(mailbox=85)
        customers = sandbox.store.customers()
    assert 5 == kills, "the import finished before it could be killed five times; make it longer"
    assert 0 == final.returncode, final.stderr[-3000:]
    assert expected_subjects(export) == Counter(conv["subject"] for conv in conversations)
    report = json.loads(report_path.read_text())
    assert 150 == report["imported"] + report["already_imported"]
    emails = [c.get("email") for c in customers if c.get("email")]
    assert len(emails) == len(set(emails))
    phone_only = [c for c in customers if not c.get("email")]
    assert len(phone_only) <= 5
