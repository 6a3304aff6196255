"""Planning in worker processes: ``validate`` and ``convert`` with ``--jobs`` above 1.

The export is cut into batches of consecutive conversations (:mod:`importer.readers.batches`:
raw JSONL lines where the format allows, records read here otherwise). Each batch is read and
planned in a worker process, forked from this one so it shares the planning context without
sending it; a worker sends back, for each conversation, only what counting it needs
(:class:`PlanSummary`, and its canonical line for ``convert``) or the invalid conversation with
its record for the dead-letter file. Results are taken in source order, through the same
:class:`~importer.planning.selection.Selection` as one process uses, so the report, the dead-letter
file and the output are the same whatever ``--jobs`` says.

Nothing here may lose a conversation: a batch a worker could not plan (the worker died, the pool
broke) is planned again in this process; a stop (Ctrl-C) cancels the batches not started and
waits only for the ones running (a fraction of a second); a worker whose parent is gone exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import tzinfo
from functools import partial
from multiprocessing.synchronize import Event as EventType
from typing import Any, Protocol

from importer.commands.stopping import stops_setting
from importer.errors import ImporterError
from importer.findings import Finding
from importer.planning.records import (
    canonical_output,
    canonical_text,
    count_outcome,
    count_record,
    plan_record,
    unwritten,
)
from importer.planning.selection import DateRange, Selection, parse_date_range
from importer.planning.summary import PlanSummary
from importer.readers import Export
from importer.readers.base import current_read_counts
from importer.readers.batches import BATCH_SIZE, ReadRecords, RecordBatch
from importer.readers.parallel_staging import staging_workers
from importer.settings import TransformSettings
from importer.transform.plan import ConversationPlan, InvalidConversation, PlanContext
from importer.worker_process import (
    become_worker,
    can_fork,
    release_freed_memory,
    result_checking_stops,
)

log = logging.getLogger("importer.plan")

#: Batches sent ahead per worker: enough that none waits for the next, few enough that memory
#: stays flat.
BATCHES_AHEAD = 3
#: Bytes of the batches sent ahead, all workers together, where batches are weighed (raw
#: lines): a run of records near ``--max-record-bytes`` keeps one or two in flight, not
#: ``BATCHES_AHEAD`` per worker (the main process holds each batch until its results are in).
AHEAD_BYTES = 48 << 20
#: A batch heavier than this (it holds a record of several MB) is planned in this process:
#: sent to a worker, its bytes would be held twice (here, and pickled there) with both
#: processes' copies of the record as it is planned.
HEAVY_BATCH_BYTES = 16 << 20
#: Workers by default at most: each holds about 60 MB, and one main process keeps four busy.
DEFAULT_JOBS_MAX = 4


Outcome = PlanSummary | InvalidConversation


class AgentsMet(Protocol):
    """The agents directory of ``plan``: the agents it could not match, all of them
    (``unmatched``) and since it was last asked (:meth:`take_met`)."""

    unmatched: set[str]

    def take_met(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class PlanningJob:
    """What every worker plans with, fixed for the whole command."""

    ctx: PlanContext
    source_name: str
    convert_zone: tzinfo | None = None  # set: each valid conversation's canonical line too
    requests: bool = False  # each valid conversation's requests too (``plan``)
    #: the agents directory ``ctx`` resolves with (``plan``): the agents each conversation met
    #: unmatched go back with it
    agents: AgentsMet | None = None


class PlanningStoppedError(ImporterError):
    """A worker dropped its batch: the main process wants no more results."""


_job: PlanningJob | None = None
_stopped: EventType | None = None  # set by the main process: drop every batch at once


def plan_batch(batch: RecordBatch, job: PlanningJob | None = None) -> list[Outcome]:
    """Read and plan one batch (in a worker, with the job it was started with)."""
    job = job or _job
    if job is None:
        raise RuntimeError("plan_batch called outside a planning worker without a job")
    outcomes = []
    for record in batch.records():
        if _stopped is not None and _stopped.is_set():
            raise PlanningStoppedError("the main process stopped planning")
        outcomes.append(outcome_of(plan_record(record, job.ctx), job))
    return outcomes


def outcome_of(planned: ConversationPlan | InvalidConversation, job: PlanningJob) -> Outcome:
    """What the main process is sent of one planned conversation."""
    met = job.agents.take_met() if job.agents is not None else frozenset()
    if isinstance(planned, InvalidConversation):
        planned.agents_unmatched = met
        return planned
    converted = None
    if job.convert_zone is not None:
        try:
            body = canonical_output(planned.record, job.convert_zone, job.source_name)
            converted = canonical_text(body)
        except Exception as exc:  # this conversation's failure, never the worker's death
            failed = unwritten(planned, exc)
            failed.agents_unmatched = met
            return failed
    summary = PlanSummary.of(planned, converted, requests=job.requests)
    summary.agents_unmatched = met
    return summary


def _start_worker(job: PlanningJob, parent: int, stopped: EventType) -> None:
    global _job, _stopped
    _job, _stopped = job, stopped
    become_worker(parent)  # the main process decides when to stop, and ends a worker


def default_jobs() -> int:
    """Worker processes by default: one per core this process may use, at most
    :data:`DEFAULT_JOBS_MAX` (1: plan in process)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, DEFAULT_JOBS_MAX)) if can_fork() else 1


class PlanningPool:
    """Worker processes planning batches; results in the order the batches were given."""

    def __init__(self, job: PlanningJob, jobs: int) -> None:
        self.job = job
        self.jobs = jobs
        self._executor: ProcessPoolExecutor | None = None
        self._broken = False
        forking = can_fork()
        if not forking:  # the context is inherited, not sent: without fork, plan here
            self.jobs = 1
        self._context = multiprocessing.get_context("fork" if forking else None)
        self._stopped = self._context.Event()
        #: set by SIGINT/SIGTERM while the pool runs (see :func:`planning_pool`)
        self.stop = threading.Event()

    def planned(
        self, batches: Iterator[RecordBatch]
    ) -> Iterator[tuple[RecordBatch, list[Outcome]]]:
        """Each batch with its outcomes, in order. Workers start at the second batch: an export
        of one batch is planned here, without the cost of starting processes."""
        first = next(batches, None)
        if first is None:
            return
        second = next(batches, None)
        if second is None or self.jobs < 2:
            for batch in _chain(first, second, batches):
                self._check_stop()
                yield batch, plan_batch(batch, self.job)
            return
        window: deque[tuple[RecordBatch, Future[list[Outcome]] | None]] = deque()
        ahead = 0  # the bytes of the batches in the window
        for batch in _chain(first, second, batches):
            self._check_stop()
            heavy = batch.weight > HEAVY_BATCH_BYTES
            window.append((batch, None if heavy else self._submit(batch)))
            ahead += batch.weight
            while len(window) > self.jobs * BATCHES_AHEAD or (
                ahead > AHEAD_BYTES and len(window) > 1
            ):
                settled = self._settled(*window.popleft())
                ahead -= settled[0].weight
                yield settled
        while window:
            yield self._settled(*window.popleft())

    def _submit(self, batch: RecordBatch) -> Future[list[Outcome]] | None:
        if self._broken:
            return None
        if self._executor is None:
            release_freed_memory()  # the workers fork at the first batch: after the staging
            self._executor = ProcessPoolExecutor(
                self.jobs,
                mp_context=self._context,
                initializer=_start_worker,
                initargs=(self.job, os.getpid(), self._stopped),
            )
        try:
            return self._executor.submit(plan_batch, batch)
        except Exception as exc:  # the pool broke (a worker died): plan here from now on
            self._give_up(exc)
            return None

    def _settled(
        self, batch: RecordBatch, future: Future[list[Outcome]] | None
    ) -> tuple[RecordBatch, list[Outcome]]:
        if future is not None:
            try:
                return batch, result_checking_stops(future, self._check_stop)
            except Exception as exc:
                self._give_up(exc)
        self._check_stop()
        return batch, plan_batch(batch, self.job)

    def _check_stop(self) -> None:
        """Raise the stop a signal asked for, here where no lock of the pool is held."""
        if self.stop.is_set():
            raise KeyboardInterrupt

    def _give_up(self, exc: BaseException) -> None:
        if not self._broken:
            log.warning(
                "a planning worker failed (%s: %s); the rest is planned in this process",
                type(exc).__name__,
                exc,
            )
        self._broken = True

    def close(self) -> None:
        """Stop the workers: every result wanted was taken (a stop or ``--limit`` needs no more),
        so each batch still queued or being planned is dropped at its next record, and the
        workers end. Not killed: a worker killed while it sends a result would leave the pool's
        pipe half written, and the process hung on its way out."""
        if self._executor is None:
            return
        self._stopped.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None


def _chain(
    first: RecordBatch, second: RecordBatch | None, rest: Iterator[RecordBatch]
) -> Iterator[RecordBatch]:
    yield first
    if second is not None:
        yield second
        yield from rest


@contextmanager
def planning_pool(job: PlanningJob, jobs: int) -> Iterator[PlanningPool]:
    """A :class:`PlanningPool`, closed on the way out. While it runs, SIGINT and SIGTERM (those
    not ignored) only set its ``stop``, which raises KeyboardInterrupt at the pool's next check
    (a fraction of a second): raised at any moment, it could leave a lock of the executor held
    and the process hung on its way out."""
    pool = PlanningPool(job, jobs)
    try:
        with stops_setting(pool.stop):
            yield pool
            pool._check_stop()  # a stop asked for while the last results were counted
    finally:
        pool.close()


def _record_at(batch: RecordBatch, position: int) -> dict[str, Any]:
    for index, record in enumerate(batch.records()):
        if index == position and record.data is not None:
            return record.data
    raise LookupError(f"record {position} of a batch could not be read again")


def planned_by_workers(
    export: Export,
    ctx: PlanContext,
    settings: TransformSettings,
    *,
    jobs: int,
    convert_zone: tzinfo | None = None,
    date_range: DateRange | None = None,
    leftover: list[Finding] | None = None,
    batch_size: int = BATCH_SIZE,
    requests: bool = False,
    agents: AgentsMet | None = None,
) -> Generator[Outcome, None, None]:
    """:func:`~importer.planning.stream.planned_conversations` with the planning done by
    ``jobs`` worker processes: the same conversations, verdicts and warnings, in the same order;
    valid ones as :class:`PlanSummary` (with their :class:`RequestFigures` when ``requests``;
    ``agents``: the directory ``ctx`` resolves agents with, told what the workers met)."""
    date_range = date_range or parse_date_range(settings.since, settings.until, ctx.source_tz)
    selection = Selection(date_range, settings.limit)
    job = PlanningJob(ctx, export.format, convert_zone, requests, agents)
    export_warnings_given = False
    counts = current_read_counts()
    try:
        with planning_pool(job, jobs) as pool, staging_workers(pool.jobs, pool.stop):
            for batch, outcomes in pool.planned(export.record_batches(batch_size)):
                for position, outcome in enumerate(outcomes):
                    if selection.full:
                        return
                    if isinstance(batch, ReadRecords):  # read here: its record is at hand
                        count_record(counts, batch.items[position])
                    else:
                        count_outcome(counts, outcome)
                    if job.agents is not None:  # what a worker met, as if met here
                        job.agents.unmatched |= outcome.agents_unmatched
                    if not export_warnings_given:
                        outcome.warnings[:0] = export.warnings
                        export_warnings_given = True
                    if isinstance(outcome, PlanSummary):
                        outcome.reread = partial(_record_at, batch, position)
                    taken = selection.take(outcome)
                    if taken is not None:
                        yield taken
            if not export_warnings_given and export.warnings and not selection.full:
                lone = outcome_of(
                    plan_record(export.without_conversations(export.warnings), ctx), job
                )
                taken = selection.take(lone)
                if taken is not None:
                    yield taken
    finally:
        if leftover is not None:
            leftover += selection.carried
