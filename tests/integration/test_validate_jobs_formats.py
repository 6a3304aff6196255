"""Every format says with worker processes (``--jobs 2``) what it says in one process: the same
report, dead letters and converted lines for each sample export, for the same export with its
records and files in shuffled order, and for the same export broken (a record cut, a line that
is no record, a file cut short). Platform exports are staged in the main process and built in
the workers (:mod:`importer.readers.staged_batches`): these exports take every path of that."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT
from .test_validate_jobs import offline

SAMPLES = sorted(p for p in (ROOT / "samples").glob("*/export"))


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _shuffled_json(text: str, rng: random.Random) -> str:
    """The records of a JSON file in another order: the list (the file's, or the one list of a
    wrapped list or API page), or the lines of NDJSON."""
    whole = _json_or_none(text)
    if isinstance(whole, list):
        rng.shuffle(whole)
        return json.dumps(whole, indent=1)
    if isinstance(whole, dict):
        lists = [key for key, value in whole.items() if isinstance(value, list) and value]
        for key in lists[:1]:
            rng.shuffle(whole[key])
        return json.dumps(whole, indent=1)
    lines = [line for line in text.splitlines() if line.strip()]
    rng.shuffle(lines)
    return "\n".join(lines) + "\n"


def _shuffled_csv(text: str, rng: random.Random) -> str:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    body = rows[1:]
    rng.shuffle(body)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([rows[0], *body])
    return out.getvalue()


def _shuffled_mbox(text: str, rng: random.Random) -> str:
    mails = ["From " + part for part in text.split("\nFrom ") if part.strip()]
    mails[0] = mails[0][len("From ") :]
    rng.shuffle(mails)
    return "\n".join(mail.rstrip("\n") + "\n" for mail in mails)


def shuffled(export: Path, folder: Path, seed: int = 24) -> Path:
    """A copy of ``export`` with each file's records, and the files' names, in another order."""
    rng = random.Random(seed)
    shutil.copytree(export, folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if path.suffix == ".csv":
            text = _shuffled_csv(text, rng)
        elif path.suffix == ".mbox":
            text = _shuffled_mbox(text, rng)
        elif path.suffix in (".json", ".jsonl"):
            text = _shuffled_json(text, rng)
        else:
            continue
        path.unlink()
        (path.parent / f"{rng.randrange(10**6):06d}-{path.name}").write_text(
            text, encoding="utf-8", errors="surrogateescape"
        )
    return folder


def broken(export: Path, folder: Path) -> Path:
    """A copy of ``export`` with, in every record file, a line that is no record in the middle
    (or, in a file of one JSON value, the value cut short at two thirds)."""
    shutil.copytree(export, folder)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix not in (".json", ".jsonl", ".csv", ".mbox"):
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        lines = text.splitlines(keepends=True)
        middle = len(lines) // 2
        if path.suffix == ".csv":
            lines.insert(max(middle, 1), 'X1,"never closed,2024-01-01\n')
        elif path.suffix == ".mbox":
            lines = lines[: middle + 3]  # the last mail cut short
        elif _json_or_none(text) is not None and len(lines) > 1 and not text.startswith('{"id'):
            lines = lines[: len(lines) * 2 // 3]  # one JSON value: cut
        else:
            lines.insert(middle, '{"id": 77, "broken": [1, 2\n')
        path.write_text("".join(lines), encoding="utf-8", errors="surrogateescape")
    return folder


def _alike(export: Path, tmp_path: Path) -> dict[str, Any]:
    one = offline("convert", export, tmp_path / "one", 1)
    two = offline("convert", export, tmp_path / "two", 2)
    assert one == two
    return one[0]


@pytest.mark.parametrize("export", SAMPLES, ids=lambda path: path.parent.name)
def test_every_sample_converts_alike_in_workers(tmp_path: Path, export: Path) -> None:
    report = _alike(export, tmp_path)
    assert report["valid"] > 0


@pytest.mark.parametrize("export", SAMPLES, ids=lambda path: path.parent.name)
def test_every_sample_shuffled_converts_alike_in_workers(tmp_path: Path, export: Path) -> None:
    report = _alike(shuffled(export, tmp_path / "export"), tmp_path)
    assert report["valid"] > 0


@pytest.mark.parametrize("export", SAMPLES, ids=lambda path: path.parent.name)
def test_every_sample_broken_converts_alike_in_workers(tmp_path: Path, export: Path) -> None:
    report = _alike(broken(export, tmp_path / "export"), tmp_path)
    if export.parent.name != "mail":  # a mail cut short is still a mail
        assert report["invalid"] > 0 or report["warnings"] or report["errors"]


def test_a_worker_that_dies_building_a_slice_loses_no_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker that builds and plans Zendesk ticket 1007 exits on the spot: the main process
    builds the slices the workers did not, from the staging store, and says so."""
    import os

    from importer.planning import pool as planning_pool

    main = os.getpid()
    real_plan_record = planning_pool.plan_record

    def dying(record: Any, ctx: Any) -> Any:
        if os.getpid() != main and record.source_id == "1007":
            os._exit(9)
        return real_plan_record(record, ctx)

    export = ROOT / "samples" / "zendesk" / "export"
    expected = offline("convert", export, tmp_path / "one", 1)
    monkeypatch.setattr(planning_pool, "plan_record", dying)
    assert offline("convert", export, tmp_path / "two", 2) == expected
    assert "planned in this process" in caplog.text
