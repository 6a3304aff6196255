"""The Help Scout reader: conversations as Help Scout's own Mailbox API 2.0 returns them.

To merge one Help Scout account (or mailbox) into another. What it reads, by content:

- pages of ``GET /v2/conversations?embed=threads`` saved as they came (HAL: the container layer
  gives the conversations of ``_embedded.conversations``; an empty last page holds none), one
  page per file or per line, or a JSON array of pages;
- one conversation per line, or a JSON array of them (also ``GET /v2/conversations/{id}
  ?embed=threads`` bodies), bare or in Airbyte/Singer envelopes.

Each conversation carries its threads under ``_embedded.threads``; a conversation listed
without them is refused, saying how to export it. Records are staged on disk
(:class:`~importer.readers.staging.StagingStore`) so that a conversation found twice (pages that
overlap, a list page and a full body) is read once: the copy with more threads. Then each is
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
    DUPLICATES,
    StagedReader,
    encoding_notes,
    id_text,
    stage_once,
)
from importer.readers.containers import JsonRecord
from importer.readers.helpscout.conversation import conversation_record, embedded
from importer.readers.helpscout.mapping import HelpScoutMapping, helpscout_mapping
from importer.readers.helpscout.signs import is_helpscout
from importer.readers.signs import other_platform
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagingStore

CONVERSATIONS = "conversations"

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
    one of the keys only conversations have, or its threads under ``_embedded``. ``None``: a
    record this reader does not use (a thread or customer on its own), or a record that is
    plainly another platform's. ``stream`` is not needed."""
    if other_platform(record, "helpscout") is not None:
        return None
    if not CONVERSATION_SIGNS.isdisjoint(record.keys()):
        return CONVERSATIONS
    if embedded(record, "threads") is not None and "body" not in record:
        return CONVERSATIONS
    return None


def _more_threads(later: dict[str, Any], kept: dict[str, Any]) -> bool:
    return len(embedded(later, "threads") or []) > len(embedded(kept, "threads") or [])


class HelpScoutReader(StagedReader[HelpScoutMapping]):
    """Help Scout conversations with their embedded threads."""

    detection_place = 90
    info = FormatInfo(
        "helpscout",
        "Help Scout Mailbox API 2.0 JSON (conversations with embedded threads), to merge accounts",
        "pages of GET /v2/conversations?status=all&embed=threads as saved, or one conversation "
        "per line",
        True,
        "Help Scout",
    )
    roles = (CONVERSATIONS,)

    def owns(self, record: Mapping[str, Any], stream: str | None) -> bool:
        return is_helpscout(record)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return helpscout_role(record, stream)

    def mapping_rules(self, mapping: dict[str, Any]) -> HelpScoutMapping:
        return helpscout_mapping(mapping)

    def stage(self, store: StagingStore, role: str, item: JsonRecord, data: dict[str, Any]) -> int:
        stage_once(store, CONVERSATIONS, id_text(data.get("id")), item, data, _more_threads)
        return 0

    def records(self, store: StagingStore, rules: HelpScoutMapping) -> Iterator[SourceRecord]:
        for staged in store.of_kind(CONVERSATIONS):
            build = partial(self._conversation, store, staged, rules)
            yield read_safely(build, staged.location, staged.key)

    @staticmethod
    def _conversation(store: StagingStore, staged: Staged, rules: HelpScoutMapping) -> SourceRecord:
        conversation = staged.staged_record
        location = staged.location  # where it was first seen, until a later copy is read
        notes: list[Finding] = []
        for duplicate in store.by_key(DUPLICATES, staged.key):
            if duplicate.record is not None:  # the later copy, with more threads, is read
                location = duplicate.record
            notes.append(
                Finding(
                    "read",
                    "duplicate",
                    f"conversation {staged.key} is in the export twice; the copy at "
                    f"{duplicate.location} is passed over for the one with more threads",
                    location,
                    staged.key,
                )
            )
        record = conversation_record(conversation.data, location, rules)
        record.warnings[:0] = notes + encoding_notes(conversation.replaced, location, staged.key)
        return record


READER = HelpScoutReader()
