"""How a conversation of ``importer run`` ends: counted once, in the report, the dead letters
and the checkpoint's error log, and told to the run's listeners as a
:class:`~importer.pipeline.run_events.Settled` event (the terminal's progress is one listener;
see :mod:`importer.pipeline.run_events` for subscribing).

Imported, already imported, invalid, failed (its reason; a part never sent failed in the
checkpoint, so ``importer status`` counts it and a rerun sends it), failed by what no code
expected (a part whose request may have been sent left in doubt), or waited for in vain (the
host of its files given up). Also what is left out of an imported conversation. Apart from
the workers (:mod:`importer.pipeline.importer`), which only decide which of these a
conversation comes to; the feed settles some without a worker.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from importer.deadletter import DeadLetterFile
from importer.errors import ImporterError, OutputWriteError
from importer.findings import Finding
from importer.helpscout.download_hosts import HostDownError
from importer.pipeline.checkpoint import ErrorLog, PartsLog, PartState
from importer.pipeline.parts import EventSink, PartResult
from importer.pipeline.run_events import LeftOut, Outcome, RunEvents, Settled
from importer.report import Report
from importer.tally import AlreadyDone, Planned, Tally
from importer.transform.payload import AttachmentDraft
from importer.transform.plan import ConversationPlan, InvalidConversation
from importer.transform.split import Part

log = logging.getLogger("importer.run")


@dataclass(kw_only=True)
class Settlement:
    """Counts each conversation of one run once, however it ends."""

    #: the checkpoint's parts (a part never sent is failed there) and its error log
    parts: PartsLog
    errors: ErrorLog
    report: Report
    dead: DeadLetterFile
    #: the run's listeners (the terminal's progress among them) hear of each settling
    events: RunEvents
    emit: EventSink
    #: files given up, by source id: not counted among the conversation's attachments
    _files_left_out: dict[str, int] = field(default_factory=dict)
    #: source ids of conversations in the workers' hands already counted in the report
    _settled: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tally = Tally(self.report, self.dead)

    def let_go(self, source_id: str) -> None:
        """``source_id`` has left the workers' hands: if it comes back (requeued), what it
        raises then is counted anew."""
        self._settled.discard(source_id)

    def host_down(self, plan: ConversationPlan, exc: HostDownError) -> None:
        """The host of ``plan``'s files did not answer within ``--download-host-wait``: failed,
        not imported without them (a rerun tries again). Its first part not sent is failed in
        the checkpoint (``importer status`` counts it); a part in doubt stays in doubt."""
        index = self._fail_first_unsent(plan, "download_host", str(exc), stage="attachment")
        self.failed(
            plan, index, PartResult(None, None, str(exc), "download_host"), stage="attachment"
        )
        self._settled.discard(plan.source_id)  # settled outside a worker's hands

    # --- what is left out of an imported conversation -----------------------------------------

    def file_left_out(
        self, plan: ConversationPlan, part: Part, attachment: AttachmentDraft, *, why: str
    ) -> None:
        """A file of ``part`` could not be had (``why``): the conversation goes without it."""
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
        self._publish_left_out(len(findings))

    def _publish_left_out(self, count: int) -> None:
        """The last ``count`` report error entries, to the listeners."""
        if count:
            self.events.publish(LeftOut(tuple(self.report.errors[-count:])))

    def _log_left_out(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.errors.log_error(
                stage=finding.stage,
                code=finding.code,
                message=f"{finding.location}: {finding.message}",
                source_id=finding.source_id,
                part=finding.part,
            )

    # --- counting -----------------------------------------------------------------------------

    def tick(
        self, source_id: str | None, outcome: Outcome, error: dict[str, Any] | None = None
    ) -> None:
        """Tell the listeners one conversation is settled with ``outcome``."""
        self.events.publish(Settled(source_id, outcome, error))

    def imported(self, plan: ConversationPlan) -> None:
        """The conversation's last missing part exists: count it imported."""
        self._settled.add(plan.source_id)
        given_up = self._files_left_out.pop(plan.source_id, 0)
        self._log_left_out(plan.left_out)  # the tally puts them in the report
        self.tally.imported(plan, given_up)
        self._publish_left_out(len(plan.left_out))
        self.tick(plan.source_id, "imported")
        self.emit("conversation.imported", {"source_id": plan.source_id, "parts": len(plan.parts)})

    def already_imported(self, plan: ConversationPlan | AlreadyDone) -> None:
        """Every part existed before this run (it only finished uploading attachments)."""
        self._settled.add(plan.source_id)
        self.tally.already_imported(plan)
        self.tick(plan.source_id, "already")

    def invalid(self, planned: InvalidConversation) -> None:
        """The conversation cannot be imported as it is (in the checkpoint's error log too)."""
        entry = self.tally.invalid(planned)
        self.errors.log_error(
            stage=entry["stage"],
            code=entry["code"],
            message=f"{entry['location']}: {entry['message']}",
            source_id=planned.source_id,
        )
        self.tick(planned.source_id, "invalid", entry)

    def failed(
        self,
        plan: Planned,
        part: int | None,
        result: PartResult,
        *,
        stage: str = "send",
        outcome: Outcome = "failed",
    ) -> None:
        """A part could not be created (or, ``stage`` "transform", the conversation could not
        be planned): the conversation is failed, with its reason (``outcome`` ``in_doubt``
        when a part of it was left in doubt for the rerun)."""
        if plan.source_id is not None:
            self._settled.add(plan.source_id)
        code = result.code or stage
        self.emit("conversation.failed", {"source_id": plan.source_id, "part": part, "code": code})
        entry = self.tally.failed(plan, part, stage, code=code, reason=result.reason)
        self.tick(plan.source_id, outcome, entry)
        if isinstance(plan, ConversationPlan) and part is None and code == "customer":
            self._customer_failed(plan, result)
        elif part is None:  # the error log of importer status; a part's own failure is there
            self.errors.log_error(
                stage=stage, code=code, message=result.reason, source_id=plan.source_id
            )

    def _customer_failed(self, plan: ConversationPlan, result: PartResult) -> None:
        """Its customer could not be created: its first part not sent is failed in the
        checkpoint (``importer status`` counts it, a rerun sends it)."""
        if self._fail_first_unsent(plan, "customer", result.reason, stage="customer") is None:
            self.errors.log_error(
                stage="send", code="customer", message=result.reason, source_id=plan.source_id
            )

    def _fail_first_unsent(
        self, plan: ConversationPlan, code: str, message: str, *, stage: str
    ) -> int | None:
        """Record the conversation's first part not done as failed, when it was never sent
        (a part in doubt stays in doubt); its index, or None when there is no such part."""
        unsent = self._first_part_not_done(plan)
        if unsent is None or unsent[1] not in (None, PartState.PENDING, PartState.FAILED):
            return None
        part = unsent[0]
        self.parts.record_failed(
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
            row = self.parts.part(plan.source_id, part.index)
            if row is None or row.state != PartState.DONE:
                return part, row.state if row is not None else None
        return None

    def crashed(self, plan: ConversationPlan, exc: Exception) -> None:
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
            best_effort(
                lambda: self.errors.log_error(
                    stage="send", code="internal", message=reason, source_id=plan.source_id
                )
            )
            return
        left: list[bool] = []
        best_effort(lambda: left.append(self._leave_in_doubt(plan, reason)))
        outcome: Outcome = "in_doubt" if any(left) else "failed"
        try:
            self.failed(plan, None, PartResult(None, None, reason, "internal"), outcome=outcome)
        except OutputWriteError:
            raise
        except Exception as again:
            log.error("%s: recording the failure failed too: %s", plan.source_id, again)
            self._settled.add(plan.source_id)

    def _leave_in_doubt(self, plan: ConversationPlan, reason: str) -> bool:
        """A part left ``sending`` by an exception is in doubt for the rerun (True); a part not
        yet sent is failed (``importer status`` counts it, the rerun sends it)."""
        unsent = self._first_part_not_done(plan)
        if unsent is None:
            return False
        part, state = unsent
        if state is PartState.SENDING:
            self.parts.record_in_doubt(plan.source_id, part.index, code="internal", message=reason)
            return True
        if state in (None, PartState.PENDING, PartState.FAILED):
            self.parts.record_failed(
                plan.source_id,
                part.index,
                code="internal",
                message=reason,
                part_count=part.count,
                stage="send",
            )
        return False


def best_effort(action: Callable[[], object]) -> None:
    """``action()``; what it raises is logged, except a full disk, which stops the run."""
    try:
        action()
    except OutputWriteError:
        raise
    except Exception as exc:
        log.error("could not record a failure in the checkpoint: %s", exc)
