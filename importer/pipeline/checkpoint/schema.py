"""The checkpoint's schema and its migrations: each brings a file from the version before it.

Schema (``SCHEMA_VERSION`` 4; the header's ``schema_version`` moves with each migration)::

    run(key TEXT PRIMARY KEY, value TEXT)      api_url, mailbox, format, created_at,
                                               importer_version, schema_version
    run_options(key TEXT PRIMARY KEY, value TEXT)  the latest run's inputs (absolute paths),
                                               format and every option that shapes what is
                                               sent, each value JSON (what ``verify`` reuses)
    parts(source_id, part, part_count, state, conversation_id, subject, customer_email,
          payload_digest, first_sent_at, attempts, error_code, error_message,
          created_at, updated_at, span,
          -- version 4, what ``undo`` checks: the threads sent, the last write (creation or
          -- upload), the run (its number and --tag values), found by reconciliation (adopted),
          -- the status, assignee, createdAt and first thread's time sent
          threads, last_write_at, run_number, run_tags, adopted, sent_status, sent_assignee,
          sent_created_at, first_thread_at; PRIMARY KEY (source_id, part))
    customers(source_key PRIMARY KEY, customer_id, created_at)
    customer_intents(source_key PRIMARY KEY, first_sent_at)
    uploads(source_id, part, attachment, state; PRIMARY KEY (source_id, part, attachment))
    errors(id, at, source_id, part, stage, code, message)
    runs(number INTEGER PRIMARY KEY AUTOINCREMENT, started_at, tags)  one row per run
    undone(conversation_id PRIMARY KEY, source_id, part, state, requested_at, settled_at)
                                               ``undo``: each DELETE recorded before it is sent
                                               (deleting) and after (deleted, gone)

Why apart from ``store.py``: the file's shape changes with features (``undo`` added version 4),
its opening and locking do not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 4

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


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


def _add_part_span(conn: sqlite3.Connection) -> None:
    """Version 2: which messages a part holds (idempotent: some version-1 files have it)."""
    if "span" not in _columns(conn, "parts"):
        conn.execute("ALTER TABLE parts ADD COLUMN span TEXT")


def _add_run_options(conn: sqlite3.Connection) -> None:
    """Version 3: the latest run's inputs and the options that shape what it sends."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS run_options (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    )


#: columns version 4 adds to ``parts`` (what ``undo`` checks before deleting a part)
UNDO_COLUMNS = {
    "threads": "INTEGER",
    "last_write_at": "REAL",
    "run_number": "INTEGER",
    "run_tags": "TEXT",
    "adopted": "INTEGER",
    "sent_status": "TEXT",
    "sent_assignee": "INTEGER",
    "sent_created_at": "TEXT",
    "first_thread_at": "TEXT",
}


def _add_undo(conn: sqlite3.Connection) -> None:
    """Version 4: per part what ``undo`` checks (NULL in parts written before), and the log of
    the deletions ``undo`` sends."""
    present = _columns(conn, "parts")
    for name, kind in UNDO_COLUMNS.items():
        if name not in present:
            conn.execute(f"ALTER TABLE parts ADD COLUMN {name} {kind}")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS undone (conversation_id INTEGER PRIMARY KEY, "
        "source_id TEXT NOT NULL, part INTEGER NOT NULL, "
        "state TEXT NOT NULL CHECK (state IN ('deleting', 'deleted', 'gone')), "
        "requested_at REAL NOT NULL, settled_at REAL)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS runs (number INTEGER PRIMARY KEY AUTOINCREMENT, "
        "started_at REAL NOT NULL, tags TEXT NOT NULL)"
    )


#: each migration brings a checkpoint from the version before it to its own
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: _add_part_span,
    3: _add_run_options,
    4: _add_undo,
}


def migrate(conn: sqlite3.Connection) -> None:
    """Create the tables of version 1 where missing, then apply every migration the file has
    not had, and record the version it is at now."""
    stored = None
    if _columns(conn, "run"):
        stored = conn.execute("SELECT value FROM run WHERE key = 'schema_version'").fetchone()
    version = int(stored[0]) if stored else 1
    if stored is not None and version >= SCHEMA_VERSION:
        return  # nothing to do: no write
    with conn:  # one transaction: a file is migrated whole or not at all, in few pages
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        for target in sorted(MIGRATIONS):
            if target > version:
                MIGRATIONS[target](conn)
        if stored is not None:
            conn.execute(
                "UPDATE run SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
