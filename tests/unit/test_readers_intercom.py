"""The Intercom reader: the real sample message by message, then each rule on small records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from importer.errors import FormatError, MappingError
from importer.mappings import load_mapping
from importer.model import Conversation
from importer.readers import open_export
from importer.readers.base import RoleFile
from importer.readers.inputs import list_input_files
from importer.readers.intercom.conversation import conversation_record
from importer.readers.intercom.fields import People, nested_parts
from importer.readers.intercom.mapping import IntercomMapping, intercom_mapping
from importer.readers.intercom.reader import READER
from importer.readers.source import SourceRecord

REAL = Path(__file__).resolve().parent.parent / "data" / "real"
REAL_CONVERSATION = REAL / "intercom_nango_conversation_5.json"
MAPPING = intercom_mapping(load_mapping("intercom"))


def _utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read(
    conversation: dict[str, Any],
    *,
    mapping: IntercomMapping = MAPPING,
    people: People | None = None,
    parts: list[tuple[dict[str, Any], str]] | None = None,
) -> SourceRecord:
    record = conversation_record(
        conversation,
        "export.json:1",
        mapping,
        people=people or People({}, {}, {}),
        separate_parts=parts or [],
    )
    if record.data is not None:
        Conversation.model_validate(record.data)
    return record


def _data(record: SourceRecord) -> dict[str, Any]:
    assert record.data is not None, record.error
    return record.data


def _author(kind: str, ident: str = "1", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "id": ident, **extra}


def _part(
    ident: str, part_type: str, body: str | None, author: dict[str, Any], at: int, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "conversation_part",
        "id": ident,
        "part_type": part_type,
        "body": body,
        "created_at": at,
        "author": author,
        "attachments": [],
        **extra,
    }


def _conversation(*parts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    conversation: dict[str, Any] = {
        "type": "conversation",
        "id": "100",
        "created_at": 1700000000,
        "source": {
            "type": "conversation",
            "id": "900",
            "subject": "",
            "body": "<p>My order is late</p>",
            "author": _author("user", "u1", name="Ada Lovelace", email="ada@example.com"),
            "attachments": [],
        },
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "u1"}]},
        "state": "open",
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": list(parts),
            "total_count": len(parts),
        },
    }
    conversation.update(extra)
    return conversation


# -- the real sample --------------------------------------------------------------------------


def test_real_conversation_reads_message_by_message() -> None:
    record = _read(json.loads(REAL_CONVERSATION.read_text(encoding="utf-8")))
    data = _data(record)
    assert record.source_id == "5"
    got = [
        (m["source_id"], m["author_role"], m["private"], m["created_at"]) for m in data["messages"]
    ]
    assert [
        ("24", "agent", True, 1727524458),
        ("25", "customer", False, 1727524459),
        ("26", "agent", False, 1727524459),
    ] == got
    assert "2024-09-28T11:54:18Z" == _utc(data["messages"][0]["created_at"])
    note, question, answer = data["messages"]
    assert note["body_html"].startswith('[Image "customer_ticket_example.png?expires=1727777700')
    assert note["body_html"].endswith("update your customers in real-time, and track progress.")
    assert ("john@foo.com", "John Doe") == (note["author_email"], note["author_name"])
    assert question["body_text"] == (
        "Hello, I'm having a problem with ProjectMap. When I try to access my project files, it "
        'says "Permission Denied." I used to have access, but it suddenly stopped working '
        "yesterday."
    )
    assert "example.user@projectmap.com" == question["author_email"]
    assert answer["body_text"].startswith("Hi there, I'm sorry to hear about the issue")
    assert answer["body_text"].endswith("as soon as I have an answer.")
    assert ["export.json:1"] * 3 == record.message_locations


def test_real_conversation_fields() -> None:
    data = _data(_read(json.loads(REAL_CONVERSATION.read_text(encoding="utf-8"))))
    assert {
        "id": "66f7ee5ea9e2c41564b4c362",
        "email": "example.user@projectmap.com",
        "first_name": "Example",
        "last_name": "User",
    } == data["customer"]
    assert "Example: Access issue" == data["subject"]  # source.subject is empty
    assert ("chat", "open", 1727524458) == (data["type"], data["status"], data["created_at"])
    assert "closed_at" not in data
    assert [] == data["tags"]
    assert {
        "Copilot used": False,
        "Created by": 7803408,
        "Ticket category": "Customer ticket",
        "Language": "English",
    } == data["custom_fields"]


def test_real_conversation_counts_system_parts_and_the_lost_image() -> None:
    record = _read(json.loads(REAL_CONVERSATION.read_text(encoding="utf-8")))
    [warning] = record.warnings
    assert ("map", "message.system") == (warning.stage, warning.code)
    assert warning.message.startswith("6 Intercom part(s) without a message left out")
    assert "assignment ×2" in warning.message
    assert "ticket_state_updated_by_admin ×2" in warning.message
    assert "source without a body ×1" in warning.message
    [image] = record.left_out
    assert ("attachment", "export.json:1", "5") == (image.stage, image.location, image.source_id)
    assert "customer_ticket_example.png" in image.message


# -- messages ---------------------------------------------------------------------------------


def test_source_is_the_first_message_then_the_parts() -> None:
    data = _data(
        _read(
            _conversation(
                _part("1", "comment", "<p>On it</p>", _author("admin", "a1"), 1700000100),
                _part("2", "comment", "thanks!", _author("user", "u1"), 1700000200),
            )
        )
    )
    assert [
        ("900", "customer", 1700000000),
        ("1", "agent", 1700000100),
        ("2", "customer", 1700000200),
    ] == [(m["source_id"], m["author_role"], m["created_at"]) for m in data["messages"]]
    assert "<p>My order is late</p>" == data["messages"][0]["body_html"]
    assert "thanks!" == data["messages"][2]["body_text"]


@pytest.mark.parametrize(
    ("author_type", "role"),
    [
        ("user", "customer"),
        ("lead", "customer"),
        ("contact", "customer"),
        ("admin", "agent"),
        ("bot", "agent"),
        ("team", "agent"),
        ("something_new", "agent"),
    ],
)
def test_author_types_give_roles(author_type: str, role: str) -> None:
    data = _data(
        _read(_conversation(_part("1", "comment", "hi", _author(author_type), 1700000100)))
    )
    assert role == data["messages"][1]["author_role"]


def test_notes_are_private_and_system_parts_are_dropped_and_counted() -> None:
    admin = _author("admin", "a1")
    record = _read(
        _conversation(
            _part("1", "assignment", None, admin, 1700000100),
            _part("2", "note", "<p>VIP customer</p>", admin, 1700000200),
            _part("3", "close", "", admin, 1700000300),
            _part("4", "open", None, _author("user", "u1"), 1700000400),
            _part("5", "snoozed", None, admin, 1700000500),
            _part("6", "assignment", "Taking this one, it needs billing", admin, 1700000600),
            _part("7", "comment", "", admin, 1700000700),
        )
    )
    data = _data(record)
    assert [("900", False), ("2", True), ("6", True)] == [
        (m["source_id"], m["private"]) for m in data["messages"]
    ]
    [warning] = record.warnings
    assert warning.message == (
        "5 Intercom part(s) without a message left out: assignment ×1, close ×1, "
        "comment without a body ×1, open ×1, snoozed ×1"
    )


def test_parts_with_a_body_of_other_types_can_be_dropped_by_the_mapping() -> None:
    mapping = intercom_mapping({**load_mapping("intercom"), "other_parts_with_body": "drop"})
    record = _read(
        _conversation(_part("6", "assignment", "a note", _author("admin"), 1700000600)),
        mapping=mapping,
    )
    assert ["900"] == [m["source_id"] for m in _data(record)["messages"]]
    assert "assignment (with a body) ×1" in record.warnings[0].message


def test_bodies_with_tags_or_entities_are_html_others_text() -> None:
    data = _data(
        _read(
            _conversation(
                _part("1", "comment", "Fish &amp; chips", _author("user"), 1700000100),
                _part("2", "comment", "a < b and c > d\nsecond line", _author("user"), 1700000200),
            )
        )
    )
    assert "Fish &amp; chips" == data["messages"][1]["body_html"]
    assert "a < b and c > d\nsecond line" == data["messages"][2]["body_text"]


def test_null_and_missing_lists_and_a_null_source() -> None:
    for parts in (None, {"type": "conversation_part.list", "conversation_parts": None}, []):
        conversation = _conversation(tags=None, custom_attributes=None)
        conversation["conversation_parts"] = parts
        conversation["source"]["attachments"] = None
        data = _data(_read(conversation))
        assert 1 == len(data["messages"])
        assert [] == data["tags"]
    conversation = _conversation(_part("1", "comment", "hello", _author("user", "u1"), 1700000100))
    conversation["source"] = None
    del conversation["contacts"]
    data = _data(_read(conversation))
    assert ["1"] == [m["source_id"] for m in data["messages"]]
    assert "chat" == data["type"]


def test_ids_become_text() -> None:
    conversation = _conversation(
        _part(7288120839, "comment", "hi", {"type": "user", "id": 42.0}, 1700000100),  # type: ignore[arg-type]
        id=7253.0,
    )
    record = _read(conversation)
    data = _data(record)
    assert ("7253", "7253") == (record.source_id, data["source_id"])
    assert ("7288120839", "42") == (
        data["messages"][1]["source_id"],
        data["messages"][1]["author_id"],
    )


def test_a_conversation_without_an_id_is_an_error() -> None:
    conversation = _conversation()
    del conversation["id"]
    record = _read(conversation)
    assert record.data is None
    assert record.error is not None
    assert ("read", "source_id", "export.json:1") == (
        record.error.stage,
        record.error.code,
        record.error.location,
    )


# -- attachments ------------------------------------------------------------------------------


def test_part_attachments_become_url_attachments() -> None:
    files = [
        {
            "type": "upload",
            "name": "invoice.pdf",
            "url": "https://downloads.intercomcdn.com/i/o/1/invoice.pdf?expires=1",
            "content_type": "application/pdf",
            "filesize": 2048,
            "width": None,
            "height": None,
        },
        {"type": "upload", "name": "gone.png", "url": None},
    ]
    record = _read(
        _conversation(_part("1", "comment", None, _author("user"), 1, attachments=files))
    )
    message = _data(record)["messages"][1]
    assert [
        {
            "file_name": "invoice.pdf",
            "url": "https://downloads.intercomcdn.com/i/o/1/invoice.pdf?expires=1",
            "content_type": "application/pdf",
            "size": 2048,
        }
    ] == message["attachments"]
    assert "" == message["body_text"]  # attachments only: the importer writes "(attachment)"
    [gone] = record.left_out
    assert "gone.png" in gone.message


def test_images_in_bodies_become_attachments_of_their_message() -> None:
    body = (
        '<p>See <img src="https://downloads.intercomcdn.com/i/o/9/shot.png?expires=5&amp;s=x"></p>'
        '[Image "https://downloads.intercomcdn.com/i/o/9/other.jpg"]'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
        '<img src="cid:logo@mail">'
    )
    record = _read(_conversation(_part("1", "note", body, _author("admin"), 1)))
    attachments = _data(record)["messages"][1]["attachments"]
    assert [
        ("shot.png", "https://downloads.intercomcdn.com/i/o/9/shot.png?expires=5&s=x", None),
        ("other.jpg", "https://downloads.intercomcdn.com/i/o/9/other.jpg", None),
        ("inline-image-3.png", None, "iVBORw0KGgo="),
    ] == [(a["file_name"], a.get("url"), a.get("data_base64")) for a in attachments]
    [left_out] = record.left_out
    assert "'logo@mail'" in left_out.message


def test_an_image_already_attached_is_not_attached_twice() -> None:
    url = "https://downloads.intercomcdn.com/i/o/9/shot.png"
    part = _part(
        "1",
        "comment",
        f'<img src="{url}">',
        _author("user"),
        1,
        attachments=[{"name": "shot.png", "url": url, "content_type": "image/png"}],
    )
    attachments = _data(_read(_conversation(part)))["messages"][1]["attachments"]
    assert [url] == [a["url"] for a in attachments]


# -- people -----------------------------------------------------------------------------------


def test_contacts_file_gives_the_customer_and_admins_the_agents() -> None:
    people = People(
        contacts={
            "u1": {
                "type": "contact",
                "id": "u1",
                "role": "user",
                "email": "ada@analytical.example",
                "name": "Augusta Ada King",
                "phone": "+44 20 7946 0000",
                "location": {"city": "London", "region": None, "country": "United Kingdom"},
            }
        },
        admins={
            "a1": {"type": "admin", "id": "a1", "email": "sam@northwind.example", "name": "Sam"}
        },
        teams={"t1": {"type": "team", "id": "t1", "name": "Billing"}},
        contacts_given=True,
    )
    conversation = _conversation(
        _part("1", "comment", "ok", {"type": "admin", "id": "a1"}, 1700000100),
        _part("2", "comment", "team here", {"type": "team", "id": "t1"}, 1700000200),
        admin_assignee_id=None,
        assignee={"type": "admin", "id": "a1"},
    )
    data = _data(_read(conversation, people=people))
    assert {
        "id": "u1",
        "email": "ada@analytical.example",
        "first_name": "Augusta",
        "last_name": "Ada King",
        "phone": "+44 20 7946 0000",
        "location": "London, United Kingdom",
    } == data["customer"]
    assert "ada@analytical.example" == data["messages"][0]["author_email"]
    assert ("sam@northwind.example", "Sam") == (
        data["messages"][1]["author_email"],
        data["messages"][1]["author_name"],
    )
    assert "Billing" == data["messages"][2]["author_name"]
    assert ("a1", "sam@northwind.example") == (data["assignee_id"], data["assignee_email"])


def test_without_contacts_the_customer_comes_from_the_authors() -> None:
    conversation = _conversation(
        _part(
            "1", "comment", "hi", _author("user", "u1", name="Lea Lead", email="lea@x.example"), 2
        )
    )
    conversation["source"]["author"] = _author("lead", "u1", name=None, email="")
    data = _data(_read(conversation))
    assert {"id": "u1", "email": "lea@x.example", "first_name": "Lea", "last_name": "Lead"} == data[
        "customer"
    ]


def test_an_admin_initiated_conversation_takes_the_customer_from_the_first_customer_part() -> None:
    conversation = _conversation(
        _part("1", "comment", "reply", _author("user", "u9", name="Bo", email="bo@x.example"), 2),
        contacts=None,
    )
    conversation["source"]["author"] = _author("admin", "a1", email="sam@northwind.example")
    data = _data(_read(conversation))
    assert {"id": "u9", "email": "bo@x.example", "first_name": "Bo"} == data["customer"]
    assert "agent" == data["messages"][0]["author_role"]


def test_a_contact_missing_from_the_contacts_file_is_a_warning() -> None:
    people = People({"someone": {"id": "someone"}}, {}, {}, contacts_given=True)
    record = _read(_conversation(), people=people)
    assert "ada@example.com" == _data(record)["customer"]["email"]
    [warning] = record.warnings
    assert ("read", "customer") == (warning.stage, warning.code)
    assert "contact u1 is not in the contacts file" in warning.message


def test_a_deleted_contact_leaves_only_its_id() -> None:
    people = People({"u1": {"id": "u1", "deleted": True}}, {}, {}, contacts_given=True)
    conversation = _conversation()
    conversation["source"]["author"] = _author("user", "u1", name=None, email=None)
    record = _read(conversation, people=people)
    assert {"id": "u1"} == _data(record)["customer"]
    assert "deleted" in record.warnings[0].message


# -- conversation fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_type", "kind"),
    [
        ("email", "email"),
        ("phone_call", "phone"),
        ("phone_switch", "phone"),
        ("conversation", "chat"),
        ("push", "chat"),
        ("twitter", "chat"),
        (None, "chat"),
    ],
)
def test_source_type_gives_the_conversation_type(source_type: str | None, kind: str) -> None:
    conversation = _conversation()
    conversation["source"]["type"] = source_type
    assert kind == _data(_read(conversation))["type"]


def test_subject_from_source_title_or_ticket_title() -> None:
    conversation = _conversation()
    conversation["source"]["subject"] = "<p>Refund for order&nbsp;#12</p>"
    assert "Refund for order #12" == _data(_read(conversation))["subject"]
    conversation["source"]["subject"] = "<p></p>"
    conversation["title"] = "Title from the inbox"
    assert "Title from the inbox" == _data(_read(conversation))["subject"]
    conversation["title"] = None
    conversation["ticket"] = {"custom_attributes": {"_default_title_": {"value": "Ticket title"}}}
    assert "Ticket title" == _data(_read(conversation))["subject"]
    del conversation["ticket"]
    assert "subject" not in _data(_read(conversation))  # the importer derives it from message 1


@pytest.mark.parametrize(
    ("state", "status", "closed_at"),
    [("closed", "closed", 1700009999), ("open", "open", None), ("snoozed", "snoozed", None)],
)
def test_state_and_closed_time(state: str, status: str, closed_at: int | None) -> None:
    conversation = _conversation(
        state=state, statistics={"last_close_at": 1700009999, "first_close_at": 1700005000}
    )
    data = _data(_read(conversation))
    assert (status, closed_at) == (data["status"], data.get("closed_at"))


def test_old_exports_without_state_use_open() -> None:
    conversation = _conversation(open=False)
    del conversation["state"]
    assert "closed" == _data(_read(conversation))["status"]


def test_tags_and_custom_attributes() -> None:
    mapping = intercom_mapping(
        {**load_mapping("intercom"), "custom_field_names": {"Plan tier": "Plan"}}
    )
    conversation = _conversation(
        tags={
            "type": "tag.list",
            "tags": [{"id": "1", "name": "refund"}, {"id": "2", "name": "VIP"}],
        },
        custom_attributes={
            "Plan tier": "gold",
            "_default_title_": "skipped",
            "Empty": None,
            "Order": {"id": 12, "items": 2},
        },
        ticket={"custom_attributes": {"Root cause": {"value": "courier", "type": "string"}}},
    )
    data = _data(_read(conversation, mapping=mapping))
    assert ["refund", "VIP"] == data["tags"]
    assert {
        "Plan": "gold",
        "Order": '{"id": 12, "items": 2}',
        "Root cause": "courier",
    } == data["custom_fields"]


def test_separate_parts_join_in_time_order_and_nested_ones_are_not_doubled() -> None:
    nested = _part("1", "comment", "first reply", _author("admin"), 1700000100)
    separate = [
        (_part("3", "comment", "third", _author("user"), 1700000300), "parts.json:3"),
        (_part("1", "comment", "first reply", _author("admin"), 1700000100), "parts.json:9"),
        (_part("2", "note", "second", _author("admin"), 1700000200), "parts.json:1"),
    ]
    record = _read(_conversation(nested), parts=separate)
    assert ["900", "1", "2", "3"] == [m["source_id"] for m in _data(record)["messages"]]
    assert ["export.json:1", "export.json:1", "parts.json:1", "parts.json:3"] == (
        record.message_locations
    )


def test_fewer_parts_than_intercom_counts_is_a_warning() -> None:
    conversation = _conversation(_part("1", "comment", "hi", _author("user"), 1700000100))
    conversation["conversation_parts"]["total_count"] = 600
    [warning] = _read(conversation).warnings
    assert ("read", "parts") == (warning.stage, warning.code)
    assert "1 of the 600 parts" in warning.message
    listed = _conversation(statistics={"count_conversation_parts": 4})
    del listed["conversation_parts"]
    assert "0 of the 3 parts" in _read(listed).warnings[0].message


# -- mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"typo_key": 1}, "typo_key"),
        ({"conversation_types": {"sms": "text"}}, "[conversation_types] sms"),
        ({"author_roles": {"robot": ["bot"]}}, "'robot'"),
        ({"other_parts_with_body": "keep"}, "other_parts_with_body"),
        ({"part_types": {"hidden": ["note"]}}, "hidden"),
        ({"custom_attributes": {"ticket_attributes": "yes"}}, "ticket_attributes"),
    ],
)
def test_a_wrong_mapping_names_the_key(override: dict[str, Any], named: str) -> None:
    with pytest.raises(MappingError, match="intercom mapping") as raised:
        intercom_mapping({**load_mapping("intercom"), **override})
    assert named in str(raised.value)


def test_the_mapping_file_matches_the_defaults() -> None:
    assert IntercomMapping() == MAPPING


# -- record roles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "stream", "role"),
    [
        ({"type": "conversation", "id": "1"}, None, "conversations"),
        (
            {"type": "conversation_part", "id": "2", "part_type": "comment"},
            None,
            "conversation_parts",
        ),
        ({"type": "contact", "id": "c", "role": "lead", "email": ""}, None, "contacts"),
        ({"type": "admin", "id": "a", "email": "a@x.example", "name": "A"}, None, "admins"),
        ({"type": "team", "id": "t", "name": "Billing", "admin_ids": []}, None, "teams"),
        # ETL dumps without `type`
        ({"id": "1", "source": {"body": "hi"}, "statistics": {}}, "conversations", "conversations"),
        ({"id": "1", "waiting_since": None, "admin_assignee_id": 4}, None, "conversations"),
        (
            {"id": "2", "part_type": "note", "body": "x", "conversation_id": 1},
            None,
            "conversation_parts",
        ),
        (
            {"id": "c", "workspace_id": "w", "signed_up_at": 1, "last_seen_at": None},
            None,
            "contacts",
        ),
        ({"id": "a", "email": "a@x.example", "away_mode_enabled": False}, None, "admins"),
        ({"id": "a", "email": "a@x.example", "name": "A"}, "admins", "admins"),
        # not Intercom records this reader uses
        (
            {"id": 5, "ticket_id": 9, "incoming": True, "private": False, "body_text": "x"},
            "conversations",
            None,
        ),
        ({"id": 5, "source": 2, "status": 2, "requester_id": 7}, None, None),
        ({"type": "tag", "id": "7800216", "name": "CSV Import"}, "tags", None),
        ({"type": "ticket", "id": "70", "ticket_parts": {}}, "tickets", None),
        ({"id": "a", "email": "a@x.example", "name": "A"}, None, None),
    ],
)
def test_record_roles_by_content(
    record: dict[str, Any], stream: str | None, role: str | None
) -> None:
    assert role == READER.role_of(record, stream)


def test_the_real_conversation_is_an_intercom_conversation() -> None:
    record = json.loads(REAL_CONVERSATION.read_text(encoding="utf-8"))
    assert "conversations" == READER.role_of(record, None)
    assert "conversation_parts" == READER.role_of(nested_parts(record)[0], "conversation_parts")


# -- the reader: files in any order, joined on disk ---------------------------------------------


def _read_files(tmp_path: Path, *files: Path) -> list[SourceRecord]:
    inputs = list_input_files(list(files))
    work = tmp_path / "work"
    work.mkdir()
    by_role = {"conversations": [RoleFile(f, "conversations") for f in inputs]}
    return list(READER.read(by_role, load_mapping("intercom"), work))


def _lines(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _airbyte(stream: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"stream": stream, "data": data, "emitted_at": 1707747714058}


def test_the_real_file_through_the_reader(tmp_path: Path) -> None:
    [record] = _read_files(tmp_path, REAL_CONVERSATION)
    data = _data(record)
    assert f"{REAL_CONVERSATION}:1" == record.location
    assert ["24", "25", "26"] == [m["source_id"] for m in data["messages"]]
    assert [f"{REAL_CONVERSATION}:1"] * 3 == record.message_locations


def test_an_airbyte_dump_joins_parts_and_people_in_any_order(tmp_path: Path) -> None:
    conversation = _conversation()
    del conversation["conversation_parts"]
    conversation["source"]["author"] = _author("lead", "u1", name=None, email="")
    conversation["admin_assignee_id"] = 7
    parts = _lines(
        tmp_path / "parts.jsonl",
        _airbyte(
            "conversation_parts",
            {
                **_part("12", "comment", "<p>second</p>", _author("admin", "7"), 1700000200),
                "conversation_id": 100,
            },
        ),
        _airbyte("tags", {"type": "tag", "id": "1", "name": "x"}),
        _airbyte(
            "conversation_parts",
            {
                **_part("11", "note", "first", _author("bot", "8"), 1700000100),
                "conversation_id": 100.0,
            },
        ),
        _airbyte(
            "conversation_parts",
            {**_part("99", "comment", "lost", _author("user"), 1), "conversation_id": 555},
        ),
    )
    conversations = _lines(
        tmp_path / "conversations.jsonl", _airbyte("conversations", conversation)
    )
    admins = tmp_path / "admins.json"
    admins.write_text(
        json.dumps(
            {
                "type": "admin.list",
                "admins": [
                    {"type": "admin", "id": "7", "email": "sam@northwind.example", "name": "Sam"},
                    {
                        "type": "admin",
                        "id": "8",
                        "email": "operator@intercom.example",
                        "name": "Fin",
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    contacts = _lines(
        tmp_path / "contacts.jsonl",
        {
            "type": "contact",
            "id": "u1",
            "role": "lead",
            "email": "lea@x.example",
            "name": "Lea Lead",
        },
    )
    records = _read_files(tmp_path, parts, admins, contacts, conversations)
    record, orphan = records
    data = _data(record)
    assert [
        ("900", "customer", "lea@x.example"),  # the contacts file has it
        ("11", "agent", "operator@intercom.example"),
        ("12", "agent", "sam@northwind.example"),
    ] == [(m["source_id"], m["author_role"], m.get("author_email")) for m in data["messages"]]
    assert [True] == [m["private"] for m in data["messages"] if m["source_id"] == "11"]
    assert {"id": "u1", "email": "lea@x.example", "first_name": "Lea", "last_name": "Lead"} == data[
        "customer"
    ]
    assert "sam@northwind.example" == data["assignee_email"]
    assert [f"{conversations}:1", f"{parts}:3", f"{parts}:1"] == record.message_locations
    assert ["unused_records"] == [w.code for w in record.warnings]
    assert orphan.data is None
    assert orphan.error is not None
    assert ("555", "conversation") == (orphan.source_id, orphan.error.code)


def test_broken_lines_duplicates_and_parts_without_a_conversation(tmp_path: Path) -> None:
    listed = _conversation()
    del listed["conversation_parts"]
    full = _conversation(_part("1", "comment", "hello", _author("admin"), 1700000100))
    export = tmp_path / "export.jsonl"
    export.write_text(
        json.dumps(listed)
        + "\n"
        + '{"type": "conversation", "id": "101", "source": {\n'
        + json.dumps(full)
        + "\n"
        + json.dumps({"type": "conversation_part", "id": "5", "part_type": "comment", "body": "?"})
        + "\n",
        encoding="utf-8",
    )
    broken, record = _read_files(tmp_path, export)
    assert broken.data is None
    assert broken.error is not None
    assert ("101", f"{export}:2") == (broken.source_id, broken.error.location)
    assert ["conversation_id"] == [w.code for w in broken.warnings]
    assert ["900", "1"] == [m["source_id"] for m in _data(record)["messages"]]
    assert f"{export}:3" == record.location
    assert ["duplicate"] == [w.code for w in record.warnings]
    assert f"{export}:1" in record.warnings[0].message


# -- through open_export: recognised without --format -------------------------------------------


def _export_records(*inputs: Path, format_name: str | None = None) -> list[SourceRecord]:
    with open_export(list(inputs), format_name) as export:
        assert "intercom" == export.format
        return list(export.records())


def test_the_real_file_is_recognised_as_intercom() -> None:
    [record] = _export_records(REAL_CONVERSATION)
    assert ["24", "25", "26"] == [m["source_id"] for m in _data(record)["messages"]]


def test_airbyte_and_singer_streams_are_recognised_and_joined(tmp_path: Path) -> None:
    conversation = _conversation()
    del conversation["conversation_parts"]
    part = {
        **_part("12", "comment", "reply", _author("admin", "7"), 1700000200),
        "conversation_id": 100,
    }
    admin = {"type": "admin", "id": "7", "email": "sam@northwind.example", "name": "Sam"}
    airbyte = _lines(
        tmp_path / "airbyte.jsonl",
        {
            "type": "RECORD",
            "record": {"stream": "conversation_parts", "data": part, "emitted_at": 1},
        },
        _airbyte("admins", admin),
        _airbyte("conversations", conversation),
    )
    [record] = _export_records(airbyte)
    assert [("900", "ada@example.com"), ("12", "sam@northwind.example")] == [
        (m["source_id"], m.get("author_email")) for m in _data(record)["messages"]
    ]
    singer = _lines(
        tmp_path / "singer.jsonl",
        {"type": "SCHEMA", "stream": "conversations", "schema": {}, "key_properties": ["id"]},
        {"type": "RECORD", "stream": "conversation_parts", "record": part},
        {"type": "RECORD", "stream": "conversations", "record": conversation},
        {"type": "STATE", "value": {}},
    )
    airbyte.unlink()
    [record] = _export_records(singer)
    assert ["900", "12"] == [m["source_id"] for m in _data(record)["messages"]]


def test_a_wrong_format_is_refused_naming_intercom() -> None:
    with pytest.raises(FormatError, match="intercom"):
        open_export([REAL_CONVERSATION], "zendesk")


def test_the_sample_export_reads_in_any_file_order(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "samples" / "intercom" / "export"
    records = _export_records(sample)
    assert 30 == len(records)
    assert any(len(_data(r)["messages"]) > 100 for r in records)
    assert {"chat", "email", "phone"} == {_data(r)["type"] for r in records}
    assert any(m["private"] for r in records for m in _data(r)["messages"])
    reordered = [
        sample / "teams.json",
        sample / "conversations.jsonl",
        sample / "admins.json",
        sample / "contacts.json",
    ]
    again = _export_records(*reordered)
    assert [r.data for r in records] == [r.data for r in again]
