"""JSON containers, ETL wrappers, line numbers and broken records (importer.readers.records)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from importer.readers.containers import JsonRecord, iter_json_records
from importer.readers.inputs import InputFile


def _read(tmp_path: Path, content: str | bytes, name: str = "data.json") -> list[JsonRecord]:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return list(iter_json_records(InputFile(name=name, top=tmp_path, path=path)))


def _summary(records: list[JsonRecord]) -> list[tuple[str, object, str | None]]:
    return [(r.location, r.data, r.stream) for r in records]


def test_ndjson_lines_keep_their_line_numbers(tmp_path: Path) -> None:
    records = _read(tmp_path, '{"id": 1}\n\n{"id": 2}\n')
    assert _summary(records) == [("data.json:1", {"id": 1}, None), ("data.json:3", {"id": 2}, None)]


def test_json_array(tmp_path: Path) -> None:
    records = _read(tmp_path, '[{"id": 1}, {"id": 2}]')
    assert [r.data for r in records] == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    ("document", "stream"),
    [
        ({"tickets": [{"id": 1}, {"id": 2}], "count": 2, "next_page": None}, "tickets"),
        ({"type": "admin.list", "admins": [{"id": 1}, {"id": 2}]}, "admins"),
    ],
)
def test_object_with_records_under_a_key(tmp_path: Path, document: dict, stream: str) -> None:
    for text in (json.dumps(document), json.dumps(document, indent=2)):
        records = _read(tmp_path, text)
        assert [(r.data, r.stream) for r in records] == [({"id": 1}, stream), ({"id": 2}, stream)]


def test_pretty_printed_array_items_start_on_their_own_lines(tmp_path: Path) -> None:
    text = json.dumps([{"id": 1, "tags": ["a"]}, {"id": 2, "body": "x\ny"}], indent=2)
    records = _read(tmp_path, text)
    lines = text.splitlines()
    assert [r.location for r in records] == ["data.json:2", "data.json:8"]
    assert lines[1].strip() == "{"
    assert lines[7].strip() == "{"


def test_container_keeps_every_list_and_its_stream(tmp_path: Path) -> None:
    text = '{\n  "tickets": [\n    {"id": 1}\n  ],\n  "users": [\n    {"id": 7}\n  ]\n}\n'
    records = _read(tmp_path, text)
    assert _summary(records) == [
        ("data.json:3", {"id": 1}, "tickets"),
        ("data.json:6", {"id": 7}, "users"),
    ]


def test_pretty_printed_record_is_not_a_container(tmp_path: Path) -> None:
    record = {"type": "email", "messages": [{"body_text": "hi"}], "source_id": "1", "customer": {}}
    records = _read(tmp_path, json.dumps(record, indent=2) + "\n" + json.dumps(record, indent=2))
    assert [r.data for r in records] == [record, record]
    assert records[1].location == f"data.json:{len(json.dumps(record, indent=2).splitlines()) + 1}"


def test_airbyte_and_singer_lines_are_unwrapped(tmp_path: Path) -> None:
    lines = [
        {"stream": "tickets", "data": {"id": 1}, "emitted_at": 1700000000000},
        {"type": "SCHEMA", "stream": "users", "schema": {}, "key_properties": ["id"]},
        {"type": "RECORD", "stream": "users", "record": {"id": 2}},
        {"type": "STATE", "value": {}},
        {"type": "RECORD", "record": {"stream": "comments", "data": {"id": 3}, "emitted_at": 1}},
    ]
    records = _read(tmp_path, "\n".join(json.dumps(line) for line in lines))
    assert _summary(records) == [
        ("data.json:1", {"id": 1}, "tickets"),
        ("data.json:3", {"id": 2}, "users"),
        ("data.json:5", {"id": 3}, "comments"),
    ]


def test_broken_ndjson_line_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    records = _read(tmp_path, '{"id": 1}\n{"id": 2, "subject": }\n{"id": 3}\n')
    assert [r.location for r in records] == ["data.json:1", "data.json:2", "data.json:3"]
    broken = records[1]
    assert broken.data is None
    assert broken.error is not None
    assert "not valid JSON" in broken.error
    assert "line 2 column" in broken.error
    assert broken.id_hint == "2"
    assert records[2].data == {"id": 3}


def test_broken_item_inside_an_array_is_reported_and_the_next_read(tmp_path: Path) -> None:
    records = _read(tmp_path, '[\n{"id": 1},\n{"id": tru},\n{"id": 3}\n]')
    assert [(r.location, r.data is None) for r in records] == [
        ("data.json:2", False),
        ("data.json:3", True),
        ("data.json:4", False),
    ]


def test_unclosed_array_is_reported_once_and_the_file_ends(tmp_path: Path) -> None:
    records = _read(tmp_path, '[\n{"id": 1},\n{"id": 2, "body": "never closed\n')
    assert records[0].data == {"id": 1}
    assert records[-1].data is None
    assert records[-1].error is not None
    assert "not closed" in records[-1].error
    assert "to the end of the file) are not read" in records[-1].error


def test_a_record_must_be_an_object(tmp_path: Path) -> None:
    records = _read(tmp_path, "[1]")
    assert records[0].error == "a record must be a JSON object, not int"


def test_utf8_bom_is_skipped(tmp_path: Path) -> None:
    records = _read(tmp_path, b'\xef\xbb\xbf{"name": "Zo\xc3\xab"}\n')
    assert records[0].data == {"name": "Zoë"}
    assert records[0].replaced_bytes == 0


def test_cp1252_bytes_are_read_and_counted_on_their_record(tmp_path: Path) -> None:
    content = b'{"id": 1}\n{"id": 2, "body": "caf\xe9 \x93quoted\x94"}\n'
    records = _read(tmp_path, content)
    assert records[0].replaced_bytes == 0
    assert records[1].replaced_bytes == 3
    assert records[1].data == {"id": 2, "body": "café “quoted”"}


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    assert _read(tmp_path, "\n\n") == []
