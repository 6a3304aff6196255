"""The generic CSV reader against damaged exports: NUL bytes, broken quotes, records over the
bound. Each damage costs its own record, never the file's nor the next rows'; every
well-formed conversation is read exactly as without the damage."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.readers import SourceRecord, open_export
from importer.readers.limits import ReadLimits

CONVERSATIONS = "conversation_id,subject,customer_email\n" + "".join(
    f"c{i},Subject {i},p{i}@example.com\n" for i in range(1, 7)
)
MESSAGE_HEADER = "conversation_id,message_id,created_at,author_role,body_text\n"
#: importer.readers.csv.rows.LARGE_RECORD: larger records are parsed without csv
LARGE_RECORD = 1 << 20


def _message(cid: str, mid: str, body: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [cid, mid, "2024-01-01T10:00:00Z", "customer", body]
    )
    return out.getvalue()


def _messages(bodies: dict[int, str] | None = None) -> list[str]:
    """One message row per conversation c1..c6, the bodies quoted (one with a line break)."""
    bodies = bodies or {}
    rows = []
    for i in range(1, 7):
        body = bodies.get(i, f"Hello {i},\nsecond line of {i}" if i == 3 else f"Body {i}")
        rows.append(_message(f"c{i}", f"m{i}", body).replace(f",Body {i}\n", f',"Body {i}"\n'))
    return rows


def _export(tmp_path: Path, name: str, messages: str | bytes, conversations: bool = True) -> Path:
    export = tmp_path / name
    export.mkdir()
    if conversations:
        (export / "conversations.csv").write_text(CONVERSATIONS)
    data = messages.encode() if isinstance(messages, str) else messages
    (export / "messages.csv").write_bytes(data)
    return export


def _records(*inputs: Path, limits: ReadLimits | None = None) -> list[SourceRecord]:
    with open_export(list(inputs), "csv", limits=limits or ReadLimits()) as export:
        return list(export.records())


def _validate(export: Path, tmp_path: Path, *options: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / f"{export.name}-report.json"
    args = ["validate", str(export), "--format", "csv", "--report", str(report), *options]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    data = json.loads(report.read_text())
    assert data["source_conversations"] == data["valid"] + data["invalid"]
    return result.exit_code, data


def _by_id(records: list[SourceRecord]) -> dict[str | None, SourceRecord]:
    return {r.source_id: r for r in records}


def _same_conversation(damaged: SourceRecord, clean: SourceRecord) -> None:
    """The same conversation, read from the same place of its file (folders apart)."""

    def where(location: str) -> str:
        return location.replace("/clean/", "/damaged/")

    assert damaged.error is None
    assert damaged.data == clean.data
    assert damaged.warnings == clean.warnings
    assert damaged.location == where(clean.location)
    assert damaged.message_locations == [where(w) for w in clean.message_locations]
    assert damaged.field_locations == {k: where(v) for k, v in clean.field_locations.items()}


# -- NUL bytes -----------------------------------------------------------------------------------


def test_a_nul_in_a_cell_is_removed_with_a_warning_and_the_file_is_read(tmp_path: Path) -> None:
    """A NUL in the first 4 KB made the file binary: messages.csv was dropped without a word and
    every conversation was invalid. Now the NUL is that conversation's warning."""
    rows = _messages()
    clean = _export(tmp_path, "clean", MESSAGE_HEADER + "".join(rows))
    rows[1] = rows[1].replace("Body 2", "Bo\0dy 2")
    damaged = _export(tmp_path, "damaged", MESSAGE_HEADER + "".join(rows))
    code, report = _validate(damaged, tmp_path)
    assert (code, report["source_conversations"], report["valid"]) == (0, 6, 6)
    [warning] = [w for w in report["warnings"] if w["code"] == "nul"]
    assert (warning["source_id"], warning["location"]) == ("c2", f"{damaged}/conversations.csv:3")
    assert "1 NUL bytes were removed" in warning["message"]
    got, want = _by_id(_records(damaged)), _by_id(_records(clean))
    assert got["c2"].data == want["c2"].data  # "Body 2": the NUL is gone, nothing else
    for cid in ("c1", "c3", "c4", "c5", "c6"):
        assert got[cid].warnings == want[cid].warnings
        assert got[cid].data == want[cid].data


def test_a_messages_file_alone_with_a_nul_is_read_not_refused(tmp_path: Path) -> None:
    """Given alone, the file was refused (exit 2) with a message that blamed its header."""
    header = "conversation_id,customer_email,message_id,created_at,author_role,body_text\n"
    rows = "k1,a@x.org,m1,2024-01-01,customer,hi\0 there\nk2,b@x.org,m2,2024-01-01,customer,hey\n"
    path = tmp_path / "messages.csv"
    path.write_bytes((header + rows).encode())
    code, report = _validate(path, tmp_path)
    assert (code, report["valid"], report["invalid"]) == (0, 2, 0)
    first, _ = _records(path)
    assert first.data is not None
    assert first.data["messages"][0]["body_text"] == "hi there"
    assert [w.code for w in first.warnings] == ["nul"]


def test_nul_and_undecodable_bytes_in_the_header_line_do_not_make_the_file_binary(
    tmp_path: Path,
) -> None:
    messages = MESSAGE_HEADER.replace("subject", "x").replace("body_text", "body_text\0")
    data = (messages + "".join(_messages({1: "caf@"}))).encode().replace(b"caf@", b"caf\xff")
    export = _export(tmp_path, "export", data)
    code, report = _validate(export, tmp_path)
    assert (code, report["valid"]) == (0, 6)


def test_binary_files_in_the_export_folder_are_still_left_aside(tmp_path: Path) -> None:
    export = _export(tmp_path, "export", MESSAGE_HEADER + "".join(_messages()))
    files = export / "files"
    files.mkdir()
    (files / "shot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (files / "doc.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n" + b"\0" * 100)
    with zipfile.ZipFile(files / "more.zip", "w") as archive:
        archive.writestr("a.txt", "x")
    (files / "blob.bin").write_bytes(b"\0\1\2\3" * 1000)
    code, report = _validate(export, tmp_path)
    assert (code, report["source_conversations"], report["valid"]) == (0, 6, 6)
    assert report["warnings"] == []


# -- broken quotes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ('c2,m2,2024-01-01T10:00:00Z,customer,"Body 2 never closed\n', "next bodies quoted"),
        ('c2,m2,2024-01-01T10:00:00Z,customer,"Body ""2"" not closed\n', "doubled quotes"),
        ('c2,"m2,2024-01-01T10:00:00Z,customer,Body 2\n', "a quote in the id column"),
    ],
)
def test_a_broken_quote_costs_its_row_not_the_next_ones(
    tmp_path: Path, broken: str, why: str
) -> None:
    """Today the next, well-formed rows were swallowed into the broken row's quoted field and
    counted nowhere. Now the broken row makes its conversation invalid at its file:line and
    every other conversation is read exactly as without the damage."""
    rows = _messages()
    clean = _export(tmp_path, "clean", MESSAGE_HEADER + "".join(rows))
    rows[1] = broken
    damaged = _export(tmp_path, "damaged", MESSAGE_HEADER + "".join(rows))
    code, report = _validate(damaged, tmp_path)
    assert (code, report["source_conversations"], report["invalid"], report["valid"]) == (
        1,
        6,
        1,
        5,
    ), why
    [error] = report["errors"]
    assert (error["source_id"], error["location"]) == ("c2", f"{damaged}/messages.csv:3")
    got, want = _by_id(_records(damaged)), _by_id(_records(clean))
    assert got["c2"].error is not None
    for cid in ("c1", "c3", "c4", "c5", "c6"):
        _same_conversation(got[cid], want[cid])


def test_a_file_that_ends_inside_a_quote_reads_every_row_before(tmp_path: Path) -> None:
    rows = [_message(f"c{i}", f"m{i}", f"Body {i}") for i in range(1, 7)]
    clean = _export(tmp_path, "clean", MESSAGE_HEADER + "".join(rows))
    rows[1] = 'c2,m2,2024-01-01T10:00:00Z,customer,"unclosed\n'  # no other quote after it
    damaged = _export(tmp_path, "damaged", MESSAGE_HEADER + "".join(rows))
    got, want = _by_id(_records(damaged)), _by_id(_records(clean))
    assert len(got) == 6
    assert got["c2"].error is not None
    assert got["c2"].error.location == f"{damaged / 'messages.csv'}:3"
    assert got["c2"].data is not None
    assert got["c2"].data["_raw"] == 'c2,m2,2024-01-01T10:00:00Z,customer,"unclosed'
    for cid in ("c1", "c3", "c4", "c5", "c6"):
        _same_conversation(got[cid], want[cid])


def test_messages_only_layout_with_a_broken_quote(tmp_path: Path) -> None:
    header = "conversation_id,customer_email,message_id,created_at,author_role,body_text\n"
    good = [f'k{i},{i}@x.org,m{i},2024-01-01,customer,"text {i}\nmore {i}"\n' for i in range(1, 5)]
    clean = tmp_path / "clean.csv"
    clean.write_text(header + "".join(good))
    damaged = tmp_path / "damaged.csv"
    good[1] = 'k2,2@x.org,m2,2024-01-01,customer,"text 2 never closed\n'
    damaged.write_text(header + "".join(good))
    code, report = _validate(damaged, tmp_path)
    assert (code, report["valid"], report["invalid"]) == (1, 3, 1)
    assert [e["location"] for e in report["errors"]] == [f"{damaged}:4"]
    got, want = _by_id(_records(damaged)), _by_id(_records(clean))
    for cid in ("k1", "k3", "k4"):
        assert (got[cid].error, got[cid].data) == (None, want[cid].data)
    # the broken row takes one line where the clean one took two
    assert [got[cid].message_locations for cid in ("k1", "k3", "k4")] == [
        [f"{damaged}:2"],
        [f"{damaged}:5"],
        [f"{damaged}:7"],
    ]


def test_legitimate_multi_line_and_quirky_fields_read_as_before(tmp_path: Path) -> None:
    """Bodies with line breaks and doubled quotes are one field; a one-line ``"a"b`` is read
    leniently, as the csv module reads it by default."""
    body = 'Line one\n\nSaid "hi",\r\nthen, left'
    rows = _message("c1", "m1", body) + 'c2,m2,2024-01-01T10:00:00Z,customer,"a"b\n'
    export = _export(tmp_path, "export", MESSAGE_HEADER + rows + "".join(_messages()[2:]))
    got = _by_id(_records(export))
    assert got["c1"].data is not None
    assert got["c2"].data is not None
    assert got["c1"].data["messages"][0]["body_text"] == body
    assert got["c2"].data["messages"][0]["body_text"] == "ab"
    assert got["c3"].message_locations == [f"{export / 'messages.csv'}:7"]


# -- bounds and large records --------------------------------------------------------------------


@pytest.mark.parametrize("multi_line", [False, True])
def test_a_field_over_the_bound_is_one_invalid_record_the_rest_read(
    tmp_path: Path, multi_line: bool
) -> None:
    big = ("x" * 99 + ("\n" if multi_line else " ")) * 300  # 30,000 bytes
    rows = _messages()
    clean = _export(tmp_path, "clean", MESSAGE_HEADER + "".join(rows))
    rows[1] = _message("c2", "m2", big)
    damaged = _export(tmp_path, "damaged", MESSAGE_HEADER + "".join(rows))
    code, report = _validate(damaged, tmp_path, "--max-record-bytes", "20000")
    assert (code, report["valid"], report["invalid"]) == (1, 5, 1)
    [error] = report["errors"]
    assert (error["source_id"], error["location"]) == ("c2", f"{damaged}/messages.csv:3")
    assert "over --max-record-bytes 20000" in error["message"]
    limits = ReadLimits(max_record_bytes=20_000)
    got, want = _by_id(_records(damaged, limits=limits)), _by_id(_records(clean, limits=limits))
    if multi_line:  # the big field's 299 line breaks move the rows after it
        assert got["c3"].location == f"{damaged / 'conversations.csv'}:4"
        assert got["c3"].message_locations == [f"{damaged / 'messages.csv'}:304"]
        for cid in ("c1", "c3", "c4", "c5", "c6"):
            assert (got[cid].error, got[cid].data) == (None, want[cid].data)
    else:
        for cid in ("c1", "c3", "c4", "c5", "c6"):
            _same_conversation(got[cid], want[cid])


def test_a_row_of_many_small_fields_over_the_bound_is_invalid(tmp_path: Path) -> None:
    header = "conversation_id,customer_email," + ",".join(f"cf:{i}" for i in range(3000))
    row = "c1,a@x.org," + ",".join(["value of the field"] * 3000) + "\n"
    export = _export(tmp_path, "export", MESSAGE_HEADER + "".join(_messages()), conversations=False)
    (export / "conversations.csv").write_text(
        header + "\n" + row + "".join(f"c{i},{i}@x.org" + "," * 3000 + "\n" for i in range(2, 7))
    )
    _, report = _validate(export, tmp_path, "--max-record-bytes", "40000")
    assert (report["valid"], report["invalid"]) == (5, 1)
    assert report["errors"][0]["location"] == f"{export}/conversations.csv:2"


def test_large_fields_read_exactly_as_the_csv_module_reads_them(tmp_path: Path) -> None:
    """Records over LARGE_RECORD are parsed without csv (whose buffer takes 4 bytes a
    character): the same cells, UTF-8 split across pieces, doubled quotes, CRLF, NUL."""
    unit = 'é "quoted" ☕ text, with a comma\r\nand a line\n'
    body = unit * (3 * LARGE_RECORD // len(unit))
    single = "y€" * LARGE_RECORD  # one line longer than LARGE_RECORD, split in pieces
    rows = _messages({2: body, 4: single})
    export = _export(tmp_path, "export", MESSAGE_HEADER + "".join(rows))
    got = _by_id(_records(export))
    assert all(r.error is None for r in got.values())
    from importer.readers.csv import rows as generic_csv

    assert generic_csv.LARGE_RECORD == LARGE_RECORD
    limit = csv.field_size_limit(1 << 30)
    try:
        expected = list(csv.reader(io.StringIO(MESSAGE_HEADER + "".join(rows), newline="")))
    finally:
        csv.field_size_limit(limit)
    for row in expected[1:]:
        record = got[row[0]]
        assert record.data is not None
        assert record.data["messages"][0]["body_text"] == row[4]
    lines = (MESSAGE_HEADER + "".join(rows)).count("\n", 0)
    assert got["c6"].message_locations == [f"{export / 'messages.csv'}:{lines}"]


@pytest.mark.parametrize("zipped", [False, True])
def test_a_broken_quote_that_swallows_more_than_a_large_record_is_resynchronised(
    tmp_path: Path, zipped: bool
) -> None:
    """The broken row's quote runs over LARGE_RECORD bytes of well-formed rows (none quoted)
    to the end of the file: its first line is reported and the rows after it read again."""
    rows = [_message(f"c{i}", f"m{i}", f"Body {i}") for i in range(1, 7)]
    filler = [_message("c5", f"f{n}", "filler " * 30) for n in range(LARGE_RECORD // 200 + 10)]
    clean = _export(tmp_path, "clean", MESSAGE_HEADER + "".join(rows + filler))
    rows[1] = 'c2,m2,2024-01-01T10:00:00Z,customer,"unclosed\n'
    damaged = _export(tmp_path, "damaged", MESSAGE_HEADER + "".join(rows + filler))
    given = damaged
    if zipped:
        given = tmp_path / "damaged.zip"
        shutil.make_archive(str(tmp_path / "damaged"), "zip", root_dir=tmp_path, base_dir="damaged")
    got, want = _by_id(_records(given)), _by_id(_records(clean))
    assert len(got) == 6
    assert got["c2"].error is not None
    assert got["c2"].error.location.endswith("messages.csv:3")
    for cid in ("c1", "c3", "c4", "c5", "c6"):
        assert got[cid].error is None
        assert got[cid].data == want[cid].data
