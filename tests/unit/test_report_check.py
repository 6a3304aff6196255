"""scripts/report_check.py: when a stage of migrate.mk counts as made."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "report_check.py"


@pytest.fixture(scope="module")
def rc() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_check", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(tmp_path: Path, **report: Any) -> Path:
    path = tmp_path / "stage.last.json"
    path.write_text(json.dumps(report))
    return path


RUN = {
    "source_conversations": 10,
    "imported": 8,
    "already_imported": 1,
    "invalid": 1,
    "failed": 0,
    "errors": [{"source_id": "7", "location": "a.jsonl:7", "message": "no messages"}],
}


def check(rc: ModuleType, stage: str, path: Path, code: int, **kw: Any) -> tuple[bool, str]:
    out = io.StringIO()
    made = rc.check(stage, path, code, name="acme", out=out, **kw)
    return made, out.getvalue()


def test_run_with_invalid_and_nothing_failed_is_made_and_lists_them(rc, tmp_path):
    made, text = check(rc, "run", write(tmp_path, **RUN), 1)
    assert made
    assert "[acme] run: 8 imported, 1 already imported, 1 invalid" in text
    assert "7 (a.jsonl:7): no messages" in text


def test_stop_on_invalid_refuses_the_stage(rc, tmp_path):
    made, text = check(rc, "validate", write(tmp_path, valid=9, **RUN), 1, stop_on_invalid=True)
    assert not made
    assert "STOP_ON_INVALID" in text


def test_failed_conversations_leave_run_unmade(rc, tmp_path):
    report = dict(RUN, imported=7, failed=1)
    made, text = check(rc, "run", write(tmp_path, **report), 1)
    assert not made
    assert "1 conversations failed" in text


def test_books_that_do_not_add_up_leave_run_unmade(rc, tmp_path):
    made, _ = check(rc, "run", write(tmp_path, **dict(RUN, imported=5)), 0)
    assert not made


@pytest.mark.parametrize("code", [2, 3, 130, 137])
def test_other_exit_codes_are_never_made(rc, tmp_path, code):
    made, text = check(rc, "run", write(tmp_path, **dict(RUN, invalid=0, imported=9)), code)
    assert not made
    assert f"exit {code}" in text
    if code in (3, 130):
        assert "run make again to resume" in text


def test_a_missing_report_is_not_made(rc, tmp_path):
    made, text = check(rc, "validate", tmp_path / "none.json", 0)
    assert not made
    assert "no readable report" in text


def test_plan_blockers_are_printed(rc, tmp_path):
    path = write(tmp_path, blockers=["--mailbox 99: no such mailbox"], conversations=3)
    made, text = check(rc, "plan", path, 2)
    assert not made
    assert "blocker: --mailbox 99: no such mailbox" in text


def test_verify_mismatches_are_listed_and_not_made(rc, tmp_path):
    mismatch = {
        "source_id": "4",
        "part": 1,
        "thread": 2,
        "field": "createdAt",
        "expected": "2022-01-01T00:00:00Z",
        "found": "2022-01-01T01:00:00Z",
    }
    made, text = check(rc, "verify", write(tmp_path, mismatches=[mismatch]), 1)
    assert not made
    assert "4 part 1 thread 2: createdAt" in text
    made, _ = check(rc, "verify", write(tmp_path, mismatches=[], conversations_checked=3), 0)
    assert made


@pytest.mark.parametrize(
    ("value", "stops"), [("1", True), ("yes", True), ("0", False), ("", False)]
)
def test_main_reads_stop_on_invalid_like_make_would(rc, tmp_path, value, stops):
    path = write(tmp_path, valid=9, **RUN)
    code = rc.main(["validate", str(path), "1", "--stop-on-invalid", value])
    assert (1 if stops else 0) == code
