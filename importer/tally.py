"""The one place a conversation is counted, whatever the command.

``validate`` and ``plan`` count it valid or invalid, ``run`` imported, already imported, invalid
or failed: each into the report's counters, its reason into the report's ``errors`` (one entry per
conversation, every reason inside) and its record into the dead-letter file. Counters first, the
dead letter last: a dead-letter file that cannot be written never unbalances the books.
"""

from __future__ import annotations

from typing import Any, Protocol

from importer.deadletter import DeadLetterFile
from importer.findings import Finding
from importer.report import Report
from importer.transform.plan import ConversationPlan, InvalidConversation

Planned = ConversationPlan | InvalidConversation


class AlreadyDone(Protocol):
    """What counting a conversation imported before this run needs: its id."""

    @property
    def source_id(self) -> str: ...


class PlanFigures(Protocol):
    """What counting a valid conversation needs: a :class:`ConversationPlan`, or the summary of
    one planned in a worker process."""

    warnings: list[Finding]
    left_out: list[Finding]

    @property
    def threads(self) -> int: ...

    @property
    def attachments(self) -> int: ...

    @property
    def part_count(self) -> int: ...


class Tally:
    """Counts conversations into ``report`` and writes the ones not imported to ``dead``."""

    def __init__(self, report: Report, dead: DeadLetterFile) -> None:
        self.report = report
        self.dead = dead

    def _sized(self, plan: PlanFigures, files_left_out: int = 0) -> None:
        report = self.report
        report.add("threads", plan.threads)
        report.add("attachments", plan.attachments - files_left_out)
        if plan.part_count > 1:
            report.add("split_conversations")
        report.warn(plan.warnings)
        report.left_out(plan.left_out)

    def valid(self, plan: PlanFigures) -> None:
        """Would be imported (``validate``, ``plan``)."""
        self.report.add("source_conversations")
        self.report.add("valid")
        self._sized(plan)

    def imported(self, plan: ConversationPlan, files_left_out: int = 0) -> None:
        """Its last missing part was created in this run (``files_left_out`` of its files
        could not be uploaded: not counted among the attachments)."""
        self.report.add("source_conversations")
        self.report.add("imported")
        self._sized(plan, files_left_out)

    def already_imported(self, plan: ConversationPlan | AlreadyDone) -> None:
        """Every part existed before this run."""
        self.report.add("source_conversations")
        self.report.add("already_imported")

    def invalid(self, planned: InvalidConversation) -> dict[str, Any]:
        """Cannot be imported as it is: every reason in one error entry."""
        self.report.add("source_conversations")
        self.report.add("invalid")
        self.report.warn(planned.warnings)
        entry = self.report.conversation_error(
            planned.source_id,
            None,
            "validate",
            findings=planned.findings,
            location=planned.location,
        )
        self.dead.write(planned.record, entry)
        return entry

    def failed(
        self, planned: Planned, part: int | None, stage: str, *, code: str, reason: str
    ) -> dict[str, Any]:
        """Could not be imported in this run (a rerun tries again)."""
        self.report.add("source_conversations")
        self.report.add("failed")
        self.report.warn(planned.warnings)
        finding = Finding(stage, code, reason, planned.location, planned.source_id, part)
        entry = self.report.conversation_error(
            planned.source_id, part, stage, findings=[finding], location=planned.location
        )
        self.dead.write(planned.record, entry)
        return entry
