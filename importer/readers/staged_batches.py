"""A staged export in slices that planning workers build (``--jobs``).

A :class:`~importer.readers.common.StagedReader` reads in two passes: every record is staged on
disk, then each conversation is built from its staged records. With ``--jobs`` the main process
does only the first pass (decode, role, stage) and cuts the records of the reader's main kind
(its first role: tickets, conversations) into runs of consecutive ones; each run is a
:class:`StagedSlice`, a few numbers, and the worker that plans it opens the staging store
read-only, builds those conversations with the reader's own ``records`` and plans them. The
conversations of no main record (children whose parent is not in the export) and the records
that could not be parsed are made here, as :func:`~importer.readers.common.StagedReader.read`
makes them, in the same order: unparsed records, then one conversation per main record, then
those of no main record.

This holds because ``records`` yields exactly one conversation per record of the main kind, in
the order :meth:`~importer.readers.staging.StagingStore.of_kind` gives them (each built through
:func:`~importer.readers.source.read_safely`), and only then the others: the store's ``window``
limits that walk to one slice, and a slice takes as many conversations as it has records.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from importer.findings import Finding
from importer.readers.batches import RecordBatch, batched
from importer.readers.routing import RoutedItems, no_conversations
from importer.readers.source import SourceRecord
from importer.readers.staging import StagingStore

if TYPE_CHECKING:
    from importer.readers.base import RoleFile
    from importer.readers.common import StagedReader

#: the store each process opened, with the reader's rules, by (process, store file)
_opened: dict[tuple[int, Path], tuple[StagingStore, Any]] = {}


class SliceBuilder(Protocol):
    """A reader whose staged export planning workers build in slices: a
    :class:`~importer.readers.common.StagedReader` (slices of its main kind), the mail reader
    (slices of threads)."""

    @property
    def slice_kind(self) -> str:
        """The kind whose rows a slice is a run of (``store.window``)."""

    def slice_rules(self, mapping: dict[str, Any], store: StagingStore) -> Any:
        """What building needs besides the store (made once a process)."""

    def records(self, store: StagingStore, rules: Any) -> Iterator[SourceRecord]:
        """The conversations of the staged export; of the window's rows when it is set."""


@dataclass
class StagedSlice(RecordBatch):
    """Consecutive rows of the reader's ``slice_kind`` (``first``..``last``), the ``count``
    conversations they make built wherever :meth:`records` is called. ``pending`` are the
    read's warnings, carried by the slice's first conversation (the first slice of a read that
    yields nothing before it)."""

    reader: SliceBuilder
    mapping: dict[str, Any]
    path: Path
    record_kinds: frozenset[str]
    kinds: frozenset[str] | None
    first: int
    last: int
    count: int
    pending: list[Finding] = field(default_factory=list)

    def records(self) -> Iterator[SourceRecord]:
        store, rules = self._store()
        store.window = (self.reader.slice_kind, self.first, self.last)
        built = self.reader.records(store, rules)
        try:
            # zip asks the range first: no record is built past the slice's last
            for index, record in zip(range(self.count), built, strict=False):
                if index == 0 and self.pending:
                    record.warnings[:0] = self.pending
                yield record
        finally:
            close = getattr(built, "close", None)  # a generator: its finally clauses run
            if close is not None:
                close()
            store.window = None

    def _store(self) -> tuple[StagingStore, Any]:
        return opened_store(
            self.reader, self.mapping, self.path, record_kinds=self.record_kinds, kinds=self.kinds
        )


def opened_store(
    reader: SliceBuilder,
    mapping: dict[str, Any],
    path: Path,
    *,
    record_kinds: frozenset[str],
    kinds: frozenset[str] | None,
) -> tuple[StagingStore, Any]:
    """The store at ``path`` opened read-only by this process (a forked worker opens its own),
    with the reader's :meth:`~SliceBuilder.slice_rules`."""
    key = (os.getpid(), path)
    opened = _opened.get(key)
    if opened is None:
        store = StagingStore.reading(path, record_kinds, kinds)
        opened = _opened[key] = (store, reader.slice_rules(mapping, store))
    return opened


def forget_store(path: Path) -> None:
    """Close what this process opened of the store at ``path`` (its read has ended)."""
    opened = _opened.pop((os.getpid(), path), None)
    if opened is not None:
        opened[0].close()


class _Pending:
    """The read's warnings, given once: to the first conversation of the read."""

    def __init__(self, warnings: list[Finding]) -> None:
        self.warnings = warnings
        self.given = False

    def take(self) -> list[Finding]:
        taken, self.warnings, self.given = self.warnings, [], True
        return taken

    def on_first(self, records: Iterable[SourceRecord]) -> Iterator[SourceRecord]:
        for record in records:
            if not self.given:
                record.warnings[:0] = self.take()
            yield record


def staged_batches(
    reader: StagedReader[Any],
    files: Mapping[str, Sequence[RoleFile]],
    mapping: dict[str, Any],
    *,
    workdir: Path,
    size: int,
) -> Iterator[RecordBatch]:
    """The staged read of ``reader`` (:meth:`~importer.readers.common.StagedReader.read`) in
    batches of about ``size`` conversations: staged here, the main kind's records in slices
    the workers build (module doc)."""
    rules = reader.mapping_rules(mapping)
    routed = RoutedItems(reader, files)
    with StagingStore(workdir) as store:
        warnings = reader.stage_all(routed, store)
        store.commit()
        pending = _Pending(routed.take_warnings() + warnings)
        unparsed = (reader.unparsed_record(staged) for staged in store.of_kind("unparsed"))
        yield from batched(pending.on_first(unparsed), size)
        try:
            for first, last, count in store.runs(reader.roles[0], size):
                given = [] if pending.given else pending.take()
                yield StagedSlice(
                    reader,
                    mapping,
                    store.path,
                    store.record_kinds,
                    store.kinds,
                    first,
                    last,
                    count,
                    given,
                )
            store.window = (reader.roles[0], 1, 0)  # no main record: only the others
            yield from batched(pending.on_first(reader.records(store, rules)), size)
        finally:
            store.window = None
            forget_store(store.path)
        if not pending.given:
            yield from batched(no_conversations(reader, files, pending.take()), size)
