"""``importer undo``: delete exactly the conversations a checkpoint records as created, every
part of each, and nothing else; a dry run without ``--yes``.

For each selected part, first a GET of its conversation (:mod:`undo_rules` decides: gone,
changed since import and kept, or to delete), then, with ``--yes``, its DELETE: recorded in the
checkpoint before it is sent (``deleting``) and after (``deleted``, ``gone``: the part leaves the
parts log, so a later ``run`` imports it afresh). A DELETE whose answer was lost is settled by a
GET before any resend; a part left ``deleting`` by a stop is looked up first by the next undo.
So ``undo`` resumes after any stop, never deletes a conversation twice, and a second undo sends
nothing. It holds the checkpoint as a run does: a run and an undo never share one at a time.
Paced, retried and stopped as ``run`` is (the same client and stop controller); customers and
users are never touched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

from importer.commands.stopping import GRACE_MARGIN_S, StopController
from importer.commands.undo_report import UndoReport
from importer.commands.undo_rules import Selection, adopted_mismatch, parse_run, verdict
from importer.errors import (
    CheckpointError,
    FatalApiError,
    ImporterError,
    OutputWriteError,
    SetUpInterruptedError,
    StoppedError,
)
from importer.events import EventLog
from importer.helpscout.auth import Credentials
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.helpscout.transport import Timeouts
from importer.pipeline.checkpoint import Checkpoint, UndoLog, UndoTarget, normalise_api_url
from importer.pipeline.parts import EventSink
from importer.pipeline.pool import WorkerPool
from importer.progress import Progress
from importer.report import write_json_atomic
from importer.settings import READ_COST, WRITE_COST

log = logging.getLogger("importer.undo")

#: DELETEs of one part whose answers were all lost (each settled by a GET that found the
#: conversation still there) before the part is failed for the next undo
MAX_DELETES_PER_PART = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class UndoJob:
    """What one ``undo`` is asked: the selection and how to go about it."""

    selection: Selection
    yes: bool = False
    include_changed: bool = False
    api_url: str | None = None
    rate_limit: int = 400
    workers: int = 8
    #: ``--run latest|N`` as given (resolved against the checkpoint's runs)
    run: str | None = None


@dataclass
class UndoOutcome:
    """The report, and the exit code it calls for."""

    report: UndoReport
    exit_code: int


def selected(targets: list[UndoTarget], selection: Selection) -> list[UndoTarget]:
    """The parts of every conversation ``selection`` picks, in source order."""
    by_conversation: dict[str, list[UndoTarget]] = {}
    for target in targets:
        by_conversation.setdefault(target.source_id, []).append(target)
    return [part for parts in by_conversation.values() if selection.picks(parts) for part in parts]


class Undoer:
    """Looks up and deletes one part at a time per worker (see the module's docstring)."""

    def __init__(
        self,
        *,
        client: HelpScoutClient,
        log: UndoLog,
        report: UndoReport,
        job: UndoJob,
        mailbox: int,
        progress: Progress,
        stop: asyncio.Event,
        emit: EventSink = lambda name, fields: None,
    ) -> None:
        self.client = client
        self.log = log
        self.report = report
        self.job = job
        self.mailbox = mailbox
        self.progress = progress
        self.stop = stop
        self.emit = emit
        self.fatal: ImporterError | None = None

    async def handle(self, target: UndoTarget) -> None:
        """Undo ``target``; what it raises is its own failure, or stops the undo (fatal)."""
        if self.stop.is_set():
            return
        try:
            outcome = await self.undo(target)
        except (FatalApiError, OutputWriteError) as exc:
            self.fatal = self.fatal or exc
            self.stop.set()
            return
        except StoppedError:
            return  # stopping: a part left deleting is looked up by the next undo
        except Exception as exc:
            reason = str(exc) if isinstance(exc, ImporterError) else f"unexpected {exc!r}"
            self.report.add("failed")
            self.report.error(target.source_id, target.part, code="undo", message=reason)
            outcome = "failed"
        self.progress.update(outcome)
        self.emit(
            "undo.part",
            {
                "source_id": target.source_id,
                "part": target.part,
                "conversation_id": target.conversation_id,
                "outcome": outcome,
            },
        )

    async def undo(self, target: UndoTarget) -> str:
        """Look ``target`` up, then delete it if it may be; what became of it."""
        cid = target.conversation_id
        look = await self.client.look_up_conversation(cid, embed_threads=target.adopted)
        if target.deleting and _gone(look) and not self.job.yes:
            return self._count("deleted")  # a dry run reports the earlier undo's deletion
        if target.deleting and _gone(look):
            self.log.finish_delete(target, state="deleted")  # the earlier DELETE landed
            return self._count("deleted")
        found = verdict(target, look, mailbox=self.mailbox)
        if found.kind == "delete" and target.adopted:
            body = look.body if isinstance(look.body, dict) else {}
            mismatch = adopted_mismatch(target, body)
            if mismatch:
                return self._kept(target, mismatch, code="adopted_mismatch")
        if found.kind == "failed":
            self.report.error(target.source_id, target.part, code="lookup", message=found.why)
            return self._count("failed")
        if found.kind == "gone":
            if self.job.yes:
                self.log.finish_delete(target, state="gone")
            return self._count("already_gone")
        if found.kind == "changed" and not self.job.include_changed:
            return self._kept(target, found.why, code="changed")
        if not self.job.yes:
            return self._count("would_delete")
        return await self._delete(target)

    async def _delete(self, target: UndoTarget) -> str:
        """Send the DELETE, recorded before and after; a lost answer is settled by a GET."""
        cid = target.conversation_id
        for _ in range(MAX_DELETES_PER_PART):
            self.log.begin_delete(target)
            answer = await self.client.delete_conversation(cid)
            if answer.kind is OutcomeKind.CREATED:
                self.log.finish_delete(target, state="deleted")
                return self._count("deleted")
            if answer.kind is OutcomeKind.REJECTED and answer.code == "not_found":
                self.log.finish_delete(target, state="gone")
                return self._count("already_gone")
            if answer.kind is not OutcomeKind.IN_DOUBT:
                self.log.abandon_delete(target)
                self.report.error(
                    target.source_id, target.part, code="delete", message=answer.describe()
                )
                return self._count("failed")
            look = await self.client.look_up_conversation(cid)  # lost: was it deleted?
            if _gone(look):
                self.log.finish_delete(target, state="deleted")
                return self._count("deleted")
            if look.kind is not OutcomeKind.OK:
                break  # cannot tell: left deleting, the next undo looks it up first
        message = "the DELETE's answer was lost and the conversation could not be found gone"
        self.report.error(target.source_id, target.part, code="in_doubt", message=message)
        return self._count("failed")

    def _kept(self, target: UndoTarget, why: str, *, code: str) -> str:
        self.report.error(target.source_id, target.part, code=code, message=f"kept: {why}")
        return self._count("kept_changed")

    def _count(self, key: str) -> str:
        self.report.add(key)
        return key.replace("_", " ")


def _gone(look: Outcome) -> bool:
    """Whether a GET says the conversation is gone: 404, or ``state: deleted``."""
    if look.kind is OutcomeKind.REJECTED and look.code == "not_found":
        return True
    body = look.body if isinstance(look.body, dict) else {}
    return look.kind is OutcomeKind.OK and body.get("state") == "deleted"


async def undo_import(
    checkpoint_path: Path,
    job: UndoJob,
    *,
    report_path: Path | None = None,
    log_json: Path | None = None,
    show_progress: bool = False,
    timeouts: Timeouts = Timeouts(),
) -> UndoOutcome:
    """Run the undo (or its dry run) and return its report and exit code."""
    started = time.monotonic()
    controller = StopController(asyncio.Event(), grace_s=timeouts.total + GRACE_MARGIN_S)
    controller.install()
    credentials = Credentials.from_env()  # missing credentials stop here, before any request
    events = EventLog(log_json)
    report = UndoReport(dry_run=not job.yes, checkpoint=str(checkpoint_path))
    fatal: ImporterError | None = None
    try:
        with Checkpoint.open_existing(checkpoint_path, exclusive=True) as checkpoint:
            fatal = await _undo_with(
                checkpoint,
                job,
                report=report,
                credentials=credentials,
                events=events,
                controller=controller,
                timeouts=timeouts,
                show_progress=show_progress,
            )
    except (asyncio.CancelledError, StoppedError):
        if not controller.interrupted or controller.phase != "setup":
            raise
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        raise SetUpInterruptedError(
            "interrupted before anything was deleted: rerun the same command"
        ) from None
    finally:
        controller.hand_over()
        events.close()
    report.elapsed_s = time.monotonic() - started
    if report_path is not None:
        write_json_atomic(report.to_dict(), report_path)
    if fatal is not None:
        raise fatal
    code = EXIT_INTERRUPTED if controller.interrupted else report.exit_code()
    return UndoOutcome(report, code)


async def _undo_with(
    checkpoint: Checkpoint,
    job: UndoJob,
    *,
    report: UndoReport,
    credentials: Credentials,
    events: EventLog,
    controller: StopController,
    timeouts: Timeouts,
    show_progress: bool,
) -> ImporterError | None:
    """The undo over an open checkpoint: what stopped it (a fatal answer), if anything."""
    header = checkpoint.header
    api_url = job.api_url or header.api_url
    if normalise_api_url(api_url) != header.api_url:
        raise CheckpointError(
            f"this checkpoint belongs to API URL {header.api_url}, not {api_url}: give its "
            "--api-url (or leave it out)",
            location=str(checkpoint.path),
        )
    run = parse_run(job.run, checkpoint.undo.latest_run())
    targets = selected(checkpoint.undo.targets(), replace(job.selection, run=run))
    report.parts = len(targets)
    report.conversations = len({t.source_id for t in targets})
    report.estimated_s = len(targets) * (READ_COST + WRITE_COST) * 60.0 / max(job.rate_limit, 1)
    if any(not t.recorded_facts for t in targets):
        report.errors.append(_older_checkpoint_note(str(checkpoint.path)))
    async with HelpScoutClient(
        api_url,
        credentials,
        rate_limit=job.rate_limit,
        timeouts=timeouts,
        on_event=events.emit,
        stop=controller.stop,
    ) as client:
        with Progress("undo", enabled=show_progress, total=len(targets)) as progress:
            undoer = Undoer(
                client=client,
                log=checkpoint.undo,
                report=report,
                job=job,
                mailbox=header.mailbox,
                progress=progress,
                stop=controller.stop,
                emit=events.emit,
            )
            try:
                await _pool(undoer, targets, controller, workers=job.workers)
            finally:
                stats = client.stats
                report.requests, report.throttled = stats.requests, stats.throttled
                report.retries = stats.retries
    return undoer.fatal


async def _pool(
    undoer: Undoer, targets: list[UndoTarget], controller: StopController, *, workers: int
) -> None:
    """Every target through ``workers`` workers, until done or stopped."""
    pool: WorkerPool[UndoTarget] = WorkerPool(workers, undoer.handle)
    tasks = pool.start()

    async def feed() -> None:
        for target in targets:
            if undoer.stop.is_set():
                return
            await pool.put(target)

    feeding = asyncio.create_task(feed())
    controller.start_pool([feeding, *tasks])
    try:
        await asyncio.gather(feeding, return_exceptions=True)
    finally:
        await pool.finish()


def _older_checkpoint_note(location: str) -> dict[str, object]:
    """The report's word that some parts were recorded before version 4."""
    return {
        "source_id": None,
        "part": None,
        "stage": "undo",
        "code": "older_checkpoint",
        "message": "some parts were recorded before checkpoint version 4, which kept no thread "
        "count, status or last upload time: for them, changed since import means "
        "userUpdatedAt later than when they were recorded done, alone",
        "location": location,
    }
