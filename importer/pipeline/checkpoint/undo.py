"""What ``importer undo`` reads and writes in the checkpoint: the parts it may delete, and each
deletion recorded before its request (``deleting``) and after (``deleted``, ``gone``).

Why here: the checkpoint alone knows what a run created, and a deletion must survive any stop
as exactly as a creation does. A part deleted (or found gone) leaves the parts log with its
uploads, so a later ``run`` imports its conversation afresh and ``verify`` counts it as not
imported; its conversation id stays in ``undone``, so reconciliation never adopts it and a
second ``undo`` sends nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from importer.pipeline.checkpoint.store import Log


@dataclass(frozen=True)
class SentFacts:
    """What a part's create request said, that ``undo`` compares with the conversation now."""

    threads: int
    status: str | None
    assignee: int | None
    created_at: str | None
    first_thread_at: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> SentFacts:
        """The facts of a create body."""
        threads = body.get("threads") or []
        assignee = body.get("assignTo")
        return cls(
            threads=len(threads),
            status=body.get("status"),
            assignee=assignee if isinstance(assignee, int) else None,
            created_at=body.get("createdAt"),
            first_thread_at=threads[0].get("createdAt") if threads else None,
        )


#: what became of a conversation undo asked to delete
UNDO_STATES = ("deleting", "deleted", "gone")


@dataclass(frozen=True)
class UndoTarget:
    """A part the checkpoint records as created (done), with what its run sent."""

    source_id: str
    part: int
    part_count: int
    conversation_id: int
    subject: str | None
    customer_email: str | None
    #: the importer's last write (creation or upload); older checkpoints: when it was done
    last_write_at: float
    #: what was sent (None in parts written before version 4: ``userUpdatedAt`` alone)
    threads: int | None
    sent_status: str | None
    sent_assignee: int | None
    sent_created_at: str | None
    first_thread_at: str | None
    run_number: int | None
    run_tags: tuple[str, ...]
    adopted: bool
    #: a DELETE was sent and its answer not recorded: look it up before any resend
    deleting: bool

    @property
    def recorded_facts(self) -> bool:
        """Whether the checkpoint recorded what was sent (version 4 and later)."""
        return self.threads is not None


_TARGET_SQL = (
    "SELECT p.source_id, p.part, p.part_count, p.conversation_id, p.subject, p.customer_email, "
    "COALESCE(p.last_write_at, p.updated_at), p.threads, p.sent_status, p.sent_assignee, "
    "p.sent_created_at, p.first_thread_at, p.run_number, p.run_tags, p.adopted, "
    "u.state = 'deleting' FROM parts p LEFT JOIN undone u ON u.conversation_id = p.conversation_id "
    "WHERE p.state = 'done' AND p.conversation_id IS NOT NULL ORDER BY p.source_id, p.part"
)


def _target(row: tuple[Any, ...]) -> UndoTarget:
    tags = json.loads(row[13]) if row[13] else []
    return UndoTarget(
        source_id=str(row[0]),
        part=int(row[1]),
        part_count=int(row[2]),
        conversation_id=int(row[3]),
        subject=row[4],
        customer_email=row[5],
        last_write_at=float(row[6]),
        threads=row[7],
        sent_status=row[8],
        sent_assignee=row[9],
        sent_created_at=row[10],
        first_thread_at=row[11],
        run_number=row[12],
        run_tags=tuple(str(t) for t in tags),
        adopted=bool(row[14]),
        deleting=bool(row[15]),
    )


class UndoLog(Log):
    """The ``undone`` table, and the parts ``undo`` may delete."""

    def targets(self) -> list[UndoTarget]:
        """Every part recorded as created, in source order."""
        return [_target(row) for row in self._conn.execute(_TARGET_SQL)]

    def latest_run(self) -> int | None:
        """The number of the checkpoint's latest run (None: no run recorded one)."""
        row = self._conn.execute("SELECT MAX(number) FROM runs").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def begin_delete(self, target: UndoTarget) -> None:
        """Commit the intent to delete ``target``'s conversation before the request."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO undone (conversation_id, source_id, part, state, requested_at) "
                "VALUES (?, ?, ?, 'deleting', ?) ON CONFLICT (conversation_id) DO UPDATE SET "
                "state = 'deleting', requested_at = excluded.requested_at, settled_at = NULL",
                (target.conversation_id, target.source_id, target.part, self._clock()),
            )

    def abandon_delete(self, target: UndoTarget) -> None:
        """The DELETE was refused (the conversation is still there): no longer deleting."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "DELETE FROM undone WHERE conversation_id = ? AND state = 'deleting'",
                (target.conversation_id,),
            )

    def finish_delete(self, target: UndoTarget, *, state: str) -> None:
        """``target``'s conversation is gone (``deleted`` by this undo, or ``gone`` before):
        recorded, and the part leaves the parts log with its uploads (a later run imports it
        afresh), in one transaction."""
        assert state in ("deleted", "gone")
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO undone (conversation_id, source_id, part, state, requested_at, "
                "settled_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id) DO UPDATE "
                "SET state = excluded.state, settled_at = excluded.settled_at",
                (
                    target.conversation_id,
                    target.source_id,
                    target.part,
                    state,
                    self._clock(),
                    self._clock(),
                ),
            )
            self._conn.execute(
                "DELETE FROM parts WHERE source_id = ? AND part = ? AND conversation_id = ?",
                (target.source_id, target.part, target.conversation_id),
            )
            self._conn.execute(
                "DELETE FROM uploads WHERE source_id = ? AND part = ?",
                (target.source_id, target.part),
            )

    def undone_counts(self) -> dict[str, int]:
        """Parts per undo state (``importer status``): deleting, deleted, gone (all 0 in a
        checkpoint no importer of version 4 has opened yet)."""
        counts = dict.fromkeys(UNDO_STATES, 0)
        try:
            rows = self._conn.execute("SELECT state, COUNT(*) FROM undone GROUP BY state")
            for state, n in rows.fetchall():
                counts[str(state)] = int(n)
        except sqlite3.OperationalError:  # no such table: an older checkpoint, read as it is
            pass
        return counts
