"""Batches for planning workers give the records the reader gives, in its order, every time."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers import open_export
from importer.readers.batches import ReadRecords
from importer.readers.canonical.reader import CanonicalLines
from importer.readers.containers import JsonLines, iter_json_records, json_line_runs
from importer.readers.inputs import InputFile
from importer.readers.staged_batches import StagedSlice

LINE = st.one_of(
    st.builds(lambda n: json.dumps({"source_id": f"s{n}", "messages": []}), st.integers(0, 99)),
    st.just(""),
    st.just("   "),
    st.just('{"source_id": "broken", "messages": ['),
    st.just("[]"),
    st.just(json.dumps([{"source_id": "a"}, {"source_id": "b"}])),
    st.just(json.dumps({"conversations": [{"source_id": "c"}]})),
)


def _file(tmp_path: Path, text: str) -> InputFile:
    path = tmp_path / "conversations.jsonl"
    path.write_text(text, encoding="utf-8")
    return InputFile(name=path.name, top=tmp_path, path=path)


def _parsed(input_file: InputFile, size: int) -> list[tuple[str, object, str | None]]:
    seen = []
    for item in json_line_runs(input_file, size):
        assert not isinstance(item, JsonLines) or 0 < len(item.lines) <= size
        records = list(item.json_records()) if isinstance(item, JsonLines) else [item]
        seen += [(r.location, r.data, r.error) for r in records]
    return seen


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(LINE, max_size=30), size=st.integers(1, 7))
def test_line_runs_read_as_the_whole_file_reads(
    tmp_path_factory: object, lines: list[str], size: int
) -> None:
    folder = tmp_path_factory.mktemp("runs")  # type: ignore[attr-defined]
    input_file = _file(folder, "\n".join(lines) + "\n")
    whole = [(r.location, r.data, r.error) for r in iter_json_records(input_file)]
    assert _parsed(input_file, size) == whole


def test_a_json_document_comes_record_by_record(tmp_path: Path) -> None:
    input_file = _file(tmp_path, json.dumps([{"source_id": "x"}, {"source_id": "y"}], indent=1))
    items = list(json_line_runs(input_file, 10))
    assert [type(item).__name__ for item in items] == ["JsonRecord", "JsonRecord"]


def test_export_batches_hold_the_records_in_order_and_survive_pickling(tmp_path: Path) -> None:
    lines = [json.dumps({"source_id": f"s{n}", "customer": {}, "messages": []}) for n in range(7)]
    (tmp_path / "conversations.jsonl").write_text("\n".join(lines) + "\n")
    with open_export([tmp_path], "canonical") as export:
        serial = [(r.location, r.source_id) for r in export.records()]
        batches = [pickle.loads(pickle.dumps(b)) for b in export.record_batches(3)]
    assert all(isinstance(b, CanonicalLines) for b in batches)
    batched = [(r.location, r.source_id) for b in batches for r in b.records()]
    again = [(r.location, r.source_id) for b in batches for r in b.records()]
    assert serial == batched == again
    assert [len(list(b.records())) for b in batches] == [3, 3, 1]


def test_staged_formats_are_batched_as_slices_built_where_planned(tmp_path: Path) -> None:
    """A staged export's batches are slices of its staging store (a few numbers, pickled to a
    worker), built into the same records, in the same order, each time they are asked."""
    root = Path(__file__).resolve().parents[2]
    with open_export([root / "samples/zendesk/export"]) as export:
        serial = [(r.location, r.source_id, r.warnings) for r in export.records()]
        batches = [pickle.loads(pickle.dumps(b)) for b in export.record_batches(2)]
        assert all(isinstance(b, StagedSlice) for b in batches[:-1])
        built = [(r.location, r.source_id, r.warnings) for b in batches for r in b.records()]
        again = [(r.location, r.source_id, r.warnings) for b in batches for r in b.records()]
    assert serial == built == again


def test_mail_is_batched_as_slices_of_threads_and_its_unread_mails_as_records_read_here(
    tmp_path: Path,
) -> None:
    """Mail archives too are built where planned (slices of threads,
    ``tests/property/test_mail_slices.py``); a mail that cannot be read is a record read here."""
    root = Path(__file__).resolve().parents[2]
    export_dir = tmp_path / "export"
    shutil.copytree(root / "samples/mail/export", export_dir)
    with (export_dir / "broken.eml").open("wb") as broken:
        broken.write(b"From: a@b.example\nMessage-ID: <q@b>\nSubject: no date\n\nno time\n")
    with open_export([export_dir]) as export:
        serial = [(r.location, r.source_id, r.error) for r in export.records()]
        batches = [pickle.loads(pickle.dumps(b)) for b in export.record_batches(2)]
        built = [(r.location, r.source_id, r.error) for b in batches for r in b.records()]
    assert isinstance(batches[0], ReadRecords)  # the mail that cannot be read, first
    assert [r.error is not None for r in batches[0].records()] == [True]
    assert len(batches) > 2
    assert all(isinstance(b, StagedSlice) for b in batches[1:])
    assert serial == built


def test_line_runs_end_at_their_byte_budget_and_read_the_same(tmp_path: Path) -> None:
    sizes = [10, 5000, 20, 9000, 9000, 30, 40]
    lines = [json.dumps({"source_id": f"s{n}", "body": "x" * size}) for n, size in enumerate(sizes)]
    input_file = _file(tmp_path, "\n".join(lines) + "\n")
    runs = list(json_line_runs(input_file, 100, max_bytes=8000))
    assert all(isinstance(run, JsonLines) for run in runs)
    counts = [len(run.lines) for run in runs if isinstance(run, JsonLines)]
    assert counts == [4, 1, 2]  # each run ends at the line that reaches 8,000 bytes
    weights = [run.weight for run in runs if isinstance(run, JsonLines)]
    assert sum(weights) == sum(len(line) for line in lines)
    read = [r.data for run in runs if isinstance(run, JsonLines) for r in run.json_records()]
    assert read == [r.data for r in iter_json_records(input_file)]
    batch = CanonicalLines(input_file, runs[0]) if isinstance(runs[0], JsonLines) else None
    assert batch is not None
    assert batch.weight == weights[0]
    assert ReadRecords([]).weight == 0  # records read here are not weighed


def test_csv_batches_end_at_their_byte_budget(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    rows = [
        f"C{n},m{n},2024-01-02 10:00:00,customer,c{n}@example.com,{'y' * (3 << 20)}\n"
        for n in range(6)
    ]
    header = "conversation_id,message_id,created_at,author_role,author_email,body_text\n"
    (export / "messages.csv").write_text(header + "".join(rows), encoding="utf-8")
    with open_export([export], "csv") as opened:
        batches = list(opened.record_batches(200))
        weights = [batch.weight for batch in batches]
        read = [r.data["source_id"] for b in batches for r in b.records() if r.data]
    assert [w // (3 << 20) for w in weights] == [3, 3]  # 8 MiB reached at the third row
    assert read == [f"C{n}" for n in range(6)]
