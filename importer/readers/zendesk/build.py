"""One Zendesk ticket, its comments and the people they name → one canonical conversation.

The pure part of the Zendesk reader: no files, no staging. :func:`build_conversation` takes a
ticket dict, its comment dicts (each with its ``file:line``), a users look-up, the ticket fields
and the ticket's metrics, and returns a :class:`SourceRecord`.

Rules (the values come from ``mappings/zendesk.toml``):

- author role from the user's ``role``; an author the users do not name is read by the ticket:
  the assignee and followers are agents (Zendesk allows only agents there), then the requester
  is the customer and anyone else an agent (a private comment is always an agent's);
- ``public: false`` → a private note; bodies as :mod:`~importer.readers.zendesk.content` says;
- the ticket's ``description`` is its first comment's text: it becomes the first message only
  when the export lacks that comment, so the first message is never doubled;
- ``via.channel`` → type, ``status`` → the canonical word, solved time from ``metric_set`` or
  the ticket metrics (``solved_at``) else the last message's, tags without the mapping's noise,
  custom fields named by their ``ticket_fields`` titles;
- ids are text (ETL tools write ``7253.0``); ``null`` lists read as empty; a comment listed twice
  (embedded and in a comments file, overlapping pages) is read once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from importer.findings import Finding
from importer.model import status_class
from importer.readers.common import Conversion, id_text
from importer.readers.source import SourceRecord
from importer.readers.zendesk.content import (
    comment_attachments,
    comment_body,
    description_body,
    without_data_images,
)
from importer.readers.zendesk.mapping import ZendeskMapping
from importer.readers.zendesk.people import (
    TicketPeople,
    UserLookup,
    as_list,
    object_field,
    scalar_text,
    ticket_customer,
)
from importer.transform.times import API_TIME_PATTERN, TimestampError, parse_timestamp

COMMENT_TYPES = frozenset({"comment", "voicecomment"})


@dataclass(frozen=True)
class LocatedComment:
    """A comment dict and the ``file:line`` of the record that held it."""

    location: str
    data: dict[str, Any]


def field_summary(record: dict[str, Any]) -> dict[str, Any]:
    """A ticket field record reduced to its id, title and option names by value."""
    options = {
        str(option["value"]): str(option.get("name") or option["value"])
        for option in as_list(record.get("custom_field_options"))
        if isinstance(option, dict) and option.get("value") is not None
    }
    title = scalar_text(record.get("title")) or scalar_text(record.get("raw_title"))
    return {"id": id_text(record.get("id")), "title": title, "options": options}


def comments_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The comment dicts of a comments record: the comment itself, or the ``Comment`` events
    of an audit (``events``) or of an incremental ticket event (``child_events``), each given
    its parent's ticket id, time and author where it lacks them."""
    children = record.get("child_events")
    if children is None:
        children = record.get("events") if "ticket_id" in record else None
    if not isinstance(children, list):
        return [record]
    inherited = {
        "ticket_id": record.get("ticket_id"),
        "created_at": record.get("created_at") or record.get("timestamp"),
        "author_id": record.get("author_id", record.get("updater_id")),
        "via": record.get("via"),
    }
    comments = []
    for child in children:
        kind = (
            str(child.get("event_type") or child.get("type") or "")
            if isinstance(child, dict)
            else ""
        )
        if not isinstance(child, dict) or kind.lower() not in COMMENT_TYPES:
            continue
        comment = dict(child)
        for key, value in inherited.items():
            if comment.get(key) is None and value is not None:
                comment[key] = value
        comments.append(comment)
    return comments


def _moment(value: Any) -> datetime | None:
    """The UTC moment of a time as written (zone-less read as UTC: only to order and compare)."""
    if isinstance(value, str) and API_TIME_PATTERN.match(value):
        # Zendesk's own form, ``2024-05-10T10:30:00Z``: what parse_timestamp gives, 50x faster
        # (every time is distinct, so the cache below would not help)
        try:
            return datetime.fromisoformat(value)
        except ValueError:  # not a real date (2023-02-30)
            return None
    if not isinstance(value, str | int | float):
        return None
    return _parsed_moment(value)


@lru_cache(maxsize=1 << 14)
def _parsed_moment(value: str | int | float) -> datetime | None:
    try:
        return parse_timestamp(value)
    except TimestampError:
        return None


def _message(
    comment: dict[str, Any], people: TicketPeople, mapping: ZendeskMapping
) -> dict[str, Any]:
    author_id = id_text(comment.get("author_id"))
    private = comment.get("public") is False and mapping.private_when_not_public
    body_html, body_text = comment_body(comment, mapping.body_format)
    if body_html is not None:
        body_html = without_data_images(body_html)
    author = people.user(author_id) or {}
    message = {
        "source_id": id_text(comment.get("id")),
        "created_at": comment.get("created_at"),
        "author_role": people.role(author_id, comment.get("public") is False),
        "author_id": author_id,
        "author_email": author.get("email"),
        "author_name": author.get("name"),
        "private": private,
        "body_html": body_html,
        "body_text": body_text,
    }
    return {key: value for key, value in message.items() if value is not None}


def _in_order(comments: Iterable[LocatedComment]) -> list[LocatedComment]:
    """Each comment once (by id), oldest first; equal or unreadable times keep source order."""
    seen: set[str] = set()
    kept = []
    for comment in comments:
        comment_id = id_text(comment.data.get("id"))
        if comment_id is not None:
            if comment_id in seen:
                continue
            seen.add(comment_id)
        kept.append(comment)
    latest = datetime.max.replace(tzinfo=UTC)
    return sorted(kept, key=lambda c: _moment(c.data.get("created_at")) or latest)


def _first_comment_missing(
    ticket: dict[str, Any], comments: Sequence[LocatedComment], mapping: ZendeskMapping
) -> bool:
    """True when the comments lack the ticket's first one (the one ``description`` repeats)."""
    if not comments:
        return True
    description = " ".join(str(ticket.get("description") or "").split())
    for comment in comments:
        for key in ("plain_body", "body"):
            if description and " ".join(str(comment.data.get(key) or "").split()) == description:
                return False
    created = _moment(ticket.get("created_at"))
    times = [t for c in comments if (t := _moment(c.data.get("created_at"))) is not None]
    if created is None or not times:
        return False  # cannot tell: never risk a doubled first message
    return min(times) > created + timedelta(seconds=mapping.first_comment_within_s)


def _description_message(
    ticket: dict[str, Any], people: TicketPeople, body_format: str
) -> dict[str, Any] | None:
    description = ticket.get("description")
    if not isinstance(description, str) or not description.strip():
        return None
    author_id = people.submitter_id or people.requester_id
    author = people.user(author_id) or {}
    message = {
        "created_at": ticket.get("created_at"),
        "author_role": people.role(author_id, False),
        "author_id": author_id,
        "author_email": author.get("email"),
        "author_name": author.get("name"),
        **description_body(description, body_format),
    }
    return {key: value for key, value in message.items() if value is not None}


def _custom_fields(
    ticket: dict[str, Any], fields: Mapping[str, dict[str, Any]], mapping: ZendeskMapping
) -> dict[str, Any]:
    listed = ticket.get("custom_fields")
    if not isinstance(listed, list | dict):
        listed = ticket.get("fields")
    pairs: list[tuple[Any, Any]] = []
    if isinstance(listed, dict):
        pairs = list(listed.items())
    elif isinstance(listed, list):
        pairs = [(f.get("id"), f.get("value")) for f in listed if isinstance(f, dict)]
    named: dict[str, Any] = {}
    for raw_id, value in pairs:
        field_id = id_text(raw_id)
        if field_id is None:
            continue
        known = fields.get(field_id, {})
        name = mapping.field_name(field_id, known.get("title"))
        if mapping.drops_field(field_id, name, value):
            continue
        options = known.get("options") or {}
        if isinstance(value, list):
            value = [options.get(str(v), v) for v in value]
        elif isinstance(value, str):
            value = options.get(value, value)
        named[name] = value
    return named


def _closed_at(
    ticket: dict[str, Any],
    status: str | None,
    metrics: dict[str, Any] | None,
    *,
    messages: Sequence[dict[str, Any]],
) -> Any:
    if status_class(status) != "closed":
        return None
    metric_set = ticket.get("metric_set")
    for source in (metric_set, metrics):
        if isinstance(source, dict) and source.get("solved_at"):
            return source["solved_at"]
    timed = [(t, m["created_at"]) for m in messages if (t := _moment(m.get("created_at")))]
    return max(timed, key=lambda pair: pair[0])[1] if timed else None


def _add_description(
    conversion: Conversion,
    ticket: dict[str, Any],
    located: Sequence[LocatedComment],
    *,
    people: TicketPeople,
    mapping: ZendeskMapping,
) -> None:
    """The ticket's description as its first message, when the comments lack the first one."""
    if not mapping.description_when_first_missing:
        return
    if not _first_comment_missing(ticket, located, mapping):
        return
    first = _description_message(ticket, people, mapping.body_format)
    if first is None:
        return
    conversion.messages.append(first)
    conversion.message_locations.append(conversion.location)
    if located:
        conversion.warnings.append(
            conversion.finding(
                "read",
                "description",
                "the export lacks the ticket's first comment: its description is the first message",
            )
        )


def _add_comment(
    conversion: Conversion,
    comment: LocatedComment,
    people: TicketPeople,
    *,
    mapping: ZendeskMapping,
) -> None:
    """One comment as a message, its attachments with it (those left out noted)."""
    message = _message(comment.data, people, mapping)
    attachments, dropped = comment_attachments(comment.data, comment.location, conversion.source_id)
    if attachments:
        message["attachments"] = attachments
    conversion.left_out.extend(dropped)
    conversion.messages.append(message)
    conversion.message_locations.append(comment.location)


def _unknown_author_warnings(conversion: Conversion, people: TicketPeople) -> list[Finding]:
    """One warning per author read as an agent only because nothing else names them."""
    return [
        conversion.finding(
            "read",
            "author_role",
            f"author {author} is not in the users and is not the requester, submitter or "
            "assignee: read as an agent; add the users file to read their role",
        )
        for author in sorted(people.unknown_authors)
    ]


def build_conversation(
    ticket: dict[str, Any],
    location: str,
    comments: Sequence[LocatedComment],
    *,
    users: UserLookup,
    fields: Mapping[str, dict[str, Any]],
    metrics: dict[str, Any] | None,
    mapping: ZendeskMapping,
) -> SourceRecord:
    """The :class:`SourceRecord` of one ticket; ``comments`` adds to those embedded in it."""
    conversion = Conversion(ticket, location)
    embedded = [
        LocatedComment(location, c)
        for record in as_list(ticket.get("comments"))
        if isinstance(record, dict)
        for c in comments_of(record)
    ]
    located = _in_order([*embedded, *comments])
    people = TicketPeople(ticket, users, mapping)
    _add_description(conversion, ticket, located, people=people, mapping=mapping)
    for comment in located:
        _add_comment(conversion, comment, people, mapping=mapping)
    conversion.warnings.extend(_unknown_author_warnings(conversion, people))
    status = mapping.status(scalar_text(ticket.get("status")))
    assignee = people.user(people.assignee_id) or {}
    via = object_field(ticket.get("via"))
    data = {
        "source_id": conversion.source_id,
        "source": mapping.source,
        "subject": scalar_text(ticket.get("subject")) or scalar_text(ticket.get("raw_subject")),
        "type": mapping.type_of(scalar_text(via.get("channel"))),
        "status": status,
        "created_at": ticket.get("created_at"),
        "closed_at": _closed_at(ticket, status, metrics, messages=conversion.messages),
        "customer": ticket_customer(ticket, people),
        "assignee_id": people.assignee_id,
        "assignee_email": assignee.get("email"),
        "tags": [
            tag
            for tag in as_list(ticket.get("tags"))
            if isinstance(tag, str) and tag.strip() and not mapping.drops_tag(tag)
        ],
        "custom_fields": _custom_fields(ticket, fields, mapping),
        "messages": conversion.messages,
    }
    return conversion.record(data)
