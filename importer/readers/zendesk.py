"""The Zendesk reader: the admin JSON export, API dumps and ETL dumps, in any file order.

What it reads, each record's role judged by its content (:func:`zendesk_role`):

- ``tickets``: NDJSON of the admin export, JSON arrays, API pages (``{"tickets": [...],
  "next_page": ...}``, the incremental export), with comments embedded (``comments``) or not;
- ``comments``: comment pages (also an object keyed by request path, where
  ``/api/v2/tickets/7/comments.json`` gives the ticket id), audits and incremental ticket events
  (their ``Comment`` events), ETL streams of comments carrying ``ticket_id``;
- ``users`` (a file of their own or sideloaded in a page), ``ticket_fields`` (custom field
  titles) and ``ticket_metrics`` (``solved_at``).

Every record is staged on disk first (:class:`~importer.readers.staging.StagingStore`), so files
come in any order and memory stays bounded by one ticket; then each ticket is built by
:func:`~importer.readers.zendesk_build.build_conversation`, with the value choices of
``mappings/zendesk.toml``. A ticket listed twice (the incremental export lists a ticket each
time it changes) is read once, in its latest version, at the place it was first seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from importer.findings import Finding
from importer.readers.base import Reader, RoleFile, RoutedItems, no_conversations
from importer.readers.containers import JsonRecord, id_after
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagingStore
from importer.readers.text import encoding_message
from importer.readers.zendesk_build import (
    LocatedComment,
    as_list,
    build_conversation,
    comments_of,
    field_summary,
    id_text,
    user_summary,
)
from importer.readers.zendesk_mapping import ZendeskMapping, zendesk_mapping
from importer.readers.zendesk_roles import (
    COMMENTS,
    ROLES,
    TICKET_FIELDS,
    TICKET_METRICS,
    TICKETS,
    USERS,
    zendesk_role,
)

UNPARSED = "unparsed"
DUPLICATES = "duplicates"
METRIC_TIMES = ("solved_at",)
USERS_CACHED = 4096  # agents answer many tickets: their look-ups stay in memory


def _comment_ticket_id(comment: dict[str, Any], item: JsonRecord) -> str | None:
    """The ticket a comment belongs to: its ``ticket_id``, else the page's request path."""
    return id_text(comment.get("ticket_id")) or id_after(item.request_path, "tickets")


def _unparsed_record(staged: Staged) -> SourceRecord:
    """The invalid record of a record that could not be parsed."""
    role, error, raw_text, hint = staged.record
    message = str(error)
    source_id = hint if role == TICKETS else None
    if role != TICKETS:
        message = (
            f"a record of the Zendesk {role} cannot be parsed ({error}); what it held is not "
            "read, so a ticket may miss a message, a name or a field"
        )
    finding = Finding("read", "parse", message, staged.location, source_id)
    return SourceRecord(staged.location, None, source_id, error=finding, raw_text=raw_text)


class _StagedUsers:
    """Users looked up by id in the staging store (the first record of each id); the most
    recently used are kept in memory, a bounded number of them."""

    def __init__(self, store: StagingStore) -> None:
        self.store = store
        self._lookup = lru_cache(maxsize=USERS_CACHED)(self._staged)

    def _staged(self, user_id: str) -> dict[str, Any] | None:
        staged = self.store.first(USERS, user_id)
        return staged.record if staged is not None else None

    def __call__(self, user_id: str) -> dict[str, Any] | None:
        return self._lookup(user_id)


class ZendeskReader(Reader):
    """Zendesk tickets with their comments, users, ticket fields and ticket metrics."""

    info = FormatInfo(
        "zendesk",
        "Zendesk JSON export, API or ETL dumps (tickets, comments, users)",
        "tickets NDJSON/JSON/API pages (comments embedded or in their own files, also keyed by "
        "request path), users, ticket_fields, ticket_metrics",
        True,
    )
    roles = ROLES

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return zendesk_role(record, stream)

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        zendesk_mapping(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        rules = zendesk_mapping(mapping)
        routed = RoutedItems(self, files)
        with StagingStore(workdir) as store:
            unjoined = self._stage(routed, store)
            store.commit()
            fields = {
                staged.key: staged.record
                for staged in store.of_kind(TICKET_FIELDS)
                if staged.key is not None
            }
            users = _StagedUsers(store)
            pending = routed.take_warnings() + unjoined
            yielded = False
            for staged in store.of_kind(UNPARSED):
                record = _unparsed_record(staged)
                record.warnings[:0] = pending
                pending = []
                yielded = True
                yield record
            for staged in store.of_kind(TICKETS):
                build = partial(self._ticket, store, staged, rules, users, fields)
                record = read_safely(build, staged.record[2], staged.key)
                record.warnings[:0] = pending
                pending = []
                yielded = True
                yield record
            for key, first, count in store.keys_without(COMMENTS, TICKETS):
                error = Finding(
                    "read",
                    "ticket",
                    f"{count} comment(s) of ticket {key} but not the ticket itself: add the "
                    "tickets file (or stream) of the export; the comments are not read",
                    first.location,
                    key,
                )
                yield SourceRecord(first.location, None, key, error=error, warnings=pending)
                pending = []
                yielded = True
            if not yielded:  # an export without a ticket: its warnings still reach the report
                yield from no_conversations(self, files, pending)

    def _stage(self, routed: RoutedItems, store: StagingStore) -> list[Finding]:
        """Put every record in the store; the warnings of comments that name no ticket."""
        without_ticket: list[str] = []
        for role, item in routed:
            if item.data is None:
                record = [role, item.error, item.raw_text, item.id_hint]
                store.put(UNPARSED, item.id_hint, item.location, record)
                continue
            data = item.data
            if role == TICKETS:
                self._stage_ticket(store, item)
            elif role == COMMENTS:
                replaced = item.replaced_bytes  # counted once, on the record's first comment
                for comment in comments_of(data):
                    ticket_id = _comment_ticket_id(comment, item)
                    if ticket_id is None:
                        without_ticket.append(item.location)
                        continue
                    store.put(COMMENTS, ticket_id, item.location, [comment, replaced])
                    replaced = 0
            elif role == USERS:
                if (user_id := id_text(data.get("id"))) is not None:
                    store.put(USERS, user_id, item.location, user_summary(data))
            elif role == TICKET_FIELDS:
                summary = field_summary(data)
                store.put(TICKET_FIELDS, summary["id"], item.location, summary)
            elif role == TICKET_METRICS:
                metrics = {key: data.get(key) for key in METRIC_TIMES}
                store.put(TICKET_METRICS, id_text(data.get("ticket_id")), item.location, metrics)
        if not without_ticket:
            return []
        return [
            Finding(
                "read",
                "ticket_id",
                f"{len(without_ticket)} comment(s) name no ticket (first at {without_ticket[0]}): "
                "they are not read; export comments with their ticket_id, by ticket page "
                "(/api/v2/tickets/ID/comments.json) or embedded in their tickets",
                without_ticket[0],
            )
        ]

    @staticmethod
    def _stage_ticket(store: StagingStore, item: JsonRecord) -> None:
        """Stage a ticket as ``[data, replaced bytes, location]``. A ticket seen again keeps its
        first place and takes the later version, unless that one embeds fewer comments; the copy
        not read is noted under ``duplicates`` for a warning."""
        assert item.data is not None
        key = id_text(item.data.get("id"))
        staged = [item.data, item.replaced_bytes, item.location]
        earlier = store.first(TICKETS, key) if key is not None else None
        if earlier is None:
            store.put(TICKETS, key, item.location, staged)
            return
        kept, _, kept_location = earlier.record
        if len(as_list(item.data.get("comments"))) >= len(as_list(kept.get("comments"))):
            store.replace(earlier.seq, staged)
            store.put(DUPLICATES, key, kept_location, None)
        else:
            store.put(DUPLICATES, key, item.location, None)

    @staticmethod
    def _ticket(
        store: StagingStore,
        staged: Staged,
        rules: ZendeskMapping,
        users: _StagedUsers,
        fields: Mapping[str, dict[str, Any]],
    ) -> SourceRecord:
        ticket, replaced, location = staged.record
        comments = list(store.by_key(COMMENTS, staged.key)) if staged.key is not None else []
        metrics = store.first(TICKET_METRICS, staged.key) if staged.key is not None else None
        record = build_conversation(
            ticket,
            location,
            [LocatedComment(c.location, c.record[0]) for c in comments],
            users,
            fields,
            metrics.record if metrics is not None else None,
            rules,
        )
        replaced += sum(c.record[1] for c in comments)
        notes: list[Finding] = []
        if replaced:
            notes.append(
                Finding("read", "encoding", encoding_message(replaced), location, staged.key)
            )
        for duplicate in store.by_key(DUPLICATES, staged.key):
            notes.append(
                Finding(
                    "read",
                    "duplicate",
                    f"ticket {staged.key} is in the export more than once; the copy at "
                    f"{duplicate.location} is passed over for the later one",
                    location,
                    staged.key,
                )
            )
        record.warnings[:0] = notes
        return record


READER = ZendeskReader()
