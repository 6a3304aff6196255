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
conversation is built by :func:`~importer.readers.front_conversation.conversation_record`. The
value choices are in ``mappings/front.toml``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from importer.findings import Finding
from importer.readers.base import Reader, RoleFile, RoutedItems, no_conversations
from importer.readers.containers import JsonRecord, id_after
from importer.readers.front_conversation import conversation_record, link_id, results
from importer.readers.front_mapping import FrontMapping, front_mapping
from importer.readers.intercom_fields import id_text
from importer.readers.signs import FRONT_ID, is_front, other_platform
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagingStore
from importer.readers.text import encoding_message

CONVERSATIONS = "conversations"
MESSAGES = "conversation_messages"
COMMENTS = "comments"
TEAMMATES = "teammates"
CONTACTS = "contacts"
UNPARSED = "unparsed"
DUPLICATES = "duplicates"

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


class _Staged:
    """Records of one kind looked up in the staging store by id."""

    def __init__(self, store: StagingStore, kind: str) -> None:
        self.store = store
        self.kind = kind

    def get(self, key: str, /) -> Mapping[str, Any] | None:
        staged = self.store.first(self.kind, key)
        if staged is None:
            return None
        record: Mapping[str, Any] = staged.record[0]
        return record


def _unparsed_record(staged: Staged) -> SourceRecord:
    role, error, raw_text, source_id = staged.record
    message = error
    if role != CONVERSATIONS:
        message = (
            f"a record of the Front {role} cannot be parsed ({error}); what it held is not "
            "read, so a conversation may miss a message or a name"
        )
    finding = Finding("read", "parse", message, staged.location, source_id)
    return SourceRecord(staged.location, None, source_id, error=finding, raw_text=raw_text)


def _nested_count(conversation: Mapping[str, Any]) -> int:
    return len(results(conversation.get("messages"))) + len(results(conversation.get("comments")))


class FrontReader(Reader):
    """Front conversations with their messages, comments, teammates and contacts."""

    info = FormatInfo(
        "front",
        "Front Core API JSON or ETL dumps (conversations, messages, comments)",
        "conversations JSON, messages and comments (nested or pages of their own), "
        "teammates, contacts",
        True,
    )
    roles = (CONVERSATIONS, MESSAGES, COMMENTS, TEAMMATES, CONTACTS)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return front_role(record, stream)

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        front_mapping(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        rules = front_mapping(mapping)
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

    def _records(self, store: StagingStore, rules: FrontMapping) -> Iterator[SourceRecord]:
        for staged in store.of_kind(UNPARSED):
            yield _unparsed_record(staged)
        for staged in store.of_kind(CONVERSATIONS):
            build = partial(self._conversation, store, staged, rules, None)
            yield read_safely(build, staged.record[2], staged.key)
        for key, first, _ in store.keys_without(MESSAGES, CONVERSATIONS):
            bare = Staged(first.seq, CONVERSATIONS, key, first.location, [{"id": key}, 0, None])
            build = partial(self._conversation, store, bare, rules, first.location)
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

    def _stage(self, routed: RoutedItems, store: StagingStore) -> list[Finding]:
        """Put every record in the store; the warning of messages that name no conversation."""
        without = 0
        first_without: str | None = None
        for role, item in routed:
            if item.data is None:
                store.put(
                    UNPARSED,
                    item.id_hint,
                    item.location,
                    [role, item.error, item.raw_text, item.id_hint],
                )
                continue
            if role in (MESSAGES, COMMENTS):
                key = conversation_of(item.data, item.request_path)
                if key is None:
                    without += 1
                    first_without = first_without or item.location
                    continue
                store.put(role, key, item.location, [item.data, item.replaced_bytes])
                continue
            key = id_text(item.data.get("id"))
            if role == CONVERSATIONS:
                self._stage_conversation(store, key, item)
            elif key is not None:
                store.put(role, key, item.location, [item.data, item.replaced_bytes])
        if first_without is None:
            return []
        return [
            Finding(
                "read",
                "conversation_id",
                f"{without} Front message(s) or comment(s) name no conversation (no "
                f"_links.related.conversation, conversation_id or request path; first at "
                f"{first_without}); they are not read: export them with their links",
                first_without,
            )
        ]

    @staticmethod
    def _stage_conversation(store: StagingStore, key: str | None, item: JsonRecord) -> None:
        """Stage a conversation as ``[data, replaced bytes, location]``; one seen again keeps the
        copy with more nested messages, the other noted under ``duplicates``."""
        assert item.data is not None
        staged = [item.data, item.replaced_bytes, item.location]
        earlier = store.first(CONVERSATIONS, key) if key is not None else None
        if earlier is None:
            store.put(CONVERSATIONS, key, item.location, staged)
            return
        kept, _, kept_location = earlier.record
        if _nested_count(item.data) > _nested_count(kept):
            store.replace(earlier.seq, staged)
            store.put(DUPLICATES, key, kept_location, None)
        else:
            store.put(DUPLICATES, key, item.location, None)

    @staticmethod
    def _conversation(
        store: StagingStore, staged: Staged, rules: FrontMapping, bare: str | None
    ) -> SourceRecord:
        conversation, replaced, location = staged.record
        location = location or staged.location
        messages = list(store.by_key(MESSAGES, staged.key))
        comments = list(store.by_key(COMMENTS, staged.key))
        record = conversation_record(
            conversation,
            location,
            rules,
            [(m.record[0], m.location) for m in messages],
            [(c.record[0], c.location) for c in comments],
            _Staged(store, TEAMMATES),
            _Staged(store, CONTACTS),
        )
        replaced += sum(m.record[1] for m in messages) + sum(c.record[1] for c in comments)
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
                    f"{duplicate.location} is passed over",
                    location,
                    staged.key,
                )
            )
        record.warnings[:0] = notes
        return record


READER = FrontReader()
