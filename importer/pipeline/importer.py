"""Imports planned conversations exactly once: one conversation at a time per worker.

For each conversation, in order: its customers' turn (:mod:`customers`), its customer created
when it has no email, a check that the parts already in Help Scout were cut as planned now, then
each missing part: its URL files fetched and the part created exactly once (:mod:`parts`), its
other files uploaded after (:mod:`attachments`). Then it is counted (:class:`Tally`).

Whatever one conversation raises is its own failure (:meth:`ImportRun.handle`): it is failed in
the report, the dead letters and the checkpoint (a part whose request may have been sent is left
in doubt for the rerun), and the worker takes the next one. A fatal answer, or an output that
cannot be written (:class:`~importer.errors.OutputWriteError`: disk full), stops every worker;
the checkpoint stays consistent and a rerun resumes.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from importer.clock import WALL_CLOCK, Clock
from importer.deadletter import DeadLetterFile
from importer.errors import (
    CredentialsError,
    FatalApiError,
    ImporterError,
    OutputWriteError,
    StoppedError,
)
from importer.findings import Finding
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.download_hosts import HostDownError
from importer.helpscout.downloads import AttachmentDownloader
from importer.pipeline.attachments import Fetched, PartFiles, notes, remove_spooled
from importer.pipeline.checkpoint import Checkpoint, PartState
from importer.pipeline.customers import Customers
from importer.pipeline.parts import EventSink, PartResult, PartSender, split_changed
from importer.pipeline.waiting import HostWaits
from importer.progress import Progress
from importer.report import Report
from importer.tally import AlreadyDone, Planned, Tally
from importer.transform.payload import AttachmentDraft
from importer.transform.plan import ConversationPlan, InvalidConversation
from importer.transform.split import Part

log = logging.getLogger("importer.run")


@dataclass(kw_only=True)
class ImportRun:
    """Shared state of the workers of one ``importer run``."""

    client: HelpScoutClient
    checkpoint: Checkpoint
    report: Report
    dead: DeadLetterFile
    progress: Progress
    mailbox: int
    reconcile_wait_s: float
    source_id_field: int | None = None
    emit: EventSink = lambda name, fields: None
    #: wall-clock epoch seconds and their waits (tests move a fake clock instead)
    clock: Clock = WALL_CLOCK
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: fetches the export's URL attachments (its own session, never the API token)
    downloader: AttachmentDownloader | None = None
    #: where URL attachments fetched before their part's POST wait for their upload
    spool_dir: Path | None = None
    #: ``--attachments-dir``: URL attachments ``importer fetch-attachments`` kept
    attachments_dir: Path | None = None
    #: conversations waiting for a download host that is down (None: they fail at once)
    waits: HostWaits | None = None
    fatal: ImporterError | None = None
    #: why the export could not be read to its end, if so (the run then exits 1)
    read_error: str | None = None
    #: files given up, by source id: not counted among the conversation's attachments
    _files_left_out: dict[str, int] = field(default_factory=dict)
    #: source ids of conversations in the workers' hands already counted in the report
    _settled: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tally = Tally(self.report, self.dead)
        self.customers = Customers(
            client=self.client,
            checkpoint=self.checkpoint,
            report=self.report,
            reconcile_wait_s=self.reconcile_wait_s,
            emit=self.emit,
            clock=self.clock,
        )
        self.parts = PartSender(
            client=self.client,
            checkpoint=self.checkpoint,
            report=self.report,
            mailbox=self.mailbox,
            reconcile_wait_s=self.reconcile_wait_s,
            source_id_field=self.source_id_field,
            emit=self.emit,
            clock=self.clock,
        )
        self.files = PartFiles(
            client=self.client,
            checkpoint=self.checkpoint,
            left_out=self._file_left_out,
            emit=self.emit,
            downloader=self.downloader,
            spool_dir=self.spool_dir,
            attachments_dir=self.attachments_dir,
        )

    # --- one conversation, whatever it raises -------------------------------------------------

    async def handle(self, plan: ConversationPlan) -> None:
        """Import ``plan``; what it raises is its own failure, or stops the run (fatal)."""
        try:
            if self.stop.is_set():
                return  # stopping: the rerun picks it up
            await self.import_conversation(plan)
        except FatalApiError as exc:
            self.fatal = exc
            self.stop.set()
        except CredentialsError as exc:  # the token endpoint refuses us mid-run: stop (exit 3)
            self.fatal = FatalApiError(f"credentials refused mid-run: {exc}")
            self.stop.set()
        except StoppedError:
            pass  # stopping: what was in flight is in the checkpoint; the rerun resumes it
        except HostDownError as exc:  # nothing of the part that needs the host was sent
            try:
                self.wait_for_host(plan, exc)
            except OutputWriteError as again:
                self.output_failed(again)
        except OutputWriteError as exc:
            self.output_failed(exc)
        except Exception as exc:
            try:
                self.settle_crashed(plan, exc)
            except OutputWriteError as again:  # recording the failure found the disk full
                self.output_failed(again)
        finally:
            self._settled.discard(plan.source_id)

    def wait_for_host(self, plan: ConversationPlan, exc: HostDownError) -> None:
        """``plan`` needs files of a host that is down: it waits for the host (the worker
        takes the next one), or fails when the host was given up."""
        if self.stop.is_set():
            return  # stopping: the rerun picks it up
        if self.waits is None:
            self.settle_host_down(plan, exc)
        else:
            self.waits.park(plan, exc)

    def settle_host_down(self, plan: ConversationPlan, exc: HostDownError) -> None:
        """The host of ``plan``'s files did not answer within ``--download-host-wait``: failed,
        not imported without them (a rerun tries again). Its first part not sent is failed in
        the checkpoint (``importer status`` counts it); a part in doubt stays in doubt."""
        index = self._fail_first_unsent(plan, "download_host", str(exc), "attachment")
        self.settle_failed(
            plan, index, PartResult(None, None, str(exc), "download_host"), "attachment"
        )
        self._settled.discard(plan.source_id)  # settled outside a worker's hands

    def output_failed(self, exc: OutputWriteError) -> None:
        """An output could not be written (disk full, file size limit): not one conversation's
        failure but the run's stop (exit 4), as prompt as a fatal answer's. What was in flight
        is in the checkpoint as it was before the failed write (a part sent but not recorded
        done is in doubt), so the rerun resumes without sending anything twice."""
        if self.fatal is None:
            self.fatal = exc
        self.stop.set()

    async def import_conversation(self, plan: ConversationPlan) -> None:
        """Create every missing part of ``plan``, in order, then count it."""
        async with self.customers.turn(plan.customer_keys()):
            if self.stop.is_set():
                return  # stopped while waiting for its turn: the rerun picks it up
            customer_id = None
            if plan.customer_to_create is not None:
                customer_id, failure = await self.customers.ensure(plan)
                if failure is not None:
                    self.settle_failed(plan, None, failure)
                    return
            changed = split_changed(plan, self.checkpoint.parts_of(plan.source_id))
            if changed is not None:  # sending the rest would lose or repeat messages
                self.settle_failed(plan, None, PartResult(None, None, changed, "split_changed"))
                return
            created_now = False
            for part in plan.parts:
                if self.stop.is_set():
                    return  # stopped between parts: the rest resumes next run
                created = await self._import_part(plan, part, customer_id)
                if created is None:
                    return  # failed, and counted so
                created_now = created_now or created
        if created_now:
            self.settle_imported(plan)
        else:
            self.settle_already_imported(plan)

    async def _import_part(
        self, plan: ConversationPlan, part: Part, customer_id: int | None
    ) -> bool | None:
        """Make sure ``part`` exists and its files are on it: True when created in this run,
        False when it existed, None when it failed (counted)."""
        record = self.checkpoint.part(plan.source_id, part.index)
        done = record is not None and record.state is PartState.DONE
        conversation_id = record.conversation_id if record is not None and done else None
        fetched: Fetched = {}
        try:
            if not done:
                if part.deferred:  # noted before the POST, so a stop cannot lose them
                    self.checkpoint.record_uploads(plan.source_id, part.index, len(part.deferred))
                    fetched = await self.files.fetch_urls(part)
                body = part.body(customer_id, notes(part, fetched))
                result = await self.parts.create(plan, part, body, record, customer_id)
                if result.conversation_id is None:
                    self.settle_failed(plan, part.index, result)
                    return None
                conversation_id = result.conversation_id
                self.customers.known(plan.customer_keys([part]))
            if part.deferred and conversation_id is not None:
                await self.files.upload_pending(plan, part, conversation_id, fetched)
        finally:
            remove_spooled(fetched)
        return not done

    # --- what is left out of an imported conversation -----------------------------------------

    def _file_left_out(
        self, plan: ConversationPlan, part: Part, attachment: AttachmentDraft, why: str
    ) -> None:
        finding = Finding(
            "attachment",
            "attachment",
            f"{attachment.file_name}: {why}; left out",
            attachment.location or plan.location,
            plan.source_id,
            part.index,
        )
        self._files_left_out[plan.source_id] = self._files_left_out.get(plan.source_id, 0) + 1
        self.left_out([finding])

    def left_out(self, findings: list[Finding]) -> None:
        """Messages or files of an imported conversation that are not in Help Scout: in the
        report and the checkpoint's error log (``importer status``)."""
        self._log_left_out(findings)
        self.report.left_out(findings)

    def _log_left_out(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.checkpoint.log_error(
                stage=finding.stage,
                code=finding.code,
                message=f"{finding.location}: {finding.message}",
                source_id=finding.source_id,
                part=finding.part,
            )

    # --- counting -----------------------------------------------------------------------------

    def tick(self, outcome: str) -> None:
        """Move the progress on by one settled conversation, with the 429s seen so far."""
        self.progress.counts["throttled"] = self.client.stats.throttled
        self.progress.update(outcome)

    def settle_imported(self, plan: ConversationPlan) -> None:
        """The conversation's last missing part exists: count it imported."""
        self._settled.add(plan.source_id)
        given_up = self._files_left_out.pop(plan.source_id, 0)
        self._log_left_out(plan.left_out)  # the tally puts them in the report
        self.tally.imported(plan, given_up)
        self.tick("imported")
        self.emit("conversation.imported", {"source_id": plan.source_id, "parts": len(plan.parts)})

    def settle_already_imported(self, plan: ConversationPlan | AlreadyDone) -> None:
        """Every part existed before this run (it only finished uploading attachments)."""
        self._settled.add(plan.source_id)
        self.tally.already_imported(plan)
        self.tick("already imported")

    def settle_invalid(self, planned: InvalidConversation) -> None:
        """The conversation cannot be imported as it is (in the checkpoint's error log too)."""
        entry = self.tally.invalid(planned)
        self.checkpoint.log_error(
            stage=entry["stage"],
            code=entry["code"],
            message=f"{entry['location']}: {entry['message']}",
            source_id=planned.source_id,
        )
        self.tick("invalid")

    def settle_failed(
        self, plan: Planned, part: int | None, result: PartResult, stage: str = "send"
    ) -> None:
        """A part could not be created (or, ``stage`` "transform", the conversation could not
        be planned): the conversation is failed, with its reason."""
        if plan.source_id is not None:
            self._settled.add(plan.source_id)
        code = result.code or stage
        self.tick("failed")
        self.emit("conversation.failed", {"source_id": plan.source_id, "part": part, "code": code})
        self.tally.failed(plan, part, stage, code, result.reason)
        if isinstance(plan, ConversationPlan) and part is None and code == "customer":
            self._customer_failed(plan, result)
        elif part is None:  # the error log of importer status; a part's own failure is there
            self.checkpoint.log_error(
                stage=stage, code=code, message=result.reason, source_id=plan.source_id
            )

    def _customer_failed(self, plan: ConversationPlan, result: PartResult) -> None:
        """Its customer could not be created: its first part not sent is failed in the
        checkpoint (``importer status`` counts it, a rerun sends it)."""
        if self._fail_first_unsent(plan, "customer", result.reason, "customer") is None:
            self.checkpoint.log_error(
                stage="send", code="customer", message=result.reason, source_id=plan.source_id
            )

    def _fail_first_unsent(
        self, plan: ConversationPlan, code: str, message: str, stage: str
    ) -> int | None:
        """Record the conversation's first part not done as failed, when it was never sent
        (a part in doubt stays in doubt); its index, or None when there is no such part."""
        unsent = self._first_part_not_done(plan)
        if unsent is None or unsent[1] not in (None, PartState.PENDING, PartState.FAILED):
            return None
        part = unsent[0]
        self.checkpoint.record_failed(
            plan.source_id,
            part.index,
            code=code,
            message=message,
            part_count=part.count,
            stage=stage,
        )
        return part.index

    def _first_part_not_done(self, plan: ConversationPlan) -> tuple[Part, PartState | None] | None:
        """The conversation's first part not done in the checkpoint, with its state (None: never
        recorded), or None when every part is done."""
        for part in plan.parts:
            row = self.checkpoint.part(plan.source_id, part.index)
            if row is None or row.state != PartState.DONE:
                return part, row.state if row is not None else None
        return None

    def reading_failed(self, exc: Exception, last: str) -> None:
        """The reader raised instead of yielding a record: what was read goes on, the rest of
        the export is not read in this run (exit 1), and the error says where it stopped."""
        message = (
            f"reading stopped after {last}: unexpected {type(exc).__name__}: {exc}; the "
            "conversations after it were not read. Check the export there, then rerun the "
            "same command (what was imported is not sent again)"
        )
        self.read_error = message
        log.error("%s", message)
        self.report.left_out([Finding("read", "internal", message, last)])
        self.emit(
            "read.failed",
            {"error": message, "traceback": "".join(traceback.format_exception(exc))},
        )
        _best_effort(
            lambda: self.checkpoint.log_error(stage="read", code="internal", message=message)
        )

    def settle_crashed(self, plan: ConversationPlan, exc: Exception) -> None:
        """``plan`` raised what no code expected: it is failed with the exception's type and
        message (in the report, the dead letters and the checkpoint, the traceback in
        ``--log-json``), and the worker goes on. A part whose request may have been sent is
        left in doubt, so the rerun looks it up before sending it again. Counted once: a
        conversation already settled when it raised keeps that count, the error is logged."""
        reason = f"unexpected {type(exc).__name__}: {exc}"
        if isinstance(exc, ImporterError):
            reason = str(exc)
        self.emit(
            "conversation.crashed",
            {
                "source_id": plan.source_id,
                "error": reason,
                "traceback": "".join(traceback.format_exception(exc)),
            },
        )
        log.error("%s: %s", plan.source_id, reason)
        if plan.source_id in self._settled:
            _best_effort(
                lambda: self.checkpoint.log_error(
                    stage="send", code="internal", message=reason, source_id=plan.source_id
                )
            )
            return
        _best_effort(lambda: self._leave_in_doubt(plan, reason))
        try:
            self.settle_failed(plan, None, PartResult(None, None, reason, "internal"))
        except OutputWriteError:
            raise
        except Exception as again:
            log.error("%s: recording the failure failed too: %s", plan.source_id, again)
            self._settled.add(plan.source_id)

    def _leave_in_doubt(self, plan: ConversationPlan, reason: str) -> None:
        """A part left ``sending`` by an exception is in doubt for the rerun; a part not yet
        sent is failed (``importer status`` counts it, the rerun sends it)."""
        unsent = self._first_part_not_done(plan)
        if unsent is None:
            return
        part, state = unsent
        if state is PartState.SENDING:
            self.checkpoint.record_in_doubt(
                plan.source_id, part.index, code="internal", message=reason
            )
        elif state in (None, PartState.PENDING, PartState.FAILED):
            self.checkpoint.record_failed(
                plan.source_id,
                part.index,
                code="internal",
                message=reason,
                part_count=part.count,
                stage="send",
            )


def _best_effort(action: Callable[[], object]) -> None:
    """``action()``; what it raises is logged, except a full disk, which stops the run."""
    try:
        action()
    except OutputWriteError:
        raise
    except Exception as exc:
        log.error("could not record a failure in the checkpoint: %s", exc)
