"""The Help Scout reader: conversations as Help Scout's own Mailbox API 2.0 returns them.

To merge one Help Scout account (or mailbox) into another. What it reads, by content:

- pages of ``GET /v2/conversations?embed=threads`` saved as they came (HAL: the container layer
  gives the conversations of ``_embedded.conversations``; an empty last page holds none), one
  page per file or per line, or a JSON array of pages;
- one conversation per line, or a JSON array of them (also ``GET /v2/conversations/{id}
  ?embed=threads`` bodies), bare or in Airbyte/Singer envelopes;
- what the Singer tap ``tap-helpscout`` writes (its stdout, or ``target-jsonl``'s files):
  snake_case conversations, and their threads as records of their own (``conversation_threads``,
  staged and joined on ``conversation_id``), put back into the API's shape by
  :mod:`~importer.readers.helpscout.tap`. Its ``customers`` and ``users`` streams are known as
  Help Scout's (never another platform's people) and passed over: the threads name their people.

Each conversation carries its threads under ``_embedded.threads`` (or, from the tap, in thread
records); a conversation without them is refused, saying how to export it. Records are staged on
disk (:class:`~importer.readers.staging.StagingStore`) so that a conversation found twice (pages
that overlap, a list page and a full body) is read once: the copy with more threads (of the
tap's, the newer). Then each is
built by :func:`~importer.readers.helpscout.conversation.conversation_record`; the value choices
are in ``mappings/helpscout.toml``.

The source id is the conversation's Help Scout ``id``: importing the same dump again imports
nothing twice. Attachments are read by their API address; downloading them needs the OLD
account's token, given as ``IMPORTER_SOURCE_AUTH="api.helpscout.net=Bearer <token>"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from importer.findings import Finding
from importer.readers.common import (
    StagedReader,
    encoding_notes,
    id_text,
    orphan_records,
    stage_once,
)
from importer.readers.containers import JsonRecord
from importer.readers.helpscout.conversation import conversation_record, embedded
from importer.readers.helpscout.mapping import HelpScoutMapping, helpscout_mapping
from importer.readers.helpscout.signs import HELPSCOUT_SIGN_KEYS, is_helpscout, is_tap_thread
from importer.readers.helpscout.tap import (
    CONVERSATION_ID,
    THREADS_STREAM,
    api_conversation,
    is_tap_conversation,
    missing_threads,
    once_each,
)
from importer.readers.signs import other_platform
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import DUPLICATES, Staged, StagedRecord, StagingStore

CONVERSATIONS = "conversations"
THREADS = THREADS_STREAM

#: keys only a Help Scout conversation has (a thread or a customer has none of them)
CONVERSATION_SIGNS = frozenset(
    {
        "primaryCustomer",
        "customerWaitingSince",
        "mailboxId",
        "folderId",
        "userUpdatedAt",
        "closedByUser",
    }
)


def helpscout_role(record: Mapping[str, Any], stream: str | None) -> str | None:
    """The role of one JSON record in a Help Scout dump, by its content: a conversation has
    one of the keys only conversations have (in the API's spelling or the tap's), or its
    threads under ``_embedded``; a thread of the tap has ``conversation_id`` and Help Scout's
    person objects. ``None``: a record this reader does not use (an API thread or customer on
    its own, the tap's users and customers), or a record that is plainly another platform's.
    ``stream`` is not needed."""
    if other_platform(record, "helpscout") is not None:
        return None
    if not CONVERSATION_SIGNS.isdisjoint(record.keys()) or is_tap_conversation(record):
        return CONVERSATIONS
    if embedded(record, "threads") is not None and "body" not in record:
        return CONVERSATIONS
    if is_tap_thread(record):
        return THREADS
    return None


def _later_wins(later: dict[str, Any], kept: dict[str, Any]) -> bool:
    """Which copy of a conversation listed twice is read: the one with more embedded threads;
    of the tap's (whose threads are records of their own), the later, newer one."""
    if is_tap_conversation(later) and is_tap_conversation(kept):
        return str(later.get("updated_at") or "") >= str(kept.get("updated_at") or "")
    return len(embedded(later, "threads") or []) > len(embedded(kept, "threads") or [])


class HelpScoutReader(StagedReader[HelpScoutMapping]):
    """Help Scout conversations with their embedded threads."""

    detection_place = 90
    info = FormatInfo(
        "helpscout",
        "Help Scout Mailbox API 2.0 JSON (conversations with embedded threads), to merge accounts",
        "pages of GET /v2/conversations?status=all&embed=threads as saved, one conversation "
        "per line, or tap-helpscout's conversations and conversation_threads (Singer, "
        "target-jsonl)",
        True,
        "Help Scout",
    )
    roles = (CONVERSATIONS, THREADS)
    sign_keys = HELPSCOUT_SIGN_KEYS

    def owns(self, record: Mapping[str, Any], stream: str | None) -> bool:
        return is_helpscout(record)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return helpscout_role(record, stream)

    def mapping_rules(self, mapping: dict[str, Any]) -> HelpScoutMapping:
        return helpscout_mapping(mapping)

    def stage(
        self, store: StagingStore, role: str, item: JsonRecord, *, data: dict[str, Any]
    ) -> int:
        if role == THREADS:  # a thread of the tap, joined to its conversation once all is read
            key = id_text(data.get(CONVERSATION_ID))
            if key is None:
                return 1
            store.put_record(THREADS, key, StagedRecord(data, item.replaced_bytes, item.location))
            return 0
        conversation_id = id_text(data.get("id"))
        stage_once(
            store, CONVERSATIONS, conversation_id, item=item, data=data, later_wins=_later_wins
        )
        return 0

    def records(self, store: StagingStore, rules: HelpScoutMapping) -> Iterator[SourceRecord]:
        for staged in store.of_kind(CONVERSATIONS):
            build = partial(self._conversation, store, staged, rules)
            yield read_safely(build, staged.location, staged.key)
        yield from orphan_records(
            store, THREADS, CONVERSATIONS, child="thread", parent="conversation"
        )

    def _conversation(
        self, store: StagingStore, staged: Staged, rules: HelpScoutMapping
    ) -> SourceRecord:
        conversation = staged.staged_record
        location = staged.location  # where it was first seen, until a later copy is read
        notes: list[Finding] = []
        for duplicate in store.by_key(DUPLICATES, staged.key):
            if duplicate.record is not None:  # the later copy (more threads, or newer) is read
                location = duplicate.record
            notes.append(
                Finding(
                    "read",
                    "duplicate",
                    f"conversation {staged.key} is in the export twice; the copy at "
                    f"{duplicate.location} is passed over for the one with more threads "
                    "(or, written by tap-helpscout, the newer one)",
                    location,
                    staged.key,
                )
            )
        replaced = conversation.replaced
        if is_tap_conversation(conversation.data) and staged.key is not None:
            record, replaced = _tap_conversation(
                store, staged.key, conversation, location=location, rules=rules
            )
        else:
            record = conversation_record(conversation.data, location, rules)
        record.warnings[:0] = notes + encoding_notes(replaced, location, staged.key)
        return record


def _tap_conversation(
    store: StagingStore,
    key: str,
    conversation: StagedRecord,
    *,
    location: str,
    rules: HelpScoutMapping,
) -> tuple[SourceRecord, int]:
    """A conversation of tap-helpscout with its thread records (each once, each message at its
    thread's place), read in the API's shape; and the bytes of them all read as cp1252."""
    staged = [thread.staged_record for thread in store.by_key(THREADS, key)]
    replaced = conversation.replaced + sum(thread.replaced for thread in staged)
    if not staged:
        message = missing_threads(conversation.data.get("threads"), key)
        error = Finding("read", "threads", message, location, key)
        return SourceRecord(location, None, key, error=error), replaced
    threads = once_each((thread.data, thread.location) for thread in staged)
    shaped = api_conversation(conversation.data, [t for t, _ in threads], rules.source_api_url)
    return conversation_record(
        shaped, location, rules, thread_places=[where for _, where in threads]
    ), replaced


READER = HelpScoutReader()
