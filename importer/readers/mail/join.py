"""What each thread's mail heads say for the join by subject, worked out over the workers.

Before threads are joined by subject (:meth:`~importer.readers.mail.thread.Threads.join_by_subject`)
every thread not joined into another is summed up from its mail heads: whether it makes a
conversation, and the subject and customer it would be joined by, with its first and last
times (:func:`root_summary`). Fetching and decoding the heads was most of the join, done in the
main process while the other cores waited. Within ``staging_workers`` of two jobs or more the
roots go to worker processes in runs (:class:`RootRun`); each worker opens the committed staging
store read-only, reads the team as the main process learned it (its ``learned`` rows), and
sums up its run; the main process takes the summaries in the order of the roots. It writes
them to a store of their own (a worker never reads a file the main process writes). A run no
worker could do is done here, as one process does it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.readers.mail.build import Team, yields_conversation
from importer.readers.mail.mapping import MailMapping
from importer.readers.mail.read import MailRead, MailRun, read_mail_run
from importer.readers.mail.thread import Threads, is_reply, normalised_subject
from importer.readers.ordered_work import OrderedWork, current_staging_workers
from importer.readers.staged_batches import opened_store
from importer.readers.staging import StagingStore

if TYPE_CHECKING:
    from importer.readers.mail.reader import MailReader

#: root threads a worker sums up at once
RUN_THREADS = 500

#: ``(key, first epoch, last epoch, location, is a reply)`` of a thread that may join or be
#: joined by subject (``key``: its normalised subject and customer address)
Summary = tuple[str, float, float, str, bool]
#: ``(whether it makes a conversation, its summary or None)`` of one root thread
RootSummary = tuple[bool, Summary | None]


@dataclass(frozen=True)
class JoinRules:
    """What the join asks of every root: which threads make a conversation (``noting``), and
    whether threads are joined by subject at all (``window_on``)."""

    noting: bool
    window_on: bool


def counts_for_join(team: Team, head: dict[str, Any]) -> bool:
    """Whether a mail counts in the join: not left out (labelled out, or team to team)."""
    return head["out"] is None and not team.internal(head)


def root_summary(
    heads: list[dict[str, Any]], asked: JoinRules, *, rules: MailMapping, team: Team
) -> RootSummary:
    """What the join needs of one root thread, from its mail heads in time order."""
    keep = asked.noting and yields_conversation(heads, rules, team)
    if not asked.window_on:
        return keep, None
    counted = [head for head in heads if counts_for_join(team, head)]
    if not counted:
        return keep, None
    customer = team.customer_of(counted)
    key = f"{normalised_subject(counted[0]['subject'])}\n{customer[0] if customer else ''}"
    first, last = counted[0]["epoch"], counted[-1]["epoch"]
    return keep, (key, first, last, counted[0]["loc"], is_reply(counted[0]))


@dataclass(frozen=True)
class RootRun:
    """Root threads a worker sums up, and where the store is (a few numbers, pickled)."""

    reader: MailReader
    mapping: dict[str, Any]
    path: Path
    record_kinds: frozenset[str]
    kinds: frozenset[str] | None
    asked: JoinRules
    threads: list[int]


def summed_up_run(run: RootRun) -> list[RootSummary]:
    """What a worker does: the summary of each thread of ``run``, in order."""
    store, (rules, team) = opened_store(
        run.reader, run.mapping, run.path, record_kinds=run.record_kinds, kinds=run.kinds
    )
    threads = Threads(store)
    return [
        root_summary(threads.heads(thread), run.asked, rules=rules, team=team)
        for thread in run.threads
    ]


#: the staging workers of a mail archive: a run of mails read, or a run of threads summed up
MailWork = OrderedWork[Any, Any]


def mail_work(rules: MailMapping, piece: MailRun | RootRun) -> list[MailRead] | list[RootSummary]:
    """What a mail reader's staging worker does with ``piece``."""
    if isinstance(piece, RootRun):
        return summed_up_run(piece)
    return read_mail_run(rules, piece)


def mail_workers(rules: MailMapping) -> MailWork | None:
    """The staging workers of a read within ``staging_workers`` of two jobs or more (not
    started until given a piece), else ``None``."""
    workers = current_staging_workers()
    if workers is None or workers.jobs < 2:
        return None
    return OrderedWork(partial(mail_work, rules), workers)


def summed_up(
    roots: Iterable[int],
    asked: JoinRules,
    *,
    threads: Threads,
    rules: MailMapping,
    team: Team,
    work: MailWork | None,
    worker_run: partial[RootRun],
) -> Iterator[tuple[int, RootSummary]]:
    """``(thread, summary)`` of each root, in order: over ``work`` when given (``worker_run``:
    a :class:`RootRun` but its threads, where the committed store is), else here. ``work``
    is closed once every summary is given: no worker reads the store after."""
    if work is None:
        for thread in roots:
            yield thread, root_summary(threads.heads(thread), asked, rules=rules, team=team)
        return
    pending = iter(roots)
    while run_threads := list(islice(pending, RUN_THREADS)):
        for run, done in work.put(worker_run(threads=run_threads)):
            yield from _settled(run, done, threads=threads, rules=rules, team=team)
    for run, done in work.drain():
        yield from _settled(run, done, threads=threads, rules=rules, team=team)
    work.close()


def _settled(
    run: RootRun,
    done: list[RootSummary] | None,
    *,
    threads: Threads,
    rules: MailMapping,
    team: Team,
) -> Iterator[tuple[int, RootSummary]]:
    """A worker's summaries of ``run``, or those worked out here where no worker could."""
    if done is None:
        done = [
            root_summary(threads.heads(thread), run.asked, rules=rules, team=team)
            for thread in run.threads
        ]
    yield from zip(run.threads, done, strict=True)


def join_store(store: StagingStore) -> StagingStore:
    """The store the summaries are written to, beside ``store``."""
    return StagingStore(store.path.parent, "joins.sqlite")
