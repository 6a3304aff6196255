"""What the platform readers share: the staged read, its error records, its warnings, field helpers.

A reader of JSON records that joins them across files subclasses :class:`StagedReader` and writes
only its own logic (see the usage note of :mod:`importer.readers.base`):

- ``mapping_rules(mapping)``: its checked mapping (also its ``check_mapping``);
- ``stage(store, role, item, *, data)``: put one parsed record in the staging store; return how
  many of the item's records name no parent (they are passed over with one ``unjoined_warning``);
- ``records(store, rules)``: its conversations, built from the store once every file is read.

The template does the rest: each file read once (:class:`~importer.readers.base.RoutedItems`),
records that cannot be parsed staged under :data:`UNPARSED` and yielded first as invalid records,
the pending warnings (streams passed over, records not joined) prepended to the first record, and
:func:`~importer.readers.base.no_conversations` when there is none. Helpers for ``stage`` and
``records``: :func:`stage_once` (a main record listed twice is read once, the other copy noted
under :data:`DUPLICATES`), :func:`staged_notes` (the encoding and duplicate warnings of a
conversation), :func:`orphan_records` (children whose parent is not in the export),
:class:`StagedLookup` (people by id, through a bounded cache).
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from importer.findings import Finding
from importer.readers.base import Reader, RoleFile, RoutedItems
from importer.readers.batches import RecordBatch
from importer.readers.containers import JsonRecord
from importer.readers.parallel_staging import (
    StagingNotes,
    current_staging_workers,
    stage_in_workers,
)
from importer.readers.routing import with_warnings_first
from importer.readers.source import SourceRecord
from importer.readers.staged_batches import staged_batches
from importer.readers.staging import DUPLICATES, LaterWins, Staged, StagedRecord, StagingStore
from importer.readers.text import encoding_message

UNPARSED = "unparsed"

#: an id written as a float that is a whole number (``7253.0``)
_WHOLE_NUMBER_AS_FLOAT = re.compile(r"-?\d+\.0+")

RulesT = TypeVar("RulesT")
T = TypeVar("T")


class UnparsedRecord(NamedTuple):
    """A record that cannot be parsed, as it is staged under :data:`UNPARSED`: its role, why,
    its text and the id it is reported under."""

    role: str
    error: str
    raw_text: str | None
    source_id: str | None


# -- field helpers ------------------------------------------------------------------------------


def id_text(value: Any) -> str | None:
    """An id as text, the same for every reader: ``7253``, ``7253.0`` and ``"7253.0"`` are all
    ``"7253"`` (a spreadsheet or an ETL tool that touched the export wrote the id as a float: it
    still names the same record, so joins and reported ids stay whole); other text is kept as
    written, stripped (``"0042"`` stays); ``None``, blank text and booleans are ``None``."""
    if type(value) is int:  # the common case, first: ids are read for every message
        return str(value)
    if type(value) is str:  # the other common case: text without a dot needs no pattern
        text = value.strip()
        if "." in text and _WHOLE_NUMBER_AS_FLOAT.fullmatch(text):
            text = text.split(".", 1)[0]
        return text or None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    text = str(value).strip()
    if _WHOLE_NUMBER_AS_FLOAT.fullmatch(text):
        text = text.split(".", 1)[0]
    return text or None


def text_value(value: Any) -> str | None:
    """A non-blank string value, stripped; anything else ``None``."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def id_in_text(pattern: re.Pattern[str], text: str | None) -> str | None:
    """Group 1 of ``pattern`` in ``text`` (an id in a record that cannot be parsed), or ``None``."""
    found = pattern.search(text or "")
    return found.group(1) if found else None


def finished_record(
    location: str,
    data: dict[str, Any],
    source_id: str | None,
    *,
    warnings: list[Finding],
    left_out: list[Finding],
    message_locations: list[str],
) -> SourceRecord:
    """The :class:`SourceRecord` of a conversation built: ``data`` without its ``None`` values."""
    return SourceRecord(
        location=location,
        data={key: value for key, value in data.items() if value is not None},
        source_id=source_id,
        warnings=warnings,
        left_out=left_out,
        message_locations=message_locations,
    )


class Conversion:
    """The state of converting one conversation (``record``, at ``location``): its messages and
    findings so far; :meth:`record` makes the :class:`SourceRecord` of them. A message left out
    is counted by kind in ``dropped``: :meth:`warn_dropped` gives one ``dropped_code`` warning
    of them all (``dropped_what``: what was left out)."""

    dropped_code: ClassVar[str] = "message.dropped"
    dropped_what: ClassVar[str] = "message(s)"

    def __init__(self, record: Mapping[str, Any], location: str) -> None:
        self.location = location
        self.source_id = id_text(record.get("id"))
        self.messages: list[dict[str, Any]] = []
        self.message_locations: list[str] = []
        self.warnings: list[Finding] = []
        self.left_out: list[Finding] = []
        self.dropped: Counter[str] = Counter()

    def finding(self, stage: str, code: str, message: str, *, where: str | None = None) -> Finding:
        """A finding of this conversation (at its location unless ``where`` is given)."""
        return Finding(stage, code, message, where or self.location, self.source_id)

    def warn_dropped(self) -> None:
        if not self.dropped:
            return
        total = sum(self.dropped.values())
        kinds = ", ".join(f"{kind} ×{count}" for kind, count in sorted(self.dropped.items()))
        message = f"{total} {self.dropped_what} left out: {kinds}"
        self.warnings.append(self.finding("map", self.dropped_code, message))

    def record(self, data: dict[str, Any]) -> SourceRecord:
        """The conversation of ``data`` (its ``None`` values left out) and what was found."""
        return finished_record(
            self.location,
            data,
            self.source_id,
            warnings=self.warnings,
            left_out=self.left_out,
            message_locations=self.message_locations,
        )


# -- helpers of ``stage`` and ``records`` -------------------------------------------------------


def stage_once(
    store: StagingStore,
    kind: str,
    key: str | None,
    *,
    item: JsonRecord,
    data: dict[str, Any],
    later_wins: LaterWins,
) -> None:
    """Stage a main record under ``key`` once (:meth:`StagingStore.put_once`); ``later_wins``
    is a module-level function: a staging worker sends it with the record."""
    staged = StagedRecord(data, item.replaced_bytes, item.location)
    store.put_once(kind, key, staged, later_wins=later_wins)


def encoding_notes(replaced: int, location: str, key: str | None) -> list[Finding]:
    """The warning of a conversation whose text had ``replaced`` bytes read as cp1252."""
    if not replaced:
        return []
    return [Finding("read", "encoding", encoding_message(replaced), location, key)]


def duplicate_notes(
    store: StagingStore, key: str | None, location: str, *, message: str
) -> list[Finding]:
    """One warning per copy of ``key`` passed over (:func:`stage_once`); ``message`` names
    ``{key}`` and the place of the copy, ``{where}``."""
    return [
        Finding(
            "read", "duplicate", message.format(key=key, where=duplicate.location), location, key
        )
        for duplicate in store.by_key(DUPLICATES, key)
    ]


def staged_notes(
    store: StagingStore, key: str | None, replaced: int, *, location: str, duplicate: str
) -> list[Finding]:
    """The encoding warning, then the duplicate warnings, of one staged conversation."""
    duplicates = duplicate_notes(store, key, location, message=duplicate)
    return encoding_notes(replaced, location, key) + duplicates


def orphan_records(
    store: StagingStore, kind: str, parent_kind: str, *, child: str, parent: str
) -> Iterator[SourceRecord]:
    """One invalid record per parent key that records of ``kind`` name but no record of
    ``parent_kind`` has: ``child`` and ``parent`` are their words (``comment``, ``ticket``)."""
    for key, first, count in store.keys_without(kind, parent_kind):
        message = (
            f"{count} {child}(s) of {parent} {key} but not the {parent} itself: add the "
            f"{parent}s file (or stream) of the export; the {child}s are not read"
        )
        error = Finding("read", parent, message, first.location, key)
        yield SourceRecord(first.location, None, key, error=error)


class StagedLookup(Generic[T]):
    """Records of one kind looked up in the staging store by key (the first staged under it),
    turned by ``convert``; the ``cached`` most recently used stay in memory."""

    def __init__(
        self,
        store: StagingStore,
        kind: str,
        convert: Callable[[Any], T | None],
        *,
        cached: int = 0,
    ) -> None:
        self.store = store
        self.kind = kind
        self.convert = convert
        self._lookup = lru_cache(maxsize=cached)(self._staged)

    def _staged(self, key: str) -> T | None:
        staged = self.store.first(self.kind, key)
        return None if staged is None else self.convert(staged.record)

    def get(self, key: str, /) -> T | None:
        return self._lookup(key)

    __call__ = get


def staged_data(record: Any) -> Mapping[str, Any] | None:
    """The data of a :class:`StagedRecord` (for :class:`StagedLookup`)."""
    if not isinstance(record, StagedRecord):
        return None
    data: Mapping[str, Any] = record.data
    return data


# -- the staged read ----------------------------------------------------------------------------


class StagedReader(Reader, Generic[RulesT]):
    """A reader that stages every record on disk, then builds its conversations (module doc)."""

    #: the code and message of the one warning of records that name no parent (``stage`` returned
    #: more than 0): ``{count}`` of them, the ``{first}`` at that place
    unjoined_warning: ClassVar[tuple[str, str]] = (
        "parent_id",
        "{count} record(s) name no parent (first at {first}); they are not read",
    )
    #: role -> a pattern whose group 1 is the parent id in the text of a record that cannot be
    #: parsed (the key it is staged and reported under); other roles: the record's id hint
    parent_id_patterns: ClassVar[Mapping[str, re.Pattern[str]]] = {}
    #: whether ``stage`` may run in a staging worker (it only puts; see ``parallel_staging``)
    stages_in_workers: ClassVar[bool] = True
    #: what an unparsed record of another role than the main one may cost its conversation
    unparsed_loss: ClassVar[str] = "a conversation may miss a message or a name"

    @abstractmethod
    def mapping_rules(self, mapping: dict[str, Any]) -> RulesT:
        """The checked mapping; a wrong one raises :class:`~importer.errors.MappingError`."""

    @abstractmethod
    def stage(
        self, store: StagingStore, role: str, item: JsonRecord, *, data: dict[str, Any]
    ) -> int:
        """Put one parsed record (``item.data``) in ``store``; how many records of it name no
        parent (they are not read)."""

    @abstractmethod
    def records(self, store: StagingStore, rules: RulesT) -> Iterator[SourceRecord]:
        """The conversations of the staged export (after the unparsed records): first one per
        record of the main kind (``roles[0]``) in the order ``store.of_kind`` gives them, then
        those of no main record; a planning worker builds a slice of them (``store.window``)."""

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        self.mapping_rules(mapping)

    @property
    def slice_kind(self) -> str:
        """Planning workers build slices of the main kind's records (``roles[0]``)."""
        return self.roles[0]

    def slice_rules(self, mapping: dict[str, Any], store: StagingStore) -> RulesT:
        """The mapping's rules: all that building needs besides the store."""
        return self.mapping_rules(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        rules = self.mapping_rules(mapping)
        routed = RoutedItems(self, files)
        with StagingStore(workdir) as store:
            warnings = self.stage_all(routed, store)
            store.commit()
            pending = routed.take_warnings() + warnings
            records = self._all_records(store, rules)
            yield from with_warnings_first(records, pending, self, files=files)

    def record_batches(
        self,
        files: Mapping[str, Sequence[RoleFile]],
        mapping: dict[str, Any],
        workdir: Path,
        *,
        size: int,
    ) -> Iterator[RecordBatch]:
        """Staged here, built in the planning workers (:mod:`importer.readers.staged_batches`)."""
        return staged_batches(self, files, mapping, workdir=workdir, size=size)

    def stage_all(self, routed: RoutedItems, store: StagingStore) -> list[Finding]:
        """Stage every record ``routed`` gives (over worker processes within ``staging_workers``
        of more than one job); the read's warnings of what was not staged."""
        notes = StagingNotes()
        workers = current_staging_workers()
        if workers is not None and workers.jobs > 1 and self.stages_in_workers:
            stage_in_workers(self, routed, store, notes=notes, workers=workers)
        else:
            for role, item in routed:
                self.stage_item(store, role, item, notes=notes)
        return notes.findings(self.unjoined_warning)

    def stage_item(
        self, store: StagingStore, role: str, item: JsonRecord, *, notes: StagingNotes
    ) -> None:
        """Stage one record of ``role`` (one that could not be parsed: :meth:`stage_unparsed`),
        noting in ``notes`` what was not staged."""
        if item.data is None:
            finding = self.stage_unparsed(store, role, item)
            if finding is not None:
                notes.warnings.append(finding)
            return
        missing = self.stage(store, role, item, data=item.data)
        if missing:
            notes.unjoined += missing
            notes.first_unjoined = notes.first_unjoined or item.location

    def _all_records(self, store: StagingStore, rules: RulesT) -> Iterator[SourceRecord]:
        for staged in store.of_kind(UNPARSED):
            yield self.unparsed_record(staged)
        yield from self.records(store, rules)

    # -- records that cannot be parsed ----------------------------------------------------------

    def stage_unparsed(self, store: StagingStore, role: str, item: JsonRecord) -> Finding | None:
        """Stage a record that cannot be parsed under :data:`UNPARSED` (a warning instead, to
        report while staging, in a reader that overrides this)."""
        hint = self.unparsed_hint(role, item)
        unparsed = UnparsedRecord(role, item.error or "", item.raw_text, hint)
        store.put(UNPARSED, hint, item.location, record=unparsed)  # a JSON list
        return None

    def unparsed_hint(self, role: str, item: JsonRecord) -> str | None:
        """The id a record that cannot be parsed is reported under (``parent_id_patterns``)."""
        pattern = self.parent_id_patterns.get(role)
        if pattern is None or not item.raw_text:
            return item.id_hint
        return id_in_text(pattern, item.raw_text)

    def unparsed_message(self, role: str, error: str, source_id: str | None) -> str:
        """The error of a record of ``role`` (not the main one) that cannot be parsed."""
        return (
            f"a record of the {self.info.label} {role} cannot be parsed ({error}); "
            f"what it held is not read, so {self.unparsed_loss}"
        )

    def unparsed_record(self, staged: Staged) -> SourceRecord:
        """The invalid record of a record staged by :meth:`stage_unparsed`."""
        unparsed = UnparsedRecord(*staged.record)
        role, error, source_id = unparsed.role, unparsed.error, unparsed.source_id
        message = error if role == self.roles[0] else self.unparsed_message(role, error, source_id)
        finding = Finding("read", "parse", message, staged.location, source_id)
        return SourceRecord(
            staged.location, None, source_id, error=finding, raw_text=unparsed.raw_text
        )
