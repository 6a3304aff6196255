"""The NoDesk reader: tickets and their messages, joined on ``nodesk_ticket``, in any file order.

A NoDesk export holds tickets (``{"nodesk_ticket": "T-1", "title": ..., "requester": {...}}``)
and messages (``{"nodesk_ticket": "T-1", "nodesk_message": "M-1", "from": "agent", ...}``), in
any container (JSON arrays, NDJSON, wrapped lists) and any number of files. Every record is
staged on disk first; then each ticket becomes one conversation with its messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import Field

from importer.findings import Finding
from importer.readers.base import Reader, RoleFile, RoutedItems, no_conversations
from importer.readers.mapping_rules import Table, checked
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import StagingStore

TICKETS = "tickets"
MESSAGES = "messages"
UNPARSED = "unparsed"


class NoDeskMapping(Table):
    """The keys of ``mapping.toml``, checked: a wrong one stops the import before reading."""

    source: str = "nodesk"
    statuses: dict[str, str] = Field(default_factory=dict)


def _id(value: Any) -> str | None:
    return None if value is None or isinstance(value, bool) else str(value).strip() or None


def _message(data: Mapping[str, Any]) -> dict[str, Any]:
    """One canonical message of a NoDesk message record."""
    return {
        "source_id": _id(data.get("nodesk_message")),
        "created_at": data.get("sent"),
        "author_role": "agent" if data.get("from") == "agent" else "customer",
        "author_email": data.get("author"),
        "body_text": data.get("text"),
        "private": data.get("internal") is True,
    }


def conversation(
    ticket: Mapping[str, Any],
    location: str,
    messages: Sequence[tuple[Mapping[str, Any], str]],
    rules: NoDeskMapping,
) -> SourceRecord:
    """The canonical conversation of one ticket and its ``(message, location)`` pairs."""
    source_id = _id(ticket.get("nodesk_ticket"))
    requester = ticket.get("requester") or {}
    first, _, last = str(requester.get("name") or "").partition(" ")
    state = str(ticket.get("state") or "")
    data = {
        "source_id": source_id,
        "source": rules.source,
        "subject": ticket.get("title"),
        "status": rules.statuses.get(state, state or None),
        "created_at": ticket.get("opened"),
        "tags": list(ticket.get("labels") or []),
        "customer": {"email": requester.get("email"), "first_name": first, "last_name": last},
        "messages": [_message(message) for message, _ in messages],
    }
    return SourceRecord(
        location, data, source_id, message_locations=[where for _, where in messages]
    )


class NoDeskReader(Reader):
    """NoDesk tickets with their messages (two roles, staged and joined)."""

    info = FormatInfo(
        "nodesk",
        "NoDesk JSON export (tickets and their messages)",
        "tickets and messages JSON or NDJSON, in any files",
        True,
    )
    roles = (TICKETS, MESSAGES)

    def owns(self, record: Mapping[str, Any], stream: str | None) -> bool:
        return "nodesk_ticket" in record  # a key no other platform writes

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        if not self.owns(record, stream):
            return None
        return MESSAGES if "nodesk_message" in record else TICKETS

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        checked(NoDeskMapping, mapping, "nodesk")

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        rules = checked(NoDeskMapping, mapping, "nodesk")
        routed = RoutedItems(self, files)
        with StagingStore(workdir) as store:
            for role, item in routed:
                if item.data is None:  # cannot be parsed: staged, then one invalid record
                    store.put(
                        UNPARSED, item.id_hint, item.location, record=[item.error, item.raw_text]
                    )
                else:
                    key = _id(item.data.get("nodesk_ticket"))
                    store.put(role, key, item.location, record=item.data)
            store.commit()
            pending = routed.take_warnings()  # streams passed over: go with the first record
            count = 0
            for record in self._records(store, rules):
                record.warnings[:0], pending = pending, []
                count += 1
                yield record
            if not count:
                yield from no_conversations(self, files, pending)

    def _records(self, store: StagingStore, rules: NoDeskMapping) -> Iterator[SourceRecord]:
        for staged in store.of_kind(UNPARSED):
            error, raw_text = staged.record
            finding = Finding("read", "parse", error, staged.location, staged.key)
            yield SourceRecord(staged.location, None, staged.key, error=finding, raw_text=raw_text)
        for ticket in store.of_kind(TICKETS):
            messages = [(m.record, m.location) for m in store.by_key(MESSAGES, ticket.key)]
            build = partial(conversation, ticket.record, ticket.location, messages, rules)
            yield read_safely(build, ticket.location, ticket.key)
        for key, first, count in store.keys_without(MESSAGES, TICKETS):
            message = f"{count} message(s) of ticket {key}, which is not in the export"
            finding = Finding("read", "ticket", message, first.location, key)
            yield SourceRecord(first.location, None, key, error=finding)


READER = NoDeskReader()
