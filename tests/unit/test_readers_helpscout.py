"""The Help Scout reader: each rule on hand-made Mailbox API conversations (HAL pages and one
conversation per line), then recognition through open_export, bare and in ETL envelopes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from importer.errors import FormatError, MappingError
from importer.mappings import load_mapping
from importer.model import Conversation
from importer.readers import open_export
from importer.readers.base import RoleFile
from importer.readers.helpscout.conversation import conversation_record, oldest_first
from importer.readers.helpscout.mapping import (
    HelpScoutMapping,
    helpscout_mapping,
)
from importer.readers.helpscout.reader import READER, helpscout_role
from importer.readers.inputs import list_input_files
from importer.readers.source import SourceRecord

MAPPING = helpscout_mapping(load_mapping("helpscout"))
API = "https://api.helpscout.net/v2"
ADA = {"id": 501, "type": "customer", "first": "Ada", "last": "Lovelace", "email": "ada@x.example"}
SAM = {"id": 7, "type": "user", "first": "Sam", "last": "Stone", "email": "sam@northwind.example"}


def _thread(
    ident: int, kind: str, at: str, body: str | None = "hello", **extra: Any
) -> dict[str, Any]:
    by_customer = kind in ("customer", "chat", "phone")
    thread: dict[str, Any] = {
        "id": ident,
        "type": kind,
        "status": "active",
        "state": "published",
        "body": body,
        "source": {"type": "email", "via": "customer" if by_customer else "user"},
        "customer": {k: v for k, v in ADA.items() if k != "type"},
        "createdBy": ADA if by_customer else SAM,
        "createdAt": at,
        "_embedded": {"attachments": []},
        "_links": {"self": {"href": f"{API}/conversations/100/threads/{ident}"}},
    }
    thread.update(extra)
    return thread


def _conversation(*threads: dict[str, Any], ident: int = 100, **extra: Any) -> dict[str, Any]:
    conversation: dict[str, Any] = {
        "id": ident,
        "number": 3,
        "threads": len(threads),
        "type": "email",
        "folderId": 8501,
        "status": "closed",
        "state": "published",
        "subject": "Grinder arrived cracked",
        "preview": "...",
        "mailboxId": 85,
        "assignee": SAM,
        "createdBy": ADA,
        "createdAt": "2023-03-01T09:00:00Z",
        "closedBy": 7,
        "closedAt": "2023-03-02T10:00:00Z",
        "userUpdatedAt": "2023-03-02T10:00:00Z",
        "source": {"type": "email", "via": "customer"},
        "tags": [{"id": 1, "color": "#ccc", "tag": "vip"}, {"id": 2, "tag": "northwind"}],
        "cc": [],
        "bcc": [],
        "primaryCustomer": ADA,
        "customFields": [
            {"id": 2, "name": "Priority", "value": "23", "text": "High"},
            {"id": 1, "name": "Order number", "value": "10000", "text": "10000"},
        ],
        "_embedded": {"threads": list(threads)},
        "_links": {"self": {"href": f"{API}/conversations/{ident}"}},
    }
    conversation.update(extra)
    return conversation


def _standard() -> dict[str, Any]:
    """Newest first, as the API lists them: a note, a lineitem, a reply, the question."""
    return _conversation(
        _thread(4, "note", "2023-03-01T12:00:00Z", "<p>checked the log</p>"),
        _thread(3, "lineitem", "2023-03-01T11:00:00Z", None, action={"text": "Assigned to Sam"}),
        _thread(2, "message", "2023-03-01T10:00:00Z", "<p>A new one is on its way.</p>"),
        _thread(1, "customer", "2023-03-01T09:00:00Z", "My grinder\narrived cracked & broken"),
    )


def _read(conversation: dict[str, Any], mapping: HelpScoutMapping = MAPPING) -> SourceRecord:
    record = conversation_record(conversation, "page.json:1", mapping)
    if record.data is not None:
        Conversation.model_validate(record.data)
    return record


def _data(record: SourceRecord) -> dict[str, Any]:
    assert record.data is not None, record.error
    return record.data


# -- one conversation -------------------------------------------------------------------------


def test_threads_oldest_first_with_roles_notes_and_authors() -> None:
    record = _read(_standard())
    data = _data(record)
    assert record.source_id == "100" == data["source_id"]
    assert [
        (m["source_id"], m["author_role"], m["private"], m["created_at"], m.get("author_email"))
        for m in data["messages"]
    ] == [
        ("1", "customer", False, "2023-03-01T09:00:00Z", "ada@x.example"),
        ("2", "agent", False, "2023-03-01T10:00:00Z", "sam@northwind.example"),
        ("4", "agent", True, "2023-03-01T12:00:00Z", "sam@northwind.example"),
    ]
    question, reply, _ = data["messages"]
    assert question["body_text"] == "My grinder\narrived cracked & broken"
    assert reply["body_html"] == "<p>A new one is on its way.</p>"
    assert (question["author_id"], question["author_name"]) == ("501", "Ada Lovelace")
    assert (reply["author_id"], reply["author_name"]) == ("7", "Sam Stone")


def test_conversation_fields() -> None:
    data = _data(_read(_standard()))
    assert data["customer"] == {
        "id": "501",
        "email": "ada@x.example",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    assert (data["subject"], data["type"], data["status"]) == (
        "Grinder arrived cracked",
        "email",
        "closed",
    )
    assert (data["created_at"], data["closed_at"]) == (
        "2023-03-01T09:00:00Z",
        "2023-03-02T10:00:00Z",
    )
    assert (data["assignee_id"], data["assignee_email"]) == ("7", "sam@northwind.example")
    assert data["tags"] == ["vip", "northwind"]
    assert data["custom_fields"] == {"Priority": "High", "Order number": "10000"}
    assert data["source"] == "helpscout"


def test_custom_field_values_and_names_by_the_mapping() -> None:
    mapping = helpscout_mapping(
        {
            **load_mapping("helpscout"),
            "custom_field_value": "value",
            "custom_field_names": {"Order number": "Order"},
        }
    )
    data = _data(_read(_standard(), mapping))
    assert data["custom_fields"] == {"Priority": "23", "Order": "10000"}


def test_events_and_drafts_are_left_out_with_a_warning_each() -> None:
    conversation = _standard()
    threads = conversation["_embedded"]["threads"]
    threads.insert(0, _thread(5, "message", "2023-03-01T13:00:00Z", "unsent", state="draft"))
    threads.insert(0, _thread(6, "forwardparent", "2023-03-01T14:00:00Z", "fwd to billing"))
    threads.insert(0, _thread(7, "workflow", "2023-03-01T15:00:00Z", None))
    record = _read(conversation)
    assert [m["source_id"] for m in _data(record)["messages"]] == ["1", "2", "4", "6"]
    assert [(w.code, w.stage) for w in record.warnings] == [("message.event", "map")] * 3
    texts = [w.message for w in record.warnings]
    assert any(t.startswith("lineitem thread 3 (Assigned to Sam) left out") for t in texts)
    assert any("message thread 5" in t and "draft" in t for t in texts)
    assert any(t.startswith("workflow thread 7") for t in texts)
    as_notes = helpscout_mapping({**load_mapping("helpscout"), "drafts": "note"})
    messages = _data(_read(conversation, as_notes))["messages"]
    assert [(m["source_id"], m["private"]) for m in messages][-2:] == [("5", True), ("6", True)]


@pytest.mark.parametrize(
    ("conversation_type", "created_by", "role"),
    [
        ("chat", ADA, "customer"),
        ("chat", SAM, "agent"),
        ("phone", SAM, "agent"),
        ("phone", ADA, "customer"),
    ],
)
def test_chat_and_phone_threads_by_their_author(
    conversation_type: str, created_by: dict[str, Any], role: str
) -> None:
    thread = _thread(1, conversation_type, "2023-03-01T09:00:00Z", createdBy=created_by)
    data = _data(_read(_conversation(thread, type=conversation_type)))
    assert data["type"] == conversation_type
    [message] = data["messages"]
    assert (message["author_role"], message["private"]) == (role, False)


def test_a_list_already_oldest_first_and_equal_times_keep_the_api_order() -> None:
    ascending = [
        _thread(1, "customer", "2023-03-01T09:00:00Z"),
        _thread(2, "message", "2023-03-01T10:00:00Z"),
    ]
    assert [t["id"] for t in oldest_first(ascending)] == [1, 2]
    same_time = [
        _thread(9, "message", "2023-03-01T09:00:00Z"),  # sent later, listed first by the API
        _thread(8, "customer", "2023-03-01T09:00:00Z"),
    ]
    assert [t["id"] for t in oldest_first(same_time)] == [8, 9]


def test_attachments_by_their_api_address() -> None:
    data_href = f"{API}/conversations/100/attachments/77/data"
    attachments = [
        {
            "id": 77,
            "filename": "receipt.pdf",
            "mimeType": "application/pdf",
            "size": 1234,
            "_links": {"data": {"href": data_href}, "web": {"href": "https://secure.x/77"}},
        },
        {"id": 78, "filename": "photo.png", "_links": {"web": {"href": "https://secure.x/78"}}},
        {"id": 79, "filename": "lost.txt", "_links": {}},
    ]
    thread = _thread(1, "customer", "2023-03-01T09:00:00Z", "see files")
    thread["_embedded"] = {"attachments": attachments}
    record = _read(_conversation(thread))
    [message] = _data(record)["messages"]
    assert message["attachments"] == [
        {
            "file_name": "receipt.pdf",
            "url": data_href,
            "content_type": "application/pdf",
            "size": 1234,
        },
        {"file_name": "photo.png", "url": "https://secure.x/78"},
    ]
    [lost] = record.left_out
    assert (lost.stage, lost.code) == ("attachment", "url")
    assert "lost.txt" in lost.message


def test_the_customer_is_completed_from_the_threads() -> None:
    thread = _thread(1, "customer", "2023-03-01T09:00:00Z")
    thread["customer"] = {"id": 501, "first": "Ada", "email": "ada@x.example"}
    thread["createdBy"] = {"id": 501, "type": "customer", "last": "Lovelace"}
    other = _thread(2, "customer", "2023-03-01T10:00:00Z")
    other["customer"] = {"id": 999, "first": "Someone", "phone": "+1 555"}  # not the customer
    other["createdBy"] = {"id": 999, "type": "customer"}
    conversation = _conversation(thread, other, primaryCustomer={"id": 501, "type": "customer"})
    data = _data(_read(conversation))
    assert data["customer"] == {
        "id": "501",
        "email": "ada@x.example",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }


def test_a_conversation_without_threads_or_id_is_refused_saying_why() -> None:
    listed = _conversation()
    del listed["_embedded"]
    listed["threads"] = 4
    record = _read(listed)
    assert record.data is None
    assert record.error is not None
    assert (record.error.code, record.source_id) == ("threads", "100")
    assert "4 thread(s)" in record.error.message
    assert "embed=threads" in record.error.message
    anonymous = _standard()
    del anonymous["id"]
    record = _read(anonymous)
    assert record.error is not None
    assert record.error.code == "source_id"


def test_fewer_threads_than_help_scout_counts_is_a_warning() -> None:
    conversation = _standard()
    conversation["threads"] = 9
    record = _read(conversation)
    [warning] = [w for w in record.warnings if w.code == "threads"]
    assert "holds 4 of the 9 threads" in warning.message
    assert "GET /v2/conversations/100?embed=threads" in warning.message
    conversation["threads"] = 4
    assert [w.code for w in _read(conversation).warnings] == ["message.event"]


def test_empty_threads_are_events_and_a_conversation_of_events_only_has_no_message() -> None:
    record = _read(_conversation(_thread(1, "customer", "2023-03-01T09:00:00Z", "  ")))
    assert _data(record)["messages"] == []
    assert "neither a body nor an attachment" in record.warnings[0].message


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"default_type": "sms"}, "default_type"),
        ({"thread_types": {"reply": "message"}}, "[thread_types] reply"),
        ({"thread_types": {"event": ["lineitem"]}}, "thread_types"),
        ({"author_roles": {"bot": ["user"]}}, "author_roles"),
        ({"conversation_types": {"sms": "text"}}, "[conversation_types] sms"),
        ({"drafts": "keep"}, "drafts"),
        ({"custom_field_names": {"A": ""}}, "custom_field_names"),
        ({"colour": 1}, "colour"),
    ],
)
def test_a_wrong_mapping_names_the_key(override: dict[str, Any], named: str) -> None:
    with pytest.raises(MappingError, match=named.replace("[", r"\[").replace("]", r"\]")):
        helpscout_mapping({**load_mapping("helpscout"), **override})


def test_the_mapping_file_matches_the_defaults() -> None:
    assert helpscout_mapping(load_mapping("helpscout")) == HelpScoutMapping()


# -- roles and the reader ---------------------------------------------------------------------


def test_record_roles_by_content() -> None:
    conversation = _standard()
    assert helpscout_role(conversation, None) == "conversations"
    bare = {"id": 1, "_embedded": {"threads": []}}
    assert helpscout_role(bare, None) == "conversations"
    assert helpscout_role(_thread(1, "customer", "2023-03-01T09:00:00Z"), "threads") is None
    customer = {"id": 501, "firstName": "Ada", "_embedded": {"emails": []}}
    assert helpscout_role(customer, "customers") is None
    intercom = {"type": "conversation", "id": "5", "conversation_parts": {}, "mailboxId": 1}
    assert helpscout_role(intercom, "conversations") is None


def _page(number: int, total_pages: int, *conversations: dict[str, Any]) -> dict[str, Any]:
    page: dict[str, Any] = {
        "page": {"size": 50, "totalElements": 3, "totalPages": total_pages, "number": number},
        "_links": {"self": {"href": f"{API}/conversations?page={number}"}},
    }
    if conversations:
        page["_embedded"] = {"conversations": list(conversations)}
    return page


def _read_files(tmp_path: Path, *files: Path) -> list[SourceRecord]:
    inputs = list_input_files(list(files))
    work = tmp_path / "work"
    work.mkdir()
    by_role = {"conversations": [RoleFile(f, "conversations") for f in inputs]}
    return list(READER.read(by_role, load_mapping("helpscout"), work))


def test_hal_pages_as_they_came_and_conversations_per_line(tmp_path: Path) -> None:
    first, second, third = (_standard(), _standard(), _standard())
    second["id"], third["id"] = 101, 102
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "page-1.json").write_text(json.dumps(_page(1, 3, first, second)))
    (pages / "page-2.json").write_text(json.dumps(_page(2, 3, third), indent=2))
    (pages / "page-3.json").write_text(json.dumps(_page(3, 3)))  # empty: no _embedded
    records = _read_files(tmp_path, pages)
    assert [r.source_id for r in records] == ["100", "101", "102"]
    assert [r.location for r in records] == [
        f"{pages}/page-1.json:1",
        f"{pages}/page-1.json:1",
        f"{pages}/page-2.json:1",
    ]
    assert all(len(_data(r)["messages"]) == 3 for r in records)
    lines = tmp_path / "conversations.jsonl"
    lines.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    (tmp_path / "again").mkdir()
    again = _read_files(tmp_path / "again", lines)
    assert [(r.source_id, r.location) for r in again] == [
        ("100", f"{lines}:1"),
        ("101", f"{lines}:2"),
    ]


def test_a_conversation_twice_is_read_once_from_the_copy_with_more_threads(
    tmp_path: Path,
) -> None:
    full = _standard()
    short = _standard()
    short["_embedded"]["threads"] = short["_embedded"]["threads"][-1:]
    export = tmp_path / "dump.jsonl"
    export.write_text(
        json.dumps(short) + "\n" + '{"id": 200, "primaryCustomer": {\n' + json.dumps(full) + "\n"
    )
    broken, record = _read_files(tmp_path, export)
    assert broken.data is None
    assert broken.error is not None
    assert (broken.source_id, broken.error.location) == ("200", f"{export}:2")
    assert len(_data(record)["messages"]) == 3
    assert record.location == f"{export}:3"
    assert [w.code for w in record.warnings][:1] == ["duplicate"]
    assert f"{export}:1" in record.warnings[0].message


def test_an_export_without_conversations(tmp_path: Path) -> None:
    empty = tmp_path / "page.json"
    empty.write_text(json.dumps(_page(1, 1)))
    with pytest.raises(FormatError, match="holds no Help Scout conversations"):
        _read_files(tmp_path, empty)


def test_read_safely_makes_one_bad_conversation_invalid_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importer.readers.helpscout.reader as module
    from importer.readers.helpscout import conversation as helpscout_conversation

    real = helpscout_conversation.conversation_record

    def flaky(conversation: Any, location: str, mapping: HelpScoutMapping) -> SourceRecord:
        if conversation["id"] == 101:
            raise KeyError("boom")
        return real(conversation, location, mapping)

    monkeypatch.setattr(module, "conversation_record", flaky)
    second = _standard()
    second["id"] = 101
    third = _standard()
    third["id"] = 102
    export = tmp_path / "dump.jsonl"
    export.write_text("".join(json.dumps(c) + "\n" for c in (_standard(), second, third)))
    records = _read_files(tmp_path, export)
    assert [r.source_id for r in records] == ["100", "101", "102"]
    bad = records[1]
    assert bad.data is None
    assert bad.error is not None
    assert (bad.error.code, bad.error.location) == ("internal", f"{export}:2")
    assert records[2].data is not None


# -- through open_export: recognised without --format -----------------------------------------


def _export_records(*inputs: Path, format_name: str | None = None) -> list[SourceRecord]:
    with open_export(list(inputs), format_name) as export:
        assert export.format == "helpscout"
        return list(export.records())


def test_pages_are_recognised_without_format(tmp_path: Path) -> None:
    page = tmp_path / "conversations.json"
    page.write_text(json.dumps(_page(1, 1, _standard())))
    [record] = _export_records(page)
    assert len(_data(record)["messages"]) == 3
    [record] = _export_records(page, format_name="helpscout")
    assert record.source_id == "100"


@pytest.mark.parametrize("envelope", ["airbyte", "airbyte-message", "singer"])
def test_conversations_in_etl_envelopes_are_recognised(envelope: str, tmp_path: Path) -> None:
    conversation = _standard()
    if envelope == "airbyte":
        line: dict[str, Any] = {"stream": "conversations", "data": conversation, "emitted_at": 1}
    elif envelope == "airbyte-message":
        line = {"type": "RECORD", "record": {"stream": "conversations", "data": conversation}}
    else:
        line = {"type": "RECORD", "stream": "conversations", "record": conversation}
    dump = tmp_path / "dump.jsonl"
    other = {"stream": "mailboxes", "data": {"id": 85, "name": "Support", "slug": "x"}}
    dump.write_text(json.dumps(other) + "\n" + json.dumps(line) + "\n")
    [record] = _export_records(dump)
    assert [m["source_id"] for m in _data(record)["messages"]] == ["1", "2", "4"]


@pytest.mark.parametrize("wrong", ["canonical", "zendesk", "freshdesk", "intercom"])
def test_a_wrong_format_is_refused_naming_helpscout(wrong: str, tmp_path: Path) -> None:
    page = tmp_path / "conversations.json"
    page.write_text(json.dumps(_page(1, 1, _standard())))
    with pytest.raises(FormatError) as caught:
        open_export([tmp_path], wrong)
    assert "it looks like helpscout; run with --format helpscout" in str(caught.value)
