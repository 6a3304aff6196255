"""The Gorgias reader: the real ticket message by message, then each rule on small records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from importer.errors import FormatError, MappingError
from importer.mappings import load_mapping
from importer.model import Conversation
from importer.readers import open_export
from importer.readers.gorgias.mapping import gorgias_mapping
from importer.readers.gorgias.reader import gorgias_role
from importer.readers.gorgias.ticket import ticket_record
from importer.readers.source import SourceRecord

REAL = (
    Path(__file__).resolve().parent.parent / "data" / "real" / "gorgias_nango_ticket_153006867.json"
)
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "gorgias" / "export"
MAPPING = gorgias_mapping(load_mapping("gorgias"))


def _data(record: SourceRecord) -> dict[str, Any]:
    assert record.data is not None, record.error
    Conversation.model_validate(record.data)
    return record.data


def _records(*inputs: Path, format_name: str | None = None) -> list[SourceRecord]:
    with open_export(list(inputs), format_name) as export:
        assert "gorgias" == export.format
        return list(export.records())


def _message(ident: int, at: str, from_agent: bool, body: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "uri": f"/api/tickets/7/messages/{ident}/",
        "ticket_id": 7,
        "public": True,
        "channel": "email",
        "from_agent": from_agent,
        "sender": {
            "id": 2 if from_agent else 1,
            "email": "sam@x.example" if from_agent else "ada@example.com",
            "name": "Sam" if from_agent else "Ada Lovelace",
        },
        "body_text": body,
        "body_html": None,
        "attachments": None,
        "created_datetime": at,
        **extra,
    }


def _ticket(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": 7,
        "uri": "/api/tickets/7/",
        "status": "closed",
        "channel": "email",
        "spam": False,
        "customer": {"id": 1, "email": "ada@example.com", "name": "Ada Lovelace"},
        "assignee_user": {"id": 2, "email": "sam@x.example"},
        "subject": "Late order",
        "tags": [{"id": 1, "name": "vip"}],
        "created_datetime": "2024-11-14T13:56:16.494726+00:00",
        "closed_datetime": "2024-11-15T10:00:00.000001+00:00",
        "messages": list(messages),
        **extra,
    }


def test_real_ticket_reads_message_by_message() -> None:
    [record] = _records(REAL)
    data = _data(record)
    assert "153006867" == record.source_id
    got = [
        (m["source_id"], m["author_role"], m["private"], m["created_at"]) for m in data["messages"]
    ]
    assert [
        ("385373530", "customer", False, "2024-11-14T13:56:16.494726+00:00"),
        ("385387041", "agent", False, "2024-11-14T14:17:14.835607+00:00"),
        ("385387165", "agent", False, "2024-11-14T14:17:24.710075+00:00"),
        ("385387542", "agent", False, "2024-11-14T14:17:56.390469+00:00"),
        ("385392223", "agent", False, "2024-11-14T14:25:12.655515+00:00"),
        ("385393237", "agent", False, "2024-11-14T14:27:00.654421+00:00"),
    ] == got
    first = data["messages"][0]
    assert "You can now respond to customers from Gorgias &#128077;<br><br>" in first["body_html"]
    assert ("support@gorgias.com", "Romain @Gorgias") == (
        first["author_email"],
        first["author_name"],
    )
    assert ["testwari254@gmail.com"] == list({m["author_email"] for m in data["messages"][1:]})
    assert [{"file_name": "download_4.png", "content_type": "image/png", "size": 2573}] == [
        {k: a[k] for k in ("file_name", "content_type", "size")}
        for a in data["messages"][-1]["attachments"]
    ]
    assert "attachments" not in first  # attachments: null
    assert {
        "id": "400746613",
        "email": "support@gorgias.com",
        "first_name": "Romain",
        "last_name": "@Gorgias",
    } == data["customer"]
    assert ("Let's send your first message!", "email", "open", ["sample ticket"]) == (
        data["subject"],
        data["type"],
        data["status"],
        data["tags"],
    )
    assert "closed_at" not in data
    assert ([], []) == (record.warnings, record.left_out)


def test_a_wrong_format_is_refused_naming_gorgias() -> None:
    with pytest.raises(FormatError) as caught:
        open_export([REAL], "zendesk")
    assert "it looks like gorgias; run with --format gorgias" in str(caught.value)


def test_notes_roles_order_and_closed_time() -> None:
    later = _message(3, "2024-11-14T15:00:00.000003+00:00", True, "Refunded")
    note = _message(
        2,
        "2024-11-14T14:00:00.000002+00:00",
        True,
        "check card",
        public=False,
        channel="internal-note",
    )
    first = _message(1, "2024-11-14T13:56:16.494726+00:00", False, "Where is it?")
    data = _data(ticket_record(_ticket(later, note, first), "t:1", MAPPING))
    assert [("1", "customer", False), ("2", "agent", True), ("3", "agent", False)] == [
        (m["source_id"], m["author_role"], m["private"]) for m in data["messages"]
    ]
    assert ("closed", "2024-11-15T10:00:00.000001+00:00") == (data["status"], data["closed_at"])
    assert ("2", "sam@x.example") == (data["assignee_id"], data["assignee_email"])


def test_internal_note_channel_is_private_even_without_public() -> None:
    note = _message(2, "2024-11-14T14:00:00+00:00", True, "x", channel="internal-note")
    del note["public"]
    [read] = _data(ticket_record(_ticket(note), "t:1", MAPPING))["messages"]
    assert read["private"] is True


def test_from_agent_missing_uses_the_ticket_customer() -> None:
    mine = _message(1, "2024-11-14T13:00:00+00:00", False, "hi")
    theirs = _message(2, "2024-11-14T14:00:00+00:00", True, "hello")
    del mine["from_agent"], theirs["from_agent"]
    data = _data(ticket_record(_ticket(mine, theirs), "t:1", MAPPING))
    assert ["customer", "agent"] == [m["author_role"] for m in data["messages"]]


@pytest.mark.parametrize(
    ("channel", "kind"),
    [
        ("email", "email"),
        ("chat", "chat"),
        ("sms", "chat"),
        ("facebook-messenger", "chat"),
        ("phone", "phone"),
        ("aircall", "phone"),
        ("yotpo-review", "email"),
    ],
)
def test_channel_gives_the_type(channel: str, kind: str) -> None:
    message = _message(1, "2024-11-14T13:00:00+00:00", False, "hi")
    assert kind == _data(ticket_record(_ticket(message, channel=channel), "t:1", MAPPING))["type"]


def test_snoozed_spam_and_nameless_customers() -> None:
    message = _message(1, "2024-11-14T13:00:00+00:00", False, "hi", subject="From the message")
    nameless = {
        "id": 5,
        "email": None,
        "name": None,
        "firstname": "",
        "lastname": "",
        "channels": [{"type": "phone", "address": "+44 20 7946 0958"}],
    }
    ticket = _ticket(
        message,
        snooze_datetime="2025-01-01T00:00:00+00:00",
        spam=True,
        customer=nameless,
        subject=None,
    )
    data = _data(ticket_record(ticket, "t:1", MAPPING))
    assert ("snoozed", ["vip", "spam"], "From the message") == (
        data["status"],
        data["tags"],
        data["subject"],
    )
    assert "closed_at" not in data
    assert {"id": "5", "phone": "+44 20 7946 0958"} == data["customer"]


def test_empty_messages_are_dropped_and_missing_ones_reported() -> None:
    empty = _message(2, "2024-11-14T14:00:00+00:00", True, "", body_html="")
    record = ticket_record(
        _ticket(_message(1, "2024-11-14T13:00:00+00:00", False, "hi"), empty, messages_count=5),
        "t:1",
        MAPPING,
    )
    assert ["1"] == [m["source_id"] for m in _data(record)["messages"]]
    assert ["message.dropped", "messages"] == [w.code for w in record.warnings]


def test_a_ticket_without_an_id_is_an_error() -> None:
    record = ticket_record({"subject": "x"}, "t:1", MAPPING)
    assert record.error is not None
    assert "source_id" == record.error.code


@pytest.mark.parametrize(
    ("record", "role"),
    [
        ({"id": 7, "uri": "/api/tickets/7/"}, "tickets"),
        ({"id": 8, "uri": "/api/tickets/7/messages/8/"}, "ticket_messages"),
        ({"id": 9, "uri": "/api/customers/9/", "email": "a@x"}, None),
        ({"id": 7, "status": "open", "customer": {}, "created_datetime": "x"}, "tickets"),
        (
            {"id": 8, "ticket_id": 7, "public": True, "body_text": "x", "from_agent": True},
            "ticket_messages",
        ),
        ({"id": 8, "ticket_id": 7, "body_text": "x", "incoming": True, "private": False}, None),
    ],
)
def test_record_roles_by_content(record: dict[str, Any], role: str | None) -> None:
    assert role == gorgias_role(record, None)


def test_a_wrong_mapping_names_the_key() -> None:
    with pytest.raises(MappingError, match=r"\[conversation_types\] sms"):
        gorgias_mapping({**load_mapping("gorgias"), "conversation_types": {"sms": "fax"}})
    with pytest.raises(MappingError, match="colour: unknown key"):
        gorgias_mapping({"colour": "red"})


def _lines(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_separate_messages_join_through_envelopes_and_failures_stay_alone(tmp_path: Path) -> None:
    listed = _ticket()
    del listed["messages"]
    first = _message(1, "2024-11-14T13:00:00+00:00", False, "hi")
    reply = _message(2, "2024-11-14T14:00:00+00:00", True, "hello")
    airbyte = _lines(
        tmp_path / "airbyte.jsonl",
        *[
            {"stream": s, "data": d, "emitted_at": 1}
            for s, d in [("messages", reply), ("tickets", listed), ("messages", first)]
        ],
    )
    [record] = _records(airbyte)
    assert ["1", "2"] == [m["source_id"] for m in _data(record)["messages"]]
    airbyte.unlink()
    odd = {**_ticket(first), "id": 8, "uri": "/api/tickets/8/", "tags": 5}  # not a list: unexpected
    singer = _lines(
        tmp_path / "singer.jsonl",
        {"type": "RECORD", "stream": "tickets", "record": odd},
        {"type": "RECORD", "stream": "tickets", "record": listed},
        {"type": "RECORD", "stream": "messages", "record": reply},
        {
            "type": "RECORD",
            "stream": "messages",
            "record": {**reply, "id": 3, "ticket_id": 99, "uri": None},
        },
    )
    broken, good, orphan = _records(singer)
    assert broken.error is not None
    assert ("internal", f"{singer}:1") == (broken.error.code, broken.error.location)
    assert ["2"] == [m["source_id"] for m in _data(good)["messages"]]
    assert orphan.error is not None
    assert ("99", "ticket") == (orphan.source_id, orphan.error.code)


def test_the_sample_export() -> None:
    records = _records(SAMPLE)
    assert 30 == len(records)
    data = [_data(r) for r in records]
    assert any(len(d["messages"]) > 100 for d in data)
    assert {"chat", "email", "phone"} == {d["type"] for d in data}
    assert any(m["private"] for d in data for m in d["messages"])
