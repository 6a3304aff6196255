"""One Intercom conversation object as a canonical conversation: pure, no files, no staging.

The rules (``source-formats.md`` §4 and §13, the contract's "Platform formats"), each value
choice from :class:`~importer.readers.intercom_mapping.IntercomMapping`:

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
- Bodies holding a tag or an HTML entity are HTML, others plain text. Part ``attachments`` become
  url attachments; ``[Image "..."]`` placeholders and ``<img src>`` in bodies become attachments
  of their message when they name an address (or hold ``data:`` bytes), else they are reported
  left out.
- Timestamps stay epoch seconds; ids become text (``7253.0`` → ``"7253"``).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import mimetypes
import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from importer.findings import Finding
from importer.model import status_class
from importer.readers.intercom_mapping import IntercomMapping
from importer.readers.source import SourceRecord

SOURCE_NAME = "intercom"
#: an ``[Image "..."]`` placeholder or an ``<img src>``, in the order the body shows them
IMAGE_REFERENCE = re.compile(
    r"""\[Image\s+"([^"\]]+)"\]|<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)')""",
    re.IGNORECASE,
)
HTML_SIGN = re.compile(r"<[A-Za-z/!][^>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(?:;[^,;]*)*;base64,(.*)$", re.DOTALL)
TAG = re.compile(r"<[^>]*>")
#: assignee ids Intercom writes for "nobody"
NO_ASSIGNEE = frozenset({"0"})


class Lookup(Protocol):
    """People by their Intercom id: a dict, or the reader's on-disk store."""

    def get(self, key: str, /) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class People:
    """The export's contacts, admins and teams; ``contacts_given`` when it has a contacts file."""

    contacts: Lookup
    admins: Lookup
    teams: Lookup
    contacts_given: bool = False


NO_PEOPLE = People({}, {}, {})


def id_text(value: Any) -> str | None:
    """An Intercom id as text: ``7253.0`` → ``"7253"``; ``None``, ``""`` and booleans → ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _text(value: Any) -> str | None:
    """A non-blank string value, stripped; anything else ``None``."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _listed(value: Any, key: str) -> list[Mapping[str, Any]]:
    """The objects of an Intercom list (``{"type": "x.list", key: [...]}``) or of a bare list;
    ``None`` and missing lists are empty."""
    if isinstance(value, Mapping):
        value = value.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def nested_parts(conversation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The parts embedded in a conversation object (none when ``null`` or missing)."""
    return _listed(conversation.get("conversation_parts"), "conversation_parts")


def _subject_text(markup: str) -> str:
    return " ".join(html.unescape(TAG.sub(" ", markup)).split())


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    if not name:
        return None, None
    first, _, last = name.partition(" ")
    return first or None, last.strip() or None


def _file_name(reference: str, fallback: str) -> str:
    path = unquote(urlsplit(reference).path)
    return posixpath.basename(path) or fallback


class _Conversion:
    """The state of converting one conversation: its messages and findings so far."""

    def __init__(
        self,
        conversation: Mapping[str, Any],
        location: str,
        mapping: IntercomMapping,
        people: People,
    ) -> None:
        self.conversation = conversation
        self.location = location
        self.mapping = mapping
        self.people = people
        self.source_id = id_text(conversation.get("id"))
        self.messages: list[dict[str, Any]] = []
        self.message_locations: list[str] = []
        self.warnings: list[Finding] = []
        self.left_out: list[Finding] = []
        self.dropped: Counter[str] = Counter()
        self.customer_authors: list[Mapping[str, Any]] = []

    def _finding(self, stage: str, code: str, message: str, where: str | None) -> Finding:
        return Finding(stage, code, message, where or self.location, self.source_id)

    # -- messages ---------------------------------------------------------------------------

    def _attachments(self, raw: Any, label: str, where: str) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, Mapping):
                continue
            url = _text(item.get("url"))
            name = _text(item.get("name")) or (_file_name(url, "attachment") if url else None)
            if url is None:
                self.left_out.append(
                    self._finding(
                        "attachment",
                        "url",
                        f"attachment {name or '(unnamed)'!r} of {label} is left out: the export "
                        "gives no url for it; add the file by hand after the import",
                        where,
                    )
                )
                continue
            attachment: dict[str, Any] = {"file_name": name, "url": url}
            if _text(item.get("content_type")):
                attachment["content_type"] = item["content_type"].strip()
            size = item.get("filesize", item.get("size"))
            if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
                attachment["size"] = size
            kept.append(attachment)
        return kept

    def _inline_images(
        self, body: str, kept: list[dict[str, Any]], label: str, where: str
    ) -> list[dict[str, Any]]:
        """Attachments for the images a body shows: placeholders and ``<img src>``."""
        known = {a["url"] for a in kept} | {a["file_name"] for a in kept}
        references = [
            html.unescape(next(group for group in match.groups() if group is not None)).strip()
            for match in IMAGE_REFERENCE.finditer(body)
        ]
        images: list[dict[str, Any]] = []
        for reference in dict.fromkeys(r for r in references if r):
            data = DATA_URI.match(reference)
            if data is not None:
                image = self._data_image(data, len(images) + 1, label, where)
                if image is not None:
                    images.append(image)
                continue
            name = _file_name(reference, "image")
            if reference in known or name in known:
                continue  # already one of the message's attachments
            if urlsplit(reference).scheme.lower() in ("http", "https"):
                image = {"file_name": name, "url": reference}
                guessed = mimetypes.guess_type(name)[0]
                if guessed:
                    image["content_type"] = guessed
                images.append(image)
                known |= {reference, name}
                continue
            self.left_out.append(
                self._finding(
                    "attachment",
                    "url",
                    f"image {name!r} shown in {label} is left out: the export names it without "
                    "an address to download it from (Intercom image links also expire); add "
                    "the file by hand after the import",
                    where,
                )
            )
        return images

    def _data_image(
        self, data: re.Match[str], number: int, label: str, where: str
    ) -> dict[str, Any] | None:
        content_type = data.group(1) or "application/octet-stream"
        payload = "".join(data.group(2).split())
        try:
            size = len(base64.b64decode(payload, validate=True))
        except (binascii.Error, ValueError):
            self.left_out.append(
                self._finding(
                    "attachment",
                    "data",
                    f"an inline image of {label} is left out: its data: address is not base64",
                    where,
                )
            )
            return None
        extension = mimetypes.guess_extension(content_type) or ""
        return {
            "file_name": f"inline-image-{number}{extension}",
            "content_type": content_type,
            "size": size,
            "data_base64": payload,
        }

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
            "author_email": _text(person.get("email")) or _text(author.get("email")),
            "author_name": _text(person.get("name")) or _text(author.get("name")),
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
    ) -> bool:
        """Add one message; ``False`` when it has neither body nor attachment (not added)."""
        author = author if isinstance(author, Mapping) else {}
        role = self.mapping.author_role(author.get("type"))
        text = body if isinstance(body, str) else ""
        source_id = id_text(message_id)
        label = f"message {source_id}" if source_id else "the first message"
        attachments = self._attachments(raw_attachments, label, where)
        attachments += self._inline_images(text, attachments, label, where)
        if not text.strip() and not attachments:
            return False
        message: dict[str, Any] = {"created_at": created_at, "author_role": role}
        if source_id is not None:
            message["source_id"] = source_id
        message.update(self._author_details(author, role))
        message["private"] = private
        message["body_html" if HTML_SIGN.search(text) else "body_text"] = text
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
        has_content = bool(_text(part.get("body"))) or bool(part.get("attachments"))
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
        )
        if not added:
            self.dropped[f"{part_type} without a body"] += 1

    # -- conversation fields ----------------------------------------------------------------

    def customer(self) -> dict[str, Any]:
        conversation = self.conversation
        contact_ids = [
            id_text(c.get("id")) for c in _listed(conversation.get("contacts"), "contacts")
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
                self._finding(
                    "read",
                    "customer",
                    f"contact {contact_id} is not in the contacts file (deleted in Intercom?); "
                    "the customer's email and name come from the conversation's authors",
                    None,
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
            return next((v for v in (_text(k.get(key)) for k in known) if v), None)

        customer: dict[str, Any] = {
            "id": contact_id or next((id_text(a.get("id")) for a in authors if a.get("id")), None),
            "email": first("email"),
            "phone": first("phone"),
        }
        customer["first_name"], customer["last_name"] = _split_name(first("name"))
        if contact is not None and isinstance(contact.get("location"), Mapping):
            where = contact["location"]
            places = [_text(where.get(k)) for k in ("city", "region", "country")]
            customer["location"] = ", ".join(p for p in places if p) or None
        return {key: value for key, value in customer.items() if value is not None}

    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        raw = self.conversation.get("custom_attributes")
        if isinstance(raw, Mapping):
            attributes.update(raw)
        ticket = self.conversation.get("ticket")
        if self.mapping.ticket_attributes and isinstance(ticket, Mapping):
            ticket_raw = ticket.get("custom_attributes")
            for name, entry in (ticket_raw if isinstance(ticket_raw, Mapping) else {}).items():
                value = entry.get("value") if isinstance(entry, Mapping) else entry
                attributes.setdefault(name, value)
        return attributes

    def custom_fields(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, value in attributes.items():
            if name in self.mapping.skipped_attributes or value is None or value == "":
                continue
            if isinstance(value, Mapping | list):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            fields[self.mapping.custom_field_names.get(name, name)] = value
        return fields

    def subject(self, attributes: Mapping[str, Any]) -> str | None:
        source = self.conversation.get("source")
        candidates: list[Any] = []
        if isinstance(source, Mapping):
            candidates.append(source.get("subject"))
        candidates.append(self.conversation.get("title"))
        candidates += [attributes.get(name) for name in self.mapping.subject_attributes]
        for candidate in candidates:
            if isinstance(candidate, str) and _subject_text(candidate):
                return _subject_text(candidate)
        return None

    def status(self) -> str | None:
        state = _text(self.conversation.get("state"))
        if state is None:
            is_open = self.conversation.get("open")
            if not isinstance(is_open, bool):
                return None
            state = "open" if is_open else "closed"
        return self.mapping.status_by_state.get(state.lower(), state)

    def assignee(self) -> dict[str, Any]:
        assignee_id = id_text(self.conversation.get("admin_assignee_id"))
        old = self.conversation.get("assignee")  # older API versions: {"type": "admin", "id"}
        if assignee_id is None and isinstance(old, Mapping) and old.get("type") in (None, "admin"):
            assignee_id = id_text(old.get("id"))
        if assignee_id is None or assignee_id in NO_ASSIGNEE:
            return {}
        admin = self.people.admins.get(assignee_id) or {}
        email = _text(admin.get("email"))
        return {"assignee_id": assignee_id, **({"assignee_email": email} if email else {})}

    def tags(self) -> list[str]:
        raw = self.conversation.get("tags")
        items = raw.get("tags") if isinstance(raw, Mapping) else raw
        names = []
        for item in items if isinstance(items, list) else []:
            name = _text(item.get("name")) if isinstance(item, Mapping) else _text(item)
            if name:
                names.append(name)
        return names

    def warn_dropped(self) -> None:
        if not self.dropped:
            return
        total = sum(self.dropped.values())
        kinds = ", ".join(f"{kind} ×{count}" for kind, count in sorted(self.dropped.items()))
        self.warnings.append(
            self._finding(
                "map",
                "message.system",
                f"{total} Intercom part(s) without a message left out: {kinds}",
                None,
            )
        )

    def warn_missing_parts(self, delivered: int) -> None:
        parts = self.conversation.get("conversation_parts")
        listed = parts.get("total_count") if isinstance(parts, Mapping) else None
        statistics = self.conversation.get("statistics")
        counted = (
            statistics.get("count_conversation_parts") if isinstance(statistics, Mapping) else None
        )
        if isinstance(listed, int) and listed > delivered:
            expected = listed
        elif isinstance(counted, int) and counted > delivered + 1:  # Intercom counts the source
            expected = counted - 1
        else:
            return
        self.warnings.append(
            self._finding(
                "read",
                "parts",
                f"the export holds {delivered} of the {expected} parts Intercom counts for this "
                "conversation (its API returns at most 500; a list page or an ETL dump may hold "
                "fewer): export the conversation again with GET /conversations/{id} for the rest",
                None,
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
    people: People = NO_PEOPLE,
    separate_parts: Iterable[tuple[Mapping[str, Any], str]] = (),
) -> SourceRecord:
    """The :class:`SourceRecord` of one Intercom conversation object.

    ``separate_parts`` are ``(part, "file:line")`` pairs of the conversation's parts read from
    their own stream; parts also nested in the object (same id) are read once.
    """
    conversion = _Conversion(conversation, location, mapping, people)
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
    attributes = conversion.attributes()
    source = conversation.get("source")
    data: dict[str, Any] = {
        "source_id": source_id,
        "source": SOURCE_NAME,
        "customer": conversion.customer(),
        "messages": conversion.messages,
        "subject": conversion.subject(attributes),
        "type": mapping.conversation_type(
            source.get("type") if isinstance(source, Mapping) else None
        ),
        "status": conversion.status(),
        "created_at": conversation.get("created_at"),
        "tags": conversion.tags(),
        "custom_fields": conversion.custom_fields(attributes),
        **conversion.assignee(),
    }
    if status_class(data["status"]) == "closed":
        statistics = conversation.get("statistics")
        if isinstance(statistics, Mapping) and statistics.get("last_close_at"):
            data["closed_at"] = statistics["last_close_at"]
    data = {key: value for key, value in data.items() if value is not None}
    return SourceRecord(
        location=location,
        data=data,
        source_id=source_id,
        warnings=conversion.warnings,
        left_out=conversion.left_out,
        message_locations=conversion.message_locations,
    )
