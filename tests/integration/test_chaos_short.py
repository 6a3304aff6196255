"""``make chaos`` in short: 3 SIGKILLs of ``importer run`` against a sandbox process with every
fault on, then a run to the end; and the checks themselves catch what they are for."""

from __future__ import annotations

import importlib.util
import random
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_chaos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chaos_script", ROOT / "scripts" / "chaos.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


chaos = load_chaos()


@pytest.mark.integration
@pytest.mark.slow
def test_three_sigkills_then_resume_leave_every_part_once(tmp_path: Path) -> None:
    settings = chaos.Settings(kills=3, conversations=120, seed=7, time_limit=240)
    line = chaos.chaos(settings, tmp_path)
    assert line.startswith("chaos: OK: 3 SIGKILLs"), line
    assert "duplicates 0, lost 0" in line


def healthy(expected: Any) -> dict[str, Any]:
    """A store that holds exactly what ``expected`` asks for."""
    customers: dict[int, tuple[list[dict[str, str]], list[dict[str, str]]]] = {}
    ids: dict[str, int] = {}
    conversations, threads, files = [], Counter[int](), []
    for subject in sorted(expected.subjects):
        base = chaos.base_subject(subject)
        owner = expected.customer[base]
        if owner not in ids:
            ids[owner] = len(ids) + 1
            if owner.startswith("phone:"):
                customers[ids[owner]] = ([], [{"value": owner[6:]}])
            else:
                customers[ids[owner]] = ([{"value": owner}], [])
        conv_id = len(conversations) + 1
        conversations.append((conv_id, subject, ids[owner]))
        parts = [s for s in expected.subjects if chaos.base_subject(s) == base]
        share = expected.messages[base] // len(parts)
        first = sorted(parts)[0] == subject
        threads[conv_id] = share + (expected.messages[base] - share * len(parts) if first else 0)
    for name in expected.files.elements():
        files.append((name, conversations[0][1]))
    return {"conversations": conversations, "threads": threads, "customers": customers,
            "files": files}  # fmt: skip


def test_the_checks_find_a_part_twice_a_customer_twice_a_file_twice_and_bad_books(
    tmp_path: Path,
) -> None:
    expected = chaos.write_export(tmp_path / "export.jsonl", 80, random.Random(1))
    report = {"source_conversations": 80, "imported": 80, "already_imported": 0, "invalid": 0,
              "failed": 0}  # fmt: skip
    store = healthy(expected)
    assert [] == chaos.check(expected, store, report, 80)

    twice = dict(store, conversations=[*store["conversations"], store["conversations"][0]])
    assert any("more than once" in p for p in chaos.check(expected, twice, report, 80))

    lost = dict(store, conversations=store["conversations"][1:])
    assert any("missing" in p for p in chaos.check(expected, lost, report, 80))

    phone_owner = next(c for c in store["customers"].values() if not c[0])
    doubled = dict(store, customers={**store["customers"], 999: phone_owner})
    assert any("without email" in p for p in chaos.check(expected, doubled, report, 80))

    file_twice = dict(store, files=[*store["files"], store["files"][0]])
    assert any("stored twice" in p for p in chaos.check(expected, file_twice, report, 80))

    bad_books = dict(report, imported=79)
    assert any("does not add up" in p for p in chaos.check(expected, store, bad_books, 80))
    failed = dict(report, imported=79, failed=1)
    assert any("failed" in p for p in chaos.check(expected, store, failed, 80))
