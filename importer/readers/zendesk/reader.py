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
:func:`~importer.readers.zendesk.build.build_conversation`, with the value choices of
``mappings/zendesk.toml``. A ticket listed twice (the incremental export lists a ticket each
time it changes) is read once, in its latest version, at the place it was first seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from importer.readers.common import (
    StagedLookup,
    StagedReader,
    id_text,
    orphan_records,
    stage_once,
    staged_notes,
)
from importer.readers.containers import JsonRecord, id_after
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagedRecord, StagingStore
from importer.readers.zendesk.build import (
    LocatedComment,
    build_conversation,
    comments_of,
    field_summary,
)
from importer.readers.zendesk.mapping import ZendeskMapping, zendesk_mapping
from importer.readers.zendesk.people import as_list, user_summary
from importer.readers.zendesk.roles import (
    COMMENTS,
    ROLES,
    TICKET_FIELDS,
    TICKET_METRICS,
    TICKETS,
    USERS,
    zendesk_role,
)
from importer.readers.zendesk.signs import ZENDESK_SIGN_KEYS, is_zendesk

METRIC_TIMES = ("solved_at",)
USERS_CACHED = 4096  # agents answer many tickets: their look-ups stay in memory
DUPLICATE = (
    "ticket {key} is in the export more than once; the copy at {where} is passed over for the "
    "later one"
)


def _comment_ticket_id(comment: dict[str, Any], item: JsonRecord) -> str | None:
    """The ticket a comment belongs to: its ``ticket_id``, else the page's request path."""
    return id_text(comment.get("ticket_id")) or id_after(item.request_path, "tickets")


def _more_comments(later: dict[str, Any], kept: dict[str, Any]) -> bool:
    """A ticket seen again takes the later version, unless that one embeds fewer comments."""
    return len(as_list(later.get("comments"))) >= len(as_list(kept.get("comments")))


class ZendeskReader(StagedReader[ZendeskMapping]):
    """Zendesk tickets with their comments, users, ticket fields and ticket metrics."""

    detection_place = 30
    info = FormatInfo(
        "zendesk",
        "Zendesk JSON export, API or ETL dumps (tickets, comments, users)",
        "tickets NDJSON/JSON/API pages (comments embedded or in their own files, also keyed by "
        "request path), users, ticket_fields, ticket_metrics",
        True,
        "Zendesk",
    )
    roles = ROLES
    sign_keys = ZENDESK_SIGN_KEYS
    unjoined_warning = (
        "ticket_id",
        "{count} comment(s) name no ticket (first at {first}): they are not read; export "
        "comments with their ticket_id, by ticket page (/api/v2/tickets/ID/comments.json) or "
        "embedded in their tickets",
    )
    unparsed_loss = "a ticket may miss a message, a name or a field"

    def owns(self, record: Mapping[str, Any], stream: str | None) -> bool:
        return is_zendesk(record)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return zendesk_role(record, stream)

    def mapping_rules(self, mapping: dict[str, Any]) -> ZendeskMapping:
        return zendesk_mapping(mapping)

    def unparsed_hint(self, role: str, item: JsonRecord) -> str | None:
        return item.id_hint if role == TICKETS else None  # another role's id is not the ticket's

    def stage(
        self, store: StagingStore, role: str, item: JsonRecord, *, data: dict[str, Any]
    ) -> int:
        if role == TICKETS:
            ticket_id = id_text(data.get("id"))
            stage_once(store, TICKETS, ticket_id, item=item, data=data, later_wins=_more_comments)
        elif role == COMMENTS:
            without_ticket = 0
            replaced = item.replaced_bytes  # counted once, on the record's first comment
            for comment in comments_of(data):
                ticket_id = _comment_ticket_id(comment, item)
                if ticket_id is None:
                    without_ticket += 1
                    continue
                store.put_record(
                    COMMENTS, ticket_id, StagedRecord(comment, replaced, item.location)
                )
                replaced = 0
            return without_ticket
        elif role == USERS:
            if (user_id := id_text(data.get("id"))) is not None:
                store.put(USERS, user_id, item.location, record=user_summary(data))
        elif role == TICKET_FIELDS:
            summary = field_summary(data)
            store.put(TICKET_FIELDS, summary["id"], item.location, record=summary)
        elif role == TICKET_METRICS:
            metrics = {key: data.get(key) for key in METRIC_TIMES}
            store.put(TICKET_METRICS, id_text(data.get("ticket_id")), item.location, record=metrics)
        return 0

    def records(self, store: StagingStore, rules: ZendeskMapping) -> Iterator[SourceRecord]:
        fields = {
            staged.key: staged.record
            for staged in store.of_kind(TICKET_FIELDS)
            if staged.key is not None
        }
        users: StagedLookup[dict[str, Any]] = StagedLookup(
            store, USERS, lambda record: record, cached=USERS_CACHED
        )
        for staged in store.of_kind(TICKETS):
            build = partial(self._ticket, store, staged, rules, users=users, fields=fields)
            yield read_safely(build, staged.staged_record.location, staged.key)
        yield from orphan_records(store, COMMENTS, TICKETS, child="comment", parent="ticket")

    @staticmethod
    def _ticket(
        store: StagingStore,
        staged: Staged,
        rules: ZendeskMapping,
        *,
        users: StagedLookup[dict[str, Any]],
        fields: Mapping[str, dict[str, Any]],
    ) -> SourceRecord:
        ticket = staged.staged_record
        key = staged.key
        comments = [c.staged_record for c in store.by_key(COMMENTS, key)] if key is not None else []
        metrics = store.first(TICKET_METRICS, key) if key is not None else None
        record = build_conversation(
            ticket.data,
            ticket.location,
            [LocatedComment(c.location, c.data) for c in comments],
            users=users,
            fields=fields,
            metrics=metrics.record if metrics is not None else None,
            mapping=rules,
        )
        replaced = ticket.replaced + sum(c.replaced for c in comments)
        record.warnings[:0] = staged_notes(
            store, key, replaced, location=ticket.location, duplicate=DUPLICATE
        )
        return record


READER = ZendeskReader()
