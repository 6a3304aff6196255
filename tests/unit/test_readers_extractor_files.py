"""Files as extractors write them: the stream a file's name gives, Airbyte raw rows (JSONL, CSV).

The contract's one exception to "never by file name": ``<stream>-<14-digit timestamp>.jsonl``
(``target-jsonl``) and ``_airbyte_raw_<stream>.jsonl``/``.csv`` give their records that stream as
a hint; ``_airbyte_data`` rows, old and new columns, in JSONL or in Airbyte's CSV, are unwrapped.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from importer.readers import open_export
from importer.readers.base import READERS
from importer.readers.containers import JsonLines, JsonRecord, iter_json_records, json_line_runs
from importer.readers.detect import detect_file
from importer.readers.extractor_files import split_csv_row, stream_hint
from importer.readers.inputs import InputFile, list_input_files
from importer.readers.limits import ReadLimits

OLD = ["_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data"]
NEW = [
    "_airbyte_raw_id",
    "_airbyte_extracted_at",
    "_airbyte_loaded_at",
    "_airbyte_data",
    "_airbyte_meta",
    "_airbyte_generation_id",
]
TICKET = {"id": 1001, "subject": "Refund", "status": "open", "requester_id": 7, "via": {}}


def _read(
    tmp_path: Path, name: str, content: str | bytes, limits: ReadLimits | None = None
) -> list[JsonRecord]:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    input_file = InputFile(name=str(path), top=tmp_path, path=path)
    if limits is not None:
        input_file = InputFile(name=str(path), top=tmp_path, path=path, limits=limits)
    return list(iter_json_records(input_file))


def _where(records: list[JsonRecord]) -> list[tuple[str, str | None, Any]]:
    """(line, stream, id or error) of each record."""
    return [
        (
            r.location.rsplit(":", 1)[1],
            r.stream,
            r.data.get("id") if r.data is not None else r.error,
        )
        for r in records
    ]


def _csv(columns: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def _old(record: Any, index: int = 0, indent: int | None = None) -> list[Any]:
    return [f"id-{index}", 1704110400000, json.dumps(record, indent=indent)]


def _new(record: Any, index: int = 0) -> list[Any]:
    meta = json.dumps({"changes": [], "sync_id": 3})
    return [f"id-{index}", "2024-01-01T12:00:00Z", "", json.dumps(record), meta, 0]


# -- the stream a name gives ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stream"),
    [
        ("tickets-20240101120000.jsonl", "tickets"),
        ("export/ticket_comments-20231231235959.jsonl", "ticket_comments"),
        ("dump.zip!out/conversation_parts-20240101120000.jsonl", "conversation_parts"),
        ("C:\\out\\users-20240101120000.jsonl", "users"),
        ("_airbyte_raw_tickets.jsonl", "tickets"),
        ("airbyte/_airbyte_raw_ticket_comments.csv", "ticket_comments"),
        ("x.zip!_airbyte_raw_conversations.csv", "conversations"),
        ("my-stream-20240101120000.jsonl", "my-stream"),
        # only these exact names
        ("tickets-2024010112000.jsonl", None),  # 13 digits
        ("tickets-202401011200000.jsonl", None),  # 15 digits
        ("tickets-20240101T120000.jsonl", "tickets"),  # as target-jsonl's code names them
        ("tickets-20240101T1200000.jsonl", None),
        ("tickets-2024010T120000.jsonl", None),
        ("tickets-20240101120000.json", None),
        ("tickets-20240101120000.jsonl.gz", None),
        ("-20240101120000.jsonl", None),
        ("tickets.jsonl", None),
        ("_airbyte_raw_tickets.json", None),
        ("_airbyte_raw_.jsonl", None),
        ("airbyte_raw_tickets.jsonl", None),
        ("_airbyte_raw_tickets.jsonl/readme.txt", None),
        ("_airbyte_raw_tickets.csv.bak", None),
        ("tickets-20240101120000.jsonl!inner.json", None),
    ],
)
def test_only_the_extractors_names_give_a_stream(name: str, stream: str | None) -> None:
    assert stream_hint(name) == stream


def test_a_target_jsonl_file_gives_its_bare_records_its_stream(tmp_path: Path) -> None:
    lines = [{"id": 1}, {"type": "SCHEMA", "stream": "x", "schema": {}}, {"id": 2}]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    records = _read(tmp_path, "users-20240101120000.jsonl", text)
    assert _where(records) == [("1", "users", 1), ("3", "users", 2)]
    plain = _read(tmp_path, "users.jsonl", text)  # any other name: no stream
    assert _where(plain) == [("1", None, 1), ("3", None, 2)]


def test_an_envelopes_stream_or_a_wrapping_key_wins_over_the_names(tmp_path: Path) -> None:
    lines = [
        {"type": "RECORD", "stream": "comments", "record": {"id": 1}},
        {"stream": "users", "data": {"id": 2}, "emitted_at": 1},
        {"admins": [{"id": 3}]},
        {"id": 4},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    records = _read(tmp_path, "tickets-20240101120000.jsonl", text)
    assert [r.stream for r in records] == ["comments", "users", "admins", "tickets"]


def test_a_document_in_a_named_file_gets_the_stream_too(tmp_path: Path) -> None:
    text = json.dumps([{"id": 1}, {"id": 2}], indent=2)
    records = _read(tmp_path, "_airbyte_raw_contacts.jsonl", text)
    assert [(r.stream, r.data) for r in records] == [
        ("contacts", {"id": 1}),
        ("contacts", {"id": 2}),
    ]
    broken = _read(tmp_path, "_airbyte_raw_contacts.jsonl", '[\n{"id": 1},\n{"id": \n')
    assert [r.stream for r in broken] == ["contacts", "contacts"]
    assert broken[1].data is None


def test_names_inside_a_zip_and_a_folder(tmp_path: Path) -> None:
    archive = tmp_path / "out.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("meltano/tickets-20240101120000.jsonl", json.dumps({"id": 1}) + "\n")
        zipped.writestr("airbyte/_airbyte_raw_users.jsonl", json.dumps({"id": 2}) + "\n")
        zipped.writestr("airbyte/tickets.jsonl", json.dumps({"id": 3}) + "\n")
    seen = {
        f.name.rsplit("/", 1)[1]: [r.stream for r in iter_json_records(f)]
        for f in list_input_files([archive])
    }
    assert seen == {
        "tickets-20240101120000.jsonl": ["tickets"],
        "_airbyte_raw_users.jsonl": ["users"],
        "tickets.jsonl": [None],
    }


def test_runs_of_lines_carry_the_stream_to_the_worker(tmp_path: Path) -> None:
    path = tmp_path / "conversations-20240101120000.jsonl"
    path.write_text("".join(json.dumps({"id": n}) + "\n" for n in range(5)) + "[]\n")
    runs = list(json_line_runs(InputFile(name=str(path), top=tmp_path, path=path), 2))
    assert all(isinstance(run, JsonLines) for run in runs)
    records = [r for run in runs if isinstance(run, JsonLines) for r in run.json_records()]
    assert [r.stream for r in records] == ["conversations"] * 6
    assert records[-1].data is None  # an array is no record: invalid, with its stream


# -- _airbyte_data rows in JSONL -----------------------------------------------------------------


def test_raw_rows_old_and_new_columns_and_data_as_text(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [
        {"_airbyte_ab_id": "a", "_airbyte_emitted_at": 1, "_airbyte_data": {"id": 1}},
        dict(
            zip(
                NEW, ["b", "2024-01-01T12:00:00Z", None, {"id": 2}, {"changes": []}, 0], strict=True
            )
        ),
        {"_airbyte_ab_id": "c", "_airbyte_emitted_at": 1, "_airbyte_data": json.dumps({"id": 3})},
        {"_airbyte_raw_id": "d", "_airbyte_data": '{"id": 4, "note": "\\ud83d\\ude00"}'},
        {"_airbyte_ab_id": "e", "_airbyte_data": '{"id": 5,'},
        {"_airbyte_ab_id": "f", "_airbyte_data": "[1, 2]"},
        {"_airbyte_ab_id": "g", "_airbyte_data": '{"tickets": [{"id": 7}, {"id": 8}]}'},
    ]
    text = "".join(json.dumps(row) + "\n" for row in rows)
    records = _read(tmp_path, "_airbyte_raw_tickets.jsonl", text)
    where = _where(records)
    assert where[:4] == [(str(n), "tickets", n) for n in range(1, 5)]
    assert where[4][:2] == ("5", "tickets")
    assert where[4][2].startswith("not valid JSON")
    assert records[4].raw_text == '{"id": 5,'
    assert where[5][:2] == ("6", "tickets")
    assert "not an array" in where[5][2]
    assert where[6:] == [("7", "tickets", 7), ("7", "tickets", 8)]  # the row's own wrapping key


def test_raw_rows_are_unwrapped_whatever_the_files_name(tmp_path: Path) -> None:
    row = {"_airbyte_ab_id": "a", "_airbyte_emitted_at": 1, "_airbyte_data": {"id": 1}}
    assert [r.data for r in _read(tmp_path, "anything.json", json.dumps([row]))] == [{"id": 1}]


def test_a_record_with_an_airbyte_data_field_of_its_own_is_a_record(tmp_path: Path) -> None:
    record = {"id": 9, "_airbyte_data": {"id": 1}}
    assert [r.data for r in _read(tmp_path, "x.jsonl", json.dumps(record) + "\n")] == [record]


def test_data_text_nested_too_deep_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    deep = "[" * 600 + "]" * 600
    row = {"_airbyte_ab_id": "a", "_airbyte_data": deep}
    [record] = _read(tmp_path, "_airbyte_raw_x.jsonl", json.dumps(row) + "\n")
    assert record.data is None
    assert record.error
    assert "512 deep" in record.error
    assert record.location.endswith(":1")


# -- Airbyte's CSV -------------------------------------------------------------------------------


@pytest.mark.parametrize(("columns", "row"), [(OLD, _old), (NEW, _new)])
def test_raw_csv_rows_are_json_records(tmp_path: Path, columns: list[str], row: Any) -> None:
    records = [{"id": n, "body": 'say "hi", then\nbye', "n": None} for n in range(3)]
    text = _csv(columns, [row(r, n) for n, r in enumerate(records)])
    read = _read(tmp_path, "_airbyte_raw_ticket_comments.csv", text)
    assert [r.data for r in read] == records
    assert _where(read) == [(str(n + 2), "ticket_comments", n) for n in range(3)]


def test_raw_csv_of_any_name_bom_quoted_header_blank_lines(tmp_path: Path) -> None:
    header = ",".join(f'"{c}"' for c in OLD)
    row = _csv(OLD, [_old({"id": 1})]).splitlines()[1]
    text = "\ufeff" + header + "\r\n\r\n" + row + "\r\n\n"
    read = _read(tmp_path, "export.csv", text)
    assert _where(read) == [("3", None, 1)]


def test_a_broken_row_is_one_invalid_record_and_reading_goes_on(tmp_path: Path) -> None:
    good = [_old({"id": n}, n) for n in range(4)]
    rows = [good[0], ["x", 1, '{"id": 1,'], good[1], ["y", 1], good[2], ["z", 1, ""], good[3]]
    read = _read(tmp_path, "_airbyte_raw_tickets.csv", _csv(OLD, rows))
    where = _where(read)
    assert [w[:2] for w in where] == [(str(n), "tickets") for n in range(2, 9)]
    assert [w[2] for w in where[0::2]] == [0, 1, 2, 3]
    assert where[1][2].startswith("not valid JSON")
    assert read[1].raw_text == '{"id": 1,'
    assert "2 fields where its header names 3" in where[3][2]
    assert where[5][2].startswith("not valid JSON")


def test_an_unclosed_quote_costs_its_line_and_the_next_lines_are_rows(tmp_path: Path) -> None:
    good = _csv(OLD, [_old({"id": n}, n) for n in range(3)]).splitlines()
    text = "\n".join([good[0], good[1], 'x,1,"{""id"": 9', good[2], good[3]]) + "\n"
    read = _read(tmp_path, "_airbyte_raw_tickets.csv", text)
    where = _where(read)
    assert [w[0] for w in where] == ["2", "3", "4", "5"]
    assert [where[0][2], where[2][2], where[3][2]] == [0, 1, 2]
    assert "quoted field is not closed" in where[1][2]


def test_a_row_over_the_record_bound_is_skipped_to_its_end(tmp_path: Path) -> None:
    limits = ReadLimits(max_record_bytes=1024)
    big = {"id": 2, "body": "x" * 3000}
    multi = {"id": 3, "body": ["y" * 100] * 20}
    rows = [_old({"id": 1}), _old(big), _old({"id": 4}), _old(multi, indent=1), _old({"id": 5})]
    text = _csv(OLD, rows)  # the fourth row's JSON on lines of its own, in its quoted field
    read = _read(tmp_path, "_airbyte_raw_tickets.csv", text, limits)
    where = _where(read)
    assert [w[0] for w in where] == ["2", "3", "4", "5", "30"]
    assert [where[0][2], where[2][2], where[4][2]] == [1, 4, 5]
    assert "the row at line 3" in where[1][2]
    assert "the row at line 5" in where[3][2]


def test_a_multi_line_row_is_located_at_its_first_line(tmp_path: Path) -> None:
    rows = [_old({"id": 1, "body": "a\nb"}, indent=1), _old({"id": 2})]
    read = _read(tmp_path, "_airbyte_raw_tickets.csv", _csv(OLD, rows))
    assert _where(read) == [("2", "tickets", 1), ("6", "tickets", 2)]
    assert read[0].data == {"id": 1, "body": "a\nb"}


def test_a_cp1252_byte_in_a_row_is_counted(tmp_path: Path) -> None:
    content = _csv(OLD, [_old({"id": 1, "name": "caf"})]).encode().replace(b"caf", b"caf\xe9")
    [record] = _read(tmp_path, "_airbyte_raw_users.csv", content)
    assert record.data == {"id": 1, "name": "café"}
    assert record.replaced_bytes == 1


def test_a_header_alone_holds_no_record(tmp_path: Path) -> None:
    assert _read(tmp_path, "_airbyte_raw_users.csv", ",".join(NEW) + "\n") == []


def test_other_csv_headers_are_not_raw_rows(tmp_path: Path) -> None:
    for header in ("_airbyte_ab_id,_airbyte_emitted_at,id,subject", "id,_airbyte_data"):
        path = tmp_path / "t.csv"
        path.write_text(header + "\n1,2,3,4\n")
        assert detect_file(InputFile(name=str(path), top=tmp_path, path=path), []).format != (
            "zendesk"
        )


@pytest.mark.parametrize("columns", [OLD, NEW])
def test_a_raw_csv_is_detected_by_its_records_not_as_a_generic_csv(
    tmp_path: Path, columns: list[str]
) -> None:
    row = _old if columns == OLD else _new
    path = tmp_path / "export.csv"
    path.write_text(_csv(columns, [row(TICKET)]))
    sniffers = [(reader, {}) for reader in READERS if reader.sniffs_csv]
    detected = detect_file(InputFile(name=str(path), top=tmp_path, path=path), sniffers)
    assert (detected.format, detected.roles) == ("zendesk", ("tickets",))


def test_split_csv_row() -> None:
    assert split_csv_row('a,"b,""c""",,"d\ne"') == ["a", 'b,"c"', "", "d\ne"]
    assert split_csv_row("") == [""]
    assert split_csv_row('"a"b') is None
    assert split_csv_row('"a') is None


def test_the_names_stream_decides_where_the_content_does_not(tmp_path: Path) -> None:
    """A user of nothing but an id and a name is a Zendesk user in ``users-<timestamp>.jsonl``,
    and records of a stream no reader uses are passed over by that stream's name."""
    samples = Path(__file__).resolve().parents[2] / "samples" / "zendesk" / "export"
    for name in ("tickets.json", "ticket_comments.json"):
        (tmp_path / name).write_bytes((samples / name).read_bytes())
    (tmp_path / "users-20240101120000.jsonl").write_text('{"id": 800001, "name": "Ann"}\n')
    rating = '{"id": 1, "score": "good", "ticket_id": 1001}\n'
    (tmp_path / "satisfaction_ratings-20240101120000.jsonl").write_text(rating)
    with open_export([tmp_path]) as export:
        users = [f.file.name for f in export.files_by_role["users"]]
        warnings = [w.message for w in export.warnings]
    assert users == [str(tmp_path / "users-20240101120000.jsonl")]
    assert len(warnings) == 1
    assert warnings[0].startswith("records of stream 'satisfaction_ratings' are not read")
