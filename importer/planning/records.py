"""The offline half of every command: records in, planned or invalid conversations out.

``validate``, ``convert``, ``plan`` and ``run`` all go through ``planned_conversations``, so they
agree on what is valid, on ``--limit``, ``--since`` and ``--until``, and on the accounting.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import sqlite3
import tempfile
import traceback
import weakref
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol, TypeVar

from importer.commands.agents import UserDirectory
from importer.deadletter import written_back
from importer.errors import UsageError
from importer.findings import Finding
from importer.model import RAW_TEXT_KEY, Conversation
from importer.outputs import create_private, writing
from importer.readers import Export, SourceRecord, read_attachment_bytes
from importer.readers.base import ReadCounts, current_read_counts
from importer.settings import TransformSettings
from importer.transform.fields import MailboxField
from importer.transform.payload import PayloadContext, UserResolver
from importer.transform.plan import (
    ConversationPlan,
    InvalidConversation,
    PlanContext,
    plan_conversation,
)
from importer.transform.times import (
    TimestampError,
    is_bare_date,
    load_zone,
    parse_timestamp,
)

Planned = ConversationPlan | InvalidConversation
#: the ``--log-json`` event of a read's counts, emitted when the reading ends
READ_COUNTS_EVENT = "read_counts"


class Selectable(Protocol):
    """What selecting a planned conversation needs (a plan, an invalid conversation, or the
    summary of a plan made in a worker process)."""

    location: str
    warnings: list[Finding]

    @property
    def source_id(self) -> str | None: ...

    @property
    def created_at(self) -> datetime | None: ...

    @property
    def record(self) -> Any: ...


P = TypeVar("P", bound=Selectable)


@dataclass(frozen=True)
class DateRange:
    """``--since`` (inclusive) and ``--until`` (a bare date includes that whole day)."""

    since: datetime | None = None
    until: datetime | None = None

    def holds(self, moment: datetime | None) -> bool:
        """Whether a conversation created at ``moment`` is in range (unknown times are kept)."""
        if moment is None:
            return True
        if self.since is not None and moment < self.since:
            return False
        return not (self.until is not None and moment >= self.until)


log = logging.getLogger("importer.plan")


def parse_date_range(since: str | None, until: str | None, zone: tzinfo) -> DateRange:
    """Read ``--since``/``--until``; a bad value is a usage error naming the option."""

    def read(option: str, value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            moment = parse_timestamp(value, zone)
        except TimestampError as exc:
            raise UsageError(f"{option} {value!r}: {exc}") from exc
        if option == "--until" and is_bare_date(value):  # a bare date: the whole day
            moment += timedelta(days=1)
        return moment

    return DateRange(read("--since", since), read("--until", until))


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
        log.error("%s: the transform failed: %s", record.location, exc)
        reason = f"unexpected {type(exc).__name__} in the transform: {exc}"
        finding = Finding("transform", "internal", reason, record.location, record.source_id)
        planned = InvalidConversation(
            record.source_id,
            record.location,
            [finding],
            record.data,
            list(record.warnings),
            internal=reason,
            trace="".join(traceback.format_exception(exc)),
        )
    if isinstance(planned, InvalidConversation) and planned.created_at is None:
        planned.created_at = readable_created_at(planned.record, ctx.source_tz)
    return planned


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
        except TimestampError:
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


class SeenSourceIds:
    """A source id met a second time makes that conversation invalid (the first one stands).

    The ids seen are kept on disk (a temporary SQLite file, one open transaction, no journal),
    not in a dict: memory stays flat however many conversations the export holds."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="importer-seen-")
        self._path = Path(self._folder.name) / "seen.sqlite"
        create_private(self._path)
        self._conn = sqlite3.connect(str(self._path), isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute(
            "CREATE TABLE seen (source_id TEXT PRIMARY KEY, location TEXT NOT NULL) WITHOUT ROWID"
        )
        self._conn.execute("BEGIN")
        weakref.finalize(self, _close_seen, self._conn, self._folder)

    def first_location(self, source_id: str, location: str) -> str:
        """Where ``source_id`` was first met: ``location`` itself the first time. A full disk
        stops the command (exit 4), naming the file."""
        with writing(self._path):
            added = self._conn.execute(
                "INSERT OR IGNORE INTO seen (source_id, location) VALUES (?, ?)",
                (source_id, location),
            )
        if added.rowcount == 1:
            return location
        row = self._conn.execute(
            "SELECT location FROM seen WHERE source_id = ?", (source_id,)
        ).fetchone()
        return str(row[0])

    def check(self, planned: P) -> P | InvalidConversation:
        """``planned`` itself, or an invalid conversation naming where the id was first seen."""
        if isinstance(planned, InvalidConversation) or planned.source_id is None:
            return planned
        first = self.first_location(planned.source_id, planned.location)
        if first == planned.location:
            return planned
        finding = Finding(
            "read",
            "source_id",
            f"source_id {planned.source_id!r} already seen at {first}; give every conversation "
            "its own id",
            planned.location,
            planned.source_id,
        )
        return InvalidConversation(
            planned.source_id,
            planned.location,
            [finding],
            planned.record,
            list(planned.warnings),
            planned.created_at,
        )


def _close_seen(conn: sqlite3.Connection, folder: tempfile.TemporaryDirectory[str]) -> None:
    conn.close()
    folder.cleanup()


@dataclass(frozen=True)
class AlreadyImported:
    """A conversation the checkpoint holds as done (every part, every upload): ``run`` counts
    it without planning it again (a resumed run skips done work at the reader's pace)."""

    source_id: str
    location: str
    warnings: tuple[Finding, ...] = ()


class Selection:
    """Which planned conversations a command takes, the same for every command: those in
    ``--since``/``--until``, up to ``--limit`` of them, a repeated source id made invalid."""

    def __init__(self, date_range: DateRange, limit: int | None) -> None:
        self.date_range = date_range
        self.limit = limit
        self.seen = SeenSourceIds()
        self.taken = 0
        #: warnings about the export itself (no source id: files or streams passed over) that
        #: rode on a conversation not taken: they go with the next one taken
        self.carried: list[Finding] = []

    @property
    def full(self) -> bool:
        """Whether ``--limit`` conversations were taken already."""
        return self.limit is not None and self.taken >= self.limit

    @property
    def every_date(self) -> bool:
        """Whether no ``--since``/``--until`` narrows the selection."""
        return self.date_range.since is None and self.date_range.until is None

    def take_done(self, record: SourceRecord) -> AlreadyImported | None:
        """A record whose conversation is done, counted toward ``--limit`` and checked for a
        repeated id like any other; None when its id was met before (then plan it: it is
        invalid as a repeat, with its reasons)."""
        assert record.source_id is not None
        if self.seen.first_location(record.source_id, record.location) != record.location:
            return None
        self.taken += 1
        carried, self.carried = tuple(self.carried), []
        return AlreadyImported(record.source_id, record.location, carried)

    def take(self, planned: P) -> P | InvalidConversation | None:
        """``planned`` (or it made invalid as a repeat) when selected, else None."""
        if not self.date_range.holds(planned.created_at):
            self.carried += [w for w in planned.warnings if w.source_id is None]
            return None
        self.taken += 1
        if self.carried:
            planned.warnings[:0] = self.carried
            self.carried = []
        return self.seen.check(planned)


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


def planned_conversations(
    export: Export,
    ctx: PlanContext,
    settings: TransformSettings,
    date_range: DateRange | None = None,
    leftover: list[Finding] | None = None,
) -> Iterator[Planned]:
    """Every conversation of the export in order, planned, within the date range and limit.
    Warnings about the export that no conversation taken carried are added to ``leftover``."""
    date_range = date_range or parse_date_range(settings.since, settings.until, ctx.source_tz)
    selection = Selection(date_range, settings.limit)
    counts = current_read_counts()
    try:
        for record in export.records():
            if selection.full:
                return
            count_record(counts, record)
            taken = selection.take(plan_record(record, ctx))
            if taken is not None:
                yield taken
    finally:
        if leftover is not None:
            leftover += selection.carried


async def planned_with_agents(
    export: Export,
    ctx: PlanContext,
    date_range: DateRange,
    limit: int | None,
    directory: UserDirectory,
    leftover: list[Finding] | None = None,
) -> AsyncGenerator[Planned, None]:
    """``planned_conversations`` for ``plan``, ``run`` and ``verify``: an agent met for the
    first time is looked up in Help Scout (users endpoint), then its conversation is planned
    again."""
    planned_all = planned_for_run(export, ctx, date_range, limit, directory, leftover)
    async with aclosing(planned_all):
        async for planned in planned_all:
            assert not isinstance(planned, AlreadyImported)  # no ``done``: every one planned
            yield planned


async def planned_for_run(
    export: Export,
    ctx: PlanContext,
    date_range: DateRange,
    limit: int | None,
    directory: UserDirectory,
    leftover: list[Finding] | None = None,
    done: Callable[[str], bool] | None = None,
) -> AsyncGenerator[Planned | AlreadyImported, None]:
    """:func:`planned_with_agents`, where a record ``done(source_id)`` says is imported already
    comes out as :class:`AlreadyImported`, not planned (only when no date range needs its
    planned time): a resumed run skips done work at the reader's pace."""
    selection = Selection(date_range, limit)
    counts = current_read_counts()
    try:
        for record in export.records():
            if selection.full:
                return
            count_record(counts, record)
            if (
                done is not None
                and selection.every_date
                and record.error is None
                and record.source_id is not None
                and done(record.source_id)
            ):
                already = selection.take_done(record)
                if already is not None:
                    yield already
                    continue
            planned = plan_record(record, ctx)
            if directory.has_misses:
                await directory.fill_misses()
                planned = plan_record(record, ctx)
            taken = selection.take(planned)
            if taken is not None:
                yield taken
    finally:
        if leftover is not None:
            leftover += selection.carried


def canonical_output(
    record: dict[str, Any], zone: tzinfo, source_name: str | None = None
) -> dict[str, Any]:
    """A record for ``convert``: canonical keys only, timestamps as UTC ISO text, files inlined,
    ``source`` kept (the input format when the record has none, so placeholder addresses made
    from the converted file are the ones the original export would give)."""
    conversation = Conversation.model_validate(record)
    dumped = conversation.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
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
