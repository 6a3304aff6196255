"""The Intercom reader: REST API conversations and ETL dumps of them, in any file order.

What it reads, each record's role judged by its content (:func:`intercom_role`):

- ``conversations``: conversation objects (API 2.x, or 1.x with ``conversation_message``), their
  parts nested under ``conversation_parts`` or not;
- ``conversation_parts``: parts as their own stream (Airbyte, Singer), joined on
  ``conversation_id``, in any order;
- ``contacts``, ``admins`` (also the items of ``{"type": "admin.list", "admins": [...]}``) and
  ``teams``: the people that give authors and customers their emails and names.

Every record is staged on disk first (:class:`~importer.readers.staging.StagingStore`), so files
come in any order and memory stays bounded; then each conversation is built by
:func:`~importer.readers.intercom_conversation.conversation_record`. The value choices are in
``mappings/intercom.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from importer.findings import Finding
from importer.readers.base import Reader, RoleFile, RoutedItems, no_conversations
from importer.readers.containers import JsonRecord
from importer.readers.intercom_conversation import conversation_record
from importer.readers.intercom_fields import People, id_text, nested_parts
from importer.readers.intercom_mapping import IntercomMapping, intercom_mapping
from importer.readers.signs import other_platform
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagingStore
from importer.readers.text import encoding_message

CONVERSATIONS = "conversations"
PARTS = "conversation_parts"
CONTACTS = "contacts"
ADMINS = "admins"
TEAMS = "teams"
UNPARSED = "unparsed"
DUPLICATES = "duplicates"

#: keys only an Intercom conversation object has (any two of them, or one and a ``source`` object)
CONVERSATION_SIGNS = frozenset(
    {
        "conversation_parts",
        "conversation_message",
        "waiting_since",
        "snoozed_until",
        "admin_assignee_id",
        "team_assignee_id",
        "conversation_rating",
        "statistics",
        "teammates",
        "contacts",
        "sla_applied",
        "first_contact_reply",
    }
)
PART_SIGNS = frozenset({"part_type", "notified_at", "assigned_to", "redacted", "external_id"})
CONTACT_SIGNS = frozenset(
    {
        "workspace_id",
        "signed_up_at",
        "last_seen_at",
        "last_replied_at",
        "last_contacted_at",
        "has_hard_bounced",
        "marked_email_as_spam",
        "unsubscribed_from_emails",
        "social_profiles",
        "android_app_name",
        "ios_app_name",
        "browser_language",
    }
)
ADMIN_SIGNS = frozenset(
    {"away_mode_enabled", "away_mode_reassign", "has_inbox_seat", "team_ids", "team_priority_level"}
)
PERSON_STREAMS = {"contacts": CONTACTS, "admins": ADMINS, "teams": TEAMS}
_CONVERSATION_ID_HINT = re.compile(r'"conversation_id"\s*:\s*"?([^",}\s]+)')


def _typed_role(kind: str, record: Mapping[str, Any], keys: set[str]) -> str | None:
    """The role of a record that says its Intercom ``type``."""
    if kind == "conversation":
        return CONVERSATIONS
    if kind == "conversation_part":
        return PARTS
    has_id = "id" in keys
    contact_signs = {"email", "name", "role", "phone"} | CONTACT_SIGNS
    if kind in ("contact", "user", "lead") and has_id and keys & contact_signs:
        return CONTACTS
    if kind == "admin" and has_id and keys & ({"email", "name"} | ADMIN_SIGNS):
        return ADMINS
    if kind == "team" and has_id and keys & {"name", "admin_ids"}:
        return TEAMS
    return None


def intercom_role(record: Mapping[str, Any], stream: str | None) -> str | None:
    """The role of one JSON record in an Intercom export, by its content.

    No single key is required (ETL tools drop ``type`` and empty fields): a record's ``type``
    decides when present, else the keys only Intercom writes. ``stream`` is a hint for people
    records that carry little more than an id, an email and a name. ``None``: not an Intercom
    record this reader uses (a Freshdesk ``conversations`` record, an Intercom tag, ...), or a
    record that is plainly another platform's (:func:`~importer.readers.signs.other_platform`).
    """
    if other_platform(record, "intercom") is not None:
        return None
    keys = set(record)
    kind = str(record.get("type") or "").strip().lower()
    if kind:
        return _typed_role(kind, record, keys)
    if "part_type" in keys or (len(keys & PART_SIGNS) >= 2 and {"author", "body"} <= keys):
        return PARTS
    signs = keys & CONVERSATION_SIGNS
    if "id" in keys and (len(signs) >= 2 or (signs and isinstance(record.get("source"), Mapping))):
        return CONVERSATIONS
    if "id" in keys and len(keys & CONTACT_SIGNS) >= 3:
        return CONTACTS
    if "id" in keys and keys & ADMIN_SIGNS:
        return ADMINS
    if "id" in keys and {"name", "admin_ids"} <= keys:
        return TEAMS
    hinted = PERSON_STREAMS.get((stream or "").strip().lower())
    if hinted and "id" in keys and keys & {"email", "name"} and not signs:
        return hinted
    return None


def part_conversation_id(part: Mapping[str, Any]) -> str | None:
    """The conversation a separately exported part belongs to."""
    conversation = part.get("conversation")
    if isinstance(conversation, Mapping):
        return id_text(conversation.get("id"))
    return id_text(part.get("conversation_id"))


class _StagedPeople:
    """People of one kind looked up in the staging store by id."""

    def __init__(self, store: StagingStore, kind: str) -> None:
        self.store = store
        self.kind = kind

    def get(self, key: str, /) -> Mapping[str, Any] | None:
        staged = self.store.first(self.kind, key)
        if staged is None or not isinstance(staged.record, list):
            return None
        record: Mapping[str, Any] = staged.record[0]
        return record


def _unparsed_record(staged: Staged) -> SourceRecord:
    """The invalid record of a line that could not be parsed."""
    role, error, raw_text, source_id = staged.record
    message = error
    if role != CONVERSATIONS:
        message = (
            f"a record of the Intercom {role} cannot be parsed ({error}); what it held is not "
            "read, so a conversation may miss a message or a name"
        )
    finding = Finding("read", "parse", message, staged.location, source_id)
    return SourceRecord(staged.location, None, source_id, error=finding, raw_text=raw_text)


class IntercomReader(Reader):
    """Intercom conversations with their parts, contacts, admins and teams."""

    info = FormatInfo(
        "intercom",
        "Intercom API JSON or ETL dumps (conversations with conversation_parts)",
        "conversations JSON (parts nested or as their own stream), contacts, admins, teams",
        True,
    )
    roles = (CONVERSATIONS, PARTS, CONTACTS, ADMINS, TEAMS)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return intercom_role(record, stream)

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        intercom_mapping(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        rules = intercom_mapping(mapping)
        routed = RoutedItems(self, files)
        with StagingStore(workdir) as store:
            unjoined = self._stage(routed, store)
            store.commit()
            people = People(
                contacts=_StagedPeople(store, CONTACTS),
                admins=_StagedPeople(store, ADMINS),
                teams=_StagedPeople(store, TEAMS),
                contacts_given=store.count(CONTACTS) > 0,
            )
            pending = routed.take_warnings() + unjoined
            yielded = False
            for staged in store.of_kind(UNPARSED):
                record = _unparsed_record(staged)
                record.warnings[:0] = pending
                pending = []
                yielded = True
                yield record
            for staged in store.of_kind(CONVERSATIONS):
                build = partial(self._conversation, store, staged, rules, people)
                record = read_safely(build, staged.record[2], staged.key)
                record.warnings[:0] = pending
                pending = []
                yielded = True
                yield record
            for key, first, count in store.keys_without(PARTS, CONVERSATIONS):
                error = Finding(
                    "read",
                    "conversation",
                    f"{count} part(s) of conversation {key} but not the conversation itself: "
                    "add the conversations file (or stream) of the export; the parts are not read",
                    first.location,
                    key,
                )
                yield SourceRecord(first.location, None, key, error=error, warnings=pending)
                pending = []
                yielded = True
            if not yielded:  # an export without a conversation: its warnings reach the report
                yield from no_conversations(self, files, pending)

    def _stage(self, routed: RoutedItems, store: StagingStore) -> list[Finding]:
        """Put every record in the store; the warnings of parts that name no conversation."""
        without_conversation = 0  # parts that name no conversation: counted, first one kept
        first_without: str | None = None
        for role, item in routed:
            if item.data is None:
                hint = item.id_hint
                if role == PARTS and item.raw_text:
                    found = _CONVERSATION_ID_HINT.search(item.raw_text)
                    hint = found.group(1) if found else None
                store.put(UNPARSED, hint, item.location, [role, item.error, item.raw_text, hint])
                continue
            key = part_conversation_id(item.data) if role == PARTS else id_text(item.data.get("id"))
            if key is None:
                if role == PARTS:
                    without_conversation += 1
                    first_without = first_without or item.location
                    continue
                if role != CONVERSATIONS:
                    continue  # a person without an id cannot be looked up
            if role == CONVERSATIONS and key is not None:
                self._stage_conversation(store, key, item)
                continue
            store.put(role, key, item.location, [item.data, item.replaced_bytes])
        if first_without is None:
            return []
        return [
            Finding(
                "read",
                "conversation_id",
                f"{without_conversation} conversation part(s) exported on their own name no "
                f"conversation_id (first at {first_without}); they are not read: export parts "
                "with their conversation id, or the conversations with their parts",
                first_without,
            )
        ]

    @staticmethod
    def _stage_conversation(store: StagingStore, key: str, item: JsonRecord) -> None:
        """Stage a conversation as ``[data, replaced bytes, location]``; one seen again (a list
        page and the full object) keeps the copy with more nested parts, and the copy not read
        is noted under ``duplicates`` for a warning."""
        assert item.data is not None
        earlier = store.first(CONVERSATIONS, key)
        staged = [item.data, item.replaced_bytes, item.location]
        if earlier is None:
            store.put(CONVERSATIONS, key, item.location, staged)
            return
        kept, _, kept_location = earlier.record
        if len(nested_parts(item.data)) > len(nested_parts(kept)):
            store.replace(earlier.seq, staged)
            store.put(DUPLICATES, key, kept_location, None)
        else:
            store.put(DUPLICATES, key, item.location, None)

    @staticmethod
    def _conversation(
        store: StagingStore, staged: Staged, rules: IntercomMapping, people: People
    ) -> SourceRecord:
        conversation, replaced, location = staged.record
        parts = list(store.by_key(PARTS, staged.key))
        record = conversation_record(
            conversation, location, rules, people, [(p.record[0], p.location) for p in parts]
        )
        replaced += sum(p.record[1] for p in parts)
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
                    f"conversation {staged.key} is in the export twice; the copy at "
                    f"{duplicate.location} is passed over for the one with more parts",
                    location,
                    staged.key,
                )
            )
        record.warnings[:0] = notes
        return record


READER = IntercomReader()
