"""The Freshdesk reader: API JSON tickets and conversations, and ETL dumps of them, in any order.

What it reads, each record's role judged by its content
(:func:`~importer.readers.freshdesk.records.record_role`):

- ``tickets`` (API shape; ``requester`` and ``stats`` when the export asked for them; their
  ``conversations`` possibly embedded);
- ``conversations`` in their own files or streams, joined on ``ticket_id`` (or on the ticket id
  of the request path of a page keyed by it), in any order;
- ``contacts`` and ``agents`` for names and emails, ``ticket_fields`` for custom status and
  custom field labels.

Every record is staged on disk first (:class:`~importer.readers.staging.StagingStore`), so files
come in any order and memory stays bounded (ticket fields, a few dozen records, are taken into
memory before the tickets are built; people are looked up through a bounded cache); then each
ticket is built by :func:`~importer.readers.freshdesk.tickets.ticket_record`. Value choices are in
``mappings/freshdesk.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from importer.findings import Finding
from importer.readers.common import (
    StagedLookup,
    StagedReader,
    id_in_text,
    id_text,
    orphan_records,
    stage_once,
    staged_notes,
)
from importer.readers.containers import JsonRecord, id_after
from importer.readers.freshdesk.mapping import FreshdeskMapping, freshdesk_mapping
from importer.readers.freshdesk.messages import FreshdeskConversation
from importer.readers.freshdesk.records import (
    ROLES,
    Person,
    TicketFields,
    agent_person,
    contact_person,
    record_role,
)
from importer.readers.freshdesk.signs import FRESHDESK_SIGN_KEYS, is_freshdesk
from importer.readers.freshdesk.tickets import ticket_record
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagedRecord, StagingStore

TICKETS, CONVERSATIONS, CONTACTS, AGENTS, TICKET_FIELDS = ROLES
BROKEN_CONVERSATIONS = "broken_conversations"
PEOPLE_CACHE_SIZE = 4096
_TICKET_ID_HINT = re.compile(r'"ticket_id"\s*:\s*"?(\d+)')
DUPLICATE = (
    "ticket {key} is in the export twice; the copy at {where} is passed over for the one that "
    "says more"
)


def _person(row: list[Any]) -> Person:
    return Person(*row)


class _StagedPeople:
    """Contacts and agents looked up in the staging store by id, through bounded caches."""

    def __init__(self, store: StagingStore) -> None:
        self.has_contacts = store.count(CONTACTS) > 0
        self.has_agents = store.count(AGENTS) > 0
        self._agents = StagedLookup(store, AGENTS, _person, cached=PEOPLE_CACHE_SIZE)
        self._contacts = StagedLookup(store, CONTACTS, _person, cached=PEOPLE_CACHE_SIZE)

    def agent(self, user_id: str) -> Person | None:
        return self._agents.get(user_id) if self.has_agents else None

    def contact(self, user_id: str) -> Person | None:
        return self._contacts.get(user_id) if self.has_contacts else None


def _person_row(person: Person) -> list[Any]:
    return [person.id, person.name, person.email, person.phone, person.job_title, person.is_agent]


def conversation_ticket_id(item: JsonRecord) -> str | None:
    """The ticket a conversation exported on its own belongs to."""
    assert item.data is not None
    return id_text(item.data.get("ticket_id")) or id_after(item.request_path, "tickets")


def _more_complete(candidate: dict[str, Any], kept: dict[str, Any]) -> bool:
    """Whether a second copy of a ticket says more (the full object after a list page)."""

    def weight(ticket: dict[str, Any]) -> tuple[int, int, int]:
        has_description = any(ticket.get(k) for k in ("description", "description_text"))
        embedded = ticket.get("conversations")
        return (
            int(has_description),
            len(embedded) if isinstance(embedded, list) else 0,
            len(ticket),
        )

    return weight(candidate) > weight(kept)


class FreshdeskReader(StagedReader[FreshdeskMapping]):
    """Freshdesk tickets with their conversations, contacts, agents and ticket fields."""

    detection_place = 40
    info = FormatInfo(
        "freshdesk",
        "Freshdesk API JSON or ETL dumps (tickets with requester/stats, conversations)",
        "tickets JSON (conversations embedded or in their own files), contacts, agents, "
        "ticket_fields",
        True,
        "Freshdesk",
    )
    roles = ROLES
    sign_keys = FRESHDESK_SIGN_KEYS
    unjoined_warning = (
        "ticket_id",
        "{count} conversation(s) exported on their own name no ticket_id (first at {first}); "
        "they are not read: export conversations with their ticket id, or the tickets with "
        "their conversations",
    )

    def owns(self, record: Mapping[str, Any], stream: str | None) -> bool:
        return is_freshdesk(record)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return record_role(record, stream)

    def mapping_rules(self, mapping: dict[str, Any]) -> FreshdeskMapping:
        return freshdesk_mapping(mapping)

    def stage(
        self, store: StagingStore, role: str, item: JsonRecord, *, data: dict[str, Any]
    ) -> int:
        if role == TICKETS:
            key = id_text(data.get("id")) or id_text(data.get("display_id"))
            stage_once(store, TICKETS, key, item=item, data=data, later_wins=_more_complete)
        elif role == CONVERSATIONS:
            key = conversation_ticket_id(item)
            if key is None:
                return 1
            staged = StagedRecord(data, item.replaced_bytes, item.location)
            store.put_record(CONVERSATIONS, key, staged)
        elif role == TICKET_FIELDS:
            store.put(TICKET_FIELDS, None, item.location, record=data)
        elif role in (CONTACTS, AGENTS):
            person = agent_person(data) if role == AGENTS else contact_person(data)
            if person.id is not None:
                store.put(role, person.id, item.location, record=_person_row(person))
        return 0

    def stage_unparsed(self, store: StagingStore, role: str, item: JsonRecord) -> Finding | None:
        """A record that cannot be parsed: a ticket becomes an invalid conversation, a
        conversation (its text names a ``ticket_id``) an error of its ticket, a person or a
        field one warning."""
        if role not in (TICKETS, CONVERSATIONS):
            return Finding(
                "read",
                "parse",
                f"a record of the Freshdesk {role} cannot be parsed ({item.error}); what it held "
                "is not read, so a message may miss a name or a field its label",
                item.location,
            )
        ticket_id = id_in_text(_TICKET_ID_HINT, item.raw_text)
        if ticket_id is not None:  # a ``ticket_id`` makes it a conversation
            store.put(BROKEN_CONVERSATIONS, ticket_id, item.location, record=item.error)
            return None
        return super().stage_unparsed(store, TICKETS, item)  # an invalid conversation

    def records(self, store: StagingStore, rules: FreshdeskMapping) -> Iterator[SourceRecord]:
        fields = TicketFields()
        for staged in store.of_kind(TICKET_FIELDS):
            fields.add(staged.record)
        people = _StagedPeople(store)
        for staged in store.of_kind(TICKETS):
            build = partial(_ticket, store, staged, people, fields=fields, rules=rules)
            yield read_safely(build, staged.staged_record.location, staged.key)
        yield from orphan_records(
            store, CONVERSATIONS, TICKETS, child="conversation", parent="ticket"
        )


def _ticket(
    store: StagingStore,
    staged: Staged,
    people: _StagedPeople,
    *,
    fields: TicketFields,
    rules: FreshdeskMapping,
) -> SourceRecord:
    """The conversation of one staged ticket, with its conversations, notes and left-outs."""
    ticket = staged.staged_record
    conversations = [c.staged_record for c in store.by_key(CONVERSATIONS, staged.key)]
    record = ticket_record(
        ticket.data,
        ticket.location,
        [FreshdeskConversation(c.data, c.location) for c in conversations],
        people=people,
        fields=fields,
        mapping=rules,
    )
    replaced = ticket.replaced + sum(c.replaced for c in conversations)
    record.warnings[:0] = staged_notes(
        store, staged.key, replaced, location=ticket.location, duplicate=DUPLICATE
    )
    record.left_out[:0] = _broken_conversations(store, staged)
    return record


def _broken_conversations(store: StagingStore, staged: Staged) -> list[Finding]:
    """The conversations of a ticket that could not be parsed: each a message left out."""
    if staged.key is None:
        return []
    return [
        Finding(
            "read",
            "parse",
            f"a conversation of this ticket cannot be parsed ({broken.record}); the message is "
            "left out: fix the record and read the export again",
            broken.location,
            staged.key,
        )
        for broken in store.by_key(BROKEN_CONVERSATIONS, staged.key)
    ]


READER = FreshdeskReader()
