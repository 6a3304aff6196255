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
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from typing import Any

from importer.findings import Finding
from importer.readers.common import finished_record, id_text
from importer.readers.freshdesk.attachments import attachment_of, inline_images
from importer.readers.freshdesk.mapping import FreshdeskMapping
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


@dataclass
class _Read:
    """Findings of one ticket as it is read."""

    source_id: str | None
    location: str
    warnings: list[Finding] = field(default_factory=list)
    left_out: list[Finding] = field(default_factory=list)

    def warn(self, code: str, message: str, location: str | None = None) -> None:
        self.warnings.append(
            Finding("read", code, message, location or self.location, self.source_id)
        )

    def leave_out(self, stage: str, code: str, message: str, location: str | None) -> None:
        self.left_out.append(
            Finding(stage, code, message, location or self.location, self.source_id)
        )


@dataclass(frozen=True)
class FreshdeskConversation:
    """One conversation record of a ticket, with the ``file:line`` it was read at."""

    record: dict[str, Any]
    location: str


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


def _requester(ticket: dict[str, Any], people: People, found: _Read) -> Person:
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


def _message(
    *,
    html: Any,
    text: Any,
    created_at: Any,
    role: str,
    author: Person | None,
    author_id: str | None,
    private: bool,
    attachments: Iterable[Any],
    source_id: str | None,
    mapping: FreshdeskMapping,
    found: _Read,
    location: str,
) -> dict[str, Any]:
    files: list[dict[str, Any]] = []
    for item in attachments:
        attachment, problem = attachment_of(item)
        if attachment is not None:
            files.append(attachment)
        elif problem is not None:
            found.leave_out("attachment", "url", problem, location)
    message: dict[str, Any] = {
        "source_id": source_id,
        "created_at": created_at,
        "author_role": role,
        "author_id": author_id,
        "private": private,
    }
    if author is not None:
        message["author_email"] = author.email
        message["author_name"] = author.name
    body_html = html if isinstance(html, str) and html.strip() else None
    if body_html is not None:
        known = {str(f["url"]) for f in files if "url" in f}
        body_html, images, problems = inline_images(body_html, known, mapping)
        files.extend(images)
        for problem in problems:
            found.leave_out("attachment", "inline", problem, location)
        message["body_html"] = body_html
    if isinstance(text, str) and (body_html is None or not body_html.strip()):
        message["body_text"] = text
    if "body_html" not in message and "body_text" not in message:
        message["body_text"] = ""
    message["attachments"] = files
    return {key: value for key, value in message.items() if value is not None}


def _description(
    ticket: dict[str, Any],
    requester: Person,
    people: People,
    mapping: FreshdeskMapping,
    found: _Read,
) -> dict[str, Any] | None:
    html, text = ticket.get("description"), ticket.get("description_text")
    attachments = items_of(ticket.get("attachments"))
    has_body = any(isinstance(v, str) and v.strip() for v in (html, text))
    if not has_body and not attachments:
        found.warn(
            "description",
            "the ticket has no description (a tickets list leaves it out unless asked with "
            "include=description): its first message is missing",
        )
        return None
    author: Person | None = requester
    role, author_id = "customer", requester.id
    if id_text(ticket.get("source")) in mapping.agent_description_sources:
        author_id = id_text(ticket.get("responder_id"))
        role = "agent"
        author = people.agent(author_id) if author_id else None
    return _message(
        html=html,
        text=text,
        created_at=ticket.get("created_at"),
        role=role,
        author=author,
        author_id=author_id,
        private=False,
        attachments=attachments,
        source_id=None,
        mapping=mapping,
        found=found,
        location=found.location,
    )


def _author(
    record: dict[str, Any], requester: Person, people: People
) -> tuple[str, Person | None, str | None]:
    """``(role, person, user id)`` of one conversation."""
    user_id = id_text(record.get("user_id"))
    agent = people.agent(user_id) if user_id else None
    incoming = record.get("incoming")
    if isinstance(incoming, bool):
        customer = incoming
    else:
        customer = (
            agent is None
            and user_id is not None
            and (user_id == requester.id or people.contact(user_id) is not None)
        )
    if not customer:
        return "agent", agent or (people.contact(user_id) if user_id else None), user_id
    if user_id is not None and user_id == requester.id:
        person: Person | None = requester
    else:
        person = (people.contact(user_id) if user_id else None) or agent
    if person is None or person.email is None:
        name, address = parseaddr(str(record.get("from_email") or ""))
        if "@" in address:
            person = Person(user_id, (person.name if person else None) or name or None, address)
    return "customer", person, user_id


def _conversation(
    item: FreshdeskConversation,
    requester: Person,
    people: People,
    mapping: FreshdeskMapping,
    found: _Read,
) -> dict[str, Any] | None:
    record = item.record
    role, person, user_id = _author(record, requester, people)
    private = record.get("private") is True
    message_id = id_text(record.get("id"))
    if id_text(record.get("source")) in mapping.survey_sources:
        if mapping.survey_feedback == "drop":
            found.warn(
                "message.survey",
                f"survey feedback {message_id or '(no id)'} dropped "
                "(mapping: [messages] survey_feedback)",
                item.location,
            )
            return None
        private = private or mapping.survey_feedback == "note"
    return _message(
        html=record.get("body"),
        text=record.get("body_text"),
        created_at=record.get("created_at"),
        role=role,
        author=person,
        author_id=user_id,
        private=private,
        attachments=items_of(record.get("attachments")),
        source_id=message_id,
        mapping=mapping,
        found=found,
        location=item.location,
    )


def _ordered(conversations: Iterable[FreshdeskConversation]) -> list[FreshdeskConversation]:
    """Each conversation once (by id), in id order: Freshdesk ids grow with time."""
    seen: set[str] = set()
    kept: list[tuple[int, int, FreshdeskConversation]] = []
    for position, item in enumerate(conversations):
        conversation_id = id_text(item.record.get("id"))
        if conversation_id is not None:
            if conversation_id in seen:
                continue
            seen.add(conversation_id)
        number = int(conversation_id) if conversation_id and conversation_id.isdigit() else -1
        kept.append((number, position, item))
    if all(number >= 0 for number, _, _ in kept):
        kept.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in kept]


def ticket_record(
    ticket: dict[str, Any],
    location: str,
    conversations: Iterable[FreshdeskConversation],
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
        problem = Finding(
            "read",
            "source_id",
            "the ticket has no id, so neither it nor its conversations can be imported; "
            "export tickets with their id",
            location,
        )
        return SourceRecord(location, None, None, error=problem, raw_text=json.dumps(ticket))
    found = _Read(source_id, location)
    requester = _requester(ticket, people, found)
    status = _status(ticket, fields, mapping)
    if status is None:
        found.warn(
            "status",
            f"status {ticket.get('status')!r} has no label (give the ticket_fields file): "
            f"read as {mapping.unknown_status!r}",
        )
        status = mapping.unknown_status
    messages: list[dict[str, Any]] = []
    message_locations: list[str] = []
    description = _description(ticket, requester, people, mapping, found)
    if description is not None:
        messages.append(description)
        message_locations.append(location)
    embedded = [FreshdeskConversation(c, location) for c in items_of(ticket.get("conversations"))]
    for item in _ordered([*embedded, *conversations]):
        if not isinstance(item.record, dict):
            continue
        message = _conversation(item, requester, people, mapping, found)
        if message is not None:
            messages.append(message)
            message_locations.append(item.location)
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
        location, data, source_id, found.warnings, found.left_out, message_locations
    )
