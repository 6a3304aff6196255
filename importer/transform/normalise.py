"""Normalise a canonical conversation: UTC times, HTML bodies, names and subjects that fit.

Nothing here talks to the network. Every change made to fit Help Scout is a warning; every
message left out is an error entry; a conversation that cannot be fixed raises
``InvalidConversationError`` with all of its reasons at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from operator import attrgetter
from typing import Any, TypeGuard

from importer.errors import InvalidConversationError
from importer.findings import Finding
from importer.model import Attachment, Conversation, Message
from importer.transform.html import first_line, html_head, html_to_text, text_to_html
from importer.transform.times import TimestampError, format_api_time, read_timestamp

NAME_LIMIT = 40
CUSTOMER_TEXT_LIMIT = 60
SUBJECT_LIMIT = 255
DERIVED_SUBJECT_LIMIT = 80
NO_SUBJECT = "(no subject)"

_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\].]{2,}$")


def is_email(text: str) -> bool:
    """Whether ``text`` is an email address Help Scout would accept."""
    return bool(_EMAIL.match(text))


@dataclass
class NormalCustomer:
    """The customer with Help Scout's field names and limits."""

    source_id: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    organization: str | None
    job_title: str | None
    location: str | None


@dataclass
class NormalMessage:
    """One message with its time in UTC and its body as HTML."""

    created_at: datetime
    api_created_at: str  # created_at in Help Scout's format
    role: str  # customer | agent
    private: bool
    body_html: str
    author_email: str | None
    author_name: str | None
    author_id: str | None
    attachments: list[Attachment]
    location: str | None


@dataclass
class NormalConversation:
    """A conversation whose every value fits Help Scout's rules, before mapping."""

    source_id: str
    source: str | None
    subject: str
    type: str
    status: str | None
    created_at: datetime
    closed_at: datetime | None
    customer: NormalCustomer
    messages: list[NormalMessage]
    tags: list[str]
    custom_fields: dict[str, Any]
    assignee_email: str | None
    assignee_id: str | None
    warnings: list[Finding] = field(default_factory=list)
    left_out: list[Finding] = field(default_factory=list)
    #: ``created_at`` and ``closed_at`` in Help Scout's format, when read from the record's own
    #: fields (not taken from a message)
    api_created_at: str | None = None
    api_closed_at: str | None = None


@dataclass(frozen=True)
class NormaliseContext:
    """What normalising needs besides the conversation."""

    source_tz: tzinfo = UTC
    now: datetime | None = None  # the future starts here; None means the real now
    extra_tags: tuple[str, ...] = ()
    location: str | None = None
    message_locations: tuple[str, ...] = ()
    #: ``file:line:column`` by canonical path (CSV), the most precise place of a finding
    field_locations: Mapping[str, str] = field(default_factory=dict)


#: finding codes that name a canonical field under another spelling
_CODE_FIELDS = {
    "customer.firstName": "customer.first_name",
    "customer.lastName": "customer.last_name",
}


class _Findings:
    """Collects findings of one conversation with its id and location filled in."""

    def __init__(
        self,
        source_id: str | None,
        location: str | None,
        field_locations: Mapping[str, str] | None = None,
    ) -> None:
        self.field_locations = field_locations or {}
        self.source_id = source_id
        self.location = location
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []
        self.left_out: list[Finding] = []

    def _make(self, stage: str, code: str, message: str, *, location: str | None) -> Finding:
        exact = self.field_locations.get(_CODE_FIELDS.get(code, code))
        return Finding(stage, code, message, exact or location or self.location, self.source_id)

    def error(self, code: str, message: str, location: str | None = None) -> None:
        self.errors.append(self._make("validate", code, message, location=location))

    def warn(
        self, code: str, message: str, location: str | None = None, *, stage: str = "normalise"
    ) -> None:
        self.warnings.append(self._make(stage, code, message, location=location))

    def leave_out(
        self, code: str, message: str, location: str | None = None, *, stage: str = "map"
    ) -> None:
        self.left_out.append(self._make(stage, code, message, location=location))


def _trim(value: str | None, limit: int, code: str, *, label: str, found: _Findings) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    if not text:
        return None
    if len(text) > limit:
        found.warn(code, f"{label} trimmed from {len(text)} to {limit} characters")
        text = text[:limit].rstrip()
    return text


def _customer(conv: Conversation, found: _Findings) -> NormalCustomer:
    source = conv.customer
    email = source.email.strip() if source.email else None
    if email and not is_email(email):
        found.error("customer.email", f"customer email {email!r} is not a valid address")
    if not (source.id or email or source.phone):
        found.error("customer", "the customer has no id, email or phone: nothing identifies them")
    return NormalCustomer(
        source_id=source.id,
        email=email,
        first_name=_trim(
            source.first_name, NAME_LIMIT, "customer.firstName", label="first name", found=found
        ),
        last_name=_trim(
            source.last_name, NAME_LIMIT, "customer.lastName", label="last name", found=found
        ),
        phone=source.phone.strip() if source.phone else None,
        organization=_trim(
            source.organization,
            CUSTOMER_TEXT_LIMIT,
            "customer.organization",
            label="organization",
            found=found,
        ),
        job_title=_trim(
            source.job_title,
            CUSTOMER_TEXT_LIMIT,
            "customer.jobTitle",
            label="job title",
            found=found,
        ),
        location=_trim(
            source.location, CUSTOMER_TEXT_LIMIT, "customer.location", label="location", found=found
        ),
    )


class _Clock:
    """Reads the source's times into UTC, a time in the future set to the moment of import
    (the context's ``now``, else the clock's). The clock is read once up front, and again only
    for a time past that first reading."""

    def __init__(self, ctx: NormaliseContext, found: _Findings) -> None:
        self.source_tz = ctx.source_tz
        self.given_now = ctx.now
        self.first_now = ctx.now or datetime.now(UTC)
        self.found = found

    def read(self, value: Any, code: str, where: str | None) -> tuple[datetime, str] | None:
        """The UTC time of ``value``, and in Help Scout's format; None (an error found) when it
        is no timestamp."""
        try:
            moment, text = read_timestamp(value, self.source_tz)
        except TimestampError as exc:
            self.found.error(code, str(exc), where)
            return None
        if moment <= self.first_now:
            return moment, text
        now = self.given_now or datetime.now(UTC)
        if moment > now:
            self.found.warn(
                code, f"{moment.isoformat()} is in the future; set to the time of import", where
            )
            moment = now.replace(microsecond=0)
            text = format_api_time(moment)
        return moment, text


def _has_text(value: str | None) -> TypeGuard[str]:
    """Whether ``value`` holds more than whitespace."""
    return value is not None and value != "" and not value.isspace()


def _body(message: Message) -> str:
    body_html, body_text = message.body_html, message.body_text
    if _has_text(body_html):
        return body_html
    if _has_text(body_text):
        return text_to_html(body_text.strip("\n"))
    return ""


def _message_label(message: Message, index: int) -> str:
    return f"message {message.source_id or index + 1}"


_created_at = attrgetter("created_at")


def _messages(conv: Conversation, ctx: NormaliseContext, clock: _Clock) -> list[NormalMessage]:
    found = clock.found
    locations = ctx.message_locations
    kept: list[NormalMessage] = []
    for index, message in enumerate(conv.messages):
        where = locations[index] if index < len(locations) else None
        read = clock.read(message.created_at, f"messages[{index}].created_at", where)
        if read is None:
            continue
        if message.author_role == "system":
            label = _message_label(message, index)
            found.warn("message.system", f"{label}: system event dropped", where, stage="map")
            continue
        body = _body(message)
        if not body:
            if message.attachments:
                body = "<p>(attachment)</p>"
            else:
                label = _message_label(message, index)
                found.leave_out("message.body", f"{label} has an empty body: left out", where)
                continue
        kept.append(
            NormalMessage(
                created_at=read[0],
                api_created_at=read[1],
                role=message.author_role,
                private=message.private,
                body_html=body,
                author_email=message.author_email,
                author_name=message.author_name,
                author_id=message.author_id,
                attachments=message.attachments,
                location=where,
            )
        )
    kept.sort(key=_created_at)  # stable: equal times keep the source's order
    if not kept and not found.errors:
        found.error("threads", "no message with a body: nothing to import")
    return kept


def _subject(conv: Conversation, messages: list[NormalMessage], found: _Findings) -> str:
    subject = " ".join((conv.subject or "").split())
    if not subject:
        derived = (
            first_line(html_to_text(html_head(messages[0].body_html)), DERIVED_SUBJECT_LIMIT)
            if messages
            else ""
        )
        subject = derived or NO_SUBJECT
        found.warn("subject", f"empty subject derived from the first message: {subject!r}")
    elif len(subject) > SUBJECT_LIMIT:
        found.warn("subject", f"subject trimmed from {len(subject)} to {SUBJECT_LIMIT} characters")
        subject = subject[: SUBJECT_LIMIT - 1].rstrip() + "…"
    return subject


def _tags(conv: Conversation, extra: tuple[str, ...]) -> list[str]:
    seen: set[str] = set()
    tags: list[str] = []
    for tag in [*conv.tags, *extra]:
        clean = " ".join(str(tag).split())
        if clean and clean.lower() not in seen:
            seen.add(clean.lower())
            tags.append(clean)
    return tags


def normalise(conv: Conversation, ctx: NormaliseContext) -> NormalConversation:
    """Normalise one conversation or raise ``InvalidConversationError`` with every reason."""
    found = _Findings(conv.source_id, ctx.location, ctx.field_locations)
    clock = _Clock(ctx, found)
    customer = _customer(conv, found)
    messages = _messages(conv, ctx, clock)
    created = None if conv.created_at is None else clock.read(conv.created_at, "created_at", None)
    closed = None if conv.closed_at is None else clock.read(conv.closed_at, "closed_at", None)
    if found.errors:
        raise InvalidConversationError(found.errors + found.left_out)
    created_at = messages[0].created_at if created is None else created[0]
    return NormalConversation(
        source_id=conv.source_id,
        source=conv.source,
        subject=_subject(conv, messages, found),
        type=conv.type,
        status=conv.status,
        created_at=created_at,
        closed_at=None if closed is None else closed[0],
        customer=customer,
        messages=messages,
        tags=_tags(conv, ctx.extra_tags),
        custom_fields=dict(conv.custom_fields),
        assignee_email=conv.assignee_email,
        assignee_id=conv.assignee_id,
        warnings=found.warnings,
        left_out=found.left_out,
        api_created_at=None if created is None else created[1],
        api_closed_at=None if closed is None else closed[1],
    )
