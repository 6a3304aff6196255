"""Imports planned conversations exactly once: one conversation at a time per worker.

For each conversation, in order: its customers' turn (:mod:`customers`), its customer created
when it has no email, a check that the parts already in Help Scout were cut as planned now, then
each missing part: its URL files fetched and the part created exactly once (:mod:`parts`), its
other files uploaded after (:mod:`attachments`). Then it is counted (:mod:`settlement`).

Whatever one conversation raises is its own failure (:meth:`ImportRun.handle`): it is failed in
the report, the dead letters and the checkpoint (a part whose request may have been sent is left
in doubt for the rerun; :mod:`settlement`), and the worker takes the next one. A fatal answer,
or an output that cannot be written (:class:`~importer.errors.OutputWriteError`: disk full),
stops every worker; the checkpoint stays consistent and a rerun resumes.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
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
from importer.pipeline.run_events import RunEvents
from importer.pipeline.settlement import Settlement, best_effort
from importer.pipeline.waiting import HostWaits
from importer.report import Report
from importer.tally import AlreadyDone, Planned
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
    #: the run's listeners (the terminal's progress, a status page): see :mod:`run_events`
    events: RunEvents
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

    def __post_init__(self) -> None:
        self.settlement = Settlement(
            parts=self.checkpoint.parts,
            errors=self.checkpoint.errors,
            report=self.report,
            dead=self.dead,
            events=self.events,
            emit=self.emit,
        )
        self.customers = Customers(
            client=self.client,
            log=self.checkpoint.customers,
            report=self.report,
            reconcile_wait_s=self.reconcile_wait_s,
            emit=self.emit,
            clock=self.clock,
        )
        self.parts = PartSender(
            client=self.client,
            log=self.checkpoint.parts,
            report=self.report,
            mailbox=self.mailbox,
            reconcile_wait_s=self.reconcile_wait_s,
            source_id_field=self.source_id_field,
            emit=self.emit,
            clock=self.clock,
        )
        self.files = PartFiles(
            client=self.client,
            log=self.checkpoint.uploads,
            left_out=self.settlement.file_left_out,
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
                self.settlement.crashed(plan, exc)
            except OutputWriteError as again:  # recording the failure found the disk full
                self.output_failed(again)
        finally:
            self.settlement.let_go(plan.source_id)

    def wait_for_host(self, plan: ConversationPlan, exc: HostDownError) -> None:
        """``plan`` needs files of a host that is down: it waits for the host (the worker
        takes the next one), or fails when the host was given up."""
        if self.stop.is_set():
            return  # stopping: the rerun picks it up
        if self.waits is None:
            self.settle_host_down(plan, exc)
        else:
            self.waits.park(plan, exc)

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
        settle = self.settlement
        async with self.customers.turn(plan.customer_keys()):
            if self.stop.is_set():
                return  # stopped while waiting for its turn: the rerun picks it up
            customer_id = None
            if plan.customer_to_create is not None:
                customer_id, failure = await self.customers.ensure(plan)
                if failure is not None:
                    settle.failed(plan, None, failure)
                    return
            changed = split_changed(plan, self.checkpoint.parts.parts_of(plan.source_id))
            if changed is not None:  # sending the rest would lose or repeat messages
                settle.failed(plan, None, PartResult(None, None, changed, "split_changed"))
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
            settle.imported(plan)
        else:
            settle.already_imported(plan)

    async def _import_part(
        self, plan: ConversationPlan, part: Part, customer_id: int | None
    ) -> bool | None:
        """Make sure ``part`` exists and its files are on it: True when created in this run,
        False when it existed, None when it failed (counted)."""
        record = self.checkpoint.parts.part(plan.source_id, part.index)
        done = record is not None and record.state is PartState.DONE
        conversation_id = record.conversation_id if record is not None and done else None
        fetched: Fetched = {}
        try:
            if not done:
                if part.deferred:  # noted before the POST, so a stop cannot lose them
                    self.checkpoint.uploads.record_uploads(
                        plan.source_id, part.index, len(part.deferred)
                    )
                    fetched = await self.files.fetch_urls(part)
                body = part.body(customer_id, notes(part, fetched))
                result = await self.parts.create(
                    plan, part, body, record=record, customer_id=customer_id
                )
                if result.conversation_id is None:
                    self.settlement.failed(plan, part.index, result)
                    return None
                conversation_id = result.conversation_id
                self.customers.known(plan.customer_keys([part]))
            if part.deferred and conversation_id is not None:
                await self.files.upload_pending(plan, part, conversation_id, fetched=fetched)
        finally:
            remove_spooled(fetched)
        return not done

    # --- for the feed and the host watcher: settled without a worker; the reading's end -------

    def settle_already_imported(self, plan: ConversationPlan | AlreadyDone) -> None:
        """Every part existed before this run."""
        self.settlement.already_imported(plan)

    def settle_invalid(self, planned: InvalidConversation) -> None:
        """The conversation cannot be imported as it is."""
        self.settlement.invalid(planned)

    def settle_failed(
        self, plan: Planned, part: int | None, result: PartResult, *, stage: str = "send"
    ) -> None:
        """A part could not be created, or the conversation could not be planned."""
        self.settlement.failed(plan, part, result, stage=stage)

    def settle_host_down(self, plan: ConversationPlan, exc: HostDownError) -> None:
        """The host of ``plan``'s files was given up: the conversation is failed."""
        self.settlement.host_down(plan, exc)

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
        best_effort(
            lambda: self.checkpoint.errors.log_error(stage="read", code="internal", message=message)
        )
