"""A full disk: an output that cannot be written stops the command with exit 4, naming the file.

The child process runs under ``RLIMIT_FSIZE`` with ``SIGXFSZ`` ignored, so a write past the limit
fails with ``EFBIG`` as a full disk's would with ``ENOSPC``. The limit is set so that one chosen
file reaches it first, at several moments of a run: the checkpoint as it grows, the dead-letter
file, the event log, the report at the end, the staging files of ``validate``. Each time: exit 4,
one message naming the file, no traceback; then the same command without the limit finishes as
usual and the sandbox holds every conversation exactly once.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import ROOT, base_args, expected_subjects, importer_env, write_export

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def file_size_limit(limit: int) -> Callable[[], None]:
    """The child's ``preexec_fn``: writes past ``limit`` bytes fail with EFBIG."""

    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_writes


def run_cli(args: list[str], limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m importer ARGS``, under a file size limit when given."""
    return subprocess.run(
        [sys.executable, "-m", "importer", *args],
        env=importer_env(PYTHONDONTWRITEBYTECODE="1"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        preexec_fn=file_size_limit(limit) if limit is not None else None,
    )


def assert_stopped_naming(result: subprocess.CompletedProcess[str], path: Path | str) -> None:
    """Exit 4, one error message naming ``path``, no traceback."""
    assert 4 == result.returncode, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert 1 == len(errors), result.stderr[-3000:]
    assert str(path) in errors[0], errors
    assert "could not be written" in errors[0], errors


def created_subjects(sandbox: Any) -> Counter[str]:
    return Counter(conv["subject"] for conv in sandbox.store.conversations(mailbox=85))


def canonical_line(index: int, **overrides: Any) -> str:
    """One valid canonical conversation ``S<index>`` with fields replaced by ``overrides``."""
    record: dict[str, Any] = {
        "source_id": f"S{index}",
        "subject": f"Conversation {index}",
        "customer": {"id": f"cu{index}", "email": f"customer{index}@example.com"},
        "messages": [
            {
                "created_at": f"2022-03-01T{index % 24:02d}:00:00Z",
                "author_role": "customer",
                "body_text": f"conversation {index}",
            },
            {
                "created_at": f"2022-03-01T{index % 24:02d}:30:00Z",
                "author_role": "agent",
                "body_text": f"answer {index}",
            },
        ],
        "status": "closed",
    }
    record.update(overrides)
    return json.dumps(record)


def valid_subjects(export: Path) -> Counter[str]:
    """The subjects of the export's valid conversations (those with a customer)."""
    return Counter(
        record["subject"]
        for record in map(json.loads, export.read_text().splitlines())
        if "customer" in record
    )


def rerun_completes(
    args: list[str], sandbox: Any, wanted: Counter[str], exit_code: int = 0
) -> subprocess.CompletedProcess[str]:
    """The same command without the limit finishes as usual, every conversation once."""
    again = run_cli(args)
    assert exit_code == again.returncode, again.stderr[-3000:]
    assert wanted == created_subjects(sandbox)
    return again


def test_a_checkpoint_that_cannot_grow_stops_the_run_and_the_rerun_resumes(
    tmp_path: Path, export_dir: Path
) -> None:
    export = write_export(export_dir / "conversations.jsonl", 60)
    checkpoint = tmp_path / "cp.sqlite"
    args = base_args(export, "", tmp_path, "--report", str(tmp_path / "report.json"))
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        args[args.index("--api-url") + 1] = sandbox.url
        stopped = run_cli(args, limit=160_000)
        assert_stopped_naming(stopped, checkpoint)
        first = sum(created_subjects(sandbox).values())
        assert 0 < first < 60  # it grew a bit, then could not
        report = json.loads((tmp_path / "report.json").read_text())  # written all the same
        assert report["imported"] <= first
        again = rerun_completes(args, sandbox, expected_subjects(export))
    report = json.loads((tmp_path / "report.json").read_text())
    assert 60 == report["imported"] + report["already_imported"], again.stderr[-2000:]


def test_a_dead_letter_file_that_cannot_be_written_stops_the_run(
    tmp_path: Path, export_dir: Path
) -> None:
    """Invalid conversations of 100 KB each: the third dead letter passes the limit."""
    big = "x" * 100_000
    lines = [canonical_line(index) for index in range(3)]
    for index in range(3, 10):
        invalid = json.loads(canonical_line(index))
        del invalid["customer"]
        invalid["messages"][0]["body_text"] = big
        lines.append(json.dumps(invalid))
    lines += [canonical_line(index) for index in range(10, 14)]
    export = export_dir / "conversations.jsonl"
    export.write_text("\n".join(lines) + "\n")
    dead = tmp_path / "dead.jsonl"
    args = base_args(export, "", tmp_path, "--dead-letter", str(dead))
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        args[args.index("--api-url") + 1] = sandbox.url
        assert_stopped_naming(run_cli(args, limit=250_000), dead)
        rerun_completes(args, sandbox, valid_subjects(export), exit_code=1)
    assert 7 == len(dead.read_text().splitlines())


def test_an_event_log_that_cannot_be_written_stops_the_run(
    tmp_path: Path, export_dir: Path
) -> None:
    """The log (appended to) is a few events short of the limit when the run starts."""
    export = write_export(export_dir / "conversations.jsonl", 40)
    log = tmp_path / "events.jsonl"
    limit = 2_000_000
    filler = json.dumps({"ts": 0, "event": "earlier.run", "pad": "." * 200}) + "\n"
    log.write_text(filler * ((limit - 4_000) // len(filler)))
    args = base_args(export, "", tmp_path, "--log-json", str(log))
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        args[args.index("--api-url") + 1] = sandbox.url
        assert_stopped_naming(run_cli(args, limit=limit), log)
        assert sum(created_subjects(sandbox).values()) < 40
        for line in log.read_text().splitlines():  # no half line at its end
            json.loads(line)
        rerun_completes(args, sandbox, expected_subjects(export))


def test_a_report_that_cannot_be_written_stops_with_exit_4(
    tmp_path: Path, export_dir: Path
) -> None:
    """Every conversation is imported; the report (its warnings: 600 system messages dropped
    from each) is what passes the limit, at the end. The report's old content stays whole."""
    system = [
        {"created_at": "2022-03-02T00:00:00Z", "author_role": "system", "body_text": f"event {n}"}
        for n in range(600)
    ]
    lines = []
    for index in range(6):
        record = json.loads(canonical_line(index))
        record["messages"] += system
        lines.append(json.dumps(record))
    export = export_dir / "conversations.jsonl"
    export.write_text("\n".join(lines) + "\n")
    report = tmp_path / "report.json"
    report.write_text('{"earlier": true}\n')
    args = base_args(export, "", tmp_path, "--report", str(report))
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        args[args.index("--api-url") + 1] = sandbox.url
        assert_stopped_naming(run_cli(args, limit=400_000), report)
        assert {"earlier": True} == json.loads(report.read_text())
        assert not (tmp_path / "report.json.tmp").exists()
        assert valid_subjects(export) == created_subjects(sandbox)
        rerun_completes(args, sandbox, valid_subjects(export))
    assert 6 == json.loads(report.read_text())["already_imported"]


@pytest.mark.parametrize("output", ["--report", "--dead-letter", "-o"])
def test_validate_and_convert_stop_with_exit_4_naming_the_output(
    tmp_path: Path, export_dir: Path, output: str
) -> None:
    lines = [canonical_line(index) for index in range(400)]
    for index in range(0, 400, 2):  # every other one invalid, with a long reason
        invalid = json.loads(lines[index])
        invalid["customer"] = {"id": "x", "email": "not an address " + "y" * 300}
        lines[index] = json.dumps(invalid)
    export = export_dir / "conversations.jsonl"
    export.write_text("\n".join(lines) + "\n")
    target = tmp_path / "out.json"
    command = "convert" if output == "-o" else "validate"
    result = run_cli([command, str(export), output, str(target), "--no-progress"], limit=40_000)
    assert_stopped_naming(result, target)


def test_staging_that_cannot_be_written_stops_validate_with_exit_4(tmp_path: Path) -> None:
    export = ROOT / "samples" / "zendesk" / "export"
    result = run_cli(["validate", str(export), "--no-progress", "--jobs", "1"], limit=20_000)
    assert_stopped_naming(result, "staging files")
