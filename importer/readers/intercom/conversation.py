"""One Intercom conversation object as a canonical conversation: pure, no files, no staging.

The rules (``source-formats.md`` §4 and §13, the contract's "Platform formats"), each value
choice from :class:`~importer.readers.intercom.mapping.IntercomMapping`:

- ``source`` (API 1.x: ``conversation_message``) is the first message, at the conversation's
  ``created_at``; then the parts, nested under ``conversation_parts`` or given separately.
- ``comment`` parts are public, ``note`` parts private; a part of another type with a body is a
  private note (or dropped); a part without body or attachment (assignment, close, open,
  snoozed, ...) and a source without a body are dropped and counted in one warning.
- ``author.type`` gives the role (``user``/``lead``/``contact`` customer, ``admin``/``bot``/
  ``team`` agent). Authors' emails and names come from the contacts, admins and teams lookups
  when the export has them, else from the author object itself.
- The customer is the conversation's first contact as the contacts lookup knows it, else what
  ``source.author`` or the first customer part's author says; a contact missing from a given
  contacts file (deleted in Intercom) is a warning, and its details come from the authors.
- A body's format is known where the extractor says it: a part of tap-intercom's
  ``conversation_parts`` stream (it carries ``conversation_total_parts``,
  ``conversation_created_at`` or ``conversation_updated_at``, keys only the tap's transform adds)
  was fetched with ``display_as=plaintext``, so its body is plain text typed by a person, read as
  text whatever it holds (``3 < 5``, a typed ``<b>``, blank lines). Other bodies (``source.body``,
  parts of the API's own JSON, always ``<p>``-wrapped HTML) are HTML when they hold a tag or an
  HTML entity, else plain text. ``body_format`` in the mapping overrides.
- Part ``attachments`` become url attachments; ``[Image "..."]`` placeholders and ``<img src>``
  in bodies become attachments of their message when they name an address (or hold ``data:``
  bytes), else they are reported left out (see :mod:`importer.readers.intercom.fields`).
- Timestamps stay epoch seconds; ids become text (``7253.0`` → ``"7253"``); the closed time is
  ``statistics.last_close_at`` of a closed conversation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from importer.findings import Finding
from importer.model import status_class
from importer.readers.common import Conversion, id_text, text_value
from importer.readers.intercom import fields
from importer.readers.intercom.fields import (
    NO_PEOPLE,
    People,
    Problem,
    listed,
    nested_parts,
    split_name,
)
from importer.readers.intercom.mapping import IntercomMapping
from importer.readers.source import SourceRecord
from importer.readers.text import HTML_SIGN, body_key

__all__ = [
    "HTML_SIGN",
    "NO_PEOPLE",
    "People",
    "conversation_record",
    "id_text",
    "nested_parts",
    "plain_text_part",
]

SOURCE_NAME = "intercom"
#: keys tap-intercom's ``transform_conversation_parts`` adds to every part of its
#: ``conversation_parts`` stream, fetched with ``display_as=plaintext``; no Intercom API object
#: has them
TAP_PART_KEYS = ("conversation_total_parts", "conversation_created_at", "conversation_updated_at")


def plain_text_part(part: Mapping[str, Any]) -> bool:
    """Whether ``part`` came from tap-intercom's ``conversation_parts`` stream: its body is the
    plain text Intercom returns for ``display_as=plaintext``, never HTML."""
    return any(key in part for key in TAP_PART_KEYS)


class _Conversion(Conversion):
    """The state of converting one conversation: its messages and findings so far."""

    dropped_code = "message.system"
    dropped_what = "Intercom part(s) without a message"

    def __init__(
        self,
        conversation: Mapping[str, Any],
        location: str,
        mapping: IntercomMapping,
        *,
        people: People,
    ) -> None:
        self.conversation = conversation
        super().__init__(conversation, location)
        self.mapping = mapping
        self.people = people
        self.customer_authors: list[Mapping[str, Any]] = []

    # -- messages ---------------------------------------------------------------------------

    def _leave_out(self, problems: list[Problem], where: str) -> None:
        self.left_out += [self.finding("attachment", c, m, where=where) for c, m in problems]

    def _author_details(self, author: Mapping[str, Any], role: str) -> dict[str, Any]:
        author_id = id_text(author.get("id"))
        person: Mapping[str, Any] | None = None
        if author_id is not None:
            if role == "customer":
                person = self.people.contacts.get(author_id)
            elif str(author.get("type") or "").lower() == "team":
                person = self.people.teams.get(author_id)
            else:
                person = self.people.admins.get(author_id)
        person = person or {}
        details = {
            "author_id": author_id,
            "author_email": text_value(person.get("email")) or text_value(author.get("email")),
            "author_name": text_value(person.get("name")) or text_value(author.get("name")),
        }
        return {key: value for key, value in details.items() if value is not None}

    def add_message(
        self,
        *,
        message_id: Any,
        created_at: Any,
        author: Any,
        body: Any,
        raw_attachments: Any,
        private: bool,
        where: str,
        known: str = "either",
    ) -> bool:
        """Add one message; ``False`` when it has neither body nor attachment (not added).
        ``known``: what the body is known to be (``text`` for tap-intercom's parts)."""
        author = author if isinstance(author, Mapping) else {}
        role = self.mapping.author_role(author.get("type"))
        text = body if isinstance(body, str) else ""
        source_id = id_text(message_id)
        label = f"message {source_id}" if source_id else "the first message"
        attachments, problems = fields.part_attachments(raw_attachments, label)
        images, image_problems = fields.body_images(text, attachments, label)
        attachments += images
        self._leave_out(problems + image_problems, where)
        if not text.strip() and not attachments:
            return False
        message: dict[str, Any] = {"created_at": created_at, "author_role": role}
        if source_id is not None:
            message["source_id"] = source_id
        message.update(self._author_details(author, role))
        message["private"] = private
        message[body_key(text, known, self.mapping.body_format)] = text
        if attachments:
            message["attachments"] = attachments
        self.messages.append(message)
        self.message_locations.append(where)
        if role == "customer":
            self.customer_authors.append(author)
        return True

    def add_source(self) -> None:
        source = self.conversation.get("source")
        if not isinstance(source, Mapping):
            source = self.conversation.get("conversation_message")
        if not isinstance(source, Mapping):
            return
        added = self.add_message(
            message_id=source.get("id"),
            created_at=self.conversation.get("created_at"),
            author=source.get("author"),
            body=source.get("body"),
            raw_attachments=source.get("attachments"),
            private=False,
            where=self.location,
        )
        if not added:
            self.dropped["source without a body"] += 1

    def add_part(self, part: Mapping[str, Any], where: str) -> None:
        part_type = str(part.get("part_type") or "").strip().lower() or "untyped"
        has_content = bool(text_value(part.get("body"))) or bool(part.get("attachments"))
        if part_type in self.mapping.public_part_types:
            private = False
        elif part_type in self.mapping.private_part_types:
            private = True
        elif not has_content:
            self.dropped[part_type] += 1
            return
        elif self.mapping.other_parts_with_body == "drop":
            self.dropped[f"{part_type} (with a body)"] += 1
            return
        else:
            private = True
        created_at = next(
            (part[key] for key in ("created_at", "notified_at", "updated_at") if part.get(key)),
            None,
        )
        added = self.add_message(
            message_id=part.get("id"),
            created_at=created_at,
            author=part.get("author"),
            body=part.get("body"),
            raw_attachments=part.get("attachments"),
            private=private,
            where=where,
            known="text" if plain_text_part(part) else "either",
        )
        if not added:
            self.dropped[f"{part_type} without a body"] += 1

    # -- conversation fields ----------------------------------------------------------------

    def customer(self) -> dict[str, Any]:
        conversation = self.conversation
        contact_ids = [
            id_text(c.get("id")) for c in listed(conversation.get("contacts"), "contacts")
        ]
        user = conversation.get("user")  # API 1.x
        if isinstance(user, Mapping):
            contact_ids.append(id_text(user.get("id")))
        contact_id = next((c for c in contact_ids if c), None)
        contact = self.people.contacts.get(contact_id) if contact_id else None
        if contact is not None and contact.get("deleted") is True:
            contact = None
        if contact_id and contact is None and self.people.contacts_given:
            self.warnings.append(
                self.finding(
                    "read",
                    "customer",
                    f"contact {contact_id} is not in the contacts file (deleted in Intercom?); "
                    "the customer's email and name come from the conversation's authors",
                    where=None,
                )
            )
        authors = list(self.customer_authors)
        source = conversation.get("source")
        if isinstance(source, Mapping) and isinstance(source.get("author"), Mapping):
            source_author = source["author"]
            if self.mapping.author_role(source_author.get("type")) == "customer":
                authors.insert(0, source_author)
        known = [contact] if contact else []
        known += authors

        def first(key: str) -> str | None:
            return next((v for v in (text_value(k.get(key)) for k in known) if v), None)

        customer: dict[str, Any] = {
            "id": contact_id or next((id_text(a.get("id")) for a in authors if a.get("id")), None),
            "email": first("email"),
            "phone": first("phone"),
        }
        customer["first_name"], customer["last_name"] = split_name(first("name"))
        if contact is not None and isinstance(contact.get("location"), Mapping):
            where = contact["location"]
            places = [text_value(where.get(k)) for k in ("city", "region", "country")]
            customer["location"] = ", ".join(p for p in places if p) or None
        return {key: value for key, value in customer.items() if value is not None}

    def warn_missing_parts(self, delivered: int) -> None:
        parts = self.conversation.get("conversation_parts")
        total = parts.get("total_count") if isinstance(parts, Mapping) else None
        statistics = self.conversation.get("statistics")
        counted = (
            statistics.get("count_conversation_parts") if isinstance(statistics, Mapping) else None
        )
        if isinstance(total, int) and total > delivered:
            expected = total
        elif isinstance(counted, int) and counted > delivered + 1:  # Intercom counts the source
            expected = counted - 1
        else:
            return
        self.warnings.append(
            self.finding(
                "read",
                "parts",
                f"the export holds {delivered} of the {expected} parts Intercom counts for this "
                "conversation (its API returns at most 500; a list page or an ETL dump may hold "
                "fewer): export the conversation again with GET /conversations/{id} for the rest",
                where=None,
            )
        )


def _ordered_parts(
    nested: Sequence[Mapping[str, Any]],
    location: str,
    separate: Iterable[tuple[Mapping[str, Any], str]],
) -> list[tuple[Mapping[str, Any], str]]:
    """Nested parts in their order, then separate ones not already nested, by time."""
    parts = [(part, location) for part in nested]
    seen = {id_text(part.get("id")) for part in nested} - {None}
    extra = [
        (p, where) for p, where in separate if id_text(p.get("id")) not in seen or not p.get("id")
    ]
    extra.sort(key=lambda item: _part_time(item[0]))
    return parts + extra


def _part_time(part: Mapping[str, Any]) -> float:
    value = part.get("created_at")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return float("inf")  # an unreadable time sorts last; the time check reports it


def conversation_record(
    conversation: Mapping[str, Any],
    location: str,
    mapping: IntercomMapping,
    *,
    people: People = NO_PEOPLE,
    separate_parts: Iterable[tuple[Mapping[str, Any], str]] = (),
) -> SourceRecord:
    """The :class:`SourceRecord` of one Intercom conversation object.

    ``separate_parts`` are ``(part, "file:line")`` pairs of the conversation's parts read from
    their own stream; parts also nested in the object (same id) are read once.
    """
    conversion = _Conversion(conversation, location, mapping, people=people)
    source_id = conversion.source_id
    if source_id is None:
        error = Finding(
            "read",
            "source_id",
            "an Intercom conversation without an id cannot be imported; "
            "export it again with its id",
            location,
        )
        return SourceRecord(location, None, None, error=error)
    conversion.add_source()
    parts = _ordered_parts(nested_parts(conversation), location, separate_parts)
    for part, where in parts:
        conversion.add_part(part, where)
    conversion.warn_dropped()
    conversion.warn_missing_parts(len(parts))
    attributes = fields.attributes(conversation, mapping)
    source = conversation.get("source")
    data: dict[str, Any] = {
        "source_id": source_id,
        "source": SOURCE_NAME,
        "customer": conversion.customer(),
        "messages": conversion.messages,
        "subject": fields.subject(conversation, attributes, mapping),
        "type": mapping.conversation_type(
            source.get("type") if isinstance(source, Mapping) else None
        ),
        "status": fields.status(conversation, mapping),
        "created_at": conversation.get("created_at"),
        "tags": fields.tags(conversation),
        "custom_fields": fields.custom_fields(attributes, mapping),
        **fields.assignee(conversation, people),
    }
    if status_class(data["status"]) == "closed":
        statistics = conversation.get("statistics")
        if isinstance(statistics, Mapping) and statistics.get("last_close_at"):
            data["closed_at"] = statistics["last_close_at"]
    return conversion.record(data)
