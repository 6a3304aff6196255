"""Staging in worker processes (``validate``, ``convert`` and ``plan`` with ``--jobs`` above 1).

A staged reader's first pass (:meth:`~importer.readers.common.StagedReader.stage_all`) reads
every record, gives it its role and stages it; on one core it was half of a platform export's
time while the other core waited. Here the main process only reads the lines of each NDJSON
file (bytes, cut into runs) and writes rows: a worker parses each run, routes and counts its
records and runs the reader's own ``stage`` against a :class:`RecordingStore`, which encodes
each row as the real store would and keeps it instead of writing it. The main process writes
the rows in the order the runs were read, so the store, its ``seq`` order, the read counts and
every warning are those of one process. What is not NDJSON (a JSON document, API pages, an
Airbyte raw CSV) is parsed and staged here, between the runs, in file order.

A main record staged "once" (:meth:`~importer.readers.staging.StagingStore.put_once`) comes as
its encoded row and its reader's ``later_wins``: only the main process, which holds the store,
knows whether its key was staged before; the row is decoded only then.

The pool, its order, its stop and what it does when a worker fails are
:class:`~importer.readers.ordered_work.OrderedWork`'s: a run no worker could stage (it died, or
its reader's ``stage`` reads the store) is staged here, as one process stages it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from importer.findings import Finding
from importer.readers.containers import JsonLines, JsonRecord, json_line_runs
from importer.readers.ordered_work import (
    OrderedWork,
    StagingWorkers,
    current_staging_workers,
    staging_workers,
)
from importer.readers.routing import RoutedItems, Tally
from importer.readers.staging import LaterWins, StagingStore

if TYPE_CHECKING:
    from importer.readers.common import StagedReader

__all__ = ["current_staging_workers", "stage_in_workers", "staging_workers"]

#: lines of an NDJSON file a worker stages at once, and their bytes at most
RUN_LINES = 1_000
RUN_BYTES = 1 << 20

#: a row as a worker encoded it: kind, key, location, the encoded record, and the reader's
#: ``later_wins`` for a main record staged once (else ``None``)
Row = tuple[str, str | None, str, bytes | str, LaterWins | None]


@dataclass
class StagingNotes:
    """What staging noted of the records it did not stage: the warnings of records that could
    not be parsed, and how many name no parent (the first at ``first_unjoined``)."""

    warnings: list[Finding] = field(default_factory=list)
    unjoined: int = 0
    first_unjoined: str | None = None

    def merge(self, later: StagingNotes) -> None:
        """Add what staging noted of records read after these."""
        self.warnings.extend(later.warnings)
        self.unjoined += later.unjoined
        self.first_unjoined = self.first_unjoined or later.first_unjoined

    def findings(self, unjoined_warning: tuple[str, str]) -> list[Finding]:
        """The warnings, then the one warning of the records that name no parent."""
        findings = list(self.warnings)
        if self.first_unjoined is not None:
            code, message = unjoined_warning
            text = message.format(count=self.unjoined, first=self.first_unjoined)
            findings.append(Finding("read", code, text, self.first_unjoined))
        return findings


class RecordingStore(StagingStore):
    """A store that keeps, in order, the rows its reader's ``stage`` puts, encoded as the real
    store encodes them, and writes nothing: what a staging worker sends back. It cannot be
    read (a reader whose ``stage`` reads the store is staged in the main process)."""

    def __init__(self) -> None:  # no file: nothing is written
        self._record_kinds, self._kinds = set(), set()
        self.rows: list[Row] = []

    def _insert(self, kind: str, key: str | None, location: str, *, text: bytes | str) -> int:
        self.rows.append((kind, key, location, text, None))
        return 0  # no seq: only the main process's store gives them

    def put_encoded_once(
        self, kind: str, key: str | None, location: str, *, text: bytes | str, later_wins: LaterWins
    ) -> None:
        self.rows.append((kind, key, location, text, later_wins))

    def first(self, kind: str, key: str | None) -> Any:
        raise TypeError("a staging worker's store cannot be read: stage in the main process")

    by_key = count = keys = keys_without = of_kind = first  # type: ignore[assignment]

    def close(self) -> None:
        self.rows = []


@dataclass
class StagedRun:
    """What a worker staged of one run of lines: its rows in order, the kinds put as staged
    records, the read counts, the streams passed over (the first of each) and the notes."""

    rows: list[Row]
    record_kinds: frozenset[str]
    tally: dict[tuple[str, str], int]
    passed: dict[str, Finding]
    notes: StagingNotes


def stage_run(reader: StagedReader[Any], lines: JsonLines, listed: str) -> StagedRun:
    """Parse, route and stage one run of lines (listed under ``listed``) against a
    :class:`RecordingStore`: what a staging worker does."""
    recorder = RecordingStore()
    routed = RoutedItems(reader, {})
    tally: defaultdict[tuple[str, str], int] = defaultdict(int)
    notes = StagingNotes()
    for item in lines.json_records():
        role = routed.route(item, listed, lines.name, tally=tally)
        if role is not None:
            reader.stage_item(recorder, role, item, notes=notes)
    kinds = frozenset(recorder.record_kinds)
    return StagedRun(recorder.rows, kinds, dict(tally), routed.passed_over(), notes)


def _write(run: StagedRun, staging: _Staging) -> None:
    """Write a worker's run to the store, and count it, as if staged here."""
    store = staging.store
    store.add_record_kinds(run.record_kinds)
    for kind, key, location, text, later_wins in run.rows:
        if later_wins is None:
            store.put_encoded(kind, key, location, text=text)
        else:
            store.put_encoded_once(kind, key, location, text=text, later_wins=later_wins)
    if staging.tally is not None:
        for counted, count in run.tally.items():
            staging.tally[counted] += count
    staging.routed.add_passed_over(run.passed)
    staging.notes.merge(run.notes)


@dataclass
class _Staging:
    """One staging's state in the main process."""

    reader: StagedReader[Any]
    store: StagingStore
    routed: RoutedItems
    notes: StagingNotes
    tally: Tally | None


def _stage_piece(reader: StagedReader[Any], piece: tuple[JsonLines, str]) -> StagedRun:
    return stage_run(reader, *piece)


def stage_in_workers(
    reader: StagedReader[Any],
    routed: RoutedItems,
    store: StagingStore,
    *,
    notes: StagingNotes,
    workers: StagingWorkers,
) -> None:
    """Stage every record ``routed`` reads, the NDJSON runs in ``workers.jobs`` processes (module
    doc); what was not staged goes to ``notes``."""
    staging = _Staging(reader, store, routed, notes, routed.start_counting())
    with OrderedWork(partial(_stage_piece, reader), workers) as work:
        for listed, input_file in routed.listed_files():
            for piece in json_line_runs(input_file, RUN_LINES, RUN_BYTES):
                if isinstance(piece, JsonRecord):  # not NDJSON: parsed here, staged in order
                    for done in work.drain():
                        _settle(*done, staging=staging, work=work)
                    work.check_stop()
                    _stage_here(piece, listed, input_file.name, staging=staging)
                    continue
                for done in work.put((piece, listed)):
                    _settle(*done, staging=staging, work=work)
        for done in work.drain():
            _settle(*done, staging=staging, work=work)


def _settle(
    piece: tuple[JsonLines, str],
    run: StagedRun | None,
    *,
    staging: _Staging,
    work: OrderedWork[tuple[JsonLines, str], StagedRun],
) -> None:
    """Write the run a worker staged, or stage it here where no worker could (the worker died,
    or the reader's stage reads the store)."""
    if run is not None:
        _write(run, staging)
        return
    lines, listed = piece
    for item in lines.json_records():  # as one process stages them
        work.check_stop()
        _stage_here(item, listed, lines.name, staging=staging)


def _stage_here(item: JsonRecord, listed: str, file_name: str, *, staging: _Staging) -> None:
    role = staging.routed.route(item, listed, file_name, tally=staging.tally)
    if role is not None:
        staging.reader.stage_item(staging.store, role, item, notes=staging.notes)
