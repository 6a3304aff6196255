"""Every container shape of importer.readers.containers: wrappers, pages, request paths, ETL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from importer.readers.containers import JsonRecord, id_after, iter_json_records
from importer.readers.inputs import InputFile


def _read(tmp_path: Path, content: str, name: str = "dump.json") -> list[JsonRecord]:
    path = tmp_path / name
    path.write_text(content)
    return list(iter_json_records(InputFile(name=name, top=tmp_path, path=path)))


def _seen(records: list[JsonRecord]) -> list[tuple[str, Any, str | None, str | None]]:
    return [(r.location, (r.data or {}).get("id"), r.stream, r.request_path) for r in records]


def _ndjson(lines: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def test_pages_keyed_by_request_path_keep_the_path_and_each_record_its_line(
    tmp_path: Path,
) -> None:
    document = {
        "/api/v2/tickets/1/comments.json": {
            "comments": [{"id": 11}, {"id": 12}],
            "next_page": None,
            "count": 2,
        },
        "/api/v2/tickets/2/comments.json": {"comments": [{"id": 21}], "count": 1},
    }
    text = json.dumps(document, indent=2)
    lines = text.splitlines()
    records = _read(tmp_path, text)
    assert [(r.data, r.stream, r.request_path) for r in records] == [
        ({"id": 11}, "comments", "/api/v2/tickets/1/comments.json"),
        ({"id": 12}, "comments", "/api/v2/tickets/1/comments.json"),
        ({"id": 21}, "comments", "/api/v2/tickets/2/comments.json"),
    ]
    for record in records:  # each record's own line, not its page's
        line = int(record.location.rsplit(":", 1)[1])
        assert lines[line - 1].strip() == "{"
        assert f'"id": {record.data["id"] if record.data else ""}' in lines[line]
    assert [id_after(r.request_path, "tickets") for r in records] == ["1", "1", "2"]


def test_request_path_keys_with_a_method_a_host_a_list_or_a_single_record(
    tmp_path: Path,
) -> None:
    document = {
        "GET /tickets/9": {"id": "9", "subject": "s"},
        "https://x.zendesk.com/api/v2/users.json": [{"id": 5}],
        "GET /tickets/9/threads": {"data": [{"id": "t1"}]},
    }
    for text in (json.dumps(document), json.dumps(document, indent=2)):
        records = _read(tmp_path, text)
        assert [(r.data and r.data["id"], r.stream, r.request_path) for r in records] == [
            ("9", None, "GET /tickets/9"),
            (5, None, "https://x.zendesk.com/api/v2/users.json"),
            ("t1", "data", "GET /tickets/9/threads"),
        ]


def test_request_path_pages_one_per_ndjson_line(tmp_path: Path) -> None:
    lines = [
        {"/api/v2/tickets/1/comments.json": {"comments": [{"id": 1}]}},
        {"/api/v2/tickets/2/comments.json": {"comments": [{"id": 2}]}},
    ]
    records = _read(tmp_path, _ndjson(lines))
    assert _seen(records) == [
        ("dump.json:1", 1, "comments", "/api/v2/tickets/1/comments.json"),
        ("dump.json:2", 2, "comments", "/api/v2/tickets/2/comments.json"),
    ]


def test_api_pages_concatenated_and_as_ndjson(tmp_path: Path) -> None:
    pages = [
        {"tickets": [{"id": 1}, {"id": 2}], "next_page": "https://x/api?page=2", "count": 3},
        {"tickets": [{"id": 3}], "end_time": 1700000000, "end_of_stream": True, "count": 3},
    ]
    concatenated = "\n".join(json.dumps(page, indent=2) for page in pages)
    for text in (concatenated, _ndjson(pages)):
        records = _read(tmp_path, text)
        assert [(r.data, r.stream) for r in records] == [
            ({"id": 1}, "tickets"),
            ({"id": 2}, "tickets"),
            ({"id": 3}, "tickets"),
        ]


def test_hal_pages_give_their_embedded_records(tmp_path: Path) -> None:
    """Help Scout's pages: ``_embedded`` lists are the records; an empty last page has none;
    a record's own ``_embedded`` (a conversation's threads) stays in the record."""
    links = {"self": {"href": "https://api.helpscout.net/v2/conversations?page=1"}}
    conversation = {"id": 7, "_embedded": {"threads": [{"id": 70}]}, "_links": links}
    pages = [
        {
            "_embedded": {"conversations": [conversation, {"id": 8}]},
            "page": {"size": 50, "totalElements": 3, "totalPages": 2, "number": 1},
            "_links": links,
        },
        {
            "_embedded": {"conversations": [{"id": 9}]},
            "page": {"size": 50, "totalElements": 3, "totalPages": 2, "number": 2},
            "_links": links,
        },
        {"page": {"size": 50, "totalElements": 3, "totalPages": 2, "number": 3}, "_links": links},
    ]
    for text in (json.dumps(pages, indent=2), _ndjson(pages), json.dumps(pages[0])):
        records = _read(tmp_path, text)
        assert [r.stream for r in records] == ["conversations"] * len(records)
        assert [r.data for r in records][:2] == [conversation, {"id": 8}]
        assert len(records) in (2, 3)


def test_incremental_export_with_sideloaded_users(tmp_path: Path) -> None:
    page = {"tickets": [{"id": 1}], "users": [{"id": 7}], "end_time": 1, "next_page": None}
    records = _read(tmp_path, json.dumps(page))
    assert [(r.data, r.stream) for r in records] == [({"id": 1}, "tickets"), ({"id": 7}, "users")]


def test_a_lone_record_under_one_key(tmp_path: Path) -> None:
    records = _read(tmp_path, json.dumps({"ticket": {"id": 4, "subject": "x"}}))
    assert [(r.data, r.stream) for r in records] == [({"id": 4, "subject": "x"}, "ticket")]


def test_airbyte_and_singer_streams_interleaved(tmp_path: Path) -> None:
    lines = [
        {"type": "SCHEMA", "stream": "tickets", "schema": {}, "key_properties": ["id"]},
        {"type": "RECORD", "record": {"stream": "tickets", "data": {"id": 1}, "emitted_at": 1}},
        {"type": "RECORD", "record": {"stream": "users", "data": {"id": 7}, "emitted_at": 1}},
        {"stream": "ticket_comments", "data": {"id": 30, "ticket_id": 1}, "emitted_at": 2},
        {"type": "STATE", "value": {"bookmarks": {}}},
        {"type": "RECORD", "stream": "tickets", "record": {"id": 2}},
        {"type": "RECORD", "stream": "users", "record": {"id": 8}, "time_extracted": "x"},
        {"stream": "tickets", "data": {"id": 3}},
    ]
    records = _read(tmp_path, _ndjson(lines))
    assert _seen(records) == [
        ("dump.json:2", 1, "tickets", None),
        ("dump.json:3", 7, "users", None),
        ("dump.json:4", 30, "ticket_comments", None),
        ("dump.json:6", 2, "tickets", None),
        ("dump.json:7", 8, "users", None),
        ("dump.json:8", 3, "tickets", None),
    ]


def test_plain_stream_and_data_lines_without_emitted_at(tmp_path: Path) -> None:
    records = _read(tmp_path, _ndjson([{"stream": "conversations", "data": {"id": "c1"}}]))
    assert _seen(records) == [("dump.json:1", "c1", "conversations", None)]


def test_a_record_with_stream_and_data_fields_of_its_own_is_a_record(tmp_path: Path) -> None:
    record = {"id": 1, "stream": "x", "data": {"k": 1}}  # it has an id: not an envelope
    assert [r.data for r in _read(tmp_path, _ndjson([record]))] == [record]


@pytest.mark.parametrize(
    "content",
    [
        '{"id": 1}\n{"id": 2, "subject": }\n{"id": 3}\n',
        '[\n{"id": 1},\n{"id": 2, "subject": }\n,{"id": 3}\n]',
    ],
)
def test_unparseable_records_come_out_as_errors_with_their_text(
    tmp_path: Path, content: str
) -> None:
    records = _read(tmp_path, content)
    assert [r.data for r in records] == [{"id": 1}, None, {"id": 3}]
    broken = records[1]
    assert broken.location.startswith("dump.json:")
    assert broken.error is not None
    assert "not valid JSON" in broken.error
    assert broken.raw_text is not None
    assert '"subject": }' in broken.raw_text


def test_broken_page_keyed_by_request_path_is_an_error_and_the_file_ends(tmp_path: Path) -> None:
    text = '{\n"/api/v2/tickets/1/comments.json": {"comments": [{"id": 1}]},\n"/x": {"a": [\n'
    records = _read(tmp_path, text)
    assert records[0].data == {"id": 1}
    assert records[-1].data is None
    assert records[-1].error is not None
    assert "not closed" in records[-1].error


def test_id_after() -> None:
    assert "7" == id_after("/api/v2/tickets/7/comments.json", "tickets")
    assert "7" == id_after("GET /api/v2/tickets/7.json?include=users", "tickets")
    assert id_after("/api/v2/users.json", "tickets") is None
    assert id_after(None, "tickets") is None


def test_trailing_commas_hold_no_data_and_cost_nothing(tmp_path: Path) -> None:
    """A comma before ``]`` or ``}`` (JavaScript's habit, hand-edited exports) is left out: in a
    record, in an array of records, and in a HAL page whose list ends in one."""
    ndjson = '{"id": 1, "tags": ["a", "b",],}\n{"id": 2, "note": "a comma, then ]",}\n'
    records = _read(tmp_path, ndjson)
    assert [r.data for r in records] == [
        {"id": 1, "tags": ["a", "b"]},
        {"id": 2, "note": "a comma, then ]"},
    ]
    array = '[\n  {"id": 3},\n  {"id": 4},\n]\n'
    assert [r.data for r in _read(tmp_path, array)] == [{"id": 3}, {"id": 4}]
    page = (
        '{"_embedded": {"conversations": [\n  {"id": 5},\n  {"id": 6},\n ]}, '
        '"page": {"number": 1, "totalElements": 2}}'
    )
    assert [r.data for r in _read(tmp_path, page)] == [{"id": 5}, {"id": 6}]
    assert all(r.error is None for r in _read(tmp_path, page))


def test_records_read_exactly_where_orjson_would_differ_from_json(tmp_path: Path) -> None:
    """Records are parsed by orjson where it reads what ``json`` reads, else by ``json``: an id
    of 25 digits stays an integer (orjson alone reads it as a float), ``NaN``, ``1e400`` and a
    lone surrogate escape are read as before, a cp1252 byte is counted, broken JSON reported."""
    lines = [
        '{"id": 1234567890123456789012345, "n": -98765432109876543210}',
        '{"id": 2, "score": NaN, "big": 1e400}',
        '{"id": 3, "text": "\\ud800 alone"}',
        '{"id": 4, "name": "caf\xe9"}',
        '{"id": 5, "ok": [1, 2.5, true, null, "\\u00e9"]}',
        '{"id": 6, "broken": [1, 2}',
    ]
    path = tmp_path / "dump.jsonl"
    path.write_bytes("\n".join(lines).encode("cp1252") + b"\n")
    records = list(iter_json_records(InputFile(name="dump.jsonl", top=tmp_path, path=path)))
    data = [record.data for record in records]
    assert data[0] == {"id": 1234567890123456789012345, "n": -98765432109876543210}
    assert type(data[0]["id"]) is int
    assert data[1]["score"] != data[1]["score"]
    assert data[1]["big"] == float("inf")
    assert data[2] == {"id": 3, "text": "\ud800 alone"}
    assert (data[3], records[3].replaced_bytes) == ({"id": 4, "name": "café"}, 1)
    assert data[4] == {"id": 5, "ok": [1, 2.5, True, None, "é"]}
    assert data[5] is None
    assert records[5].error
    assert "not valid JSON" in records[5].error
    assert [record.location for record in records] == [f"dump.jsonl:{n}" for n in range(1, 7)]
