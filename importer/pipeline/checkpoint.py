"""The resumable state of a run: an intent log in SQLite (WAL, ``synchronous=FULL``).

One row per conversation part moves ``pending -> sending -> done | failed | in_doubt``. The
``sending`` row (the intent) is committed *before* the POST, so after a crash every part that
may exist in Help Scout is known: ``sending`` or ``in_doubt`` rows are reconciled before they
are ever sent again. Every write commits at once: durability over speed.

Schema (``SCHEMA_VERSION`` 1)::

    run(key TEXT PRIMARY KEY, value TEXT)      api_url, mailbox, format, created_at,
                                               importer_version, schema_version
    parts(source_id, part, part_count, state, conversation_id, subject, customer_email,
          payload_digest, first_sent_at, attempts, error_code, error_message,
          created_at, updated_at; PRIMARY KEY (source_id, part))
    customers(source_key PRIMARY KEY, customer_id, created_at)
    errors(id, at, source_id, part, stage, code, message)

Times are UTC epoch seconds (REAL). Credentials are never stored.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from importer import __version__
from importer.errors import CheckpointError

__all__ = [
    "SCHEMA_VERSION",
    "Checkpoint",
    "ConversationState",
    "ErrorEntry",
    "NextAction",
    "PartRecord",
    "PartState",
    "RunHeader",
    "next_action",
    "normalise_api_url",
    "rollup",
]

SCHEMA_VERSION = 1


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


def normalise_api_url(url: str) -> str:
    """The API URL as compared in the header: trimmed, no trailing slash, lowercase scheme/host."""
    url = url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunHeader:
    """What a checkpoint belongs to. Never holds credentials."""

    api_url: str
    mailbox: int
    format: str | None = None
    created_at: float | None = None
    importer_version: str = __version__


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


@dataclass(frozen=True)
class ErrorEntry:
    """One row of the errors log."""

    at: float
    source_id: str | None
    part: int | None
    stage: str
    code: str
    message: str

    @property
    def at_iso(self) -> str:
        """``at`` as ``YYYY-MM-DDTHH:MM:SSZ``."""
        return datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS run (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parts (
    source_id TEXT NOT NULL,
    part INTEGER NOT NULL CHECK (part >= 1),
    part_count INTEGER NOT NULL CHECK (part_count >= part),
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'done', 'failed', 'in_doubt')),
    conversation_id INTEGER,
    subject TEXT,
    customer_email TEXT,
    payload_digest TEXT,
    first_sent_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    span TEXT,
    PRIMARY KEY (source_id, part)
);
CREATE INDEX IF NOT EXISTS parts_state ON parts (state);
CREATE INDEX IF NOT EXISTS parts_conversation ON parts (conversation_id);
CREATE TABLE IF NOT EXISTS customers (
    source_key TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    source_id TEXT NOT NULL,
    part INTEGER NOT NULL,
    attachment INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    PRIMARY KEY (source_id, part, attachment)
);
CREATE TABLE IF NOT EXISTS customer_intents (
    source_key TEXT PRIMARY KEY,
    first_sent_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    source_id TEXT,
    part INTEGER,
    stage TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
"""

_PART_COLUMNS = (
    "source_id, part, part_count, state, conversation_id, subject, customer_email, "
    "payload_digest, first_sent_at, attempts, error_code, error_message, created_at, updated_at, "
    "span"
)


def _lock_for_one_run(path: Path) -> int:
    """Hold an exclusive ``flock`` on the checkpoint file while a run uses it: two runs of one
    checkpoint at once would both send what each thinks is pending. (SQLite's own locks are
    ``fcntl`` record locks, which ``flock`` does not touch on Linux; ``status`` reads freely.)"""
    fd = os.open(str(path), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CheckpointError(
            "another importer run is using this checkpoint; let it finish (or stop it) and "
            "run again, or give this run its own --checkpoint for another export",
            location=str(path),
        ) from None
    return fd


class Checkpoint:
    """The checkpoint file of one run (one API URL and mailbox); see the module docstring."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        header: RunHeader,
        path: Path,
        clock: Callable[[], float],
        lock_fd: int | None = None,
    ) -> None:
        self._conn = conn
        self.header = header
        self.path = path
        self._clock = clock
        self._lock_fd = lock_fd

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path, header: RunHeader, *, clock: Callable[[], float] = time.time
    ) -> Checkpoint:
        """Open or create the checkpoint at ``path`` for ``header``'s API URL and mailbox.

        :raises CheckpointError: the file belongs to another API URL or mailbox, or is damaged.
        """
        path = Path(path)
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise CheckpointError(
                f"cannot open the checkpoint ({exc})", location=str(path)
            ) from None
        lock_fd = None
        try:
            lock_fd = _lock_for_one_run(path)  # before any write: a refused run changes nothing
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            _add_missing_columns(conn)
            stored = cls._read_or_write_header(conn, header, clock)
        except (sqlite3.DatabaseError, CheckpointError) as exc:
            conn.close()
            if lock_fd is not None:
                os.close(lock_fd)
            if isinstance(exc, CheckpointError):
                raise
            raise CheckpointError(
                f"the checkpoint is damaged or not a checkpoint ({exc}); give another "
                "--checkpoint (or move this file away to start over)",
                location=str(path),
            ) from None
        return cls(conn, stored, path, clock, lock_fd)

    @classmethod
    def open_existing(cls, path: Path, *, clock: Callable[[], float] = time.time) -> Checkpoint:
        """Open a checkpoint a run wrote, with the header it holds (for ``importer status``).

        :raises CheckpointError: the file is missing, damaged or was never written by a run.
        """
        path = Path(path)
        if not path.is_file():
            raise CheckpointError("no such checkpoint file", location=str(path))
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
            values = dict(conn.execute("SELECT key, value FROM run").fetchall())
        except sqlite3.Error as exc:
            raise CheckpointError(
                f"not a checkpoint, or damaged ({exc})", location=str(path)
            ) from None
        if not values.get("api_url"):
            conn.close()
            raise CheckpointError(
                "this file holds no run header: not a checkpoint", location=str(path)
            )
        header = RunHeader(
            api_url=values["api_url"],
            mailbox=int(values.get("mailbox") or 0),
            format=values.get("format") or None,
            created_at=float(values.get("created_at", "0")),
            importer_version=values.get("importer_version", ""),
        )
        return cls(conn, header, path, clock)

    @staticmethod
    def _read_or_write_header(
        conn: sqlite3.Connection, header: RunHeader, clock: Callable[[], float]
    ) -> RunHeader:
        values = dict(conn.execute("SELECT key, value FROM run").fetchall())
        if not values:
            created = header.created_at if header.created_at is not None else clock()
            rows = {
                "api_url": normalise_api_url(header.api_url),
                "mailbox": str(int(header.mailbox)),
                "format": header.format or "",
                "created_at": repr(created),
                "importer_version": header.importer_version,
                "schema_version": str(SCHEMA_VERSION),
            }
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR IGNORE INTO run (key, value) VALUES (?, ?)", rows.items()
                )
            values = dict(conn.execute("SELECT key, value FROM run").fetchall())
        stored_url, wanted_url = values.get("api_url", ""), normalise_api_url(header.api_url)
        if stored_url != wanted_url:
            raise CheckpointError(
                f"this checkpoint belongs to API URL {stored_url}, not {wanted_url}: use another "
                "--checkpoint for this API URL (or the same --api-url as before)"
            )
        stored_mailbox = values.get("mailbox", "")
        if stored_mailbox != str(int(header.mailbox)):
            raise CheckpointError(
                f"this checkpoint belongs to mailbox {stored_mailbox}, not {header.mailbox}: use "
                "another --checkpoint for this mailbox (or the same --mailbox as before)"
            )
        return RunHeader(
            api_url=stored_url,
            mailbox=int(stored_mailbox),
            format=values.get("format") or None,
            created_at=float(values.get("created_at", "0")),
            importer_version=values.get("importer_version", ""),
        )

    def close(self) -> None:
        """Close the database (every write is already committed) and let another run in."""
        self._conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- reads -------------------------------------------------------------------------------

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

    def upload_counts(self) -> dict[str, int]:
        """Attachments to upload after creation, per state (pending, done, failed)."""
        counts = {"pending": 0, "done": 0, "failed": 0}
        for state, n in self._conn.execute("SELECT state, COUNT(*) FROM uploads GROUP BY state"):
            counts[state] = n
        return counts

    def source_conversations_complete(self) -> int:
        """Source conversations whose every part is done."""
        row = self._conn.execute(
            "SELECT COUNT(*) FROM (SELECT source_id FROM parts GROUP BY source_id "
            "HAVING SUM(state = 'done') = COUNT(*) AND COUNT(*) >= MAX(part_count))"
        ).fetchone()
        return int(row[0])

    def last_errors(self, n: int = 20) -> list[ErrorEntry]:
        """The ``n`` most recent errors, newest first."""
        rows = self._conn.execute(
            "SELECT at, source_id, part, stage, code, message FROM errors ORDER BY id DESC LIMIT ?",
            (n,),
        ).fetchall()
        return [ErrorEntry(*row) for row in rows]

    def customer_id(self, source_key: str) -> int | None:
        """The Help Scout customer created for a source customer key, if any."""
        row = self._conn.execute(
            "SELECT customer_id FROM customers WHERE source_key = ?", (source_key,)
        ).fetchone()
        return int(row[0]) if row else None

    def upload_states(self, source_id: str, part: int) -> dict[int, str]:
        """Every noted attachment of a part with its state (pending, done, failed)."""
        rows = self._conn.execute(
            "SELECT attachment, state FROM uploads WHERE source_id = ? AND part = ?",
            (source_id, part),
        ).fetchall()
        return {int(row[0]): str(row[1]) for row in rows}

    def has_pending_uploads(self, source_id: str) -> bool:
        """Whether a conversation still has attachments to upload."""
        row = self._conn.execute(
            "SELECT 1 FROM uploads WHERE source_id = ? AND state = 'pending' LIMIT 1", (source_id,)
        ).fetchone()
        return row is not None

    def customer_intent(self, source_key: str) -> float | None:
        """When a customer of this key was first asked for, if ever (to look for it first)."""
        row = self._conn.execute(
            "SELECT first_sent_at FROM customer_intents WHERE source_key = ?", (source_key,)
        ).fetchone()
        return float(row[0]) if row else None

    # --- writes (each commits at once) -------------------------------------------------------

    def record_uploads(self, source_id: str, part: int, count: int) -> None:
        """Note that a created part has ``count`` attachments to upload (kept if noted before)."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT OR IGNORE INTO uploads (source_id, part, attachment, state) "
                "VALUES (?, ?, ?, 'pending')",
                [(source_id, part, index) for index in range(count)],
            )

    def record_upload(self, source_id: str, part: int, attachment: int, *, done: bool) -> None:
        """An attachment was uploaded (``done``) or given up on."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "UPDATE uploads SET state = ? WHERE source_id = ? AND part = ? AND attachment = ?",
                ("done" if done else "failed", source_id, part, attachment),
            )

    def record_customer_intent(self, source_key: str) -> float:
        """Commit the intent to create a customer before its POST; returns the first time."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT OR IGNORE INTO customer_intents (source_key, first_sent_at) VALUES (?, ?)",
                (source_key, self._clock()),
            )
        first = self.customer_intent(source_key)
        assert first is not None
        return first

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
        return float(first)

    def holds_conversation(self, conversation_id: int, *, other_than: tuple[str, int]) -> bool:
        """Whether a part other than ``other_than`` (source id, part) has this conversation id:
        reconciliation never adopts a conversation another part already is."""
        row = self._conn.execute(
            "SELECT 1 FROM parts WHERE conversation_id = ? AND NOT (source_id = ? AND part = ?) "
            "LIMIT 1",
            (int(conversation_id), other_than[0], int(other_than[1])),
        ).fetchone()
        return row is not None

    def record_done(self, source_id: str, part: int, conversation_id: int) -> None:
        """The part exists in Help Scout as ``conversation_id`` (created or found)."""
        self._settle(source_id, part, PartState.DONE, conversation_id=int(conversation_id))

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

    def log_error(
        self,
        *,
        stage: str,
        code: str,
        message: str,
        source_id: str | None = None,
        part: int | None = None,
    ) -> None:
        """Append to the errors log (invalid records, left-out attachments...)."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._insert_error(source_id, part, stage, code, message)

    def put_customer(self, source_key: str, customer_id: int) -> None:
        """Remember the Help Scout customer created for a source customer key."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO customers (source_key, customer_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (source_key) DO UPDATE SET customer_id = excluded.customer_id",
                (source_key, int(customer_id), self._clock()),
            )

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
            if state is not PartState.DONE and code is not None:
                self._insert_error(source_id, part, stage, code, message or "")

    def _insert_error(
        self, source_id: str | None, part: int | None, stage: str, code: str, message: str
    ) -> None:
        self._conn.execute(
            "INSERT INTO errors (at, source_id, part, stage, code, message) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (self._clock(), source_id, part, stage, code, message),
        )


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a checkpoint of an earlier version up to date (columns added since)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(parts)")}
    if "span" not in columns:
        conn.execute("ALTER TABLE parts ADD COLUMN span TEXT")


def _part(row: tuple[Any, ...]) -> PartRecord:
    values = list(row)
    values[3] = PartState(values[3])
    return PartRecord(*values)
