"""The generic CSV reader: both layouts, any row order, locations, mapping (importer.readers)."""

from __future__ import annotations

import csv
import io
import random
import shutil
from pathlib import Path

import pytest

from importer.errors import FormatError, MappingError
from importer.model import Conversation
from importer.readers import SourceRecord, open_export, read_attachment_bytes

DATA = Path(__file__).resolve().parent.parent / "data" / "readers" / "csv_export"

CONVERSATION_HEADER = ["conversation_id", "subject", "customer_email", "tags"]
MESSAGE_HEADER = ["conversation_id", "message_id", "created_at", "author_role", "body_text"]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _two_file_export(tmp_path: Path, conversations: str, messages: str) -> Path:
    """An export folder with ``conversations.csv`` and ``messages.csv`` of these texts."""
    export = tmp_path / "export"
    export.mkdir(exist_ok=True)
    (export / "conversations.csv").write_text(conversations)
    (export / "messages.csv").write_text(messages)
    return export


def _records(*inputs: Path, mapping: Path | None = None) -> list[SourceRecord]:
    with open_export(list(inputs), mapping_file=mapping) as export:
        assert export.format == "csv"
        return list(export.records())


def test_two_file_layout_of_the_fixture() -> None:
    records = _records(DATA)
    conversations = DATA / "conversations.csv"
    messages = DATA / "messages.csv"
    assert [(r.source_id, r.location) for r in records] == [
        ("C2", f"{conversations}:2"),
        ("C1", f"{conversations}:3"),
        ("C3", f"{conversations}:4"),
    ]
    second, first, third = (r.data for r in records)
    assert first is not None
    assert second is not None
    assert third is not None
    for data in (first, second, third):
        Conversation.model_validate(data)
    assert [m["source_id"] for m in first["messages"]] == ["M3", "M1", "M2"]
    assert records[1].message_locations == [f"{messages}:2", f"{messages}:4", f"{messages}:8"]
    assert first["messages"][1]["body_text"] == 'Hello,\nI have a "question".\nThree lines.'
    assert first["messages"][0]["private"] is True
    assert first["messages"][0]["author_role"] == "agent"
    assert first["messages"][2]["private"] is False
    assert first["tags"] == ["billing", "vip"]
    assert first["custom_fields"] == {"Plan": "Free"}
    assert first["customer"] == {
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
    }
    assert first["closed_at"] == "2024-01-01T12:00:00Z"
    assert "type" not in first or first["type"] == "email"
    assert second["type"] == "chat"
    assert "closed_at" not in second
    assert third["messages"] == []


def test_attachments_are_resolved_and_escaping_paths_left_out() -> None:
    _, first, _ = _records(DATA)
    assert first.data is not None
    invoice, screen = first.data["messages"][1]["attachments"]
    assert invoice["file_name"] == "invoice.pdf"
    assert invoice["content_type"] == "application/pdf"
    assert invoice["size"] == 5
    assert read_attachment_bytes(invoice["path"]) == b"hello"
    assert screen["content_type"] == "image/png"
    assert first.data["messages"][2]["attachments"] == []
    [left_out] = first.left_out
    assert (left_out.stage, left_out.code) == ("attachment", "path")
    assert left_out.location == f"{DATA / 'messages.csv'}:8:10"
    assert "leaves the export's top folder" in left_out.message


def test_unknown_channel_word_is_a_warning_with_its_column() -> None:
    *_, third = _records(DATA)
    assert third.data is not None
    assert "type" not in third.data
    [warning] = third.warnings
    assert warning.code == "type"
    assert warning.location == f"{DATA / 'conversations.csv'}:4:4"
    assert "'pigeon'" in warning.message


def _shuffled_export(tmp_path: Path, seed: int) -> Path:
    rng = random.Random(seed)
    conversations = [[f"c{i}", f"Subject {i}", f"p{i}@example.com", "a;b"] for i in range(20)]
    messages = [
        [f"c{i}", f"c{i}-m{j}", f"2024-01-01T00:0{j}:00Z", "customer", f"line one\nline {j}"]
        for i in range(20)
        for j in range(3)
    ]
    rng.shuffle(conversations)
    rng.shuffle(messages)
    export = tmp_path / "export"
    export.mkdir()
    # names say nothing: files are told apart by their header
    _write_csv(export / "b.csv", CONVERSATION_HEADER, conversations)
    _write_csv(export / "a.csv", MESSAGE_HEADER, messages)
    return export


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_file_layout_with_shuffled_rows(tmp_path: Path, seed: int) -> None:
    export = _shuffled_export(tmp_path, seed)
    conversation_order = [
        row[0] for row in csv.reader((export / "b.csv").read_text().splitlines()[1:])
    ]
    message_rows = list(csv.DictReader(io.StringIO((export / "a.csv").read_text())))
    records = _records(export)
    assert [r.source_id for r in records] == conversation_order
    for record in records:
        assert record.data is not None
        expected = [
            row["message_id"] for row in message_rows if row["conversation_id"] == record.source_id
        ]
        assert [m["source_id"] for m in record.data["messages"]] == expected
        Conversation.model_validate(record.data)


def test_message_locations_follow_multiline_rows(tmp_path: Path) -> None:
    export = _shuffled_export(tmp_path, 4)
    records = _records(export)
    lines = (export / "a.csv").read_text().split("\n")
    for record in records:
        assert record.data is not None
        for message, location in zip(
            record.data["messages"], record.message_locations, strict=True
        ):
            line = int(location.rsplit(":", 1)[1])
            assert lines[line - 1].startswith(f"{record.source_id},{message['source_id']},")


def test_messages_only_layout_in_first_appearance_order(tmp_path: Path) -> None:
    header = [
        "conversation_id",
        "subject",
        "customer_email",
        "message_id",
        "author_role",
        "body_text",
        "created_at",
    ]
    rows = [
        ["k2", "Two", "two@example.com", "m1", "customer", "hi", "2024-01-01"],
        ["k1", "One", "one@example.com", "m2", "customer", "hello", "2024-01-02"],
        ["k2", "Two", "two@example.com", "m3", "agent", "answer", "2024-01-03"],
    ]
    path = tmp_path / "export.csv"
    _write_csv(path, header, rows)
    records = _records(path)
    assert [(r.source_id, r.location) for r in records] == [
        ("k2", f"{path}:2"),
        ("k1", f"{path}:3"),
    ]
    assert records[0].data is not None
    assert records[0].data["subject"] == "Two"
    assert "created_at" not in records[0].data  # the column is the message's time here
    assert [m["source_id"] for m in records[0].data["messages"]] == ["m1", "m3"]
    assert records[0].message_locations == [f"{path}:2", f"{path}:4"]


def test_messages_only_layout_takes_a_conversation_column_from_a_later_row(
    tmp_path: Path,
) -> None:
    """The customer's email is blank on the conversation's first row and given on the next:
    the conversation has it (the first non-empty value of each column wins)."""
    header = ["conversation_id", "subject", "customer_email", "author_role", "body_text"]
    rows = [
        ["k1", "One", "", "customer", "hi"],
        ["k1", "Other subject", "one@example.com", "agent", "answer"],
    ]
    path = tmp_path / "export.csv"
    _write_csv(path, header, rows)
    (record,) = _records(path)
    assert record.data is not None
    assert "one@example.com" == record.data["customer"]["email"]
    assert "One" == record.data["subject"]  # given on the first row: kept


@pytest.mark.parametrize("seed", [1, 2])
def test_messages_only_layout_with_rows_in_random_order(tmp_path: Path, seed: int) -> None:
    """Rows of many conversations shuffled over the whole file (more rows than the staging
    sends to SQLite at once): conversations in the order of their first row, each with its
    rows in file order and its columns from its first row."""
    header = ["conversation_id", "subject", "message_id", "author_role", "body_text"]
    rows = [
        [f"k{n}", f"Subject {n}", f"m{n}-{i}", "customer", f"text {n} {i}"]
        for n in range(2_000)
        for i in range(3)
    ]
    random.Random(seed).shuffle(rows)
    path = tmp_path / "export.csv"
    _write_csv(path, header, rows)
    expected: dict[str, list[tuple[str, str]]] = {}  # id -> (message id, location) in file order
    for line, row in enumerate(rows, 2):
        expected.setdefault(row[0], []).append((row[2], f"{path}:{line}"))
    records = _records(path)
    assert [r.source_id for r in records] == list(expected)
    for record in records:
        assert record.data is not None
        assert record.source_id is not None
        wanted = expected[record.source_id]
        assert record.location == wanted[0][1]
        assert record.data["subject"] == f"Subject {record.source_id[1:]}"
        assert [m["source_id"] for m in record.data["messages"]] == [m for m, _ in wanted]
        assert record.message_locations == [where for _, where in wanted]


def test_a_column_named_twice_reads_its_last_non_empty_cell(tmp_path: Path) -> None:
    """As a row read by column name: the later cell wins unless it is empty; the location
    names the column's first place."""
    header = ["conversation_id", "body_text", "author_role", "body_text", "subject", "subject"]
    rows = [["k1", "first", "customer", "second", "One", ""], ["k1", "first", "agent", "", "", ""]]
    path = tmp_path / "export.csv"
    _write_csv(path, header, rows)
    (record,) = _records(path)
    assert record.data is not None
    assert record.data["subject"] == "One"
    assert [m["body_text"] for m in record.data["messages"]] == ["second", "first"]
    assert record.field_locations["messages[0].body_text"] == f"{path}:2:2"
    assert record.field_locations["subject"] == f"{path}:2:5"


def test_wrong_field_count_makes_the_conversation_invalid(tmp_path: Path) -> None:
    export = _two_file_export(
        tmp_path,
        "conversation_id,subject,customer_email\n1,One,a@x.com\n2,Two,b@x.com,extra\n3,Three,c@x.com\n",
        "conversation_id,message_id,created_at,author_role,body_text\n"
        "1,m1,2024-01-01,customer,hi\n"
        "3,m2,2024-01-01,customer\n"
        ",m3\n",
    )
    one, two, three, own = _records(export)
    assert one.error is None
    assert two.data is None
    assert two.error is not None
    assert two.error.location == f"{export / 'conversations.csv'}:3:4"  # the extra field
    assert "4 fields, the header has 3" in two.error.message
    assert three.source_id == "3"
    assert three.error is not None
    assert three.error.location == f"{export / 'messages.csv'}:3:5"  # the missing field
    assert own.source_id is None
    assert own.error is not None
    assert own.location == f"{export / 'messages.csv'}:4"


def test_a_bad_message_row_keeps_the_good_rows_and_its_own_text(tmp_path: Path) -> None:
    """The dead letter of a conversation with a broken message row holds its readable messages
    and the broken rows' text, and names every broken row."""
    export = _two_file_export(
        tmp_path,
        "conversation_id,subject\nX2,Broken\n",
        "conversation_id,message_id,created_at,author_role,body_text\n"
        "X2,m1,2024-01-01,customer,one,two\n"
        "X2,m2,2024-01-01,customer,fine\n"
        'X2,m3,2024-01-01,customer,"a,b",c\n',
    )
    [record] = _records(export)
    assert record.error is not None
    assert record.error.location == f"{export / 'messages.csv'}:2:6"
    assert [f"{export / 'messages.csv'}:4:6"] == [f.location for f in record.left_out]
    assert record.data is not None
    assert ["m2"] == [m["source_id"] for m in record.data["messages"]]
    assert (
        'X2,m1,2024-01-01,customer,one,two\nX2,m3,2024-01-01,customer,"a,b",c'
        == (record.data["_raw"])
    )


def test_messages_only_a_broken_first_row_keeps_the_later_rows(tmp_path: Path) -> None:
    """With messages.csv alone, the conversation takes its columns from the next good row; the
    broken row makes it invalid and is kept as text."""
    path = tmp_path / "messages.csv"
    path.write_text(
        "conversation_id,subject,message_id,created_at,author_role,body_text\n"
        "A,Sub,m1,2024-01-01,customer,hi,extra\n"
        "A,Sub,m2,2024-01-02,customer,fine\n"
        "B,Other,m1,2024-01-01,customer,ok\n"
    )
    first, second = _records(path)
    assert first.error is not None
    assert first.location == f"{path}:2"
    assert first.data is not None
    assert ("Sub", ["m2"]) == (
        first.data["subject"],
        [m["source_id"] for m in first.data["messages"]],
    )
    assert "A,Sub,m1,2024-01-01,customer,hi,extra" == first.data["_raw"]
    assert second.error is None


def test_a_broken_conversation_row_keeps_its_text(tmp_path: Path) -> None:
    path = tmp_path / "conversations.csv"
    path.write_text("conversation_id,subject\n1,One,extra\n")
    [record] = _records(path)
    assert record.error is not None
    assert "1,One,extra" == record.raw_text


def test_rows_of_empty_cells_are_not_records(tmp_path: Path) -> None:
    """Spreadsheets write blank rows as a line of delimiters: no conversation, no finding."""
    export = _two_file_export(
        tmp_path,
        "conversation_id,subject\n1,One\n,\n , \n",
        "conversation_id,message_id,created_at,author_role,body_text\n"
        ",,,,\n"
        "1,m1,2024-01-01,customer,hi\n"
        ",,,,\n",
    )
    [record] = _records(export)
    assert record.error is None
    assert record.data is not None
    assert 1 == len(record.data["messages"])


def test_empty_body_cells_are_an_empty_body(tmp_path: Path) -> None:
    """As in canonical input: an attachment-only message gets a body, a blank one is left out;
    neither makes its conversation invalid."""
    export = _two_file_export(
        tmp_path,
        "conversation_id,subject,customer_email\nE1,Shot,a@example.com\n",
        "conversation_id,message_id,created_at,author_role,body_text,body_html,attachments\n"
        "E1,m1,2024-01-01 10:00,customer,,,files/shot.png\n"
        "E1,m2,2024-01-01 10:30,customer,,,\n"
        "E1,m3,2024-01-01 11:00,agent,Thanks,,\n",
    )
    (export / "files").mkdir()
    (export / "files" / "shot.png").write_bytes(b"\x89PNG")
    [record] = _records(export)
    assert record.data is not None
    assert ["", "", "Thanks"] == [m["body_text"] for m in record.data["messages"]]
    Conversation.model_validate(record.data)


def test_orphan_message_rows_are_an_invalid_record(tmp_path: Path) -> None:
    export = _two_file_export(
        tmp_path,
        "conversation_id,subject\n1,One\n",
        "conversation_id,message_id,created_at,author_role,body_text\n"
        "9,m1,2024-01-01,customer,hi\n"
        "1,m2,2024-01-01,customer,hi\n"
        "9,m3,2024-01-01,customer,again\n",
    )
    one, orphan = _records(export)
    assert one.data is not None
    assert orphan.source_id == "9"
    assert orphan.data is None
    assert orphan.error is not None
    assert orphan.error.location == f"{export / 'messages.csv'}:2"
    assert "2 message rows name conversation '9'" in orphan.error.message


def test_duplicate_conversation_id_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "conversations.csv"
    path.write_text("conversation_id,subject\n1,One\n1,Again\n")
    first, again = _records(path)
    assert first.error is None
    assert again.error is not None
    assert "appears again" in again.error.message


def test_mapping_renames_columns(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "tickets.csv").write_text("Ticket,Title,Requester,Via\nT1,Hello,r@x.com,Phone\n")
    (export / "notes.csv").write_text(
        "Ticket,When,Who,Text,Internal\nT1,2024-01-01,customer,Hi,Ja\n"
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        "true_words = ['ja']\n"
        "[conversation_columns]\nsource_id = 'Ticket'\nsubject = 'Title'\n"
        "customer_email = 'Requester'\ntype = 'Via'\n"
        "[message_columns]\nconversation_id = 'Ticket'\ncreated_at = 'When'\n"
        "author_role = 'Who'\nbody_text = 'Text'\nprivate = 'Internal'\n"
    )
    [record] = _records(export, mapping=mapping)
    assert record.data is not None
    assert record.data["subject"] == "Hello"
    assert record.data["type"] == "phone"
    assert record.data["customer"] == {"email": "r@x.com"}
    assert record.data["messages"] == [
        {"created_at": "2024-01-01", "body_text": "Hi", "author_role": "customer", "private": True}
    ]


def test_mapping_with_an_unknown_field_is_refused(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text("[conversation_columns]\nsubjekt = 'Title'\n")
    with pytest.raises(MappingError, match="subjekt"):
        open_export([DATA], "csv", mapping)


def test_cp1252_bytes_in_a_message_warn_on_its_conversation(tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(DATA, export)
    messages = export / "messages.csv"
    messages.write_bytes(
        b"\xef\xbb\xbf" + messages.read_bytes().replace(b"<p>Hi</p>", b"<p>Ol\xe1</p>")
    )
    records = _records(export)
    second = records[0]
    assert second.data is not None
    assert second.data["messages"][0]["body_html"] == "<p>Olá</p>"
    [warning] = second.warnings
    assert warning.code == "encoding"
    assert warning.message == "1 bytes were not UTF-8 and were read as cp1252"
    assert records[1].warnings == []


def test_staging_file_is_removed_on_close(tmp_path: Path) -> None:
    export = open_export([DATA])
    with export:
        list(export.records())
        workdir = export._workdir
        assert workdir is not None
        folder = Path(workdir.name)
        assert any(folder.rglob("*.sqlite"))
    assert not folder.exists()


def test_csv_export_in_a_zip_with_attachments(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    shutil.make_archive(str(tmp_path / "export"), "zip", root_dir=DATA.parent, base_dir=DATA.name)
    records = _records(archive)
    assert [r.source_id for r in records] == ["C2", "C1", "C3"]
    assert records[1].location == f"{archive}!{DATA.name}/conversations.csv:3"
    assert records[1].data is not None
    invoice = records[1].data["messages"][1]["attachments"][0]
    assert invoice["path"] == f"{archive}!{DATA.name}/files/invoice.pdf"
    assert invoice["size"] == 5
    assert read_attachment_bytes(invoice["path"]) == b"hello"
    [left_out] = records[1].left_out
    assert "leaves the archive" in left_out.message


def test_unrecognised_header_with_format_csv_points_at_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("Ticket,Title\n1,Hello\n")
    with pytest.raises(FormatError, match="name your columns with --mapping"):
        open_export([path], "csv")


def test_crlf_line_ends_and_large_quoted_bodies(tmp_path: Path) -> None:
    body = "x" * 300_000 + "\r\nend"
    path = tmp_path / "messages.csv"
    path.write_bytes(
        (
            "conversation_id,message_id,created_at,author_role,body_text\r\n"
            f'1,m1,2024-01-01,customer,"{body}"\r\n'
            "1,m2,2024-01-02,agent,ok\r\n"
        ).encode()
    )
    [record] = _records(path)
    assert record.data is not None
    assert record.data["messages"][0]["body_text"] == body
    assert record.message_locations == [f"{path}:2", f"{path}:4"]
