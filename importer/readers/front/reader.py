"""The Front reader: Core API conversations, messages and comments, in any file order.

What it reads, each record's role judged by its content (:func:`front_role`):

- ``conversations`` (``cnv_`` ids): subject, status, recipient, assignee, tags, custom fields;
  their messages and comments may be nested (``messages``/``comments``, bare lists or pages
  ``{"_results": [...]}``);
- ``conversation_messages`` (``msg_``) and ``comments`` (``com_``) as their own stream or files
  (pages of ``GET /conversations/{id}/messages`` saved as they came, ETL streams), joined on the
  conversation id of their ``_links.related.conversation``, a ``conversation_id`` key, or the
  request path of a dump keyed by path; messages whose conversation record is not in the export
  make a conversation of their own (with a warning);
- ``teammates`` (``tea_``) and ``contacts`` (``crd_``): names and emails of authors and customers.

Every record is staged on disk first (:class:`~importer.readers.staging.StagingStore`), then each
conversation is built by :func:`~importer.readers.front.conversation.conversation_record`. The
value choices are in ``mappings/front.toml``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, NamedTuple

from importer.findings import Finding
from importer.readers.common import (
    StagedLookup,
    StagedReader,
    id_text,
    stage_once,
    staged_data,
    staged_notes,
)
from importer.readers.containers import JsonRecord, id_after
from importer.readers.front.conversation import conversation_record, link_id, results
from importer.readers.front.mapping import FrontMapping, front_mapping
from importer.readers.front.signs import FRONT_ID, FRONT_SIGN_KEYS, is_front
from importer.readers.signs import other_platform
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagedRecord, StagingStore

CONVERSATIONS = "conversations"
MESSAGES = "conversation_messages"
COMMENTS = "comments"
TEAMMATES = "teammates"
CONTACTS = "contacts"
DUPLICATE = "conversation {key} is in the export twice; the copy at {where} is passed over"

ROLE_BY_PREFIX = {
    "cnv": CONVERSATIONS,
    "msg": MESSAGES,
    "com": COMMENTS,
    "tea": TEAMMATES,
    "crd": CONTACTS,
    "ctc": CONTACTS,
}
CONVERSATION_SIGNS = frozenset(
    {"recipient", "scheduled_reminders", "is_private", "waiting_since", "status_category", "links"}
)
MESSAGE_SIGNS = frozenset({"is_inbound", "blurb", "recipients", "draft_mode", "is_draft"})
TEAMMATE_SIGNS = frozenset({"username", "is_admin", "is_available", "is_blocked"})
CONTACT_SIGNS = frozenset({"handles", "is_spammer", "avatar_url", "groups", "lists"})


def front_role(record: Mapping[str, Any], stream: str | None) -> str | None:
    """The role of one JSON record in a Front export, by its content.

    A Front id's prefix decides (``cnv_``, ``msg_``, ``com_``, ``tea_``, ``crd_``; other Front
    resources such as tags and inboxes are not read); without one (an ETL tool that renamed or
    dropped it), two keys only that kind of record has. ``stream`` is not needed. ``None``: not
    a Front record this reader uses, or plainly another platform's.
    """
    if other_platform(record, "front") is not None:
        return None
    ident = str(record.get("id") or "")
    if FRONT_ID.match(ident):
        return ROLE_BY_PREFIX.get(ident.split("_", 1)[0])
    keys = set(record)
    if len(keys & MESSAGE_SIGNS) >= 2 or ("is_inbound" in keys and "body" in keys):
        return MESSAGES
    if "posted_at" in keys and keys & {"body", "author"}:
        return COMMENTS
    if len(keys & CONVERSATION_SIGNS) >= 2 and keys & {"subject", "status", "recipient"}:
        return CONVERSATIONS
    if len(keys & TEAMMATE_SIGNS) >= 2:
        return TEAMMATES
    if len(keys & CONTACT_SIGNS) >= 2 and is_front(record):
        return CONTACTS
    return None


def conversation_of(record: Mapping[str, Any], request_path: str | None) -> str | None:
    """The conversation a separately exported message or comment belongs to."""
    conversation = record.get("conversation")
    if isinstance(conversation, Mapping):
        return id_text(conversation.get("id"))
    return (
        id_text(record.get("conversation_id"))
        or link_id(record, "conversation")
        or id_after(request_path, "conversations")
    )


def _nested_count(conversation: Mapping[str, Any]) -> int:
    return len(results(conversation.get("messages"))) + len(results(conversation.get("comments")))


def _more_nested(later: dict[str, Any], kept: dict[str, Any]) -> bool:
    return _nested_count(later) > _nested_count(kept)


#: teammates and contacts kept in memory once looked up, per kind (a slice's conversations name
#: the same people again and again: each lookup was a query and a decode)
PEOPLE_CACHED = 4096


class _People(NamedTuple):
    """The slice's lookups of teammates and contacts, shared by its conversations."""

    teammates: StagedLookup[Mapping[str, Any]]
    contacts: StagedLookup[Mapping[str, Any]]


class FrontReader(StagedReader[FrontMapping]):
    """Front conversations with their messages, comments, teammates and contacts."""

    detection_place = 60
    decisive_signs = True
    info = FormatInfo(
        "front",
        "Front Core API JSON or ETL dumps (conversations, messages, comments)",
        "conversations JSON, messages and comments (nested or pages of their own), "
        "teammates, contacts",
        True,
        "Front",
    )
    roles = (CONVERSATIONS, MESSAGES, COMMENTS, TEAMMATES, CONTACTS)
    sign_keys = FRONT_SIGN_KEYS
    unjoined_warning = (
        "conversation_id",
        "{count} Front message(s) or comment(s) name no conversation (no "
        "_links.related.conversation, conversation_id or request path; first at {first}); they "
        "are not read: export them with their links",
    )

    def owns(self, record: Mapping[str, Any], stream: str | None) -> bool:
        return is_front(record)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return front_role(record, stream)

    def mapping_rules(self, mapping: dict[str, Any]) -> FrontMapping:
        return front_mapping(mapping)

    def stage(
        self, store: StagingStore, role: str, item: JsonRecord, *, data: dict[str, Any]
    ) -> int:
        if role in (MESSAGES, COMMENTS):
            key = conversation_of(data, item.request_path)
            if key is None:
                return 1
            store.put_record(role, key, StagedRecord(data, item.replaced_bytes, item.location))
            return 0
        key = id_text(data.get("id"))
        if role == CONVERSATIONS:
            stage_once(store, CONVERSATIONS, key, item=item, data=data, later_wins=_more_nested)
        elif key is not None:
            store.put_record(role, key, StagedRecord(data, item.replaced_bytes, item.location))
        return 0

    def records(self, store: StagingStore, rules: FrontMapping) -> Iterator[SourceRecord]:
        people = _People(  # each teammate and contact looked up once a slice, not once a message
            teammates=StagedLookup(store, TEAMMATES, staged_data, cached=PEOPLE_CACHED),
            contacts=StagedLookup(store, CONTACTS, staged_data, cached=PEOPLE_CACHED),
        )
        for staged in store.of_kind(CONVERSATIONS):
            build = partial(self._conversation, store, staged, rules, people=people, bare=None)
            yield read_safely(build, staged.staged_record.location, staged.key)
        for key, first, _ in store.keys_without(MESSAGES, CONVERSATIONS):
            only_id = StagedRecord({"id": key}, 0, first.location)
            bare = Staged(first.seq, CONVERSATIONS, key, first.location, only_id)
            build = partial(
                self._conversation, store, bare, rules, people=people, bare=first.location
            )
            yield read_safely(build, first.location, key)
        for key, first, count in store.keys_without(COMMENTS, CONVERSATIONS):
            if store.count(MESSAGES, key):
                continue
            error = Finding(
                "read",
                "conversation",
                f"{count} comment(s) of conversation {key} but neither the conversation nor a "
                "message of it: add the conversations and messages of the export; the comments "
                "are not read",
                first.location,
                key,
            )
            yield SourceRecord(first.location, None, key, error=error)

    @staticmethod
    def _conversation(
        store: StagingStore,
        staged: Staged,
        rules: FrontMapping,
        *,
        people: _People,
        bare: str | None,
    ) -> SourceRecord:
        conversation = staged.staged_record
        location = conversation.location
        messages = [message.staged_record for message in store.by_key(MESSAGES, staged.key)]
        comments = [comment.staged_record for comment in store.by_key(COMMENTS, staged.key)]
        record = conversation_record(
            conversation.data,
            location,
            rules,
            messages=[(m.data, m.location) for m in messages],
            comments=[(c.data, c.location) for c in comments],
            teammates=people.teammates,
            contacts=people.contacts,
        )
        replaced = conversation.replaced + sum(m.replaced for m in messages + comments)
        notes: list[Finding] = []
        if bare is not None:
            notes.append(
                Finding(
                    "read",
                    "conversation",
                    f"conversation {staged.key} is not in the export, only its messages: its "
                    "subject comes from them, and its status, tags and assignee are unknown",
                    location,
                    staged.key,
                )
            )
        notes += staged_notes(store, staged.key, replaced, location=location, duplicate=DUPLICATE)
        record.warnings[:0] = notes
        return record


READER = FrontReader()
