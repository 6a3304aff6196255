"""The Freshdesk reader: the real sample message by message, and each rule on hand-made records."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from importer.errors import FormatError, MappingError
from importer.mappings import load_mapping, merge_tables
from importer.model import Conversation
from importer.readers import open_export
from importer.readers.base import RoleFile
from importer.readers.common import id_text
from importer.readers.freshdesk.mapping import FreshdeskMapping, freshdesk_mapping
from importer.readers.freshdesk.messages import FreshdeskConversation
from importer.readers.freshdesk.reader import READER
from importer.readers.freshdesk.records import (
    PeopleInMemory,
    TicketFields,
    agent_person,
    contact_person,
    record_role,
)
from importer.readers.freshdesk.tickets import ticket_record
from importer.readers.inputs import InputFile
from importer.readers.source import SourceRecord

REAL = Path(__file__).resolve().parent.parent / "data" / "real"
REAL_TICKET = REAL / "freshdesk_python-freshdesk_ticket_1.json"

AGENT = {
    "id": 67013469919,
    "occasional": False,
    "ticket_scope": 1,
    "available": False,
    "type": "support_agent",
    "contact": {"email": "agent@helpdesk.example", "name": "Team Support", "mobile": None},
}
CONTACT = {
    "id": 67032849498,
    "name": "Jessica Rangel",
    "email": "jessica@example.com",
    "phone": None,
    "mobile": "+1 555 0100",
    "job_title": "Buyer",
    "time_zone": "Magadan",
}


def _mapping(**tables: dict[str, Any]) -> FreshdeskMapping:
    return freshdesk_mapping(merge_tables(load_mapping("freshdesk"), dict(tables)))


MAPPING = _mapping()


def _people(*, contacts: bool = True, agents: bool = True) -> PeopleInMemory:
    people = PeopleInMemory()
    if agents:
        people.agents["67013469919"] = agent_person(AGENT)
    if contacts:
        people.contacts["67032849498"] = contact_person(CONTACT)
    return people


def _ticket(**fields: Any) -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "id": 22,
        "subject": "Test 1",
        "status": 2,
        "source": 1,
        "requester_id": 67032849498,
        "responder_id": 67013469919,
        "created_at": "2022-11-16T16:03:17Z",
        "description": "<div>Hello, my order is late</div>",
        "description_text": "Hello, my order is late",
        "tags": ["late"],
        "custom_fields": {},
        "fr_due_by": "2022-11-17T16:03:17Z",
    }
    ticket.update(fields)
    return ticket


def _conversation(number: int, **fields: Any) -> dict[str, Any]:
    conversation: dict[str, Any] = {
        "id": 67105086000 + number,
        "ticket_id": 22,
        "body": f"<div>message {number}</div>",
        "body_text": f"message {number}",
        "incoming": False,
        "private": False,
        "user_id": 67013469919,
        "source": 0,
        "created_at": f"2022-11-16T16:{10 + number:02d}:00Z",
        "attachments": [],
    }
    conversation.update(fields)
    return conversation


def _read(
    ticket: dict[str, Any],
    conversations: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    people: PeopleInMemory | None = None,
    fields: TicketFields | None = None,
    mapping: FreshdeskMapping = MAPPING,
) -> SourceRecord:
    items = [
        FreshdeskConversation(c, f"conversations.json:{i + 1}") for i, c in enumerate(conversations)
    ]
    record = ticket_record(
        ticket,
        "tickets.json:1",
        items,
        people=_people() if people is None else people,
        fields=fields or TicketFields(),
        mapping=mapping,
    )
    if record.data is not None:
        Conversation.model_validate(record.data)
    return record


def _messages(record: SourceRecord) -> list[dict[str, Any]]:
    assert record.data is not None
    messages: list[dict[str, Any]] = record.data["messages"]
    return messages


# -- the real sample ----------------------------------------------------------------------------


def test_real_ticket_reads_message_by_message() -> None:
    ticket = json.loads(REAL_TICKET.read_text(encoding="utf-8"))
    assert record_role(ticket) == "tickets"
    record = _read(ticket, people=PeopleInMemory())
    assert record.data is not None
    assert record.source_id == "1"
    assert record.error is None
    assert record.warnings == []
    assert record.left_out == []
    data = record.data
    assert data["subject"] == "This is a sample ticket"
    assert data["type"] == "email"  # source 2, portal
    assert data["status"] == "open"
    assert "closed_at" not in data  # open, although stats carry an old resolved_at
    assert data["created_at"] == "2016-05-18T04:36:04Z"
    assert data["tags"] == ["foo", "bar"]
    assert data["custom_fields"] == {}  # only null values, none cf_
    assert data["customer"] == {
        "id": "43026449322",
        "email": "dummyname@example.com",
        "first_name": "Dummyname",
    }
    assert data["assignee_id"] == "6010396333"
    messages = _messages(record)
    assert len(messages) == 1
    (description,) = messages
    assert description["author_role"] == "customer"
    assert description["private"] is False
    assert description["body_html"] == "<div>This is a sample ticket, feel free to delete it.</div>"
    assert description["created_at"] == "2016-05-18T04:36:04Z"
    assert description["author_email"] == "dummyname@example.com"
    assert description["attachments"] == [
        {
            "file_name": "attachment.txt",
            "url": "https://cdn.freshdesk.com/data/helpdesk/attachments/production/4004881085/"
            "original/attachment.txt",
            "content_type": "text/plain",
            "size": 44115,  # written as file_size
        }
    ]
    assert record.message_locations == ["tickets.json:1"]


def test_real_ticket_resolved_reads_its_closed_time_from_stats() -> None:
    ticket = json.loads(REAL_TICKET.read_text(encoding="utf-8"))
    ticket["status"] = 4
    record = _read(ticket, people=PeopleInMemory())
    assert record.data is not None
    assert record.data["status"] == "resolved"
    assert record.data["closed_at"] == "2020-07-24T15:35:21Z"


# -- messages -----------------------------------------------------------------------------------


def test_description_then_conversations_with_roles_privacy_and_authors() -> None:
    conversations = [
        _conversation(1),
        _conversation(2, private=True, body="<div>internal</div>"),
        _conversation(3, incoming=True, user_id=67032849498, body="<div>thanks</div>"),
    ]
    record = _read(_ticket(), conversations)
    messages = _messages(record)
    assert [(m["author_role"], m["private"]) for m in messages] == [
        ("customer", False),
        ("agent", False),
        ("agent", True),
        ("customer", False),
    ]
    description, reply, note, customer = messages
    assert description["body_html"] == "<div>Hello, my order is late</div>"
    assert description["author_email"] == "jessica@example.com"
    assert description["author_name"] == "Jessica Rangel"
    assert reply["author_email"] == "agent@helpdesk.example"
    assert reply["author_name"] == "Team Support"
    assert reply["author_id"] == "67013469919"
    assert reply["source_id"] == "67105086001"
    assert note["body_html"] == "<div>internal</div>"
    assert customer["author_email"] == "jessica@example.com"
    assert [m["created_at"] for m in messages] == [
        "2022-11-16T16:03:17Z",
        "2022-11-16T16:11:00Z",
        "2022-11-16T16:12:00Z",
        "2022-11-16T16:13:00Z",
    ]
    assert record.message_locations == [
        "tickets.json:1",
        "conversations.json:1",
        "conversations.json:2",
        "conversations.json:3",
    ]
    assert record.data is not None
    assert record.data["customer"] == {
        "id": "67032849498",
        "email": "jessica@example.com",
        "first_name": "Jessica",
        "last_name": "Rangel",
        "phone": "+1 555 0100",
        "job_title": "Buyer",
    }
    assert record.data["assignee_email"] == "agent@helpdesk.example"


def test_without_incoming_the_user_decides_the_role() -> None:
    agent_reply = _conversation(1)
    del agent_reply["incoming"]
    customer_reply = _conversation(2, user_id=67032849498)
    del customer_reply["incoming"]
    record = _read(_ticket(), [agent_reply, customer_reply])
    assert [m["author_role"] for m in _messages(record)] == ["customer", "agent", "customer"]


def test_incoming_message_of_an_unknown_user_takes_its_from_address() -> None:
    reply = _conversation(1, incoming=True, user_id=999, from_email="Bob Cc <bob@example.org>")
    message = _messages(_read(_ticket(), [reply]))[1]
    assert message["author_role"] == "customer"
    assert message["author_email"] == "bob@example.org"
    assert message["author_name"] == "Bob Cc"


def test_private_incoming_message_stays_the_customers() -> None:
    message = _messages(_read(_ticket(), [_conversation(1, incoming=True, private=True)]))[1]
    assert (message["author_role"], message["private"]) == ("customer", True)


def test_conversations_embedded_and_in_files_are_read_once_in_id_order() -> None:
    embedded = [_conversation(2), _conversation(1)]
    separate = [_conversation(3), _conversation(1)]
    record = _read(_ticket(conversations=embedded), separate)
    assert [m.get("source_id") for m in _messages(record)] == [
        None,
        "67105086001",
        "67105086002",
        "67105086003",
    ]
    assert record.message_locations[1:] == [
        "tickets.json:1",
        "tickets.json:1",
        "conversations.json:1",
    ]


def test_body_text_when_there_is_no_html() -> None:
    record = _read(
        _ticket(description=None, description_text="plain <text>"),
        [_conversation(1, body=None, body_text="reply in text")],
    )
    description, reply = _messages(record)
    assert description["body_text"] == "plain <text>"
    assert "body_html" not in description
    assert reply["body_text"] == "reply in text"


def test_outbound_email_description_is_the_agents_reply() -> None:
    description = _messages(_read(_ticket(source=10)))[0]
    assert description["author_role"] == "agent"
    assert description["author_email"] == "agent@helpdesk.example"
    assert description["private"] is False
    customer_first = _mapping(messages={"agent_description_sources": []})
    description = _messages(_read(_ticket(source=10), mapping=customer_first))[0]
    assert description["author_role"] == "customer"


def test_a_ticket_without_any_message_is_still_read() -> None:
    record = _read(_ticket(description=None, description_text=None))
    assert record.data is not None
    assert record.data["messages"] == []
    assert record.message_locations == []
    assert [w.code for w in record.warnings] == ["description"]
    assert "include=description" in record.warnings[0].message


def test_a_ticket_without_id_is_an_error_record() -> None:
    ticket = _ticket()
    del ticket["id"]
    record = _read(ticket)
    assert record.data is None
    assert record.error is not None
    assert record.error.code == "source_id"
    assert record.raw_text is not None
    assert "Test 1" in record.raw_text


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("customer", [("customer", False)]), ("note", [("customer", True)]), ("drop", [])],
)
def test_survey_feedback_kept_as_a_note_or_dropped(
    choice: str, expected: list[tuple[str, bool]]
) -> None:
    survey = _conversation(1, incoming=True, user_id=67032849498, source=6, category=7)
    record = _read(_ticket(), [survey], mapping=_mapping(messages={"survey_feedback": choice}))
    kept = [(m["author_role"], m["private"]) for m in _messages(record)[1:]]
    assert kept == expected
    assert [w.code for w in record.warnings] == (["message.survey"] if choice == "drop" else [])


# -- conversation fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "closed"),
    [
        (2, "open", None),
        (3, "pending", None),
        (4, "resolved", "2022-11-17T09:00:00Z"),
        (5, "closed", "2022-11-18T09:00:00Z"),
    ],
)
def test_status_codes_and_closed_time(code: int, status: str, closed: str | None) -> None:
    stats = {"resolved_at": "2022-11-17T09:00:00Z", "closed_at": None}
    if code == 5:
        stats["closed_at"] = "2022-11-18T09:00:00Z"
    record = _read(_ticket(status=code, stats=stats))
    assert record.data is not None
    assert record.data["status"] == status
    assert record.data.get("closed_at") == closed


def test_custom_status_takes_its_label_from_ticket_fields() -> None:
    fields = TicketFields()
    status_field = {
        "id": 67000439408,
        "name": "status",
        "label": "Status",
        "type": "default_status",
        "default": True,
        "position": 5,
        "choices": {
            "2": ["Open", "Being Processed"],
            "6": ["Waiting on Third Party", "Awaiting your reply"],
        },
    }
    assert record_role(status_field) == "ticket_fields"
    fields.add(status_field)
    record = _read(_ticket(status=6), fields=fields)
    assert record.data is not None
    assert record.data["status"] == "Waiting on Third Party"
    assert record.warnings == []


def test_custom_status_without_label_is_read_as_the_mapping_says() -> None:
    record = _read(_ticket(status=7))
    assert record.data is not None
    assert record.data["status"] == "pending"
    assert [w.code for w in record.warnings] == ["status"]
    assert "ticket_fields" in record.warnings[0].message


@pytest.mark.parametrize(
    ("source", "kind"), [(1, "email"), (2, "email"), (3, "phone"), (7, "chat"), (10, "email")]
)
def test_source_gives_the_type(source: int, kind: str) -> None:
    record = _read(_ticket(source=source))
    assert record.data is not None
    assert record.data["type"] == kind


def test_custom_fields_by_label_name_override_and_empty_values_left_out() -> None:
    fields = TicketFields()
    fields.add(
        {"name": "cf_order_number", "label": "Order number", "position": 12, "type": "custom_text"}
    )
    fields.add({"name": "cf_region", "label": "Region", "position": 13, "type": "custom_dropdown"})
    ticket = _ticket(
        custom_fields={
            "cf_order_number": "FD07062010",
            "cf_region": "EMEA",
            "cf_empty": None,
            "cf_blank": " ",
            "cf_plain": 7,
            "parent_ticket_id": None,
            "product_line": "not cf",
        }
    )
    record = _read(ticket, fields=fields)
    assert record.data is not None
    assert record.data["custom_fields"] == {
        "Order number": "FD07062010",
        "Region": "EMEA",
        "cf_plain": 7,
    }
    renamed = _mapping(custom_fields={"names": {"cf_region": "Area"}, "use_labels": False})
    record = _read(ticket, fields=fields, mapping=renamed)
    assert record.data is not None
    assert record.data["custom_fields"] == {
        "cf_order_number": "FD07062010",
        "Area": "EMEA",
        "cf_plain": 7,
    }


def test_null_lists_read_as_empty_and_spam_is_tagged() -> None:
    ticket = _ticket(tags=None, attachments=None, conversations=None, cc_emails=None, spam=True)
    record = _read(ticket, [_conversation(1, attachments=None, to_emails=None)])
    assert record.data is not None
    assert record.data["tags"] == ["spam"]
    assert [m["attachments"] for m in _messages(record)] == [[], []]


def test_etl_float_ids_and_time_offsets_are_kept_faithfully() -> None:
    ticket = _ticket(id=7253.0, requester_id=67032849498.0, responder_id="67013469919.0")
    reply = _conversation(1, id=67105086049.0, user_id=67013469919.0)
    reply["created_at"] = "2022-11-16T21:46:58+05:30"
    record = _read(ticket, [reply])
    assert record.source_id == "7253"
    assert record.data is not None
    assert record.data["customer"]["email"] == "jessica@example.com"
    assert record.data["assignee_id"] == "67013469919"
    message = _messages(record)[1]
    assert message["source_id"] == "67105086049"
    assert message["author_email"] == "agent@helpdesk.example"
    assert message["created_at"] == "2022-11-16T21:46:58+05:30"
    assert id_text("0042") == "0042"
    assert id_text("901234567890123456789") == "901234567890123456789"


def test_requester_embedded_is_enough() -> None:
    ticket = _ticket(
        requester={"id": 5, "name": "Matt Rogers", "email": "matt@example.com", "phone": "+61 1"}
    )
    record = _read(ticket, people=PeopleInMemory())
    assert record.data is not None
    assert record.data["customer"] == {
        "id": "5",
        "email": "matt@example.com",
        "first_name": "Matt",
        "last_name": "Rogers",
        "phone": "+61 1",
    }
    assert record.warnings == []


def test_deleted_contact_keeps_its_id_with_a_warning() -> None:
    record = _read(_ticket(requester_id=4242))
    assert record.data is not None
    assert record.data["customer"] == {"id": "4242"}
    assert [w.code for w in record.warnings] == ["customer"]
    assert "4242" in record.warnings[0].message
    assert "deleted" in record.warnings[0].message
    without_contacts = _read(_ticket(), people=_people(contacts=False))
    assert "contacts file" in without_contacts.warnings[0].message


# -- attachments --------------------------------------------------------------------------------


def test_attachments_as_urls_and_one_without_url_left_out() -> None:
    attachments = [
        {
            "id": 1,
            "name": "invoice.pdf",
            "content_type": "application/pdf",
            "size": 2048,
            "attachment_url": "https://files.example/invoice.pdf?token=1",
        },
        {"id": 2, "name": "lost.png", "size": 10},
    ]
    record = _read(_ticket(), [_conversation(1, attachments=attachments)])
    assert _messages(record)[1]["attachments"] == [
        {
            "file_name": "invoice.pdf",
            "url": "https://files.example/invoice.pdf?token=1",
            "content_type": "application/pdf",
            "size": 2048,
        }
    ]
    assert [(f.stage, f.code, f.location) for f in record.left_out] == [
        ("attachment", "url", "conversations.json:1")
    ]
    assert "lost.png" in record.left_out[0].message


def test_inline_images_become_attachments_of_their_message() -> None:
    body = (
        '<div>See <img src="https://acme.freshdesk.com/helpdesk/attachments/6701" '
        'class="fr-fic fr-dii" data-filename="screen.png">'
        '<img src="https://tracker.example/pixel.gif">'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
        '<img src="cid:part1@mail">'
        '<img id="cursor" rel="cursor" class="fr-fic fr-dii" style=""></div>'
    )
    record = _read(_ticket(), [_conversation(1, body=body)])
    message = _messages(record)[1]
    assert message["attachments"] == [
        {
            "file_name": "screen.png",
            "url": "https://acme.freshdesk.com/helpdesk/attachments/6701",
            "content_type": "image/png",
        },
        {
            "file_name": "inline-image-2.png",
            "content_type": "image/png",
            "size": 8,
            "data_base64": "iVBORw0KGgo=",
        },
    ]
    assert 'id="cursor"' not in message["body_html"]
    assert "base64" not in message["body_html"]
    assert "[image: inline-image-2.png]" in message["body_html"]
    assert "pixel.gif" in message["body_html"]  # the body itself is kept
    every = _mapping(attachments={"inline_images": "all"})
    names = [
        a["file_name"]
        for a in _messages(_read(_ticket(), [_conversation(1, body=body)], mapping=every))[1][
            "attachments"
        ]
    ]
    assert names == ["screen.png", "pixel.gif", "inline-image-3.png"]
    none = _mapping(attachments={"inline_images": "none"})
    assert (
        _messages(_read(_ticket(), [_conversation(1, body=body)], mapping=none))[1]["attachments"]
        == []
    )


def test_an_image_that_is_already_an_attachment_is_not_doubled() -> None:
    url = "https://acme.freshdesk.com/helpdesk/attachments/77"
    attachment = {"name": "a.png", "attachment_url": url, "size": 3, "content_type": "image/png"}
    body = f'<div><img src="{url}" class="fr-fic"></div>'
    message = _messages(_read(_ticket(), [_conversation(1, body=body, attachments=[attachment])]))[
        1
    ]
    assert [a["url"] for a in message["attachments"]] == [url]


# -- roles of records ---------------------------------------------------------------------------


def test_roles_recognised_by_content() -> None:
    assert record_role(_ticket()) == "tickets"
    assert record_role({"id": 1, "subject": "s", "status": 2}) == "tickets"
    assert record_role(_conversation(1)) == "conversations"
    assert record_role({"id": 1, "ticket_id": 2, "body": "<p>x</p>"}) == "conversations"
    assert record_role(CONTACT) == "contacts"
    bare_contact = {"id": 1, "name": "A", "email": "a@example.com"}
    assert record_role(bare_contact, "contacts") == "contacts"
    assert record_role(bare_contact) is None  # any platform's person: the stream must say
    assert record_role(AGENT) == "agents"
    assert record_role({"id": 1, "contact": {"email": "a@example.com"}}) == "agents"
    assert record_role({"name": "cf_x", "label": "X", "position": 3, "type": "custom_text"}) == (
        "ticket_fields"
    )


def test_records_of_other_streams_and_platforms_are_passed_over() -> None:
    intercom = {
        "type": "conversation",
        "id": "5",
        "source": {"type": "email", "body": "<p>hi</p>"},
        "conversation_parts": {"conversation_parts": []},
    }
    satisfaction = {"id": 1, "user_id": 2, "agent_id": 3, "ticket_id": 23, "feedback": "ok"}
    article = {
        "id": 1,
        "type": 1,
        "status": 1,
        "title": "FAQ",
        "description": "<p>x</p>",
        "description_text": "x",
        "folder_id": 4,
    }
    company = {"id": 1, "name": "Acme", "domains": [], "custom_fields": {}}
    time_entry = {"id": 1, "ticket_id": 22, "agent_id": 3, "note": "", "time_spent": "01:30"}
    zendesk_user = {
        "id": 9,
        "name": "A",
        "email": "a@example.com",
        "role": "end-user",
        "url": "https://x.zendesk.com/api/v2/users/9.json",
        "phone": None,
    }
    zendesk_comment = {
        "id": 1,
        "ticket_id": 2,
        "body": "**x**",
        "html_body": "<p>x</p>",
        "public": True,
        "author_id": 9,
    }
    gorgias_message = {
        "id": 1,
        "ticket_id": 2,
        "body_html": "<p>x</p>",
        "body_text": "x",
        "from_agent": False,
        "public": True,
    }
    intercom_contact = {
        "id": "c1",
        "email": "a@example.com",
        "name": "A",
        "role": "user",
        "workspace_id": "w",
        "phone": None,
    }
    others = (
        intercom,
        satisfaction,
        article,
        company,
        time_entry,
        zendesk_user,
        zendesk_comment,
        gorgias_message,
        intercom_contact,
        [1],
        "x",
    )
    for record in others:
        assert record_role(record, "conversations") is None
        assert record_role(record, "contacts") is None


# -- the mapping --------------------------------------------------------------------------------


def test_mapping_errors_name_the_table_and_key() -> None:
    with pytest.raises(MappingError, match=r"\[messages\] survey_feedbak"):
        _mapping(messages={"survey_feedbak": "drop"})
    with pytest.raises(MappingError, match=r"\[messages\] survey_feedback.*'maybe'"):
        _mapping(messages={"survey_feedback": "maybe"})
    with pytest.raises(MappingError, match=r"\[types\] codes\.9"):
        _mapping(types={"codes": {"9": "fax"}})


# -- the reader: files in any order, joined through the staging store ---------------------------


def _write_lines(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _read_files(
    tmp_path: Path, paths: list[Path], mapping: dict[str, Any] | None = None
) -> list[SourceRecord]:
    files: dict[str, list[RoleFile]] = {}
    for path in paths:
        input_file = InputFile(name=str(path), top=tmp_path, path=path)
        files.setdefault("tickets", []).append(RoleFile(input_file, "tickets"))
    workdir = Path(tempfile.mkdtemp(dir=tmp_path))
    records = list(READER.read(files, mapping or load_mapping("freshdesk"), workdir))
    for record in records:
        if record.data is not None:
            Conversation.model_validate(record.data)
    return records


def test_reader_joins_conversations_of_other_files_in_any_order(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    late = _write_lines(export / "a.json", [_conversation(3, ticket_id=23), _conversation(2)])
    early = _write_lines(export / "b.json", [_conversation(1), _conversation(4, ticket_id=23)])
    tickets = export / "c.json"
    tickets.write_text(json.dumps({"tickets": [_ticket(), _ticket(id=23, status=5)]}))
    people = _write_lines(
        export / "d.json",
        [
            {"stream": "contacts", "data": CONTACT, "emitted_at": 1},
            {"stream": "agents", "data": AGENT, "emitted_at": 2},
            {"stream": "satisfaction_ratings", "data": {"id": 1, "ticket_id": 23}, "emitted_at": 3},
        ],
    )
    records = _read_files(tmp_path, [late, early, tickets, people])
    assert [r.source_id for r in records] == ["22", "23"]
    first, second = records
    assert [m.get("source_id") for m in _messages(first)] == [None, "67105086001", "67105086002"]
    assert first.message_locations == [f"{tickets}:1", f"{early}:1", f"{late}:2"]
    assert _messages(first)[1]["author_email"] == "agent@helpdesk.example"
    assert first.data is not None
    assert first.data["customer"]["email"] == "jessica@example.com"
    assert [m.get("source_id") for m in _messages(second)] == [None, "67105086003", "67105086004"]
    assert [w.code for w in first.warnings] == ["unused_records"]
    assert "satisfaction_ratings" in first.warnings[0].message
    assert second.warnings == []


def test_reader_reports_broken_lines_orphans_and_duplicates(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    tickets = export / "tickets.json"
    tickets.write_text(
        json.dumps(_ticket(description=None, description_text=None))
        + "\n"
        + '{"id": 30, "subject": "broken\n'
        + json.dumps(_ticket())
        + "\n",
        encoding="utf-8",
    )
    conversations = export / "conversations.json"
    conversations.write_text(
        json.dumps(_conversation(1))
        + "\n"
        + '{"id": 5, "ticket_id": 22, "body": "cut\n'
        + json.dumps(_conversation(2, ticket_id=99))
        + "\n"
        + json.dumps({key: value for key, value in _conversation(3).items() if key != "ticket_id"})
        + "\n",
        encoding="utf-8",
    )
    records = _read_files(tmp_path, [conversations, tickets])
    assert [(r.source_id, r.error.code if r.error else None) for r in records] == [
        ("30", "parse"),
        ("22", None),
        ("99", "ticket"),
    ]
    broken, ticket, orphan = records
    assert broken.location == f"{tickets}:2"
    assert broken.raw_text is not None
    assert [w.code for w in broken.warnings] == ["ticket_id"]
    # the full copy of ticket 22 (with its description) is kept over the first
    assert _messages(ticket)[0]["body_html"] == "<div>Hello, my order is late</div>"
    assert [w.code for w in ticket.warnings] == ["duplicate", "customer"]  # no contacts file
    assert [(f.code, f.location) for f in ticket.left_out] == [("parse", f"{conversations}:2")]
    assert orphan.location == f"{conversations}:3"


def test_reader_without_tickets_stops_with_a_message(tmp_path: Path) -> None:
    contacts = _write_lines(tmp_path / "contacts.json", [CONTACT])
    with pytest.raises(FormatError, match="no Freshdesk tickets"):
        _read_files(tmp_path, [contacts])


def test_reader_reads_the_real_ticket_and_an_airbyte_dump(tmp_path: Path) -> None:
    (record,) = _read_files(tmp_path, [REAL_TICKET])
    assert record.source_id == "1"
    assert len(_messages(record)) == 1
    dump = _write_lines(
        tmp_path / "dump.jsonl",
        [
            {"type": "RECORD", "record": {"stream": "tickets", "data": _ticket(), "emitted_at": 1}},
            {
                "type": "RECORD",
                "record": {"stream": "conversations", "data": _conversation(1), "emitted_at": 2},
            },
            {
                "type": "RECORD",
                "stream": "ticket_fields",
                "record": {
                    "name": "status",
                    "type": "default_status",
                    "label": "Status",
                    "position": 5,
                    "choices": {"6": ["On hold", "x"]},
                },
            },
        ],
    )
    (record,) = _read_files(tmp_path, [dump])
    assert len(_messages(record)) == 2


# -- through open_export: recognised by content -------------------------------------------------

SAMPLE = Path(__file__).resolve().parent.parent.parent / "samples" / "freshdesk" / "export"


def test_sample_export_is_recognised_and_covers_the_issue() -> None:
    with open_export([SAMPLE]) as export:
        assert export.format == "freshdesk"
        records = list(export.records())
    by_id = {r.source_id: r.data for r in records if r.data is not None}
    assert len(by_id) == 30
    assert len(by_id["1007"]["messages"]) == 121  # description + 120 conversations
    assert {"chat", "phone", "email"} == {d["type"] for d in by_id.values()}
    assert {"Waiting on Third Party", "Escalated to Engineering"} <= {
        d["status"] for d in by_id.values()
    }
    assert any(m["private"] for d in by_id.values() for m in d["messages"])
    assert by_id["1010"]["messages"][0]["author_role"] == "agent"  # outbound email


def test_one_airbyte_file_of_every_stream_is_recognised(tmp_path: Path) -> None:
    dump = _write_lines(
        tmp_path / "freshdesk.jsonl",
        [
            {"stream": "conversations", "data": _conversation(1), "emitted_at": 1},
            {"stream": "contacts", "data": CONTACT, "emitted_at": 2},
            {"stream": "tickets", "data": _ticket(), "emitted_at": 3},
        ],
    )
    with open_export([dump]) as export:
        assert export.format == "freshdesk"
        (record,) = list(export.records())
    assert [m["author_role"] for m in _messages(record)] == ["customer", "agent"]
    assert record.data is not None
    assert record.data["customer"]["email"] == "jessica@example.com"


def test_a_wrong_format_is_refused_naming_freshdesk() -> None:
    with pytest.raises(FormatError, match="freshdesk"):
        open_export([SAMPLE], format_name="intercom")


def test_records_of_the_same_keys_are_told_apart_by_their_values() -> None:
    """The scores of a record's keys are kept once worked out; its values still decide: the
    same keys make a ticket with a status code and nothing without one, each time asked."""
    for _ in range(3):
        assert record_role({"id": 1, "subject": "s", "status": 2}) == "tickets"
        assert record_role({"id": 1, "subject": "s", "status": "open"}) is None
        assert record_role({"id": 7, "name": "A", "email": "a@x.io"}, "contacts") == "contacts"
        assert record_role({"id": 7, "name": "A", "email": "a@x.io"}) is None
        field = {"id": 3, "name": "status", "type": "default_status"}
        assert record_role(field) == "ticket_fields"
        assert record_role({**field, "type": "whatever"}) is None
