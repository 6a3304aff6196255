"""The dead-letter file inlines an attachment only while it is small enough: at most Help Scout's
largest attachment, and only while the line stays within ``--max-record-bytes``; the others keep
their path, with a note in ``_dead_letter``, and are never read."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import importer.deadletter as deadletter
from importer.cli import cli
from importer.deadletter import NOT_INLINED_KEY, DeadLetterFile
from importer.readers.limits import ReadLimits

MIB = 1 << 20
BIG = 12 * MIB  # over Help Scout's 10 MiB


def _never_read(big: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make reading ``big`` through the dead-letter file fail the test; the refs read."""
    read: list[str] = []
    real = deadletter.read_attachment_bytes

    def guarded(ref: str) -> bytes:
        read.append(ref)
        if Path(ref).resolve() == big.resolve():
            raise AssertionError(f"the dead-letter file read {ref} whole")
        return real(ref)

    monkeypatch.setattr(deadletter, "read_attachment_bytes", guarded)
    return read


def _big_file(path: Path, size: int = BIG) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)  # sparse: quick to make, and its size is all that is looked at
    return path


def _record(*attachments: dict[str, object]) -> dict[str, object]:
    return {
        "source_id": "1",
        "customer": {"email": "bad@"},
        "messages": [
            {
                "created_at": "2024-01-01T00:00:00Z",
                "author_role": "customer",
                "body_text": "see files",
                "attachments": list(attachments),
            }
        ],
    }


def test_a_big_attachment_keeps_its_path_and_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = _big_file(tmp_path / "files" / "big.bin")
    small = tmp_path / "files" / "small.txt"
    small.write_bytes(b"hello")
    read = _never_read(big, monkeypatch)
    record = _record(
        {"file_name": "big.bin", "path": str(big)},
        {"file_name": "small.txt", "content_type": "text/plain", "path": str(small)},
    )
    dead_path = tmp_path / "dead.jsonl"
    with DeadLetterFile(dead_path, "canonical") as dead:
        dead.write(record, {"source_id": "1", "message": "customer email"})
    (line,) = dead_path.read_text().splitlines()
    letter = json.loads(line)
    kept, inlined = letter["messages"][0]["attachments"]
    assert kept == {"file_name": "big.bin", "path": str(big)}  # as read, no key added
    assert "path" not in inlined
    assert base64.b64decode(inlined["data_base64"]) == b"hello"
    assert inlined["size"] == 5
    (note,) = letter["_dead_letter"][NOT_INLINED_KEY]
    assert note["path"] == str(big)
    assert note["file_name"] == "big.bin"
    assert note["size"] == BIG
    assert "Help Scout" in note["reason"]
    assert "12.0 MiB" in note["reason"]
    assert read == [str(small)]
    # the record given is left as it was (the report and a later write see it unchanged)
    assert record["messages"][0]["attachments"][1]["path"] == str(small)  # type: ignore[index]


def test_the_line_stays_within_the_record_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a 64 KiB bound, a 40 KiB file fits and a second one would not: it keeps its path
    and is not read; the line is within the bound."""
    first = tmp_path / "files" / "first.bin"
    second = _big_file(tmp_path / "files" / "second.bin", 40 * 1024)
    first.write_bytes(b"x" * 40 * 1024)
    read = _never_read(second, monkeypatch)
    limits = ReadLimits(max_record_bytes=64 * 1024)
    dead_path = tmp_path / "dead.jsonl"
    with DeadLetterFile(dead_path, "canonical", limits=limits) as dead:
        dead.write(
            _record(
                {"file_name": "first.bin", "path": str(first)},
                {"file_name": "second.bin", "path": str(second)},
            ),
            {"source_id": "1", "message": "customer email"},
        )
    (line,) = dead_path.read_text().splitlines()
    assert len(line.encode("utf-8")) <= limits.max_record_bytes
    letter = json.loads(line)
    inlined, kept = letter["messages"][0]["attachments"]
    assert len(base64.b64decode(inlined["data_base64"])) == 40 * 1024
    assert kept["path"] == str(second)
    (note,) = letter["_dead_letter"][NOT_INLINED_KEY]
    assert "--max-record-bytes 65536" in note["reason"]
    assert read == [str(first)]


def test_a_record_already_at_the_bound_inlines_nothing(tmp_path: Path) -> None:
    """A line that leaves no room keeps every path: each one noted, none read."""
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello")
    record = _record({"file_name": "small.txt", "path": str(small)})
    record["subject"] = "s" * 4000
    dead_path = tmp_path / "dead.jsonl"
    with DeadLetterFile(dead_path, limits=ReadLimits(max_record_bytes=4096)) as dead:
        dead.write(record, {"source_id": "1"})
    letter = json.loads(dead_path.read_text())
    assert letter["messages"][0]["attachments"][0]["path"] == str(small)
    assert len(letter["_dead_letter"][NOT_INLINED_KEY]) == 1


def test_validate_dead_letter_through_the_cli_and_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``validate --dead-letter`` on a canonical export: the small file inlined, the 12 MiB one
    kept by path with its note and never read by the dead-letter file; the dead letter, fixed,
    reads back with ``--format canonical`` under the same bounds."""
    export = tmp_path / "export"
    big = _big_file(export / "files" / "big.bin")
    (export / "files" / "small.txt").write_bytes(b"hello")
    record = _record(
        {"file_name": "big.bin", "path": "files/big.bin"},
        {"file_name": "small.txt", "content_type": "text/plain", "path": "files/small.txt"},
    )
    (export / "conversations.jsonl").write_text(json.dumps(record) + "\n")
    _never_read(big, monkeypatch)
    dead_path = tmp_path / "dead.jsonl"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["validate", str(export), "--jobs", "1", "--dead-letter", str(dead_path), "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output
    (letter,) = [json.loads(line) for line in dead_path.read_text().splitlines()]
    kept, inlined = letter["messages"][0]["attachments"]
    assert Path(kept["path"]).resolve() == big.resolve()
    assert base64.b64decode(inlined["data_base64"]) == b"hello"
    (note,) = letter["_dead_letter"][NOT_INLINED_KEY]
    assert note["size"] == BIG
    # fixed and fed back from the folder that holds the export: both files are read again
    letter["customer"]["email"] = "good@example.com"
    del letter["_dead_letter"]
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(json.dumps(letter) + "\n")
    report = tmp_path / "report.json"
    result = runner.invoke(
        cli,
        ["validate", str(fixed), "--format", "canonical", "--report", str(report), "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    body = json.loads(report.read_text())
    assert body["source_conversations"] == 1
    assert not [e for e in body["errors"] if e.get("stage") == "read"], body["errors"]
