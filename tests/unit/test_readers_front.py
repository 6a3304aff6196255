"""The Front reader: the real file message by message, then each rule on small records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from importer.errors import FormatError, MappingError
from importer.mappings import load_mapping
from importer.model import Conversation
from importer.readers import open_export
from importer.readers.front.conversation import conversation_record
from importer.readers.front.mapping import front_mapping
from importer.readers.front.reader import READER, front_role
from importer.readers.source import SourceRecord

REAL = Path(__file__).resolve().parent.parent / "data" / "real"
REAL_MESSAGES = REAL / "front_nango_conversation_messages.json"
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "front" / "export"
MAPPING = front_mapping(load_mapping("front"))
API = "https://x.api.frontapp.com"


def _data(record: SourceRecord) -> dict[str, Any]:
    assert record.data is not None, record.error
    Conversation.model_validate(record.data)
    return record.data


def _records(*inputs: Path, format_name: str | None = None) -> list[SourceRecord]:
    with open_export(list(inputs), format_name) as export:
        assert "front" == export.format
        return list(export.records())


def _message(ident: str, at: float, inbound: bool, body: str, **extra: Any) -> dict[str, Any]:
    return {
        "_links": {"related": {"conversation": f"{API}/conversations/cnv_1"}},
        "id": ident,
        "type": "email",
        "is_inbound": inbound,
        "created_at": at,
        "body": body,
        "text": body,
        "author": None if inbound else {"id": "tea_1", "email": "sam@x.example"},
        "recipients": [
            {
                "_links": {"related": {"contact": f"{API}/contacts/crd_9"}},
                "name": "Ada Lovelace",
                "handle": "ada@example.com",
                "role": "from" if inbound else "to",
            }
        ],
        "attachments": [],
        "is_draft": False,
        **extra,
    }


def _conversation(**extra: Any) -> dict[str, Any]:
    return {
        "id": "cnv_1",
        "subject": "Late order",
        "status": "archived",
        "assignee": {"id": "tea_1", "email": "sam@x.example"},
        "recipient": {
            "_links": {"related": {"contact": f"{API}/contacts/crd_9"}},
            "handle": "ada@example.com",
            "role": "from",
        },
        "tags": [{"id": "tag_1", "name": "vip", "highlight": "🔥"}],
        "custom_fields": {"Order": "A-1", "Empty": None},
        "created_at": 1700000000.5,
        "scheduled_reminders": [],
        **extra,
    }


# -- the real file ----------------------------------------------------------------------------


def test_real_messages_read_message_by_message() -> None:
    [record] = _records(REAL_MESSAGES)
    data = _data(record)
    assert "cnv_1dy3x02m" == record.source_id
    assert [
        ("msg_2ju5l6zi", "customer", False, 1732016057, "tester123@gmail.com"),
        ("msg_2ju5l7dq", "agent", False, 1732016080, "anon@gmail.com"),
    ] == [
        (m["source_id"], m["author_role"], m["private"], m["created_at"], m["author_email"])
        for m in data["messages"]
    ]
    first, reply = data["messages"]
    assert '<div dir="ltr">testing 123</div>\n' == first["body_html"]
    assert reply["body_html"].startswith('<div dir="ltr">response\u00a0123</div>')
    assert "crd_49tn3vi" == first["author_id"]
    assert {"id": "crd_49tn3vi", "email": "tester123@gmail.com", "first_name": "tester123"} == (
        data["customer"]
    )
    assert ("test", "email") == (data["subject"], data["type"])
    assert ["conversation"] == [w.code for w in record.warnings]  # only its messages
    assert record.error is None
    assert record.left_out == []


def test_the_real_file_is_recognised_without_format_and_refused_under_another() -> None:
    with open_export([REAL_MESSAGES]) as export:
        assert {"conversation_messages": [str(REAL_MESSAGES)]} == {
            role: [f.file.name for f in files] for role, files in export.files_by_role.items()
        }
    with pytest.raises(FormatError) as caught:
        open_export([REAL_MESSAGES], "intercom")
    assert "it looks like front; run with --format front" in str(caught.value)


# -- rules on small records -------------------------------------------------------------------


def test_messages_and_comments_in_time_order_comments_private() -> None:
    comment = {
        "id": "com_1",
        "author": {"id": "tea_2", "first_name": "Priya", "last_name": "N", "email": "p@x.example"},
        "body": "checking with billing",
        "posted_at": 1700000100.25,
    }
    messages = [
        (_message("msg_2", 1700000200.0, False, "<p>Refunded</p>"), "m.jsonl:1"),
        (_message("msg_1", 1700000050.0, True, "Where is it?"), "m.jsonl:2"),
    ]
    record = conversation_record(
        _conversation(), "c.json:1", MAPPING, messages=messages, comments=[(comment, "k:1")]
    )
    data = _data(record)
    assert [
        ("msg_1", "customer", False, "body_text"),
        ("com_1", "agent", True, "body_text"),
        ("msg_2", "agent", False, "body_html"),
    ] == [
        (
            m["source_id"],
            m["author_role"],
            m["private"],
            "body_html" if "body_html" in m else "body_text",
        )
        for m in data["messages"]
    ]
    assert ["m.jsonl:2", "k:1", "m.jsonl:1"] == record.message_locations
    assert ("Priya N", "p@x.example") == (
        data["messages"][1]["author_name"],
        data["messages"][1]["author_email"],
    )
    assert "archived" == data["status"]
    assert ["vip"] == data["tags"]
    assert {"Order": "A-1"} == data["custom_fields"]
    assert ("tea_1", "sam@x.example") == (data["assignee_id"], data["assignee_email"])
    assert 1700000000.5 == data["created_at"]


def test_drafts_are_left_out_and_comments_can_be_dropped() -> None:
    draft = _message("msg_3", 1700000300.0, False, "draft", is_draft=True, draft_mode="shared")
    messages = [(_message("msg_1", 1700000050.0, True, "Hi"), "m:1"), (draft, "m:2")]
    comment = {"id": "com_1", "author": "tea_1", "body": "note", "posted_at": 1700000100}
    record = conversation_record(
        _conversation(), "c:1", MAPPING, messages=messages, comments=[(comment, "k:1")]
    )
    assert ["msg_1", "com_1"] == [m["source_id"] for m in _data(record)["messages"]]
    assert ["message.dropped"] == [w.code for w in record.warnings]
    dropping = front_mapping({**load_mapping("front"), "comments": "drop"})
    record = conversation_record(
        _conversation(), "c:1", dropping, messages=messages, comments=[(comment, "k:1")]
    )
    assert ["msg_1"] == [m["source_id"] for m in _data(record)["messages"]]
    assert "comment ×1, draft ×1" in record.warnings[0].message


@pytest.mark.parametrize(
    ("message_type", "kind"),
    [
        ("email", "email"),
        ("sms", "chat"),
        ("front_chat", "chat"),
        ("call", "phone"),
        (None, "email"),
    ],
)
def test_first_message_type_gives_the_conversation_type(
    message_type: str | None, kind: str
) -> None:
    message = _message("msg_1", 1700000000, True, "Hi", type=message_type)
    record = conversation_record(_conversation(), "c:1", MAPPING, messages=[(message, "m:1")])
    assert kind == _data(record)["type"]


def test_deleted_conversations_are_closed_and_tagged() -> None:
    message = _message("msg_1", 1700000000, True, "Hi")
    data = _data(
        conversation_record(
            _conversation(status="deleted"), "c:1", MAPPING, messages=[(message, "m:1")]
        )
    )
    assert ("closed", ["vip", "deleted"]) == (data["status"], data["tags"])


def test_customer_from_contacts_and_phone_handles() -> None:
    contacts = {
        "crd_9": {
            "id": "crd_9",
            "name": "Ada King Lovelace",
            "handles": [{"handle": "+44 20 7946 0958", "source": "phone"}],
        }
    }
    message = _message("msg_1", 1700000000, True, "Hi")
    record = conversation_record(
        _conversation(), "c:1", MAPPING, messages=[(message, "m:1")], contacts=contacts
    )
    assert {
        "id": "crd_9",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0958",
        "first_name": "Ada",
        "last_name": "King Lovelace",
    } == _data(record)["customer"]
    sms = {"handle": "+1 555 0100", "role": "from"}
    record = conversation_record(
        _conversation(recipient=sms), "c:1", MAPPING, messages=[(message, "m:1")]
    )
    assert {"id": "+1 555 0100", "phone": "+1 555 0100"} == _data(record)["customer"]


def test_authorless_outbound_messages_take_the_from_recipient_and_teammates_fill_names() -> None:
    rule = _message("msg_2", 1700000100, False, "Auto", author=None)
    rule["recipients"] = [{"handle": "support@x.example", "name": "Support", "role": "from"}]
    by_id = _message("msg_3", 1700000200, False, "Reply", author="tea_7")
    teammates = {"tea_7": {"id": "tea_7", "email": "t@x.example", "username": "tee"}}
    record = conversation_record(
        _conversation(),
        "c:1",
        MAPPING,
        messages=[(rule, "m:1"), (by_id, "m:2")],
        teammates=teammates,
    )
    assert [("support@x.example", "Support"), ("t@x.example", "tee")] == [
        (m.get("author_email"), m.get("author_name")) for m in _data(record)["messages"]
    ]


def test_attachments_become_url_attachments() -> None:
    files = [
        {
            "filename": "a.pdf",
            "url": f"{API}/download/fil_1",
            "content_type": "application/pdf",
            "size": 3,
        }
    ]
    message = _message("msg_1", 1700000000, True, "", attachments=files)
    [read] = _data(
        conversation_record(_conversation(), "c:1", MAPPING, messages=[(message, "m:1")])
    )["messages"]
    assert [
        {
            "file_name": "a.pdf",
            "url": f"{API}/download/fil_1",
            "content_type": "application/pdf",
            "size": 3,
        }
    ] == read["attachments"]


def test_a_conversation_without_an_id_is_an_error() -> None:
    record = conversation_record({"subject": "x"}, "c:1", MAPPING)
    assert record.data is None
    assert record.error is not None
    assert "source_id" == record.error.code


@pytest.mark.parametrize(
    ("record", "role"),
    [
        ({"id": "cnv_1", "subject": "s"}, "conversations"),
        ({"id": "msg_1", "body": "x"}, "conversation_messages"),
        ({"id": "com_1", "body": "x"}, "comments"),
        ({"id": "tea_1", "email": "a@x"}, "teammates"),
        ({"id": "crd_1", "name": "A"}, "contacts"),
        ({"id": "tag_1", "name": "vip"}, None),
        ({"is_inbound": True, "body": "x", "created_at": 1}, "conversation_messages"),
        ({"posted_at": 1.5, "body": "x"}, "comments"),
        ({"subject": "s", "recipient": {}, "scheduled_reminders": []}, "conversations"),
        ({"id": 1, "subject": "s", "status": "open"}, None),
    ],
)
def test_record_roles_by_content(record: dict[str, Any], role: str | None) -> None:
    assert role == front_role(record, None)


def test_a_wrong_mapping_names_the_key() -> None:
    with pytest.raises(MappingError, match=r"comments"):
        front_mapping({**load_mapping("front"), "comments": "maybe"})
    with pytest.raises(MappingError, match=r"\[conversation_types\] sms"):
        front_mapping({**load_mapping("front"), "conversation_types": {"sms": "fax"}})
    with pytest.raises(MappingError, match="colour: unknown key"):
        front_mapping({"colour": "red"})


def test_an_unexpected_failure_is_that_conversation_s_alone(tmp_path: Path) -> None:
    """Each conversation is built through read_safely: one the reader cannot handle
    (``attachments: 5``) is invalid with its location, and reading goes on."""
    odd = _message("msg_1", 1700000000, True, "Hi", attachments=5)
    other = {**_conversation(), "id": "cnv_2"}
    export = _lines(tmp_path / "export.jsonl", _conversation(), odd, other)
    first, second = _records(export)
    assert first.data is None
    assert first.error is not None
    assert ("internal", f"{export}:1", "cnv_1") == (
        first.error.code,
        first.error.location,
        first.source_id,
    )
    assert "cnv_2" == _data(second)["source_id"]


# -- through open_export: files, envelopes --------------------------------------------------------


def _lines(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_files_in_any_order_and_etl_envelopes_join(tmp_path: Path) -> None:
    conversation = _conversation()
    inbound = _message("msg_1", 1700000050.0, True, "Where is it?")
    reply = _message("msg_2", 1700000200.0, False, "Sent")
    comment = {**_message("com_1", 0, False, "x"), "posted_at": 1700000100}
    del comment["is_inbound"], comment["created_at"], comment["is_draft"], comment["recipients"]
    airbyte = _lines(
        tmp_path / "airbyte.jsonl",
        *[
            {"type": "RECORD", "record": {"stream": s, "data": d, "emitted_at": 1}}
            for s, d in [
                ("messages", reply),
                ("comments", comment),
                ("conversations", conversation),
                ("messages", inbound),
            ]
        ],
    )
    [record] = _records(airbyte)
    assert ["msg_1", "com_1", "msg_2"] == [m["source_id"] for m in _data(record)["messages"]]
    airbyte.unlink()
    singer = _lines(
        tmp_path / "singer.jsonl",
        {"type": "SCHEMA", "stream": "messages", "schema": {}, "key_properties": ["id"]},
        {"type": "RECORD", "stream": "messages", "record": reply},
        {"type": "RECORD", "stream": "conversations", "record": conversation},
        {"type": "RECORD", "stream": "messages", "record": inbound},
    )
    [record] = _records(singer)
    assert ["msg_1", "msg_2"] == [m["source_id"] for m in _data(record)["messages"]]


def test_broken_lines_and_comments_without_messages(tmp_path: Path) -> None:
    comment = {"id": "com_5", "body": "x", "posted_at": 1, "conversation_id": "cnv_9"}
    export = tmp_path / "export.jsonl"
    export.write_text(
        json.dumps(_conversation())
        + "\n"
        + '{"id": "cnv_2", "subject": \n'
        + json.dumps(comment)
        + "\n",
        encoding="utf-8",
    )
    records = _records(export)
    assert [(None, "parse"), ("cnv_1", None), (None, "conversation")] == [
        (r.data and r.data["source_id"], r.error and r.error.code) for r in records
    ]


def test_the_sample_export() -> None:
    records = _records(SAMPLE)
    assert 30 == len(records)
    data = [_data(r) for r in records]
    assert any(len(d["messages"]) > 100 for d in data)
    assert {"chat", "email", "phone"} == {d["type"] for d in data}
    assert any(m["private"] for d in data for m in d["messages"])
    assert READER.info.available
