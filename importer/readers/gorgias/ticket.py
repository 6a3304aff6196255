"""One Gorgias ticket and its messages as a canonical conversation: pure, no files, no staging.

The rules (``source-formats.md`` §8, §13), each value choice from
:class:`~importer.readers.gorgias.mapping.GorgiasMapping`:

- The messages embedded in the ticket and those read from their own stream (each id once), in
  time order (``created_datetime``, else ``sent_datetime``; microseconds and offsets kept).
- ``public: false`` (or a note channel such as ``internal-note``) is a private note;
  ``from_agent`` gives the role (without it, the ticket's customer as sender is the customer).
- The author is the message's ``sender``, else ``source.from``. ``body_html`` (HTML) is
  preferred to ``body_text`` (plain text, read as text whatever it holds); ``body_format =
  "text"`` in the mapping prefers ``body_text``. A numeric entity without its ``;``
  (``&#128077``) gets one. ``attachments: null``
  is no attachment; others become URL attachments. A message without body or attachment is left
  out, counted in one warning.
- The customer is the ticket's ``customer`` (else ``requester``, else the first customer message's
  sender): email and phone from its ``channels`` when not given, the name from
  ``firstname``/``lastname`` when ``name`` is null.
- The subject is the ticket's, else the first public message's. Type from the ticket
  ``channel``; status from ``status`` (a closed ticket with a
  ``snooze_datetime`` is snoozed); ``closed_datetime`` is the closed time of a closed-like ticket;
  tags by name, the spam tag on spam; the assignee from ``assignee_user``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from importer.findings import Finding
from importer.model import status_class
from importer.readers.common import Conversion, id_text, text_value
from importer.readers.gorgias.mapping import GorgiasMapping
from importer.readers.intercom.fields import part_attachments, split_name
from importer.readers.source import SourceRecord

#: a numeric character reference whose ``;`` is missing
BARE_ENTITY = re.compile(r"&#(\d{2,7}|x[0-9A-Fa-f]{2,6})(?![0-9A-Fa-f;])")

#: ``(message, "file:line")``
Located = tuple[Mapping[str, Any], str]


def message_time(message: Mapping[str, Any]) -> Any:
    """When a message was written: ``created_datetime``, else ``sent_datetime``."""
    for key in ("created_datetime", "sent_datetime", "created_at"):
        if message.get(key) not in (None, ""):
            return message[key]
    return None


def _sort_key(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("inf")  # an unreadable time sorts last; the time check reports it


def embedded(ticket: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The messages embedded in a ticket (none when ``null`` or missing)."""
    messages = ticket.get("messages")
    if isinstance(messages, Mapping):  # a page: {"data": [...]}
        messages = messages.get("data")
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, Mapping)]


def ordered(ticket: Mapping[str, Any], location: str, separate: Iterable[Located]) -> list[Located]:
    """Embedded and separate messages, each id once, oldest first."""
    seen: set[str] = set()
    found: list[Located] = []
    for message, where in [*((m, location) for m in embedded(ticket)), *separate]:
        ident = id_text(message.get("id"))
        if ident is not None and ident in seen:
            continue
        if ident is not None:
            seen.add(ident)
        found.append((message, where))
    return sorted(found, key=lambda item: _sort_key(message_time(item[0])))


def person_name(person: Mapping[str, Any]) -> str | None:
    """``name``, else ``firstname lastname``."""
    name = text_value(person.get("name"))
    if name:
        return name
    parts = [text_value(person.get(k)) for k in ("firstname", "lastname")]
    return " ".join(p for p in parts if p) or None


def _channel_address(person: Mapping[str, Any], kind: str) -> str | None:
    for channel in person.get("channels") or []:
        if isinstance(channel, Mapping) and str(channel.get("type") or "").lower() == kind:
            address = text_value(channel.get("address"))
            if address:
                return address
    return None


class _Conversion(Conversion):
    """The state of converting one ticket: its messages and findings so far."""

    dropped_code = "message.dropped"
    dropped_what = "Gorgias message(s)"

    def __init__(self, ticket: Mapping[str, Any], location: str, mapping: GorgiasMapping) -> None:
        self.ticket = ticket
        super().__init__(ticket, location)
        self.mapping = mapping
        customer = ticket.get("customer") or ticket.get("requester")
        self.customer_record: Mapping[str, Any] = customer if isinstance(customer, Mapping) else {}
        self.customer_senders: list[Mapping[str, Any]] = []
        self.first_subject: str | None = None

    def _is_agent(self, message: Mapping[str, Any], sender: Mapping[str, Any]) -> bool:
        from_agent = message.get("from_agent")
        if isinstance(from_agent, bool):
            return from_agent
        customer_id = id_text(self.customer_record.get("id"))
        return customer_id is None or id_text(sender.get("id")) != customer_id

    def add(self, message: Mapping[str, Any], where: str) -> None:
        raw_sender = message.get("sender")
        sender: Mapping[str, Any] = raw_sender if isinstance(raw_sender, Mapping) else {}
        source = message.get("source")
        raw_from = source.get("from") if isinstance(source, Mapping) else None
        from_: Mapping[str, Any] = raw_from if isinstance(raw_from, Mapping) else {}
        ident = id_text(message.get("id"))
        label = f"message {ident}" if ident else "a message"
        attachments, problems = part_attachments(message.get("attachments"), label)
        self.left_out += [self.finding("attachment", c, m, where=where) for c, m in problems]
        html = text_value(message.get("body_html"))
        text = message.get("body_text") if isinstance(message.get("body_text"), str) else ""
        if not html and not str(text).strip() and not attachments:
            self.dropped["without a body"] += 1
            return
        agent = self._is_agent(message, sender)
        if self.first_subject is None and message.get("public") is not False:
            self.first_subject = text_value(message.get("subject"))
        channel = str(message.get("channel") or "").lower()
        private = message.get("public") is False or channel in self.mapping.note_channels
        entry: dict[str, Any] = {
            "created_at": message_time(message),
            "author_role": "agent" if agent else "customer",
            "source_id": ident,
            "author_id": id_text(sender.get("id")),
            "author_email": text_value(sender.get("email")) or text_value(from_.get("address")),
            "author_name": person_name(sender) or text_value(from_.get("name")),
        }
        entry = {key: value for key, value in entry.items() if value is not None}
        entry["private"] = private
        if html and not (self.mapping.body_format == "text" and str(text).strip()):
            entry["body_html"] = BARE_ENTITY.sub(r"&#\1;", message["body_html"])
        else:
            entry["body_text"] = text
        if attachments:
            entry["attachments"] = attachments
        self.messages.append(entry)
        self.message_locations.append(where)
        if not agent:
            self.customer_senders.append({**from_, **sender})

    def customer(self) -> dict[str, Any]:
        first = self.customer_record or next(iter(self.customer_senders), {})
        email = text_value(first.get("email")) or text_value(first.get("address"))
        customer: dict[str, Any] = {
            "id": id_text(first.get("id")),
            "email": email or _channel_address(first, "email"),
            "phone": text_value(first.get("phone")) or _channel_address(first, "phone"),
        }
        if text_value(first.get("name")):
            customer["first_name"], customer["last_name"] = split_name(first["name"].strip())
        else:
            customer["first_name"] = text_value(first.get("firstname"))
            customer["last_name"] = text_value(first.get("lastname"))
        return {key: value for key, value in customer.items() if value is not None}

    def warn_missing(self, delivered: int) -> None:
        count = self.ticket.get("messages_count")
        if isinstance(count, int) and not isinstance(count, bool) and count > delivered:
            self.warnings.append(
                self.finding(
                    "read",
                    "messages",
                    f"the export holds {delivered} of the {count} messages Gorgias counts for "
                    "this ticket (a list page holds none): export GET /api/tickets/{id} or "
                    "its messages for the rest",
                    where=None,
                )
            )


def _tags(ticket: Mapping[str, Any], mapping: GorgiasMapping) -> list[str]:
    names = []
    for tag in ticket.get("tags") or []:
        name = text_value(tag.get("name")) if isinstance(tag, Mapping) else text_value(tag)
        if name:
            names.append(name)
    if ticket.get("spam") is True and mapping.spam_tag.strip():
        names.append(mapping.spam_tag.strip())
    return names


def _status(ticket: Mapping[str, Any], mapping: GorgiasMapping) -> str | None:
    status = text_value(ticket.get("status"))
    if status and status.lower() == "closed" and ticket.get("snooze_datetime"):
        status = "snoozed"
    return mapping.status(status)


def _assignee(ticket: Mapping[str, Any]) -> dict[str, Any]:
    user = ticket.get("assignee_user")
    ident = id_text(user.get("id")) if isinstance(user, Mapping) else None
    ident = ident or id_text(ticket.get("assignee_user_id"))
    if ident is None:
        return {}
    email = text_value(user.get("email")) if isinstance(user, Mapping) else None
    return {"assignee_id": ident, **({"assignee_email": email} if email else {})}


def ticket_record(
    ticket: Mapping[str, Any],
    location: str,
    mapping: GorgiasMapping,
    *,
    separate: Sequence[Located] = (),
) -> SourceRecord:
    """The :class:`SourceRecord` of one Gorgias ticket; ``separate`` are ``(message, "file:line")``
    pairs read from their own stream (messages also embedded are read once)."""
    conversion = _Conversion(ticket, location, mapping)
    source_id = conversion.source_id
    if source_id is None:
        error = Finding(
            "read",
            "source_id",
            "a Gorgias ticket without an id cannot be imported; export it again with its id",
            location,
        )
        return SourceRecord(location, None, None, error=error)
    messages = ordered(ticket, location, separate)
    for message, where in messages:
        conversion.add(message, where)
    conversion.warn_dropped()
    conversion.warn_missing(len(messages))
    status = _status(ticket, mapping)
    data: dict[str, Any] = {
        "source_id": source_id,
        "source": mapping.source or None,
        "customer": conversion.customer(),
        "messages": conversion.messages,
        "subject": text_value(ticket.get("subject")) or conversion.first_subject,
        "type": mapping.conversation_type(ticket.get("channel")),
        "status": status,
        "created_at": ticket.get("created_datetime"),
        "tags": _tags(ticket, mapping),
        **_assignee(ticket),
    }
    if status_class(status) == "closed" and ticket.get("closed_datetime"):
        data["closed_at"] = ticket["closed_datetime"]
    return conversion.record(data)
