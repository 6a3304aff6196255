"""The checkpoint's file: SQLite (WAL, ``synchronous=FULL``), its schema and migrations, the
run header, and the lock that lets one run at a time use it.

The schema and its migrations are in ``schema.py``.

Times are UTC epoch seconds (REAL). Credentials are never stored.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from importer import __version__
from importer.errors import CheckpointError, OutputWriteError
from importer.outputs import create_private, writing
from importer.pipeline.checkpoint.schema import SCHEMA_VERSION, migrate


@dataclass(frozen=True)
class RunHeader:
    """What a checkpoint belongs to. Never holds credentials."""

    api_url: str
    mailbox: int
    format: str | None = None
    created_at: float | None = None
    importer_version: str = __version__
    #: the latest run's inputs and payload-shaping options (``run_options``): written by each
    #: run, replacing the earlier run's; None when the checkpoint records none (older versions)
    options: dict[str, Any] | None = field(default=None, compare=False)


def normalise_api_url(url: str) -> str:
    """The API URL as compared in the header: trimmed, no trailing slash, lowercase scheme/host."""
    url = url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


class GuardedConnection(sqlite3.Connection):
    """The checkpoint's connection: a write that finds no room (``SQLITE_FULL``, or
    ``SQLITE_IOERR`` from a full disk or the file size limit) raises
    :class:`~importer.errors.OutputWriteError` naming the checkpoint, instead of an
    ``OperationalError`` a worker would take for one conversation's failure. SQLite has rolled
    the transaction back (``with`` rolls back what is left), so the file stays consistent."""

    checkpoint_path: str = ""

    def execute(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        with writing(self.checkpoint_path):
            return super().execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        with writing(self.checkpoint_path):
            return super().executemany(*args, **kwargs)

    def executescript(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        with writing(self.checkpoint_path):
            return super().executescript(*args, **kwargs)

    def commit(self) -> None:
        with writing(self.checkpoint_path):
            super().commit()

    def __exit__(self, *args: Any) -> Any:
        with writing(self.checkpoint_path):
            return super().__exit__(*args)


def _connect(path: Path) -> GuardedConnection:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0, factory=GuardedConnection)
    conn.checkpoint_path = str(path)
    return conn


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
            "another importer run is using this checkpoint (a run or an undo); let it finish "
            "(or stop it) and "
            "run again, or give this run its own --checkpoint for another export",
            location=str(path),
        ) from None
    return fd


class Store:
    """The open file: its connection, clock, header and lock, shared by the checkpoint's logs
    (parts, customers, uploads, errors: each a :class:`Log` over this store; see
    :mod:`importer.pipeline.checkpoint`)."""

    def __init__(
        self,
        conn: GuardedConnection,
        header: RunHeader,
        path: Path,
        *,
        clock: Callable[[], float],
        lock_fd: int | None = None,
    ) -> None:
        self.conn = conn
        self.header = header
        self.path = path
        self.clock = clock
        self._lock_fd = lock_fd
        #: the number of the run that opened the file (1, 2, ...; None: opened to read or undo)
        #: and its ``--tag`` values, recorded on each part it creates (``undo --run``, ``--tag``)
        self.run_number: int | None = None
        self.run_tags: list[str] = []

    @classmethod
    def open(cls, path: Path, header: RunHeader, *, clock: Callable[[], float] = time.time) -> Self:
        """Open or create the checkpoint at ``path`` for ``header``'s API URL and mailbox.

        :raises CheckpointError: the file belongs to another API URL or mailbox, or is damaged.
        """
        path = Path(path)
        try:
            create_private(path)  # 0600, and so its -wal and -shm (see importer.outputs)
            conn = _connect(path)
        except OSError as exc:
            raise OutputWriteError(path, exc.strerror or str(exc)) from None
        except sqlite3.Error as exc:
            raise CheckpointError(
                f"cannot open the checkpoint ({exc})", location=str(path)
            ) from None
        lock_fd = None
        try:
            lock_fd = _lock_for_one_run(path)  # before any write: a refused run changes nothing
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            migrate(conn)
            stored = _read_or_write_header(conn, header, clock)
            if header.options is not None:
                _write_options(conn, header.options)
            stored = replace(stored, options=_read_options(conn))
            tags = [str(tag) for tag in (header.options or {}).get("tags") or []]
            run_number = _next_run(conn, clock(), tags)
        except (sqlite3.DatabaseError, CheckpointError, OutputWriteError) as exc:
            conn.close()
            if lock_fd is not None:
                os.close(lock_fd)
            if isinstance(exc, CheckpointError | OutputWriteError):
                raise
            raise CheckpointError(
                f"the checkpoint is damaged or not a checkpoint ({exc}); give another "
                "--checkpoint (or move this file away to start over)",
                location=str(path),
            ) from None
        store = cls(conn, stored, path, clock=clock, lock_fd=lock_fd)
        store.run_number = run_number
        store.run_tags = tags
        return store

    @classmethod
    def open_existing(
        cls, path: Path, *, clock: Callable[[], float] = time.time, exclusive: bool = False
    ) -> Self:
        """Open a checkpoint a run wrote, with the header it holds (for ``importer status``);
        ``exclusive`` (``undo``): held as a run holds it, and brought to the latest schema.

        :raises CheckpointError: the file is missing, damaged or was never written by a run,
            or (``exclusive``) a run or an undo is using it.
        """
        path = Path(path)
        if not path.is_file():
            raise CheckpointError("no such checkpoint file", location=str(path))
        try:
            conn = _connect(path)
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
        header = replace(_header_of(values), options=_read_options(conn))
        lock_fd = None
        if exclusive:
            try:
                lock_fd = _lock_for_one_run(path)
                migrate(conn)
            except (sqlite3.DatabaseError, CheckpointError):
                conn.close()
                if lock_fd is not None:
                    os.close(lock_fd)
                raise
        return cls(conn, header, path, clock=clock, lock_fd=lock_fd)

    def insert_error(
        self, source_id: str | None, part: int | None, stage: str, *, code: str, message: str
    ) -> None:
        """One row of the error log, inside the caller's transaction."""
        self.conn.execute(
            "INSERT INTO errors (at, source_id, part, stage, code, message) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (self.clock(), source_id, part, stage, code, message),
        )

    def close(self) -> None:
        """Close the database (every write is already committed) and let another run in."""
        self.conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None


class Log:
    """One part of the checkpoint (its parts, customers, uploads or error log) over the
    store it shares with the others: the same connection, clock and transactions."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._conn = store.conn
        self._clock = store.clock

    def _insert_error(
        self, source_id: str | None, part: int | None, stage: str, *, code: str, message: str
    ) -> None:
        self._store.insert_error(source_id, part, stage, code=code, message=message)


def _next_run(conn: sqlite3.Connection, now: float, tags: list[str]) -> int:
    """Record one more run of this checkpoint, with its ``--tag`` values; its number."""
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        cursor = conn.execute(
            "INSERT INTO runs (started_at, tags) VALUES (?, ?)", (now, json.dumps(tags))
        )
    return int(cursor.lastrowid or 0)


def _header_of(values: dict[str, str]) -> RunHeader:
    return RunHeader(
        api_url=values.get("api_url", ""),
        mailbox=int(values.get("mailbox") or 0),
        format=values.get("format") or None,
        created_at=float(values.get("created_at", "0")),
        importer_version=values.get("importer_version", ""),
    )


def _write_options(conn: sqlite3.Connection, options: dict[str, Any]) -> None:
    """Replace the recorded run options with ``options`` (one transaction)."""
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM run_options")
        conn.executemany(
            "INSERT INTO run_options (key, value) VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in sorted(options.items())],
        )


def _read_options(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The recorded run options, or None when the file has none (written before version 3)."""
    try:
        rows = conn.execute("SELECT key, value FROM run_options").fetchall()
    except sqlite3.OperationalError:  # no such table: an older checkpoint
        return None
    return {str(key): json.loads(value) for key, value in rows} or None


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
            conn.executemany("INSERT OR IGNORE INTO run (key, value) VALUES (?, ?)", rows.items())
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
    return _header_of(values)
