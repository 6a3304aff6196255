"""The parts of each source conversation: one row per Create Conversation request.

A row moves ``pending -> sending -> done | failed | in_doubt``. The ``sending`` row (the
intent) is committed *before* the POST, so after a crash every part that may exist in Help Scout
is known: a part ``sending`` or ``in_doubt`` is looked up (reconciled) before it is ever sent
again (:func:`next_action`). A conversation is done when every one of its parts is
(:func:`rollup`, the one definition of done; ``source_conversations_complete`` counts the same
in SQL). Every write commits at once: durability over speed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from importer.errors import CheckpointError
from importer.pipeline.checkpoint.store import Log
from importer.pipeline.checkpoint.undo import SentFacts


class PartState(StrEnum):
    """Where one part of a conversation stands."""

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"


class ConversationState(StrEnum):
    """Where a whole source conversation stands, rolled up from its parts."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    IN_DOUBT = "in_doubt"
    FAILED = "failed"
    DONE = "done"


class NextAction(StrEnum):
    """What a worker does with a part, given its recorded state."""

    SEND = "send"
    RECONCILE = "reconcile"
    SKIP = "skip"


UNSETTLED = (PartState.SENDING, PartState.IN_DOUBT)


# --- pure rules ------------------------------------------------------------------------------


def next_action(state: PartState | None) -> NextAction:
    """Unknown or pending: send. Sending or in doubt: look it up first (it may exist).
    Done: skip. Failed: send again (a rerun after the input was fixed)."""
    if state is None or state in (PartState.PENDING, PartState.FAILED):
        return NextAction.SEND
    if state in UNSETTLED:
        return NextAction.RECONCILE
    return NextAction.SKIP


def rollup(states: Iterable[PartState], part_count: int) -> ConversationState:
    """A conversation's state from its parts' states (missing parts count as pending).

    Done only when all ``part_count`` parts are done; any unsettled part makes it in doubt;
    otherwise any failed part makes it failed; some done parts make it in progress."""
    listed = list(states)
    if not listed:
        return ConversationState.PENDING
    done = sum(1 for s in listed if s is PartState.DONE)
    if done >= part_count and done == len(listed):
        return ConversationState.DONE
    if any(s in UNSETTLED for s in listed):
        return ConversationState.IN_DOUBT
    if any(s is PartState.FAILED for s in listed):
        return ConversationState.FAILED
    if done:
        return ConversationState.IN_PROGRESS
    return ConversationState.PENDING


@dataclass(frozen=True)
class PartRecord:
    """One row of ``parts``."""

    source_id: str
    part: int
    part_count: int
    state: PartState
    conversation_id: int | None
    subject: str | None
    customer_email: str | None
    payload_digest: str | None
    first_sent_at: float | None
    attempts: int
    error_code: str | None
    error_message: str | None
    created_at: float
    updated_at: float
    #: which messages the part holds (see ``part_span``); None in checkpoints of older versions
    span: str | None = None


_PART_COLUMNS = (
    "source_id, part, part_count, state, conversation_id, subject, customer_email, "
    "payload_digest, first_sent_at, attempts, error_code, error_message, created_at, updated_at, "
    "span"
)


class PartsLog(Log):
    """The ``parts`` table."""

    def parts_of(self, source_id: str) -> list[PartRecord]:
        """The recorded parts of a source conversation, in part order."""
        rows = self._conn.execute(
            f"SELECT {_PART_COLUMNS} FROM parts WHERE source_id = ? ORDER BY part", (source_id,)
        ).fetchall()
        return [_part(row) for row in rows]

    def part(self, source_id: str, part: int) -> PartRecord | None:
        """One part's record, if any."""
        row = self._conn.execute(
            f"SELECT {_PART_COLUMNS} FROM parts WHERE source_id = ? AND part = ?",
            (source_id, part),
        ).fetchone()
        return _part(row) if row else None

    def conversation_state(self, source_id: str) -> ConversationState:
        """The rolled-up state of a source conversation (PENDING when unknown)."""
        parts = self.parts_of(source_id)
        if not parts:
            return ConversationState.PENDING
        return rollup((p.state for p in parts), max(p.part_count for p in parts))

    def is_conversation_done(self, source_id: str) -> bool:
        """True when every part of the conversation is done (a delta run skips it)."""
        return self.conversation_state(source_id) is ConversationState.DONE

    def unsettled_parts(self) -> list[PartRecord]:
        """Parts left ``sending`` or ``in_doubt``: on resume, each is reconciled first."""
        rows = self._conn.execute(
            f"SELECT {_PART_COLUMNS} FROM parts WHERE state IN ('sending', 'in_doubt') "
            "ORDER BY first_sent_at, source_id, part"
        ).fetchall()
        return [_part(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Number of parts per state (every state present, zero when none)."""
        counts = {state.value: 0 for state in PartState}
        for state, n in self._conn.execute("SELECT state, COUNT(*) FROM parts GROUP BY state"):
            counts[state] = n
        return counts

    def source_conversations_complete(self) -> int:
        """Source conversations whose every part is done."""
        row = self._conn.execute(
            "SELECT COUNT(*) FROM (SELECT source_id FROM parts GROUP BY source_id "
            "HAVING SUM(state = 'done') = COUNT(*) AND COUNT(*) >= MAX(part_count))"
        ).fetchone()
        return int(row[0])

    def created_totals(self) -> tuple[int, int]:
        """Source conversations with a created (done) part, and the done parts (``verify``)."""
        row = self._conn.execute(
            "SELECT COUNT(DISTINCT source_id), COUNT(*) FROM parts "
            "WHERE state = 'done' AND conversation_id IS NOT NULL"
        ).fetchone()
        return int(row[0]), int(row[1])

    def created_source_ids(self) -> Iterator[str]:
        """Every source id with a created (done) part, one at a time (``verify --sample``)."""
        cursor = self._conn.execute(
            "SELECT DISTINCT source_id FROM parts "
            "WHERE state = 'done' AND conversation_id IS NOT NULL ORDER BY source_id"
        )
        for (source_id,) in cursor:
            yield str(source_id)

    def register_parts(self, source_id: str, part_count: int) -> None:
        """Record the parts of a conversation as pending (existing rows are left alone)."""
        now = self._clock()
        rows = [(source_id, i, part_count, now, now) for i in range(1, part_count + 1)]
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT OR IGNORE INTO parts (source_id, part, part_count, state, created_at, "
                "updated_at) VALUES (?, ?, ?, 'pending', ?, ?)",
                rows,
            )

    def record_intent(
        self,
        source_id: str,
        part: int,
        part_count: int,
        *,
        subject: str,
        customer_email: str | None,
        payload_digest: str,
        span: str | None = None,
        sent: SentFacts | None = None,
    ) -> float:
        """Commit the intent to send (state ``sending``) before the POST; returns the time of
        the part's first send attempt (kept across re-sends, so reconciling looks far enough
        back).

        :raises CheckpointError: the part is already done (it must never be sent again).
        """
        now = self._clock()
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._conn.execute(
                "SELECT state, first_sent_at FROM parts WHERE source_id = ? AND part = ?",
                (source_id, part),
            ).fetchone()
            if row and row[0] == PartState.DONE:
                raise CheckpointError(
                    f"conversation {source_id} part {part} is already done; not sending it again"
                )
            first = row[1] if row and row[1] is not None else now
            self._conn.execute(
                "INSERT INTO parts (source_id, part, part_count, state, subject, customer_email, "
                "payload_digest, first_sent_at, attempts, created_at, updated_at, span) "
                "VALUES (?, ?, ?, 'sending', ?, ?, ?, ?, 1, ?, ?, ?) "
                "ON CONFLICT (source_id, part) DO UPDATE SET state = 'sending', "
                "part_count = excluded.part_count, subject = excluded.subject, "
                "customer_email = excluded.customer_email, "
                "payload_digest = excluded.payload_digest, span = excluded.span, "
                "first_sent_at = COALESCE(parts.first_sent_at, excluded.first_sent_at), "
                "attempts = parts.attempts + 1, error_code = NULL, error_message = NULL, "
                "updated_at = excluded.updated_at",
                (
                    source_id,
                    part,
                    part_count,
                    subject,
                    customer_email,
                    payload_digest,
                    first,
                    now,
                    now,
                    span,
                ),
            )
            self._record_sent(source_id, part, sent)
        return float(first)

    def _record_sent(self, source_id: str, part: int, sent: SentFacts | None) -> None:
        """What ``undo`` checks later, inside the intent's transaction: what was sent, by
        which run (its number and ``--tag`` values)."""
        store = self._store
        self._conn.execute(
            "UPDATE parts SET run_number = ?, run_tags = ?, threads = ?, sent_status = ?, "
            "sent_assignee = ?, sent_created_at = ?, first_thread_at = ? "
            "WHERE source_id = ? AND part = ?",
            (
                store.run_number,
                json.dumps(store.run_tags),
                sent.threads if sent else None,
                sent.status if sent else None,
                sent.assignee if sent else None,
                sent.created_at if sent else None,
                sent.first_thread_at if sent else None,
                source_id,
                part,
            ),
        )

    def holds_conversation(self, conversation_id: int, *, other_than: tuple[str, int]) -> bool:
        """Whether another part of the checkpoint holds ``conversation_id``, or ``undo``
        deleted it (reconciliation never adopts such an id)."""
        if self._conn.execute(
            "SELECT 1 FROM undone WHERE conversation_id = ?", (int(conversation_id),)
        ).fetchone():
            return True
        return self._held(conversation_id, other_than=other_than)

    def _held(self, conversation_id: int, *, other_than: tuple[str, int]) -> bool:
        """Whether a part other than ``other_than`` (source id, part) has this conversation id:
        reconciliation never adopts a conversation another part already is."""
        row = self._conn.execute(
            "SELECT 1 FROM parts WHERE conversation_id = ? AND NOT (source_id = ? AND part = ?) "
            "LIMIT 1",
            (int(conversation_id), other_than[0], int(other_than[1])),
        ).fetchone()
        return row is not None

    def record_done(
        self, source_id: str, part: int, conversation_id: int, *, adopted: bool = False
    ) -> None:
        """The part exists in Help Scout as ``conversation_id``: created, or found by
        reconciliation (``adopted``). Its last write by the importer is now (``undo``)."""
        self._settle(
            source_id, part, PartState.DONE, conversation_id=int(conversation_id), adopted=adopted
        )

    def record_failed(
        self,
        source_id: str,
        part: int,
        *,
        code: str,
        message: str,
        part_count: int = 1,
        stage: str = "send",
    ) -> None:
        """The API rejected the part (or it cannot be sent): failed, and logged in errors."""
        self._settle(
            source_id,
            part,
            PartState.FAILED,
            code=code,
            message=message,
            part_count=part_count,
            stage=stage,
        )

    def record_in_doubt(self, source_id: str, part: int, *, code: str, message: str = "") -> None:
        """The POST was sent and its answer lost: reconcile before any new send."""
        self._settle(source_id, part, PartState.IN_DOUBT, code=code, message=message, stage="send")

    def _settle(
        self,
        source_id: str,
        part: int,
        state: PartState,
        *,
        conversation_id: int | None = None,
        code: str | None = None,
        message: str | None = None,
        part_count: int = 1,
        stage: str = "send",
        adopted: bool = False,
    ) -> None:
        now = self._clock()
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO parts (source_id, part, part_count, state, conversation_id, "
                "error_code, error_message, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (source_id, part) DO UPDATE SET state = excluded.state, "
                "conversation_id = COALESCE(excluded.conversation_id, parts.conversation_id), "
                "error_code = excluded.error_code, error_message = excluded.error_message, "
                "updated_at = excluded.updated_at",
                (
                    source_id,
                    part,
                    max(part_count, part),  # only used when no intent was recorded
                    state.value,
                    conversation_id,
                    code,
                    message,
                    now,
                    now,
                ),
            )
            if state is PartState.DONE:  # the importer's last write to it, for ``undo``
                self._conn.execute(
                    "UPDATE parts SET last_write_at = ?, adopted = ? "
                    "WHERE source_id = ? AND part = ?",
                    (now, int(adopted), source_id, part),
                )
            if state is not PartState.DONE and code is not None:
                self._insert_error(source_id, part, stage, code=code, message=message or "")


def _part(row: tuple[Any, ...]) -> PartRecord:
    values = list(row)
    values[3] = PartState(values[3])
    return PartRecord(*values)
