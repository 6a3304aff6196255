"""One source record in, one planned conversation out: parse, normalise, map, split, validate.

The result is either a ``ConversationPlan`` (the requests to send, in order) or an
``InvalidConversation`` carrying every reason at once. Pure: reads attachment files through the
function it is given, touches no network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import ValidationError

from importer.errors import InvalidConversationError
from importer.findings import Finding
from importer.model import RAW_TEXT_KEY, Conversation
from importer.transform.draft import build_draft
from importer.transform.normalise import NormaliseContext, normalise
from importer.transform.payload import PayloadContext
from importer.transform.split import Part, ReadAttachment, split_draft
from importer.transform.validate import check_payload


@dataclass(frozen=True)
class PlanContext:
    """Settings of the offline stages, fixed for a whole run."""

    payload: PayloadContext
    read_attachment: ReadAttachment
    max_request_bytes: int
    source_tz: tzinfo = UTC
    extra_tags: tuple[str, ...] = ()
    now: datetime | None = None
    offline: bool = True


@dataclass
class ConversationPlan:
    """A valid conversation: the parts to create, in order, and what was changed on the way."""

    source_id: str
    location: str
    created_at: datetime
    parts: list[Part]
    customer_key: str
    customer_to_create: dict[str, Any] | None
    record: dict[str, Any]
    warnings: list[Finding] = field(default_factory=list)
    left_out: list[Finding] = field(default_factory=list)

    @property
    def threads(self) -> int:
        """Threads across all parts."""
        return sum(part.thread_count for part in self.parts)

    @property
    def attachments(self) -> int:
        """Attachments across all parts, inline or uploaded after creation."""
        return sum(part.inline_attachments + len(part.deferred) for part in self.parts)

    @property
    def part_count(self) -> int:
        """Conversations it is created as (more than one: split)."""
        return len(self.parts)

    def customer_keys(self, parts: list[Part] | None = None) -> list[str]:
        """The customers creating ``parts`` (default: all) may make in Help Scout: the
        conversation's own, and every colleague a customer thread names by email."""
        keys = {self.customer_key}
        for part in self.parts if parts is None else parts:
            keys |= part.colleague_keys
        return sorted(keys)


@dataclass
class InvalidConversation:
    """A conversation that cannot be imported, with every reason."""

    source_id: str | None
    location: str
    findings: list[Finding]
    record: dict[str, Any] | None
    warnings: list[Finding] = field(default_factory=list)
    created_at: datetime | None = None
    #: what the transform raised unexpectedly on it (a bug, not the data): ``run`` counts it
    #: failed, ``validate`` invalid
    internal: str | None = None
    trace: str | None = None  # its traceback, for ``--log-json``
    #: agents it names that match no Help Scout user (``plan`` with worker processes)
    agents_unmatched: frozenset[str] = frozenset()


def _pydantic_findings(
    exc: ValidationError,
    source_id: str | None,
    location: str,
    *,
    message_locations: Sequence[str],
    field_locations: Mapping[str, str],
) -> list[Finding]:
    findings = []
    for error in exc.errors():
        path = ""
        where = location
        loc = list(error["loc"])
        for index, part in enumerate(loc):
            if isinstance(part, int):
                path += f"[{part}]"
                if index > 0 and loc[index - 1] == "messages" and part < len(message_locations):
                    where = message_locations[part]
            else:
                path += ("." if path else "") + str(part)
        where = field_locations.get(path, where)
        path = path or "record"
        message = str(error["msg"]).removeprefix("Value error, ")
        findings.append(Finding("read", path, f"{path}: {message}", where, source_id))
    return findings


def plan_conversation(
    data: dict[str, Any],
    ctx: PlanContext,
    *,
    location: str,
    message_locations: Sequence[str] = (),
    field_locations: Mapping[str, str] | None = None,
) -> ConversationPlan | InvalidConversation:
    """Plan one canonical conversation record (``field_locations``: ``file:line:column`` by
    canonical path, for findings about one field of a CSV export)."""
    field_locations = field_locations or {}
    raw_id = data.get("source_id") if isinstance(data, dict) else None
    source_id = None if raw_id is None else str(raw_id)
    if isinstance(data, dict) and data.get(RAW_TEXT_KEY):  # a dead letter fed back unfixed
        finding = Finding(
            "read",
            RAW_TEXT_KEY,
            "the record still holds _raw, the text of a record or row that could not be read: "
            "fold it into the record (or delete _raw to leave it out) and feed it again",
            location,
            source_id,
        )
        return InvalidConversation(source_id, location, [finding], data)
    try:
        conversation = Conversation.model_validate(data)
    except ValidationError as exc:
        findings = _pydantic_findings(
            exc,
            source_id,
            location,
            message_locations=message_locations,
            field_locations=field_locations,
        )
        return InvalidConversation(source_id, location, findings, data)
    return _plan_valid(
        conversation,
        data,
        ctx,
        location=location,
        message_locations=message_locations,
        field_locations=field_locations,
    )


def _plan_valid(
    conversation: Conversation,
    data: dict[str, Any],
    ctx: PlanContext,
    *,
    location: str,
    message_locations: Sequence[str],
    field_locations: Mapping[str, str],
) -> ConversationPlan | InvalidConversation:
    """Normalise, map, split and check a record the model accepts."""
    norm_ctx = NormaliseContext(
        source_tz=ctx.source_tz,
        now=ctx.now,
        extra_tags=ctx.extra_tags,
        location=location,
        message_locations=tuple(message_locations),
        field_locations=field_locations,
    )
    try:
        normal = normalise(conversation, norm_ctx)
        draft = build_draft(normal, ctx.payload)
        parts, attachments_left_out = split_draft(
            draft,
            max_bytes=ctx.max_request_bytes,
            read_attachment=ctx.read_attachment,
            attachment_policy=ctx.payload.attachment_policy,
        )
    except InvalidConversationError as exc:
        findings = [f if f.location else _located(f, location) for f in exc.findings]
        return InvalidConversation(conversation.source_id, location, findings, data)
    problems = [
        finding
        for part in parts
        for finding in check_payload(
            part.payload, source_id=conversation.source_id, location=location, offline=ctx.offline
        )
    ]
    if problems:
        warnings = [_located(f, location) for f in draft.warnings]
        return InvalidConversation(conversation.source_id, location, problems, data, warnings)
    return ConversationPlan(
        source_id=conversation.source_id,
        location=location,
        created_at=normal.created_at,
        parts=parts,
        customer_key=draft.customer_key,
        customer_to_create=draft.customer_to_create,
        record=data,
        warnings=[_located(f, location) for f in draft.warnings],
        left_out=[_located(f, location) for f in draft.left_out + attachments_left_out],
    )


def _located(finding: Finding, location: str) -> Finding:
    if finding.location:
        return finding
    return Finding(
        finding.stage, finding.code, finding.message, location, finding.source_id, finding.part
    )
