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
:func:`~importer.readers.gorgias.ticket.ticket_record`. The value choices are in
``mappings/gorgias.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from importer.readers.common import (
    StagedReader,
    id_text,
    orphan_records,
    stage_once,
    staged_notes,
)
from importer.readers.containers import JsonRecord, id_after
from importer.readers.gorgias.mapping import GorgiasMapping, gorgias_mapping
from importer.readers.gorgias.signs import is_gorgias
from importer.readers.gorgias.ticket import embedded, ticket_record
from importer.readers.signs import other_platform
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagedRecord, StagingStore

TICKETS = "tickets"
MESSAGES = "ticket_messages"
DUPLICATE = (
    "ticket {key} is in the export twice; the copy at {where} is passed over for the one with "
    "more messages"
)

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


def _more_messages(later: dict[str, Any], kept: dict[str, Any]) -> bool:
    return len(embedded(later)) > len(embedded(kept))


class GorgiasReader(StagedReader[GorgiasMapping]):
    """Gorgias tickets with their messages, embedded or exported on their own."""

    detection_place = 70
    decisive_signs = True
    info = FormatInfo(
        "gorgias",
        "Gorgias REST API JSON or ETL dumps (tickets with their messages)",
        "tickets JSON (messages embedded or as their own stream)",
        True,
        "Gorgias",
    )
    roles = (TICKETS, MESSAGES)
    unjoined_warning = (
        "ticket_id",
        "{count} Gorgias message(s) exported on their own name no ticket (no ticket_id or uri; "
        "first at {first}); they are not read: export messages with their ticket id, or the "
        "tickets with their messages",
    )
    parent_id_patterns = {MESSAGES: _TICKET_ID_HINT}

    def owns(self, record: Mapping[str, Any], stream: str | None) -> bool:
        return is_gorgias(record)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return gorgias_role(record, stream)

    def mapping_rules(self, mapping: dict[str, Any]) -> GorgiasMapping:
        return gorgias_mapping(mapping)

    def unparsed_message(self, role: str, error: str, source_id: str | None) -> str:
        return (
            f"a Gorgias message cannot be parsed ({error}); it is not read, so ticket "
            f"{source_id or '(unknown)'} may miss a message"
        )

    def stage(
        self, store: StagingStore, role: str, item: JsonRecord, *, data: dict[str, Any]
    ) -> int:
        if role == MESSAGES:
            key = ticket_of(data, item.request_path)
            if key is None:
                return 1
            store.put_record(MESSAGES, key, StagedRecord(data, item.replaced_bytes, item.location))
            return 0
        stage_once(
            store, TICKETS, id_text(data.get("id")), item=item, data=data, later_wins=_more_messages
        )
        return 0

    def records(self, store: StagingStore, rules: GorgiasMapping) -> Iterator[SourceRecord]:
        for staged in store.of_kind(TICKETS):
            build = partial(self._ticket, store, staged, rules)
            yield read_safely(build, staged.staged_record.location, staged.key)
        yield from orphan_records(store, MESSAGES, TICKETS, child="message", parent="ticket")

    @staticmethod
    def _ticket(store: StagingStore, staged: Staged, rules: GorgiasMapping) -> SourceRecord:
        ticket = staged.staged_record
        messages = [message.staged_record for message in store.by_key(MESSAGES, staged.key)]
        record = ticket_record(
            ticket.data, ticket.location, rules, separate=[(m.data, m.location) for m in messages]
        )
        replaced = ticket.replaced + sum(m.replaced for m in messages)
        record.warnings[:0] = staged_notes(
            store, staged.key, replaced, location=ticket.location, duplicate=DUPLICATE
        )
        return record


READER = GorgiasReader()
