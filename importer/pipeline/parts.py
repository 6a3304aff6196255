"""One part, created exactly once: by the checkpoint's own rules (:func:`next_action`).

- a part ``done`` is never sent again (SKIP);
- a part found ``sending`` or ``in_doubt`` (a crash, a lost answer) is looked up first
  (RECONCILE): found, its id is adopted; absent after ``--reconcile-wait``, it is sent;
- the intent (with the time of the first attempt) is committed before every POST, the result
  after; a lost answer is reconciled before any new send, up to :data:`MAX_SENDS_PER_PART`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from importer.clock import WALL_CLOCK, Clock
from importer.errors import FatalApiError, RetryableApiError
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.pipeline.checkpoint import (
    UNSETTLED,
    NextAction,
    PartRecord,
    PartsLog,
    PartState,
    SentFacts,
    next_action,
)
from importer.pipeline.reconcile import PartRef, reconcile_part
from importer.report import Report
from importer.transform.plan import ConversationPlan
from importer.transform.split import Part
from importer.wire import json_bytes

# Sends of one part whose answers were all lost (each absence proven by reconcile) before it
# is failed for the rerun: 4 failed a conversation in ~3% of runs at 5% each of 5xx and reset.
MAX_SENDS_PER_PART = 8
EventSink = Callable[[str, dict[str, Any]], None]


@dataclass
class PartResult:
    """How one part (or the conversation before its parts) ended in this run."""

    conversation_id: int | None
    outcome: Outcome | None = None
    reason: str = ""
    code: str = ""


def payload_digest(body: dict[str, Any]) -> str:
    """A short fingerprint of a request body, kept with its intent."""
    return hashlib.sha256(json_bytes(body)).hexdigest()[:32]


def split_changed(plan: ConversationPlan, rows: list[PartRecord]) -> str | None:
    """Why the rest of a partly imported conversation cannot be sent as planned now, if so: the
    parts in Help Scout were cut otherwise (the export or --max-request-bytes changed since)."""
    # done parts are in Help Scout; a part left sending or in doubt may be
    sent = [row for row in rows if row.state in (PartState.DONE, *UNSETTLED)]
    count = len(plan.parts)
    moved = [
        row.part
        for row in sent
        if row.part_count != count
        or row.part > count
        or (row.span is not None and row.span != plan.parts[row.part - 1].span)
    ]
    if not moved:
        return None
    return (
        f"part(s) {', '.join(map(str, moved))} of {sent[0].part_count} are (or may be) in Help "
        f"Scout, cut from other messages than the {count} part(s) planned now (the export or "
        "--max-request-bytes changed since): sending the rest would lose or repeat messages. "
        "Run with the export and --max-request-bytes of that run, or delete the conversation's "
        "parts in Help Scout and import it with a new --checkpoint"
    )


@dataclass(kw_only=True)
class PartSender:
    """Creates parts through the client, recording every step in the checkpoint's parts log."""

    client: HelpScoutClient
    log: PartsLog
    report: Report
    mailbox: int
    reconcile_wait_s: float
    source_id_field: int | None
    emit: EventSink
    clock: Clock = WALL_CLOCK
    #: parts in doubt being looked up right now (the progress bar shows it)
    in_doubt_now: int = 0

    async def create(
        self,
        plan: ConversationPlan,
        part: Part,
        body: dict[str, Any],
        *,
        record: PartRecord | None,
        customer_id: int | None = None,
    ) -> PartResult:
        """Create ``part`` (sent as ``body``) exactly once; ``record`` is its checkpoint row."""
        action = next_action(record.state if record is not None else None)
        if action is NextAction.SKIP:
            assert record is not None
            return PartResult(record.conversation_id)
        if action is NextAction.RECONCILE:
            assert record is not None
            found = await self.reconcile(
                plan, part, record.first_sent_at, lost_at=None, customer_id=customer_id
            )
            if found is not None:
                return PartResult(found)
        for _ in range(MAX_SENDS_PER_PART):
            result = await self._send_once(plan, part, body, customer_id=customer_id)
            if result is not None:
                return result
        message = f"the answer was lost {MAX_SENDS_PER_PART} times and the part was not found"
        self.log.record_failed(plan.source_id, part.index, code="in_doubt", message=message)
        return PartResult(None, None, message, "in_doubt")

    async def _send_once(
        self, plan: ConversationPlan, part: Part, body: dict[str, Any], *, customer_id: int | None
    ) -> PartResult | None:
        """One POST after its intent; None when its answer was lost and reconcile proved it
        absent (send again)."""
        first_sent_at = self.log.record_intent(
            plan.source_id,
            part.index,
            part.count,
            subject=part.subject,
            customer_email=part.customer_email,
            payload_digest=payload_digest(body),
            span=part.span,
            sent=SentFacts.of(body),
        )
        try:
            outcome = await self.client.create_conversation(body)
        except RetryableApiError as exc:  # refused or throttled past every retry: not stored
            self.log.record_failed(plan.source_id, part.index, code="retries", message=str(exc))
            return PartResult(None, None, f"not sent after every retry: {exc}", "retries")
        self.emit(
            "part.sent",
            {
                "source_id": plan.source_id,
                "part": part.index,
                "outcome": outcome.kind.value,
                "status": outcome.status,
            },
        )
        if outcome.kind == OutcomeKind.CREATED and outcome.resource_id is not None:
            self.log.record_done(plan.source_id, part.index, outcome.resource_id)
            self.report.add("created_conversations")
            return PartResult(outcome.resource_id, outcome)
        if outcome.kind == OutcomeKind.IN_DOUBT:
            self.log.record_in_doubt(
                plan.source_id, part.index, code=outcome.code, message=outcome.describe()
            )
            found = await self.reconcile(
                plan, part, first_sent_at, lost_at=self.clock.time(), customer_id=customer_id
            )
            return PartResult(found) if found is not None else None
        if any(error.get("path") == "mailboxId" for error in outcome.errors):
            raise FatalApiError(f"mailbox {self.mailbox} refused: {outcome.describe()}")
        code = outcome.code or outcome.kind.value
        self.log.record_failed(plan.source_id, part.index, code=code, message=outcome.describe())
        return PartResult(None, outcome, outcome.describe(), code)

    async def reconcile(
        self,
        plan: ConversationPlan,
        part: Part,
        first_sent_at: float | None,
        *,
        lost_at: float | None = None,
        customer_id: int | None = None,
    ) -> int | None:
        """Look a part up in Help Scout; adopt its id when found.

        ``lost_at`` is when its answer was lost; on resume (None) the wait runs from now.
        """
        if first_sent_at is None:
            return None  # never sent: nothing to look for
        ref = PartRef(
            source_id=plan.source_id,
            part=part.index,
            part_count=part.count,
            subject=part.subject,
            customer_email=part.customer_email,
            first_sent_at=first_sent_at,
            thread_times=part.thread_times,
            customer_id=part.created_customer_id(customer_id),
        )
        me = (plan.source_id, part.index)
        self.in_doubt_now += 1
        try:
            found = await reconcile_part(
                self.client,
                self.mailbox,
                ref,
                wait_s=self.reconcile_wait_s,
                source_id_field=self.source_id_field,
                on_event=self.emit,
                lost_at=lost_at,
                clock=self.clock,
                claimed=lambda cid: self.log.holds_conversation(cid, other_than=me),
            )
        finally:
            self.in_doubt_now -= 1
        if found is not None and self.log.holds_conversation(found, other_than=me):
            # another part adopted or created it while this lookup awaited: not this part's
            # (checked again here, with no await before the record, so two cannot both take it)
            self.emit("reconcile.claimed", {"source_id": plan.source_id, "conversation_id": found})
            found = None
        if found is not None:
            self.log.record_done(plan.source_id, part.index, found, adopted=True)
            self.report.add("in_doubt_resolved")
            if lost_at is not None:  # its answer was lost in this run: created in this run
                self.report.add("created_conversations")
        return found
