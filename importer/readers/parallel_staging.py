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

Nothing is lost to a worker: a run a worker could not stage (it died, or its reader's ``stage``
reads the store) is staged here, and so is every run after it. A stop (Ctrl-C) is taken between
runs and while waiting for one, within a tenth of a second.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from importer.findings import Finding
from importer.readers.containers import JsonLines, JsonRecord, json_line_runs
from importer.readers.routing import RoutedItems, Tally
from importer.readers.staging import LaterWins, StagingStore
from importer.worker_process import become_worker

if TYPE_CHECKING:
    from importer.readers.common import StagedReader

#: lines of an NDJSON file a worker stages at once, and their bytes at most
RUN_LINES = 1_000
RUN_BYTES = 4 << 20
#: runs sent ahead per worker: enough that none waits, few enough that memory stays flat
RUNS_AHEAD = 2
#: how often the main process, waiting for a worker, checks whether it was asked to stop
STOP_CHECK_S = 0.1

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


@dataclass(frozen=True)
class StagingWorkers:
    """How many processes may stage, and the event a stop sets (checked between runs)."""

    jobs: int
    stop: threading.Event


_workers: ContextVar[StagingWorkers | None] = ContextVar("staging_workers", default=None)


@contextmanager
def staging_workers(jobs: int, stop: threading.Event) -> Iterator[None]:
    """Within: staged readers stage over ``jobs`` worker processes (1: in this process), and
    stop (KeyboardInterrupt) at their next check once ``stop`` is set."""
    token = _workers.set(StagingWorkers(jobs, stop))
    try:
        yield
    finally:
        _workers.reset(token)


def current_staging_workers() -> StagingWorkers | None:
    """The :func:`staging_workers` staging runs within, ``None`` outside any."""
    return _workers.get()


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
    :class:`RecordingStore`: what a worker does, and the main process where no worker can."""
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


def _write(run: StagedRun, store: StagingStore, routed: RoutedItems, *, staging: _Staging) -> None:
    """Write a worker's run to the store, and count it, as if staged here."""
    store.add_record_kinds(run.record_kinds)
    for kind, key, location, text, later_wins in run.rows:
        if later_wins is None:
            store.put_encoded(kind, key, location, text=text)
        else:
            store.put_encoded_once(kind, key, location, text=text, later_wins=later_wins)
    if staging.tally is not None:
        for counted, count in run.tally.items():
            staging.tally[counted] += count
    routed.add_passed_over(run.passed)
    staging.notes.merge(run.notes)


@dataclass
class _Staging:
    """One staging's state in the main process."""

    reader: StagedReader[Any]
    store: StagingStore
    routed: RoutedItems
    notes: StagingNotes
    tally: Tally | None
    stop: threading.Event
    broken: bool = False


def can_fork() -> bool:
    """Whether workers can be forked (not on Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


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
    staging = _Staging(reader, store, routed, notes, routed.start_counting(), workers.stop)
    if not can_fork():
        staging.broken = True
    context = multiprocessing.get_context("fork" if can_fork() else None)
    pool: ProcessPoolExecutor | None = None
    window: deque[tuple[JsonLines, str, Future[StagedRun] | None]] = deque()
    try:
        for listed, input_file in routed.listed_files():
            for piece in json_line_runs(input_file, RUN_LINES, RUN_BYTES):
                _check_stop(staging)
                if isinstance(piece, JsonRecord):  # not NDJSON: parsed here, staged in order
                    while window:
                        _settle(*window.popleft(), staging=staging)
                    _stage_here(piece, listed, input_file.name, staging=staging)
                    continue
                if pool is None and not staging.broken:
                    pool = ProcessPoolExecutor(
                        workers.jobs,
                        mp_context=context,
                        initializer=become_worker,
                        initargs=(os.getpid(),),
                    )
                window.append((piece, listed, _submit(pool, piece, listed, staging=staging)))
                while len(window) > workers.jobs * RUNS_AHEAD:
                    _settle(*window.popleft(), staging=staging)
        while window:
            _settle(*window.popleft(), staging=staging)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _submit(
    pool: ProcessPoolExecutor | None, lines: JsonLines, listed: str, *, staging: _Staging
) -> Future[StagedRun] | None:
    if pool is None or staging.broken:
        return None
    try:
        return pool.submit(stage_run, staging.reader, lines, listed)
    except Exception:  # the pool broke (a worker died): stage here from now on
        staging.broken = True
        return None


def _settle(
    lines: JsonLines, listed: str, future: Future[StagedRun] | None, *, staging: _Staging
) -> None:
    """Write the run a worker staged, or stage it here when no worker could."""
    while future is not None:
        _check_stop(staging)
        try:
            run = future.result(timeout=STOP_CHECK_S)
        except TimeoutError:
            continue
        except Exception:  # the worker died, or the reader's stage reads the store
            staging.broken = True
            break
        _write(run, staging.store, staging.routed, staging=staging)
        return
    for item in lines.json_records():  # as one process stages them
        _check_stop(staging)
        _stage_here(item, listed, lines.name, staging=staging)


def _stage_here(item: JsonRecord, listed: str, file_name: str, *, staging: _Staging) -> None:
    role = staging.routed.route(item, listed, file_name, tally=staging.tally)
    if role is not None:
        staging.reader.stage_item(staging.store, role, item, notes=staging.notes)


def _check_stop(staging: _Staging) -> None:
    """Raise the stop a signal asked for (see :func:`~importer.commands.stopping.stops_setting`),
    here where no lock of the pool is held."""
    if staging.stop.is_set():
        raise KeyboardInterrupt
