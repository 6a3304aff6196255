"""The sandbox's state in SQLite: one connection, one lock, quick writes.

Handlers on the event loop and tests on another thread share one ``Store``; every method takes
the lock, so inspection from a test is safe while the server runs. Ids start far apart
(conversations 2000001, numbers 1, threads 5000001, customers 3000001, attachments 7000001) so a
client that mixes up an id and a number, or a thread id and a conversation id, fails visibly.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from importer.errors import SandboxError
from importer.sandbox.config import FieldSpec, SandboxConfig

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mailboxes (
    id INTEGER PRIMARY KEY, name TEXT, slug TEXT, email TEXT, created_at TEXT);
CREATE TABLE IF NOT EXISTS fields (
    mailbox_id INTEGER, id INTEGER, name TEXT, type TEXT, required INTEGER, ord INTEGER,
    options TEXT, PRIMARY KEY (mailbox_id, id));
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, email TEXT UNIQUE, first_name TEXT, last_name TEXT,
    alternate_emails TEXT, created_at TEXT);
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, first_name TEXT, last_name TEXT, emails TEXT,
    phones TEXT, profile TEXT, created_via_api_at REAL);
CREATE TABLE IF NOT EXISTS customer_emails (
    email TEXT, customer_id INTEGER, PRIMARY KEY (email, customer_id));
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE COLLATE NOCASE, color TEXT);
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, number INTEGER, mailbox_id INTEGER, subject TEXT,
    type TEXT, status TEXT, created_at TEXT, closed_at TEXT, imported INTEGER,
    created_via_api_at REAL, modified_at REAL, tags TEXT, fields TEXT, customer_id INTEGER,
    user_id INTEGER, assign_to INTEGER, cc TEXT, bcc TEXT, created_by TEXT, deleted_at REAL);
CREATE TABLE IF NOT EXISTS threads (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id INTEGER, seq INTEGER, type TEXT,
    text TEXT, created_at TEXT, user_id INTEGER, customer_id INTEGER, imported INTEGER,
    status TEXT, draft INTEGER, to_list TEXT, cc TEXT, bcc TEXT);
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id INTEGER, thread_id INTEGER,
    file_name TEXT, mime_type TEXT, size INTEGER, data BLOB);
CREATE TABLE IF NOT EXISTS delete_requests (conversation_id INTEGER, at REAL, status INTEGER);
CREATE INDEX IF NOT EXISTS threads_by_conversation ON threads (conversation_id);
CREATE INDEX IF NOT EXISTS attachments_by_thread ON attachments (thread_id);
"""

_ID_OFFSETS = {
    "conversations": 2000000,
    "threads": 5000000,
    "customers": 3000000,
    "attachments": 7000000,
    "tags": 100,
}
_TAG_COLORS = ("#a5b2bd", "#56a2d6", "#6bb45f", "#e28b5d", "#c45bbf", "#d6b94d")
_JSON_COLUMNS = {
    "emails", "phones", "profile", "tags", "fields", "cc", "bcc", "to_list",
    "created_by", "alternate_emails", "options",
}  # fmt: skip


def _row(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in row.keys():  # noqa: SIM118 - sqlite3.Row is not a mapping
        value = row[key]
        out[key] = json.loads(value) if key in _JSON_COLUMNS and value is not None else value
    return out


def _with_email(customer: dict[str, Any]) -> dict[str, Any]:
    emails = customer["emails"] or []
    customer["email"] = emails[0]["value"] if emails else None
    return customer


def _create_private(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists, before SQLite opens it, so that its
    ``-wal``, ``-shm`` and journal get the same mode (the sandbox's own: it imports nothing of
    the importer but the error base)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class Store:
    """SQLite state of one sandbox; thread-safe."""

    def __init__(self, path: str | None = None) -> None:
        target = path or ":memory:"
        try:
            if path and path != ":memory:" and not path.startswith("file:"):
                _create_private(Path(path))
            self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.executescript(_SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(conversations)")}
            if "deleted_at" not in columns:  # a --db file of an earlier sandbox
                self._db.execute("ALTER TABLE conversations ADD COLUMN deleted_at REAL")
            for table, offset in _ID_OFFSETS.items():
                if not self._db.execute(
                    "SELECT 1 FROM sqlite_sequence WHERE name = ?", (table,)
                ).fetchone():
                    self._db.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, offset)
                    )
        except (sqlite3.Error, OSError) as exc:
            raise SandboxError(f"--db {target}: cannot open the database: {exc}") from exc
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [_row(r) for r in self._db.execute(sql, params).fetchall()]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    # -- seeding ---------------------------------------------------------------------------------

    def seed(self, config: SandboxConfig, now_iso: str) -> None:
        """Create the configured mailboxes, fields and users unless they exist."""
        with self._lock:
            for mailbox_id in config.mailbox_ids:
                self._db.execute(
                    "INSERT OR IGNORE INTO mailboxes VALUES (?, ?, ?, ?, ?)",
                    (mailbox_id, f"Mailbox {mailbox_id}", f"mailbox-{mailbox_id}",
                     f"mailbox{mailbox_id}@sandbox.test", now_iso),
                )  # fmt: skip
                self._seed_fields(mailbox_id, config.fields_of(mailbox_id))
            for user_id, spec in enumerate(config.user_specs, start=1):
                self._db.execute(
                    "INSERT OR IGNORE INTO users VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, spec.email, spec.first_name, spec.last_name,
                     json.dumps(list(spec.alternate_emails)), now_iso),
                )  # fmt: skip

    def _seed_fields(self, mailbox_id: int, specs: Iterable[FieldSpec]) -> None:
        for spec in specs:
            self._db.execute(
                "INSERT OR REPLACE INTO fields VALUES (?, ?, ?, ?, ?, ?, ?)",
                (mailbox_id, spec.id, spec.name, spec.type, int(spec.required), spec.order,
                 json.dumps([list(o) for o in spec.options])),
            )  # fmt: skip

    # -- mailboxes, fields, users ----------------------------------------------------------------

    def mailboxes(self) -> list[dict[str, Any]]:
        """Every mailbox, by id."""
        return self._all("SELECT * FROM mailboxes ORDER BY id")

    def mailbox(self, mailbox_id: int) -> dict[str, Any] | None:
        """One mailbox or None."""
        return self._one("SELECT * FROM mailboxes WHERE id = ?", (mailbox_id,))

    def fields(self, mailbox_id: int) -> list[dict[str, Any]]:
        """The custom fields of a mailbox, in their order."""
        return self._all(
            "SELECT * FROM fields WHERE mailbox_id = ? ORDER BY ord, id", (mailbox_id,)
        )

    def users(self) -> list[dict[str, Any]]:
        """Every user, by id."""
        return self._all("SELECT * FROM users ORDER BY id")

    def user(self, user_id: int) -> dict[str, Any] | None:
        """One user or None."""
        return self._one("SELECT * FROM users WHERE id = ?", (user_id,))

    # -- customers -------------------------------------------------------------------------------

    def customers(self) -> list[dict[str, Any]]:
        """Every customer, oldest first (inspection helper).

        Keys: ``id``, ``first_name``, ``last_name``, ``emails`` and ``phones`` (lists of
        ``{type, value}``), ``email`` (the first email or None), ``profile``,
        ``created_via_api_at``.
        """
        return [_with_email(c) for c in self._all("SELECT * FROM customers ORDER BY id")]

    def customer(self, customer_id: int) -> dict[str, Any] | None:
        """One customer or None."""
        row = self._one("SELECT * FROM customers WHERE id = ?", (customer_id,))
        return None if row is None else _with_email(row)

    def customer_id_by_email(self, email: str) -> int | None:
        """The oldest customer holding this email (case-insensitive), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(customer_id) FROM customer_emails WHERE email = ?",
                (email.strip().lower(),),
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def create_customer(
        self,
        profile: dict[str, Any],
        emails: list[dict[str, Any]],
        phones: list[dict[str, Any]],
        *,
        now: float,
    ) -> int:
        """Store a new customer and return its id."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO customers (first_name, last_name, emails, phones, profile,"
                " created_via_api_at) VALUES (?, ?, ?, ?, ?, ?)",
                (profile.get("firstName"), profile.get("lastName"), json.dumps(emails),
                 json.dumps(phones), json.dumps(profile), now),
            )  # fmt: skip
            customer_id = int(cur.lastrowid or 0)
            self._db.executemany(
                "INSERT OR IGNORE INTO customer_emails VALUES (?, ?)",
                [(e["value"].strip().lower(), customer_id) for e in emails],
            )
            return customer_id

    # -- tags ------------------------------------------------------------------------------------

    def tag_ids(self, names: Iterable[str]) -> list[dict[str, Any]]:
        """``[{id, color, tag}]`` for these names, creating account-wide tags as needed."""
        out = []
        with self._lock:
            for name in names:
                row = self._db.execute("SELECT * FROM tags WHERE name = ?", (name,)).fetchone()
                if row is None:
                    color = _TAG_COLORS[len(name) % len(_TAG_COLORS)]
                    cur = self._db.execute(
                        "INSERT INTO tags (name, color) VALUES (?, ?)", (name, color)
                    )
                    out.append({"id": cur.lastrowid, "color": color, "tag": name})
                else:
                    out.append({"id": row["id"], "color": row["color"], "tag": row["name"]})
        return out

    # -- conversations and threads ---------------------------------------------------------------

    def create_conversation(self, record: dict[str, Any], threads: list[dict[str, Any]]) -> int:
        """Store a conversation and its threads (oldest first) in one transaction."""
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM conversations")
                record = {**record, "number": number.fetchone()[0]}
                columns = list(record)
                values = [json.dumps(v) if k in _JSON_COLUMNS else v for k, v in record.items()]
                cur = db.execute(
                    f"INSERT INTO conversations ({', '.join(columns)})"
                    f" VALUES ({', '.join('?' for _ in columns)})",
                    values,
                )
                conversation_id = int(cur.lastrowid or 0)
                for seq, thread in enumerate(threads):
                    self._insert_thread(conversation_id, seq, thread)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return conversation_id

    def _insert_thread(self, conversation_id: int, seq: int, thread: dict[str, Any]) -> None:
        attachments = thread.pop("attachments", [])
        thread = {**thread, "conversation_id": conversation_id, "seq": seq}
        columns = list(thread)
        values = [json.dumps(v) if k in _JSON_COLUMNS else v for k, v in thread.items()]
        cur = self._db.execute(
            f"INSERT INTO threads ({', '.join(columns)})"
            f" VALUES ({', '.join('?' for _ in columns)})",
            values,
        )
        for att in attachments:
            self._db.execute(
                "INSERT INTO attachments (conversation_id, thread_id, file_name, mime_type, size,"
                " data) VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, cur.lastrowid, att["fileName"], att["mimeType"],
                 len(att["bytes"]), att["bytes"]),
            )  # fmt: skip

    def conversation(self, conversation_id: int) -> dict[str, Any] | None:
        """One conversation row or None (a deleted one too: ``deleted_at`` is set)."""
        return self._one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))

    def conversations(self, mailbox: int | None = None) -> list[dict[str, Any]]:
        """Conversations not deleted, oldest stored first, optionally of one mailbox."""
        if mailbox is None:
            return self._all("SELECT * FROM conversations WHERE deleted_at IS NULL ORDER BY id")
        return self._all(
            "SELECT * FROM conversations WHERE deleted_at IS NULL AND mailbox_id = ? ORDER BY id",
            (mailbox,),
        )

    def count_conversations(self, mailbox: int | None = None) -> int:
        """How many conversations are stored (inspection helper)."""
        with self._lock:
            if mailbox is None:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM conversations WHERE deleted_at IS NULL"
                ).fetchone()
            else:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM conversations WHERE deleted_at IS NULL "
                    "AND mailbox_id = ?",
                    (mailbox,),
                ).fetchone()
            return int(row[0])

    def threads(self, conversation_id: int) -> list[dict[str, Any]]:
        """Threads of a conversation in the order they were sent (oldest first)."""
        return self._all(
            "SELECT * FROM threads WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
        )

    def thread(self, thread_id: int) -> dict[str, Any] | None:
        """One thread row or None."""
        return self._one("SELECT * FROM threads WHERE id = ?", (thread_id,))

    def attachments(self, thread_id: int) -> list[dict[str, Any]]:
        """Attachments of a thread, without their bytes."""
        return self._all(
            "SELECT id, conversation_id, thread_id, file_name, mime_type, size FROM attachments"
            " WHERE thread_id = ? ORDER BY id",
            (thread_id,),
        )

    def attachment_data(
        self, attachment_id: int, conversation_id: int | None = None
    ) -> bytes | None:
        """The stored bytes of one attachment (of that conversation, when given)."""
        sql, params = "SELECT data FROM attachments WHERE id = ?", [attachment_id]
        if conversation_id is not None:
            sql, params = f"{sql} AND conversation_id = ?", [attachment_id, conversation_id]
        with self._lock:
            row = self._db.execute(sql, params).fetchone()
        return None if row is None else bytes(row[0])

    def add_attachment(
        self,
        conversation_id: int,
        thread_id: int,
        file_name: str,
        *,
        mime_type: str,
        data: bytes,
        now: float,
    ) -> int:
        """Store an uploaded attachment; the conversation counts as modified."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO attachments (conversation_id, thread_id, file_name, mime_type, size,"
                " data) VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, thread_id, file_name, mime_type, len(data), data),
            )
            self._db.execute(
                "UPDATE conversations SET modified_at = ? WHERE id = ?", (now, conversation_id)
            )
            return int(cur.lastrowid or 0)
