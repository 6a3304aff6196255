"""The canonical reader through the public API (importer.readers.open_export)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from importer.model import Conversation
from importer.readers import SourceRecord, open_export, read_attachment_bytes


def _conversation(source_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "customer": {"email": f"c{source_id}@example.com"},
        "messages": [
            {"created_at": "2024-01-02T03:04:05Z", "author_role": "customer", "body_text": "hi"},
            {
                "created_at": "2024-01-02T04:04:05Z",
                "author_role": "agent",
                "body_html": "<p>ok</p>",
            },
        ],
        **extra,
    }


def _jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _records(*inputs: Path, format_name: str | None = None) -> list[SourceRecord]:
    with open_export(list(inputs), format_name) as export:
        return list(export.records())


def test_jsonl_conversations_validate_with_the_model(tmp_path: Path) -> None:
    path = tmp_path / "conversations.jsonl"
    path.write_text(_jsonl(_conversation("1"), _conversation("2")))
    with open_export([path]) as export:
        assert export.format == "canonical"
        assert export.inputs == [str(path)]
        records = list(export.records())
    assert [(r.location, r.source_id) for r in records] == [
        (f"{path}:1", "1"),
        (f"{path}:2", "2"),
    ]
    assert records[0].message_locations == [f"{path}:1", f"{path}:1"]
    for record in records:
        assert record.data is not None
        Conversation.model_validate(record.data)


def test_broken_line_is_an_invalid_record_with_its_location(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        _jsonl(_conversation("1"))
        + '{"source_id": "2", "messages": [\n'
        + _jsonl(_conversation("3"))
    )
    records = _records(path)
    assert [r.source_id for r in records] == ["1", "2", "3"]
    broken = records[1]
    assert broken.data is None
    assert broken.error is not None
    assert broken.error.stage == "read"
    assert broken.error.code == "parse"
    assert broken.error.location == f"{path}:2"
    assert broken.location == f"{path}:2"


def test_cp1252_bytes_become_a_warning_on_their_conversation(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    good = _jsonl(_conversation("1")).encode()
    odd = _jsonl(_conversation("2", subject="caf_")).encode().replace(b"caf_", b"caf\xe9")
    path.write_bytes(b"\xef\xbb\xbf" + good + odd)
    first, second = _records(path)
    assert first.warnings == []
    assert second.data is not None
    assert second.data["subject"] == "café"
    [warning] = second.warnings
    assert (warning.stage, warning.code, warning.location) == ("read", "encoding", f"{path}:2")
    assert warning.message == "1 bytes were not UTF-8 and were read as cp1252"


def _with_attachment(source_id: str, path: str) -> dict[str, Any]:
    record = _conversation(source_id)
    record["messages"][0]["attachments"] = [
        {"file_name": Path(path).name, "content_type": "text/plain", "size": 5, "path": path}
    ]
    return record


def test_attachment_paths_resolve_and_escaping_ones_are_left_out(tmp_path: Path) -> None:
    export = tmp_path / "export"
    (export / "files").mkdir(parents=True)
    (export / "files" / "a.txt").write_text("hello")
    (tmp_path / "outside.txt").write_text("secret")
    path = export / "c.jsonl"
    path.write_text(
        _jsonl(_with_attachment("1", "files/a.txt"), _with_attachment("2", "../outside.txt"))
    )
    first, second = _records(export)
    assert first.data is not None
    [attachment] = first.data["messages"][0]["attachments"]
    assert read_attachment_bytes(attachment["path"]) == b"hello"
    assert second.data is not None
    assert second.data["messages"][0]["attachments"] == []
    [left_out] = second.left_out
    assert (left_out.stage, left_out.code, left_out.source_id) == ("attachment", "path", "2")
    assert left_out.location == f"{path}:2"
    assert "leaves the export's top folder" in left_out.message


def test_directory_input_reads_files_in_sorted_order(tmp_path: Path) -> None:
    export = tmp_path / "export"
    (export / "z").mkdir(parents=True)
    (export / "z" / "later.jsonl").write_text(_jsonl(_conversation("3")))
    (export / "b.jsonl").write_text(_jsonl(_conversation("2")))
    (export / "a.json").write_text(json.dumps({"conversations": [_conversation("1")]}, indent=1))
    (export / "notes.txt").write_text("attachments and read-me files are left aside")
    with open_export([export]) as opened:
        assert opened.files == [
            str(export / "a.json"),
            str(export / "b.jsonl"),
            str(export / "z" / "later.jsonl"),
        ]
        assert [r.source_id for r in opened.records()] == ["1", "2", "3"]


def test_zip_input_streams_members_and_resolves_attachments(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("data/c.jsonl", _jsonl(_with_attachment("1", "files/a.txt")))
        zipped.writestr("data/files/a.txt", "hello")
    [record] = _records(archive)
    assert record.location == f"{archive}!data/c.jsonl:1"
    assert record.data is not None
    [attachment] = record.data["messages"][0]["attachments"]
    assert attachment["path"] == f"{archive}!data/files/a.txt"
    assert read_attachment_bytes(attachment["path"]) == b"hello"


@pytest.mark.parametrize("indent", [None, 2])
def test_json_array_of_conversations(tmp_path: Path, indent: int | None) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps([_conversation("1"), _conversation("2")], indent=indent))
    assert [r.source_id for r in _records(path)] == ["1", "2"]
