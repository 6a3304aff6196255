"""migrate.mk, the batch Makefile, driven by make against the real sandbox.

Two exports at once (``make -j2``) into one rate-limited account, a blocker, invalid
conversations, and a failed run that a second ``make`` finishes from the checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import ROOT, expected_subjects, importer_env, write_export

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make"),
]

MIGRATE_MK = ROOT / "migrate.mk"


def named_export(path: Path, count: int, prefix: str, **options: Any) -> Path:
    """``write_export`` with source ids and subjects of their own, so exports do not collide."""
    write_export(path, count, **options)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in records:
        record["source_id"] = f"{prefix}-{record['source_id']}"
        record["subject"] = f"{prefix} {record['subject']}"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def make(
    out: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``make -f migrate.mk OUT=out ARGS`` with the sandbox's credentials."""
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(MIGRATE_MK), f"OUT={out}", *args],
        env=env or importer_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def report(out: Path, name: str, stage: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / name / f"{stage}.json").read_text())
    return data


def subjects(sandbox: Any) -> Counter[str]:
    return Counter(c["subject"] for c in sandbox.store.conversations(mailbox=85))


# Both runs are told nothing about the account: the default --rate-limit (400) is above its
# budget, which they learn from X-RateLimit-Limit-Minute. 600 units a window is the issue's
# account; IMPORTER_RATE_WINDOW_S tells the pacer the sandbox's window is 6 s, not a minute.
BUDGET = 600
WINDOW_S = 6.0
PER_EXPORT = 650


def test_two_exports_at_once_share_one_budget(tmp_path: Path) -> None:
    """make -j2: both imports complete once each, >= 90% of the budget used together in every
    full window after the first, at most 1% of the answers 429."""
    a = named_export(tmp_path / "a.jsonl", PER_EXPORT, "A")
    b = named_export(tmp_path / "b.jsonl", PER_EXPORT, "B")
    out = tmp_path / "out"
    env = importer_env(IMPORTER_RATE_WINDOW_S=str(WINDOW_S))
    config = SandboxConfig(mailboxes=[85], rate_limit=BUDGET, window_s=WINDOW_S)
    with running_sandbox(config) as sandbox:
        common = ["-j2", f"EXPORTS=a={a} b={b}", "MAILBOX=85", f"API_URL={sandbox.url}"]
        planned = make(out, *common, "migrate-plan", env=env)
        assert 0 == planned.returncode, planned.stderr[-3000:]
        before = sandbox.stats.by_status
        started = time.monotonic() - sandbox.sandbox.limiter.started
        ran = make(out, *common, "migrate-run", env=env)
        ended = time.monotonic() - sandbox.sandbox.limiter.started
        windows = sandbox.stats.units_per_window
        after = sandbox.stats.by_status
        created = subjects(sandbox)
    assert 0 == ran.returncode, ran.stderr[-3000:]
    for name in ("a", "b"):
        run = report(out, name, "run")
        assert (PER_EXPORT, PER_EXPORT, 0, 0) == (
            run["source_conversations"],
            run["imported"],
            run["invalid"],
            run["failed"],
        )
        assert not (out / name / "run.json.tmp").exists()
    assert expected_subjects(a) + expected_subjects(b) == created  # each exactly once

    answers = {status: after.get(status, 0) - before.get(status, 0) for status in after}
    throttled = answers.get(429, 0)
    total = sum(answers.values())
    assert throttled <= 0.01 * total, (throttled, total, windows)
    # Windows wholly within the run, after its first, while the work went on past their end
    # (the window where the last conversation went is partial).
    full = [
        i
        for i in range(len(windows) - 1)
        if i * WINDOW_S >= started and (i + 1) * WINDOW_S <= ended and windows[i + 1] > 0
    ][1:]
    assert len(full) >= 2, (started, ended, windows)
    shares = [windows[i] / BUDGET for i in full]
    assert min(shares) >= 0.90, (shares, windows)
    print(f"budget used per full window {shares}, 429 {throttled} of {total}, windows {windows}")


def test_invalid_conversations_blocker_and_resume_after_failures(tmp_path: Path) -> None:
    """STOP_ON_INVALID stops at validate; a blocker (unknown mailbox) stops before anything is
    sent; invalid conversations are listed and left out; failed conversations leave no run.json
    and the next make finishes them from the checkpoint."""
    export = named_export(tmp_path / "shop.jsonl", 30, "S", long_every=6, long_size=40)
    with export.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps({"source_id": "broken", "customer": {"id": "x"}, "messages": []}))
        stream.write("\n")
    out = tmp_path / "out"
    folder = out / "shop"
    db = tmp_path / "sandbox.sqlite"

    stopped = make(out, f"EXPORT={export}", "STOP_ON_INVALID=1", "migrate-run")
    assert 0 != stopped.returncode
    assert "[shop] validate: 1 invalid conversations and STOP_ON_INVALID is set" in stopped.stderr
    assert "broken" in stopped.stderr
    assert not (folder / "validate.json").exists()
    assert (folder / "validate.last.json").exists()

    # A sandbox that refuses the long conversations (413): they fail, the rest is imported.
    strict = SandboxConfig(mailboxes=[85], db=str(db), max_body_bytes=6000)
    with running_sandbox(strict) as sandbox:
        port = sandbox.port
        common = [f"EXPORT={export}", f"API_URL={sandbox.url}", "RATE_LIMIT=100000"]
        blocked = make(out, *common, "MAILBOX=99", "migrate-run")
        assert 0 != blocked.returncode
        assert "[shop] plan: exit 2" in blocked.stderr
        assert "blocker:" in blocked.stderr
        assert "broken" in blocked.stderr  # listed by validate, not a stop
        assert (folder / "validate.json").exists()
        assert not (folder / "plan.json").exists()
        assert not (folder / "checkpoint.sqlite").exists()
        assert 0 == sandbox.store.count_conversations()

        failed = make(out, *common, "MAILBOX=85", "migrate-run")
        assert 0 != failed.returncode
        assert "conversations failed: not made; run make again" in failed.stderr
        assert (folder / "plan.json").exists()
        assert not (folder / "run.json").exists()
        first = json.loads((folder / "run.last.json").read_text())
        assert first["failed"] == 5
        assert first["imported"] == 25
        assert first["invalid"] == 1

    # The same API URL (port and stored state) without the body limit: make runs `run` alone.
    with running_sandbox(SandboxConfig(mailboxes=[85], db=str(db)), port=port) as sandbox:
        resumed = make(out, *common, "MAILBOX=85", "migrate-run")
        assert 0 == resumed.returncode, resumed.stderr[-3000:]
        assert "[shop] validate" not in resumed.stdout
        assert "[shop] plan" not in resumed.stdout
        verified = make(out, *common, "MAILBOX=85")  # the default goal: up to verify.json
        again = make(out, *common, "MAILBOX=85")
        created = subjects(sandbox)
    run = report(out, "shop", "run")
    assert (5, 25, 1, 0) == (
        run["imported"],
        run["already_imported"],
        run["invalid"],
        run["failed"],
    )
    assert "broken" in resumed.stderr  # the invalid conversation is listed again
    assert 0 == verified.returncode, verified.stderr[-3000:]
    assert "[shop] verify" in verified.stdout
    assert "[shop] run" not in verified.stdout
    verify = report(out, "shop", "verify")
    assert ([], 30) == (verify["mismatches"], verify["conversations_checked"])
    assert (folder / "verify.html").exists()
    assert 0 == again.returncode
    assert "Nothing to be done" in again.stdout
    valid_lines = [
        line for line in export.read_text().splitlines() if '"source_id": "broken"' not in line
    ]
    valid = tmp_path / "valid.jsonl"
    valid.write_text("\n".join(valid_lines) + "\n")
    assert expected_subjects(valid) == created


def test_make_interrupted_mid_run_resumes_on_the_next_make(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to make's process group) during run: no run.json; the next make runs run
    again, which resumes from the checkpoint and creates nothing twice."""
    export = named_export(tmp_path / "acme.jsonl", 40, "C")
    out = tmp_path / "out"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        common = [f"EXPORT={export}", "MAILBOX=85", f"API_URL={sandbox.url}"]
        process = subprocess.Popen(
            ["make", "-f", str(MIGRATE_MK), f"OUT={out}", *common, "RATE_LIMIT=120"],
            env=importer_env(),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while sandbox.store.count_conversations(mailbox=85) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=90)
        part_way = sandbox.store.count_conversations(mailbox=85)
        assert 0 != process.returncode
        assert "resume" in stderr
        assert not (out / "acme" / "run.json").exists()
        resumed = make(out, *common, "RATE_LIMIT=100000", "migrate-run")
        created = subjects(sandbox)
    assert 0 < part_way < 40, stderr[-2000:]
    assert 0 == resumed.returncode, resumed.stderr[-3000:]
    assert "[acme] validate" not in resumed.stdout
    run = report(out, "acme", "run")
    assert 40 == run["imported"] + run["already_imported"]
    assert run["already_imported"] >= part_way - 8  # at most one per worker was in flight
    assert expected_subjects(export) == created
