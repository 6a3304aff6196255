"""One Freshdesk ticket and its conversations as a canonical conversation (pure: no files).

Field for field ``source-formats.md`` §3 and the contract's "Platform formats":

- the ticket's ``description`` (HTML, else ``description_text``) is the first message, the
  requester's (an agent's reply when the ticket's ``source`` is one the mapping says agents write,
  Outbound Email);
- a conversation with ``incoming: true`` is the customer's; otherwise an agent's (when
  ``incoming`` is missing, an agent ``user_id`` makes it an agent's, a contact's a customer's);
  ``private: true`` makes a note; survey feedback (conversation ``source`` 6) is kept, made a
  note or dropped as the mapping says;
- names and emails come from the ticket's embedded ``requester``, the agents (``contact.email``)
  and the contacts; a requester found nowhere (a deleted contact) keeps its id, with a warning;
- status codes 2-5 and custom statuses (labels from ``ticket_fields``) become words; the closed
  time comes from ``stats`` (``closed_at``, else ``resolved_at``);
- ``attachments`` (``attachment_url``, ``name``, ``size`` or ``file_size``, ``content_type``) and
  images of HTML bodies are url attachments of their message;
- ids are text (``7253.0`` from ETL tools becomes ``"7253"``); ``null`` lists read as empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from importer.findings import Finding
from importer.readers.common import finished_record, id_text
from importer.readers.freshdesk.mapping import FreshdeskMapping
from importer.readers.freshdesk.messages import (
    FreshdeskConversation,
    TicketFindings,
    conversation_message,
    description_message,
    in_id_order,
)
from importer.readers.freshdesk.records import (
    People,
    Person,
    TicketFields,
    contact_person,
    items_of,
    split_name,
    text_of,
)
from importer.readers.source import SourceRecord

SOURCE_NAME = "freshdesk"


def _status(ticket: dict[str, Any], fields: TicketFields, mapping: FreshdeskMapping) -> str | None:
    code = id_text(ticket.get("status"))
    if code is None:
        return text_of(ticket.get("status_name"))
    if code in mapping.status_codes:
        return mapping.status_codes[code]
    if code in fields.status_labels:
        return fields.status_labels[code]
    named = text_of(ticket.get("status_name"))
    if named:
        return named
    if not code.lstrip("-").isdigit():
        return code  # a label already ("Open", "Waiting on Customer")
    return None


def _closed_at(ticket: dict[str, Any], status: str | None, mapping: FreshdeskMapping) -> Any:
    if status is None or status.strip().lower() not in mapping.closed_words:
        return None
    stats = ticket.get("stats")
    for source in (stats if isinstance(stats, dict) else {}, ticket):
        for key in ("closed_at", "resolved_at"):
            if source.get(key) not in (None, ""):
                return source[key]
    return None


def _type(ticket: dict[str, Any], mapping: FreshdeskMapping) -> str:
    code = id_text(ticket.get("source"))
    if code is None:
        return mapping.default_type
    if code in mapping.type_codes:
        return mapping.type_codes[code]
    word = code.lower()
    return word if word in ("email", "chat", "phone") else mapping.default_type


def _custom_fields(
    ticket: dict[str, Any], fields: TicketFields, mapping: FreshdeskMapping
) -> dict[str, Any]:
    values = ticket.get("custom_fields")
    if not isinstance(values, dict):
        return {}
    named: dict[str, Any] = {}
    for key, value in values.items():
        if not str(key).startswith(mapping.custom_field_prefix):
            continue
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            continue
        name = mapping.custom_field_names.get(key)
        if name is None and mapping.custom_field_labels:
            name = fields.field_labels.get(key)
        named[name or key] = value
    return named


def _tags(ticket: dict[str, Any], mapping: FreshdeskMapping) -> list[str]:
    tags = [str(tag) for tag in items_of(ticket.get("tags")) if text_of(tag)]
    if mapping.spam_tag and ticket.get("spam") is True:
        tags.append(mapping.spam_tag)
    return tags


def _requester(ticket: dict[str, Any], people: People, found: TicketFindings) -> Person:
    embedded = ticket.get("requester")
    requester_id = id_text(ticket.get("requester_id"))
    if isinstance(embedded, dict) and (
        text_of(embedded.get("email")) or text_of(embedded.get("name"))
    ):
        person = contact_person(embedded)
        return person if person.id else replace(person, id=requester_id)
    if requester_id is None:
        if isinstance(embedded, dict):
            return contact_person(embedded)
        found.warn("customer", "the ticket names no requester (no requester_id or requester)")
        return Person(None)
    known = people.contact(requester_id) or people.agent(requester_id)
    if known is not None:
        return known
    if people.has_contacts:
        found.warn(
            "customer",
            f"requester {requester_id} is not in the contacts file (a deleted contact?): "
            "imported by id alone",
        )
    else:
        found.warn(
            "customer",
            f"requester {requester_id} has no name or email: give the export's contacts file, "
            "or tickets read with include=requester",
        )
    return Person(requester_id)


def _customer(person: Person) -> dict[str, Any]:
    first, last = split_name(person.name)
    customer = {
        "id": person.id,
        "email": person.email,
        "first_name": first,
        "last_name": last,
        "phone": person.phone,
        "job_title": person.job_title,
    }
    return {key: value for key, value in customer.items() if value is not None}


def _messages(
    ticket: dict[str, Any],
    conversations: Iterable[FreshdeskConversation],
    requester: Person,
    *,
    people: People,
    mapping: FreshdeskMapping,
    found: TicketFindings,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The ticket's messages and the ``file:line`` of each: its description, then each of its
    conversations once (embedded or from ``conversations``), in id order."""
    messages: list[dict[str, Any]] = []
    message_locations: list[str] = []
    description = description_message(ticket, requester, people, mapping=mapping, found=found)
    if description is not None:
        messages.append(description)
        message_locations.append(found.location)
    embedded = [
        FreshdeskConversation(c, found.location) for c in items_of(ticket.get("conversations"))
    ]
    for item in in_id_order([*embedded, *conversations]):
        if not isinstance(item.record, dict):
            continue
        message = conversation_message(item, requester, people, mapping=mapping, found=found)
        if message is not None:
            messages.append(message)
            message_locations.append(item.location)
    return messages, message_locations


def _without_id(ticket: dict[str, Any], location: str) -> SourceRecord:
    """The invalid record of a ticket that has no id."""
    problem = Finding(
        "read",
        "source_id",
        "the ticket has no id, so neither it nor its conversations can be imported; "
        "export tickets with their id",
        location,
    )
    return SourceRecord(location, None, None, error=problem, raw_text=json.dumps(ticket))


def ticket_record(
    ticket: dict[str, Any],
    location: str,
    conversations: Iterable[FreshdeskConversation],
    *,
    people: People,
    fields: TicketFields,
    mapping: FreshdeskMapping,
) -> SourceRecord:
    """The :class:`SourceRecord` of one ticket; ``conversations`` are those of other files.

    Conversations embedded in the ticket (``conversations``) are read too; one found both there
    and in ``conversations`` is read once. A ticket without any message is still returned:
    validation reports it invalid.
    """
    source_id = id_text(ticket.get("id")) or id_text(ticket.get("display_id"))
    if source_id is None:
        return _without_id(ticket, location)
    found = TicketFindings(source_id, location)
    requester = _requester(ticket, people, found)
    status = _status(ticket, fields, mapping)
    if status is None:
        found.warn(
            "status",
            f"status {ticket.get('status')!r} has no label (give the ticket_fields file): "
            f"read as {mapping.unknown_status!r}",
        )
        status = mapping.unknown_status
    messages, message_locations = _messages(
        ticket, conversations, requester, people=people, mapping=mapping, found=found
    )
    assignee_id = id_text(ticket.get("responder_id"))
    assignee = people.agent(assignee_id) if assignee_id else None
    data: dict[str, Any] = {
        "source_id": source_id,
        "source": SOURCE_NAME,
        "subject": text_of(ticket.get("subject")),
        "type": _type(ticket, mapping),
        "status": status,
        "created_at": ticket.get("created_at"),
        "closed_at": _closed_at(ticket, status, mapping),
        "customer": _customer(requester),
        "assignee_id": assignee_id,
        "assignee_email": assignee.email if assignee else None,
        "tags": _tags(ticket, mapping),
        "custom_fields": _custom_fields(ticket, fields, mapping),
        "messages": messages,
    }
    return finished_record(
        location,
        data,
        source_id,
        warnings=found.warnings,
        left_out=found.left_out,
        message_locations=message_locations,
    )
