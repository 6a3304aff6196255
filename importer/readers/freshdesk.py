"""The Freshdesk reader: API JSON tickets and conversations, and ETL dumps of them, in any order.

What it reads, each record's role judged by its content
(:func:`~importer.readers.freshdesk_records.record_role`):

- ``tickets`` (API shape; ``requester`` and ``stats`` when the export asked for them; their
  ``conversations`` possibly embedded);
- ``conversations`` in their own files or streams, joined on ``ticket_id`` (or on the ticket id
  of the request path of a page keyed by it), in any order;
- ``contacts`` and ``agents`` for names and emails, ``ticket_fields`` for custom status and
  custom field labels.

Every record is staged on disk first (:class:`~importer.readers.staging.StagingStore`), so files
come in any order and memory stays bounded (ticket fields, a few dozen records, stay in memory;
people are looked up through a bounded cache); then each ticket is built by
:func:`~importer.readers.freshdesk_tickets.ticket_record`. Value choices are in
``mappings/freshdesk.toml``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from importer.findings import Finding
from importer.readers.base import Reader, RoleFile, RoutedItems, no_conversations
from importer.readers.containers import JsonRecord, id_after
from importer.readers.freshdesk_mapping import FreshdeskMapping, freshdesk_mapping
from importer.readers.freshdesk_records import (
    ROLES,
    Person,
    TicketFields,
    agent_person,
    contact_person,
    id_text,
    record_role,
)
from importer.readers.freshdesk_tickets import FreshdeskConversation, ticket_record
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagingStore
from importer.readers.text import encoding_message

TICKETS, CONVERSATIONS, CONTACTS, AGENTS, TICKET_FIELDS = ROLES
UNPARSED = "unparsed"
DUPLICATES = "duplicates"
BROKEN_CONVERSATIONS = "broken_conversations"
PEOPLE_CACHE_SIZE = 4096
_TICKET_ID_HINT = re.compile(r'"ticket_id"\s*:\s*"?(\d+)')


class _StagedPeople:
    """Contacts and agents looked up in the staging store by id, through a bounded cache."""

    def __init__(self, store: StagingStore) -> None:
        self.store = store
        self.has_contacts = store.count(CONTACTS) > 0
        self.has_agents = store.count(AGENTS) > 0
        self._cache: OrderedDict[tuple[str, str], Person | None] = OrderedDict()

    def _get(self, kind: str, user_id: str) -> Person | None:
        key = (kind, user_id)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        staged = self.store.first(kind, user_id)
        person = None if staged is None else Person(*staged.record)
        self._cache[key] = person
        if len(self._cache) > PEOPLE_CACHE_SIZE:
            self._cache.popitem(last=False)
        return person

    def agent(self, user_id: str) -> Person | None:
        return self._get(AGENTS, user_id) if self.has_agents else None

    def contact(self, user_id: str) -> Person | None:
        return self._get(CONTACTS, user_id) if self.has_contacts else None


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


class FreshdeskReader(Reader):
    """Freshdesk tickets with their conversations, contacts, agents and ticket fields."""

    info = FormatInfo(
        "freshdesk",
        "Freshdesk API JSON or ETL dumps (tickets with requester/stats, conversations)",
        "tickets JSON (conversations embedded or in their own files), contacts, agents, "
        "ticket_fields",
        True,
    )
    roles = ROLES

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return record_role(record, stream)

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        freshdesk_mapping(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        rules = freshdesk_mapping(mapping)
        routed = RoutedItems(self, files)
        fields = TicketFields()
        with StagingStore(workdir) as store:
            pending = self._stage(routed, store, fields)
            store.commit()
            people = _StagedPeople(store)
            pending = routed.take_warnings() + pending
            yielded = False
            for staged in store.of_kind(UNPARSED):
                record = _unparsed_record(staged)
                record.warnings[:0] = pending
                pending = []
                yielded = True
                yield record
            for staged in store.of_kind(TICKETS):
                build = partial(_ticket, store, staged, people, fields, rules)
                record = read_safely(build, staged.record[2], staged.key)
                record.warnings[:0] = pending
                pending = []
                yielded = True
                yield record
            for key, first, count in store.keys_without(CONVERSATIONS, TICKETS):
                error = Finding(
                    "read",
                    "ticket",
                    f"{count} conversation(s) of ticket {key} but not the ticket itself: add the "
                    "tickets file (or stream) of the export; the conversations are not read",
                    first.location,
                    key,
                )
                yield SourceRecord(first.location, None, key, error=error, warnings=pending)
                pending = []
                yielded = True
            if not yielded:  # an export without a ticket: its warnings still reach the report
                yield from no_conversations(self, files, pending)

    def _stage(
        self, routed: RoutedItems, store: StagingStore, fields: TicketFields
    ) -> list[Finding]:
        """Put every record in the store (ticket fields in ``fields``); warnings of the records
        that cannot be joined or looked up."""
        without_ticket: list[JsonRecord] = []
        unreadable: list[Finding] = []
        for role, item in routed:
            if item.data is None:
                finding = self._stage_unparsed(store, role, item)
                if finding is not None:
                    unreadable.append(finding)
                continue
            data = item.data
            if role == TICKETS:
                self._stage_ticket(store, item)
            elif role == CONVERSATIONS:
                key = conversation_ticket_id(item)
                if key is None:
                    without_ticket.append(item)
                    continue
                store.put(CONVERSATIONS, key, item.location, [data, item.replaced_bytes])
            elif role == TICKET_FIELDS:
                fields.add(data)
            elif role in (CONTACTS, AGENTS):
                person = agent_person(data) if role == AGENTS else contact_person(data)
                if person.id is not None:
                    store.put(role, person.id, item.location, _person_row(person))
        if without_ticket:
            first = without_ticket[0]
            unreadable.append(
                Finding(
                    "read",
                    "ticket_id",
                    f"{len(without_ticket)} conversation(s) exported on their own name no "
                    f"ticket_id (first at {first.location}); they are not read: export "
                    "conversations with their ticket id, or the tickets with their conversations",
                    first.location,
                )
            )
        return unreadable

    @staticmethod
    def _stage_unparsed(store: StagingStore, role: str, item: JsonRecord) -> Finding | None:
        """A record that cannot be parsed: a ticket becomes an invalid conversation, a
        conversation (its text names a ``ticket_id``) an error of its ticket, a person or a
        field one warning."""
        found = _TICKET_ID_HINT.search(item.raw_text or "")
        if role == TICKETS and found is None:
            store.put(UNPARSED, item.id_hint, item.location, [item.error, item.raw_text])
            return None
        if role in (TICKETS, CONVERSATIONS):  # a ``ticket_id`` makes it a conversation
            if found:
                store.put(BROKEN_CONVERSATIONS, found.group(1), item.location, item.error)
                return None
            store.put(UNPARSED, item.id_hint, item.location, [item.error, item.raw_text])
            return None
        return Finding(
            "read",
            "parse",
            f"a record of the Freshdesk {role} cannot be parsed ({item.error}); what it held is "
            "not read, so a message may miss a name or a field its label",
            item.location,
        )

    @staticmethod
    def _stage_ticket(store: StagingStore, item: JsonRecord) -> None:
        """Stage a ticket as ``[data, replaced bytes, location]``; a ticket seen again (a list
        page and the full object) keeps the copy that says more, the other noted as duplicate."""
        assert item.data is not None
        key = id_text(item.data.get("id")) or id_text(item.data.get("display_id"))
        staged = [item.data, item.replaced_bytes, item.location]
        earlier = store.first(TICKETS, key) if key is not None else None
        if earlier is None:
            store.put(TICKETS, key, item.location, staged)
            return
        kept, _, kept_location = earlier.record
        if _more_complete(item.data, kept):
            store.replace(earlier.seq, staged)
            store.put(DUPLICATES, key, kept_location, None)
        else:
            store.put(DUPLICATES, key, item.location, None)


def _ticket(
    store: StagingStore,
    staged: Staged,
    people: _StagedPeople,
    fields: TicketFields,
    rules: FreshdeskMapping,
) -> SourceRecord:
    """The conversation of one staged ticket, with its conversations, notes and left-outs."""
    data, replaced, location = staged.record
    conversations = list(store.by_key(CONVERSATIONS, staged.key))
    record = ticket_record(
        data,
        location,
        [FreshdeskConversation(c.record[0], c.location) for c in conversations],
        people,
        fields,
        rules,
    )
    replaced += sum(c.record[1] for c in conversations)
    record.warnings[:0] = _notes(store, staged, replaced, location)
    record.left_out[:0] = _broken_conversations(store, staged)
    return record


def _notes(store: StagingStore, staged: Staged, replaced: int, location: str) -> list[Finding]:
    """Encoding and duplicate warnings of one ticket."""
    notes: list[Finding] = []
    if replaced:
        notes.append(Finding("read", "encoding", encoding_message(replaced), location, staged.key))
    if staged.key is None:
        return notes
    for duplicate in store.by_key(DUPLICATES, staged.key):
        notes.append(
            Finding(
                "read",
                "duplicate",
                f"ticket {staged.key} is in the export twice; the copy at {duplicate.location} "
                "is passed over for the one that says more",
                location,
                staged.key,
            )
        )
    return notes


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


def _unparsed_record(staged: Staged) -> SourceRecord:
    """The invalid conversation of a ticket (or an unjoinable conversation) not parsed."""
    error, raw_text = staged.record
    finding = Finding("read", "parse", error, staged.location, staged.key)
    return SourceRecord(staged.location, None, staged.key, error=finding, raw_text=raw_text)


READER = FreshdeskReader()
