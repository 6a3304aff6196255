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
:func:`~importer.readers.intercom.conversation.conversation_record`. The value choices are in
``mappings/intercom.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from importer.readers.common import (
    StagedLookup,
    StagedReader,
    id_text,
    orphan_records,
    stage_once,
    staged_data,
    staged_notes,
)
from importer.readers.containers import JsonRecord
from importer.readers.intercom.conversation import conversation_record
from importer.readers.intercom.fields import People, nested_parts
from importer.readers.intercom.mapping import IntercomMapping, intercom_mapping
from importer.readers.intercom.signs import INTERCOM_SIGN_KEYS, is_intercom
from importer.readers.signs import other_platform
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagedRecord, StagingStore

CONVERSATIONS = "conversations"
PARTS = "conversation_parts"
CONTACTS = "contacts"
ADMINS = "admins"
TEAMS = "teams"
DUPLICATE = (
    "conversation {key} is in the export twice; the copy at {where} is passed over for the one "
    "with more parts"
)

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


def _more_parts(later: dict[str, Any], kept: dict[str, Any]) -> bool:
    return len(nested_parts(later)) > len(nested_parts(kept))


#: people (contacts, admins, teams) kept in memory once looked up, per kind
PEOPLE_CACHED = 4096


class IntercomReader(StagedReader[IntercomMapping]):
    """Intercom conversations with their parts, contacts, admins and teams."""

    detection_place = 50
    info = FormatInfo(
        "intercom",
        "Intercom API JSON or ETL dumps (conversations with conversation_parts)",
        "conversations JSON (parts nested or as their own stream), contacts, admins, teams",
        True,
        "Intercom",
    )
    roles = (CONVERSATIONS, PARTS, CONTACTS, ADMINS, TEAMS)
    sign_keys = INTERCOM_SIGN_KEYS
    unjoined_warning = (
        "conversation_id",
        "{count} conversation part(s) exported on their own name no conversation_id (first at "
        "{first}); they are not read: export parts with their conversation id, or the "
        "conversations with their parts",
    )
    parent_id_patterns = {PARTS: _CONVERSATION_ID_HINT}

    def owns(self, record: Mapping[str, Any], stream: str | None) -> bool:
        return is_intercom(record)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return intercom_role(record, stream)

    def mapping_rules(self, mapping: dict[str, Any]) -> IntercomMapping:
        return intercom_mapping(mapping)

    def stage(
        self, store: StagingStore, role: str, item: JsonRecord, *, data: dict[str, Any]
    ) -> int:
        if role == PARTS:
            key = part_conversation_id(data)
            if key is None:
                return 1  # a part that names no conversation: counted, the first one kept
            store.put_record(PARTS, key, StagedRecord(data, item.replaced_bytes, item.location))
            return 0
        key = id_text(data.get("id"))
        if role == CONVERSATIONS:
            stage_once(store, CONVERSATIONS, key, item=item, data=data, later_wins=_more_parts)
        elif key is not None:  # a person without an id cannot be looked up
            store.put_record(role, key, StagedRecord(data, item.replaced_bytes, item.location))
        return 0

    def records(self, store: StagingStore, rules: IntercomMapping) -> Iterator[SourceRecord]:
        people = People(  # each person looked up once a slice, not once a message
            contacts=StagedLookup(store, CONTACTS, staged_data, cached=PEOPLE_CACHED),
            admins=StagedLookup(store, ADMINS, staged_data, cached=PEOPLE_CACHED),
            teams=StagedLookup(store, TEAMS, staged_data, cached=PEOPLE_CACHED),
            contacts_given=store.count(CONTACTS) > 0,
        )
        for staged in store.of_kind(CONVERSATIONS):
            build = partial(self._conversation, store, staged, rules, people=people)
            yield read_safely(build, staged.staged_record.location, staged.key)
        yield from orphan_records(store, PARTS, CONVERSATIONS, child="part", parent="conversation")

    @staticmethod
    def _conversation(
        store: StagingStore, staged: Staged, rules: IntercomMapping, *, people: People
    ) -> SourceRecord:
        conversation = staged.staged_record
        parts = [part.staged_record for part in store.by_key(PARTS, staged.key)]
        record = conversation_record(
            conversation.data,
            conversation.location,
            rules,
            people=people,
            separate_parts=[(part.data, part.location) for part in parts],
        )
        replaced = conversation.replaced + sum(part.replaced for part in parts)
        record.warnings[:0] = staged_notes(
            store, staged.key, replaced, location=conversation.location, duplicate=DUPLICATE
        )
        return record


READER = IntercomReader()
