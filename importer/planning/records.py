"""One record in, one planned conversation out, for every command; and the read counted.

:func:`plan_record` turns whatever the transform raises on one record into that record's own
invalid conversation, so one bad record never stops a command. :func:`counted_reading` counts one
read of the export (the ``read_counts`` event of ``--log-json``); :func:`canonical_output` is the
record ``convert`` writes.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, tzinfo
from typing import Any

from importer.deadletter import written_back
from importer.findings import Finding
from importer.model import RAW_TEXT_KEY, Conversation
from importer.planning.summary import PlanSummary
from importer.readers import Export, SourceRecord, read_attachment_bytes
from importer.readers.base import ReadCounts, counting_reads
from importer.settings import TransformSettings
from importer.transform.fields import MailboxField
from importer.transform.payload import PayloadContext, UserResolver
from importer.transform.plan import (
    ConversationPlan,
    InvalidConversation,
    PlanContext,
    plan_conversation,
)
from importer.transform.times import TimestampError, load_zone, parse_timestamp

Planned = ConversationPlan | InvalidConversation
#: the ``--log-json`` event of a read's counts, emitted when the reading ends
READ_COUNTS_EVENT = "read_counts"

log = logging.getLogger("importer.plan")


def plan_context(
    settings: TransformSettings,
    export: Export,
    *,
    offline: bool,
    mailbox: int | None = None,
    resolve_user: UserResolver | None = None,
    default_user: int | None = None,
    mailbox_fields: Mapping[str, MailboxField] | None = None,
    now: datetime | None = None,
) -> PlanContext:
    """The planning context of a run, from its settings and the export's mapping."""
    status_words = {
        key: [str(word).lower() for word in words]
        for key, words in export.mapping.get("status", {}).items()
        if isinstance(words, list)
    }
    payload = PayloadContext(
        mailbox_id=mailbox,
        status_policy=settings.status_policy,
        status_words=status_words,
        no_email_policy=settings.no_email_policy,
        placeholder_domain=settings.placeholder_domain,
        source_name=export.format,
        attachment_policy=settings.attachments,
        default_user=default_user,
        mailbox_fields=mailbox_fields,
        source_id_field=settings.source_id_field,
        **({"resolve_user": resolve_user} if resolve_user else {}),
    )
    return PlanContext(
        payload=payload,
        read_attachment=read_attachment_bytes,
        max_request_bytes=settings.max_request_bytes,
        source_tz=load_zone(settings.source_tz),
        extra_tags=settings.tags,
        now=now,
        offline=offline,
    )


def plan_record(record: SourceRecord, ctx: PlanContext) -> Planned:
    """Plan one record, carrying the reader's own findings along. Whatever the transform raises
    on one record is that record's problem alone: it comes back invalid, with ``internal``
    naming the exception."""
    try:
        planned = _plan_record(record, ctx)
    except Exception as exc:
        planned = failed_transform(
            exc,
            record.source_id,
            record.location,
            record=record.data,
            warnings=list(record.warnings),
        )
    if isinstance(planned, InvalidConversation) and planned.created_at is None:
        planned.created_at = readable_created_at(planned.record, ctx.source_tz)
    return planned


def failed_transform(
    exc: Exception,
    source_id: str | None,
    location: str,
    *,
    record: Any,
    warnings: list[Finding],
    what: str = "the transform",
) -> InvalidConversation:
    """The invalid conversation of a record ``what`` raised ``exc`` on (``internal``: the
    report names the exception; the trace goes to the dead letter)."""
    log.error("%s: %s failed: %s", location, what, exc)
    reason = f"unexpected {type(exc).__name__} in {what}: {exc}"
    finding = Finding("transform", "internal", reason, location, source_id)
    return InvalidConversation(
        source_id,
        location,
        [finding],
        record,
        warnings,
        internal=reason,
        trace="".join(traceback.format_exception(exc)),
    )


def unwritten(planned: ConversationPlan | PlanSummary, exc: Exception) -> InvalidConversation:
    """A valid conversation whose canonical line ``convert`` could not write: invalid, alone."""
    failed = failed_transform(
        exc,
        planned.source_id,
        planned.location,
        record=planned.record,
        warnings=list(planned.warnings),
        what="writing the canonical record",
    )
    failed.created_at = planned.created_at
    return failed


def readable_created_at(record: Any, zone: tzinfo) -> datetime | None:
    """When an invalid record was created, if its times can be read: ``created_at``, else its
    earliest message (as normalising would take it), so ``--since``/``--until`` hold for it too."""
    if not isinstance(record, dict):
        return None
    given = record.get("created_at")
    values = [given] if given not in (None, "") else []
    if not values and isinstance(record.get("messages"), list):
        values = [m.get("created_at") for m in record["messages"] if isinstance(m, dict)]
    moments = []
    for value in values:
        try:
            moments.append(parse_timestamp(value, zone))
        except (TimestampError, ValueError, OverflowError):  # an invalid record's: never raised
            continue
    return min(moments, default=None)


def _plan_record(record: SourceRecord, ctx: PlanContext) -> Planned:
    if record.error is not None or record.data is None:
        error = record.error or Finding(
            "read", "parse", "record could not be read", record.location
        )
        kept = record.data
        if kept is None and record.raw_text is not None:  # the text itself, to fix and re-feed
            kept = {"source_id": record.source_id, RAW_TEXT_KEY: record.raw_text}
        return InvalidConversation(
            record.source_id,
            record.location,
            [error, *record.left_out],
            kept,
            list(record.warnings),
        )
    planned = plan_conversation(
        record.data,
        ctx,
        location=record.location,
        message_locations=record.message_locations,
        field_locations=record.field_locations,
    )
    planned.warnings[:0] = record.warnings
    if isinstance(planned, ConversationPlan):
        planned.left_out[:0] = record.left_out
    else:
        planned.findings.extend(record.left_out)
    return planned


def read_counts_of(export: Export) -> ReadCounts:
    """Empty counts for one read of ``export`` (to count inside
    :func:`~importer.readers.base.counting_reads`)."""
    return ReadCounts(export.format, export.reader.roles[0])


def count_record(counts: ReadCounts | None, record: SourceRecord) -> None:
    """Count a conversation the reader gave (see :class:`~importer.readers.base.ReadCounts`)."""
    if counts is not None:
        counts.conversation(record.data is None, record.error.code if record.error else None)


def count_outcome(counts: ReadCounts | None, planned: object) -> None:
    """:func:`count_record` of a conversation planned in a worker process from lines it read
    itself, whose record is not at hand here: it had no data when its plan is invalid for the
    reader's error (stage ``read``) and keeps only what :func:`plan_record` keeps of a record
    without data (nothing, or its best-known id and its text)."""
    if counts is None:
        return
    if not isinstance(planned, InvalidConversation):
        counts.conversation(False, None)
        return
    first = planned.findings[0] if planned.findings else None
    kept = planned.record
    unparsed = (
        first is not None
        and first.stage == "read"
        and first.code != RAW_TEXT_KEY  # a dead letter fed back with its text: it has data
        and planned.internal is None
        and (kept is None or kept.keys() <= {"source_id", RAW_TEXT_KEY})
    )
    counts.conversation(unparsed, first.code if first is not None else None)


@contextmanager
def counted_reading(
    export: Export, emit: Callable[[str, dict[str, Any]], None]
) -> Iterator[ReadCounts]:
    """Count one read of ``export`` while inside (:func:`count_record`, and the reader's own
    counting); when the reading ends without an error, ``emit`` the ``read_counts`` event."""
    with counting_reads(read_counts_of(export)) as counts:
        yield counts
        emit(READ_COUNTS_EVENT, counts.event())


def _json_values(value: Any) -> Any:
    """``value`` (JSON as read, nested up to the read bound) with what JSON cannot hold, a NaN
    or an infinity, as ``null``, as pydantic writes them."""
    return json.loads(json.dumps(value), parse_constant=lambda _constant: None)


def canonical_text(body: dict[str, Any]) -> str:
    """A canonical record's line: UTF-8 text, a lone surrogate (which ``json`` reads from an
    escape and UTF-8 cannot hold) written as its escape."""
    line = json.dumps(body, ensure_ascii=False)
    if line.isascii():  # known without a scan: nothing to check
        return line
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(body)
    return line


def canonical_output(
    record: dict[str, Any], zone: tzinfo, source_name: str | None = None
) -> dict[str, Any]:
    """A record for ``convert``: canonical keys only, timestamps as UTC ISO text, files inlined,
    ``source`` kept (the input format when the record has none, so placeholder addresses made
    from the converted file are the ones the original export would give)."""
    conversation = Conversation.model_validate(record)
    try:
        dumped = conversation.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    except ValueError:  # a custom field nested past pydantic's bound of writing (about 250)
        dumped = conversation.model_dump(
            mode="json", exclude_none=True, exclude_defaults=False, exclude={"custom_fields"}
        )
        dumped["custom_fields"] = _json_values(conversation.custom_fields)
    body = written_back(dumped, source_name, zone)
    for message in body["messages"]:
        for attachment in message.get("attachments", []):
            if "path" in attachment:
                data = read_attachment_bytes(attachment.pop("path"))
                attachment["data_base64"] = base64.b64encode(data).decode("ascii")
                attachment.setdefault("size", len(data))
            elif "data_base64" in attachment and "size" not in attachment:
                raw = "".join(str(attachment["data_base64"]).split())
                attachment["size"] = len(raw) * 3 // 4 - raw[-2:].count("=")
            if not attachment.get("content_type"):  # every written attachment says its type
                guessed, _ = mimetypes.guess_type(str(attachment.get("file_name", "")))
                attachment["content_type"] = guessed or "application/octet-stream"
    return body
