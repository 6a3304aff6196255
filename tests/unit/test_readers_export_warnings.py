"""Export-level warnings (streams or files no reader reads) reach the report in every case: on
the first conversation, or, when the export yields none, on one invalid record of their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from importer.errors import FormatError
from importer.readers import SourceRecord, open_export

PEOPLE: dict[str, tuple[str, dict[str, Any]]] = {
    "zendesk": ("users", {"id": 1, "name": "Ann", "email": "a@example.com", "role": "end-user"}),
    "freshdesk": (
        "contacts",
        {"id": 7, "name": "Ann", "email": "a@example.com", "twitter_id": None, "mobile": None},
    ),
    "intercom": ("admins", {"type": "admin", "id": "51", "name": "Sam", "email": "s@example.com"}),
}
#: a stream of records that no reader uses
UNUSED = ("brands", {"id": 3, "name": "Northwind", "brand_url": "https://nw.example"})


def _airbyte(stream: str, data: dict[str, Any]) -> str:
    return json.dumps({"type": "RECORD", "record": {"stream": stream, "data": data}}) + "\n"


def _read(*paths: Path) -> list[SourceRecord]:
    with open_export(list(paths)) as export:
        return list(export.records())


@pytest.mark.parametrize("platform", sorted(PEOPLE))
def test_unused_stream_of_a_file_the_reader_reads_reaches_the_report(
    platform: str, tmp_path: Path
) -> None:
    """People and a stream the reader passes over in one file, no conversation: one invalid
    record says what to add and carries the warning of the stream passed over."""
    stream, person = PEOPLE[platform]
    dump = tmp_path / "dump.jsonl"
    dump.write_text(_airbyte(stream, person) + _airbyte(*UNUSED))
    [record] = _read(dump)
    assert record.error is not None
    assert record.error.code == "no_conversations"
    assert f"the export holds no {platform.capitalize()}" in record.error.message
    assert [(w.code, w.location) for w in record.warnings] == [("unused_records", f"{dump}:2")]
    assert "'brands'" in record.warnings[0].message
    assert record.location == f"{dump}:2"


@pytest.mark.parametrize("platform", sorted(PEOPLE))
def test_unused_file_of_an_export_without_conversations_reaches_the_report(
    platform: str, tmp_path: Path
) -> None:
    """A file of a stream no format reads, next to people files only: the export's own warning
    comes in the invalid record that says the conversations are missing."""
    stream, person = PEOPLE[platform]
    (tmp_path / "people.jsonl").write_text(_airbyte(stream, person))
    brands = tmp_path / "brands.jsonl"
    brands.write_text(_airbyte(*UNUSED))
    [record] = _read(tmp_path)
    assert record.error is not None
    assert record.error.code == "no_conversations"
    assert platform.capitalize() in record.error.message
    assert [(w.code, w.location) for w in record.warnings] == [("unused_records", f"{brands}:1")]


@pytest.mark.parametrize("platform", sorted(PEOPLE))
def test_without_conversations_or_warnings_the_export_is_refused(
    platform: str, tmp_path: Path
) -> None:
    stream, person = PEOPLE[platform]
    (tmp_path / "people.jsonl").write_text(_airbyte(stream, person))
    with pytest.raises(FormatError, match=f"the export holds no {platform.capitalize()}"):
        _read(tmp_path)


@pytest.mark.parametrize("platform", sorted(PEOPLE))
def test_with_conversations_the_warnings_go_with_the_first_one_only(
    platform: str, tmp_path: Path
) -> None:
    export = Path(__file__).resolve().parents[2] / "samples" / platform / "export"
    brands = tmp_path / "brands.jsonl"
    brands.write_text(_airbyte(*UNUSED))
    records = _read(export, brands)
    unused = [[w for w in r.warnings if w.code == "unused_records"] for r in records]
    assert [len(found) for found in unused] == [1] + [0] * (len(records) - 1)
    assert unused[0][0].location == f"{brands}:1"
    assert all(r.error is None or r.error.code != "no_conversations" for r in records)
