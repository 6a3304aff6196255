"""The messages of one Freshdesk ticket: its description, then each conversation, as canonical
message dicts, and the findings of reading them (pure: no files).

Apart from :mod:`importer.readers.freshdesk.tickets` (the ticket's own fields) because a
message has rules of its own: who wrote it (``incoming``, the agents and contacts, the
requester), survey feedback, and its attachments and inline images. The rules are in the
docstring of :mod:`importer.readers.freshdesk.tickets`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from importer.findings import Finding
from importer.readers.common import id_text
from importer.readers.freshdesk.attachments import attachment_of, inline_images
from importer.readers.freshdesk.mapping import FreshdeskMapping
from importer.readers.freshdesk.records import People, Person, items_of


@dataclass
class TicketFindings:
    """Findings of one ticket as it is read."""

    source_id: str | None
    location: str
    warnings: list[Finding] = field(default_factory=list)
    left_out: list[Finding] = field(default_factory=list)

    def warn(self, code: str, message: str, location: str | None = None) -> None:
        self.warnings.append(
            Finding("read", code, message, location or self.location, self.source_id)
        )

    def leave_out(self, stage: str, code: str, message: str, *, location: str | None) -> None:
        self.left_out.append(
            Finding(stage, code, message, location or self.location, self.source_id)
        )


@dataclass(frozen=True)
class FreshdeskConversation:
    """One conversation record of a ticket, with the ``file:line`` it was read at."""

    record: dict[str, Any]
    location: str


def message_of(
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
    found: TicketFindings,
    location: str,
) -> dict[str, Any]:
    """One canonical message: its body (HTML, else text), author and attachments, the inline
    images of its HTML among them; what cannot be attached is left out through ``found``."""
    files: list[dict[str, Any]] = []
    for item in attachments:
        attachment, problem = attachment_of(item)
        if attachment is not None:
            files.append(attachment)
        elif problem is not None:
            found.leave_out("attachment", "url", problem, location=location)
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
    prefer_text = mapping.body_format == "text" and isinstance(text, str) and text.strip()
    body_html = html if isinstance(html, str) and html.strip() and not prefer_text else None
    if body_html is not None:
        known = {str(f["url"]) for f in files if "url" in f}
        body_html, images, problems = inline_images(body_html, known, mapping)
        files.extend(images)
        for problem in problems:
            found.leave_out("attachment", "inline", problem, location=location)
        message["body_html"] = body_html
    if isinstance(text, str) and (body_html is None or not body_html.strip()):
        message["body_text"] = text
    if "body_html" not in message and "body_text" not in message:
        message["body_text"] = ""
    message["attachments"] = files
    return {key: value for key, value in message.items() if value is not None}


def description_message(
    ticket: dict[str, Any],
    requester: Person,
    people: People,
    *,
    mapping: FreshdeskMapping,
    found: TicketFindings,
) -> dict[str, Any] | None:
    """The ticket's description as its first message (the requester's, or an agent's for an
    outbound source); ``None``, with a warning, when the ticket has none."""
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
    return message_of(
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


def conversation_message(
    item: FreshdeskConversation,
    requester: Person,
    people: People,
    *,
    mapping: FreshdeskMapping,
    found: TicketFindings,
) -> dict[str, Any] | None:
    """One conversation as a message; ``None`` for survey feedback the mapping drops."""
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
    return message_of(
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


def in_id_order(conversations: Iterable[FreshdeskConversation]) -> list[FreshdeskConversation]:
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
