"""The Gorgias reader: REST API tickets and their messages, in any file order.

What it reads, each record's role judged by its content (:func:`gorgias_role`):

- ``tickets``: ``GET /api/tickets/{id}`` objects with their ``messages`` embedded, or list pages
  (``{"data": [...]}``) without them;
- ``ticket_messages``: messages as their own stream or files (``GET /api/tickets/{id}/messages``,
  ETL streams), joined on ``ticket_id`` (else the ticket id of their ``uri`` or of the request path
  of a dump keyed by path); messages also embedded in their ticket are read once.

Customers, users and other Gorgias resources are passed over with one warning per stream: tickets
and messages carry their customer and senders. Every record is staged on disk first
(:class:`~importer.readers.staging.StagingStore`), then each ticket is built by
:func:`~importer.readers.gorgias_ticket.ticket_record`. The value choices are in
``mappings/gorgias.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from importer.findings import Finding
from importer.readers.base import Reader, RoleFile, RoutedItems, no_conversations
from importer.readers.containers import JsonRecord, id_after
from importer.readers.gorgias_mapping import GorgiasMapping, gorgias_mapping
from importer.readers.gorgias_ticket import embedded, ticket_record
from importer.readers.intercom_fields import id_text
from importer.readers.signs import is_gorgias, other_platform
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagingStore
from importer.readers.text import encoding_message

TICKETS = "tickets"
MESSAGES = "ticket_messages"
UNPARSED = "unparsed"
DUPLICATES = "duplicates"

URI = re.compile(r"^/api/tickets/(\d+)/?(?:(messages)(?:/\d+)?/?)?$")
TICKET_SIGNS = frozenset(
    {
        "messages",
        "customer",
        "requester",
        "assignee_user",
        "assignee_team",
        "status",
        "spam",
        "tags",
        "excerpt",
        "messages_count",
        "closed_datetime",
        "last_message_datetime",
        "last_received_message_datetime",
        "snooze_datetime",
        "trashed_datetime",
        "is_unread",
        "satisfaction_survey",
    }
)
MESSAGE_SIGNS = frozenset(
    {
        "ticket_id",
        "public",
        "sender",
        "receiver",
        "body_text",
        "body_html",
        "stripped_text",
        "stripped_html",
        "stripped_signature",
        "sent_datetime",
        "failed_datetime",
        "message_id",
        "last_sending_error",
    }
)
_TICKET_ID_HINT = re.compile(r'"ticket_id"\s*:\s*"?([^",}\s]+)')


def gorgias_role(record: Mapping[str, Any], stream: str | None) -> str | None:
    """The role of one JSON record in a Gorgias export, by its content.

    The record must bear a Gorgias sign (an ``/api/`` uri, ``*_datetime`` keys, ``from_agent``,
    see :func:`~importer.readers.signs.is_gorgias`); its ``uri`` then decides, else two keys only
    tickets (or messages) have. ``stream`` is not needed. ``None``: not a ticket or message of
    Gorgias (a customer, a user, another platform's record).
    """
    if other_platform(record, "gorgias") is not None or not is_gorgias(record):
        return None
    uri = record.get("uri")
    if isinstance(uri, str) and uri.startswith("/api/"):
        found = URI.match(uri)
        if found is None:
            return None
        return MESSAGES if found.group(2) else TICKETS
    keys = set(record)
    as_ticket = len(keys & TICKET_SIGNS)
    as_message = len(keys & MESSAGE_SIGNS)
    if as_message >= 2 and as_message > as_ticket:
        return MESSAGES
    if as_ticket >= 2:
        return TICKETS
    return None


def ticket_of(message: Mapping[str, Any], request_path: str | None) -> str | None:
    """The ticket a separately exported message belongs to."""
    uri = message.get("uri")
    found = URI.match(uri) if isinstance(uri, str) else None
    return (
        id_text(message.get("ticket_id"))
        or (found.group(1) if found else None)
        or id_after(request_path, "tickets")
    )


def _unparsed_record(staged: Staged) -> SourceRecord:
    role, error, raw_text, source_id = staged.record
    message = error
    if role != TICKETS:
        message = (
            f"a Gorgias message cannot be parsed ({error}); it is not read, so ticket "
            f"{source_id or '(unknown)'} may miss a message"
        )
    finding = Finding("read", "parse", message, staged.location, source_id)
    return SourceRecord(staged.location, None, source_id, error=finding, raw_text=raw_text)


class GorgiasReader(Reader):
    """Gorgias tickets with their messages, embedded or exported on their own."""

    info = FormatInfo(
        "gorgias",
        "Gorgias REST API JSON or ETL dumps (tickets with their messages)",
        "tickets JSON (messages embedded or as their own stream)",
        True,
    )
    roles = (TICKETS, MESSAGES)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return gorgias_role(record, stream)

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        gorgias_mapping(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        rules = gorgias_mapping(mapping)
        routed = RoutedItems(self, files)
        with StagingStore(workdir) as store:
            unjoined = self._stage(routed, store)
            store.commit()
            pending = routed.take_warnings() + unjoined
            yielded = False
            for record in self._records(store, rules):
                record.warnings[:0] = pending
                pending = []
                yielded = True
                yield record
            if not yielded:
                yield from no_conversations(self, files, pending)

    def _records(self, store: StagingStore, rules: GorgiasMapping) -> Iterator[SourceRecord]:
        for staged in store.of_kind(UNPARSED):
            yield _unparsed_record(staged)
        for staged in store.of_kind(TICKETS):
            build = partial(self._ticket, store, staged, rules)
            yield read_safely(build, staged.record[2], staged.key)
        for key, first, count in store.keys_without(MESSAGES, TICKETS):
            error = Finding(
                "read",
                "ticket",
                f"{count} message(s) of ticket {key} but not the ticket itself: add the tickets "
                "file (or stream) of the export; the messages are not read",
                first.location,
                key,
            )
            yield SourceRecord(first.location, None, key, error=error)

    def _stage(self, routed: RoutedItems, store: StagingStore) -> list[Finding]:
        """Put every record in the store; the warning of messages that name no ticket."""
        without = 0
        first_without: str | None = None
        for role, item in routed:
            if item.data is None:
                hint = item.id_hint
                if role == MESSAGES and item.raw_text:
                    found = _TICKET_ID_HINT.search(item.raw_text)
                    hint = found.group(1) if found else None
                store.put(UNPARSED, hint, item.location, [role, item.error, item.raw_text, hint])
                continue
            if role == MESSAGES:
                key = ticket_of(item.data, item.request_path)
                if key is None:
                    without += 1
                    first_without = first_without or item.location
                    continue
                store.put(MESSAGES, key, item.location, [item.data, item.replaced_bytes])
                continue
            self._stage_ticket(store, id_text(item.data.get("id")), item)
        if first_without is None:
            return []
        return [
            Finding(
                "read",
                "ticket_id",
                f"{without} Gorgias message(s) exported on their own name no ticket (no ticket_id "
                f"or uri; first at {first_without}); they are not read: export messages with "
                "their ticket id, or the tickets with their messages",
                first_without,
            )
        ]

    @staticmethod
    def _stage_ticket(store: StagingStore, key: str | None, item: JsonRecord) -> None:
        """Stage a ticket as ``[data, replaced bytes, location]``; one seen again (a list page and
        the full object) keeps the copy with more embedded messages."""
        assert item.data is not None
        staged = [item.data, item.replaced_bytes, item.location]
        earlier = store.first(TICKETS, key) if key is not None else None
        if earlier is None:
            store.put(TICKETS, key, item.location, staged)
            return
        kept, _, kept_location = earlier.record
        if len(embedded(item.data)) > len(embedded(kept)):
            store.replace(earlier.seq, staged)
            store.put(DUPLICATES, key, kept_location, None)
        else:
            store.put(DUPLICATES, key, item.location, None)

    @staticmethod
    def _ticket(store: StagingStore, staged: Staged, rules: GorgiasMapping) -> SourceRecord:
        ticket, replaced, location = staged.record
        messages = list(store.by_key(MESSAGES, staged.key))
        record = ticket_record(
            ticket, location, rules, [(m.record[0], m.location) for m in messages]
        )
        replaced += sum(m.record[1] for m in messages)
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
                    f"ticket {staged.key} is in the export twice; the copy at "
                    f"{duplicate.location} is passed over for the one with more messages",
                    location,
                    staged.key,
                )
            )
        record.warnings[:0] = notes
        return record


READER = GorgiasReader()
