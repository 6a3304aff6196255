"""`importer verify` against the real sandbox: a clean import verifies; what is changed in Help
Scout afterwards is reported as exactly that mismatch; --sample is seeded; --html stands alone."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox.server import RunningSandbox
from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import base_args, run_importer, write_export

pytestmark = pytest.mark.integration


def _import(export: Path, sandbox: RunningSandbox, tmp_path: Path, *extra: str) -> Path:
    result = run_importer(base_args(export, sandbox.url, tmp_path, "--tag", "migrated", *extra))
    assert 0 == result.returncode, result.stderr[-2000:]
    return tmp_path / "cp.sqlite"


def _verify(checkpoint: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    report = checkpoint.with_name(f"verify-{len(list(checkpoint.parent.glob('verify-*')))}.json")
    args = ("--checkpoint", str(checkpoint), "--report", str(report), *args)
    result = run_importer(["verify", *args])
    body = json.loads(report.read_text()) if report.exists() else {}
    return result.returncode, body, result.stdout + result.stderr


def _conversation_of(checkpoint: Path, source_id: str, part: int = 1) -> int:
    with sqlite3.connect(checkpoint) as conn:
        row = conn.execute(
            "SELECT conversation_id FROM parts WHERE source_id = ? AND part = ?", (source_id, part)
        ).fetchone()
    return int(row[0])


def _tamper(sandbox: RunningSandbox, sql: str, *params: Any) -> None:
    store = sandbox.store
    with store._lock:
        store._db.execute(sql, params)


def _threads(sandbox: RunningSandbox, conversation_id: int) -> list[dict[str, Any]]:
    return sandbox.store.threads(conversation_id)


def test_a_clean_import_verifies_with_nothing_but_the_checkpoint(
    tmp_path: Path, export_dir: Path
) -> None:
    export = write_export(export_dir / "export.jsonl", 12, long_every=6, long_size=130)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        checkpoint = _import(export, sandbox, tmp_path)
        html = tmp_path / "verify.html"
        csv = tmp_path / "verify.csv"
        code, report, output = _verify(
            checkpoint, "--html", str(html), "--csv", str(csv), "--rate-limit", "100000"
        )
    assert 0 == code, output[-3000:]
    assert (12, 14, 0, []) == (
        report["conversations_checked"],
        report["parts_checked"],
        report["not_imported"],
        report["mismatches"],
    )
    assert report["threads_checked"] == 10 * 3 + 2 * 130
    assert report["requests"] <= 14 + 3
    assert report["seed"] is None
    page = html.read_text()
    assert "<svg" in page
    assert "2022-01" in page
    assert "http://" not in page
    assert "https://" not in page
    assert csv.read_text().startswith("source_id,part,thread,field,expected,found")


def test_changes_in_help_scout_are_each_exactly_that_mismatch(
    tmp_path: Path, export_dir: Path
) -> None:
    export = write_export(export_dir / "export.jsonl", 6)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        checkpoint = _import(export, sandbox, tmp_path)
        deleted = _threads(sandbox, _conversation_of(checkpoint, "S1"))[1]
        _tamper(sandbox, "DELETE FROM threads WHERE id = ?", deleted["id"])
        moved = _threads(sandbox, _conversation_of(checkpoint, "S2"))[1]
        _tamper(
            sandbox, "UPDATE threads SET created_at = ? WHERE id = ?", "2022-01-01T02:30:00Z",
            moved["id"],
        )  # fmt: skip
        gone = _conversation_of(checkpoint, "S4")
        _tamper(sandbox, "DELETE FROM threads WHERE conversation_id = ?", gone)
        _tamper(sandbox, "DELETE FROM conversations WHERE id = ?", gone)
        code, report, output = _verify(checkpoint, "--csv", str(tmp_path / "m.csv"))
    assert 1 == code, output[-3000:]
    found = {(m["source_id"], m["part"], m["thread"], m["field"]) for m in report["mismatches"]}
    assert {
        ("S1", 1, 2, "thread"),
        ("S2", 1, 2, "createdAt"),
        ("S4", 1, None, "conversation"),
    } == found
    assert 3 == len(report["mismatches"])
    by_key = {m["source_id"]: m for m in report["mismatches"]}
    assert ("2022-01-01T02:01:00Z", "2022-01-01T02:30:00Z") == (
        by_key["S2"]["expected"],
        by_key["S2"]["found"],
    )
    assert "missing" == by_key["S4"]["found"]
    assert "S1\t1\t2\tthread" in output
    assert 4 == len((tmp_path / "m.csv").read_text().strip().splitlines())


def test_sample_is_drawn_by_its_seed(tmp_path: Path, export_dir: Path) -> None:
    export = write_export(export_dir / "export.jsonl", 30)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        checkpoint = _import(export, sandbox, tmp_path)
        runs = [_verify(checkpoint, "--sample", "5", "--seed", seed) for seed in ("7", "7", "8")]
        drawn = _verify(checkpoint, "--sample", "5")
    (code, first, _), (_, again, _), (_, other, _) = runs
    assert 0 == code
    assert (5, 5, 7) == (first["conversations_checked"], first["sample"], first["seed"])
    assert first["sampled"] == again["sampled"]
    assert 5 == len(set(first["sampled"]))
    assert first["sampled"] != other["sampled"]
    assert isinstance(drawn[1]["seed"], int)
    assert first["requests"] <= 5 + 3


def test_a_checkpoint_without_recorded_options_needs_input(
    tmp_path: Path, export_dir: Path
) -> None:
    export = write_export(export_dir / "export.jsonl", 4)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        checkpoint = _import(export, sandbox, tmp_path)
        with sqlite3.connect(checkpoint) as conn:  # as an importer before verify left it
            conn.execute("DROP TABLE run_options")
            conn.execute("UPDATE run SET value = '2' WHERE key = 'schema_version'")
        refused = run_importer(["verify", "--checkpoint", str(checkpoint)])
        code, report, output = _verify(checkpoint, str(export), "--tag", "migrated")
        untagged, _, _ = _verify(checkpoint, str(export))
    assert 2 == refused.returncode
    assert "give INPUT" in refused.stderr
    assert 0 == code, output[-2000:]
    assert 4 == report["conversations_checked"]
    assert 1 == untagged  # without the run's --tag, the tags differ


def test_options_given_to_verify_override_the_recorded_ones(
    tmp_path: Path, export_dir: Path
) -> None:
    export = write_export(export_dir / "export.jsonl", 3)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        checkpoint = _import(export, sandbox, tmp_path)
        code, report, _ = _verify(checkpoint, "--tag", "other")
    assert 1 == code
    assert {"tags"} == {m["field"] for m in report["mismatches"]}
