"""Rows joined by key in one sorted pass: the store of a reader that needs every record of each
conversation together, once (the CSV reader).

Records are appended without a look-up each, and read back in one sorted pass (SQLite's external
sort), conversation by conversation, rather than by a query per key (as
:class:`~importer.readers.staging.StagingStore` does): much faster on a large export whose rows
come in random order, in the same bounded memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from importer.outputs import create_private, writing
from importer.readers.closing import Closing
from importer.readers.payloads import PayloadFile
from importer.readers.staging import written_as

# -- rows grouped in one sorted pass -------------------------------------------------------------

_GROUPED_SCHEMA = """
CREATE TABLE row (
    seq INTEGER PRIMARY KEY, key TEXT, parent INTEGER NOT NULL, at INTEGER, size INTEGER);
"""
#: the first parent row and the first row of each key, made once every row is in
_FIRSTS = """
CREATE TABLE first (key TEXT PRIMARY KEY, parent INTEGER, any INTEGER) WITHOUT ROWID;
INSERT INTO first SELECT key, MIN(CASE WHEN parent THEN seq END), MIN(seq) FROM row
    WHERE key IS NOT NULL GROUP BY key;
"""
#: every row with its group: a parent row's own seq; a child's first parent of its key, or when
#: its key has none, the key's first row (``late``: such groups after all others, bit 48 up)
_GROUPED = """
SELECT (CASE WHEN r.parent OR f.parent IS NOT NULL THEN 0 ELSE :late END) << 48
        | (CASE WHEN r.parent THEN r.seq ELSE COALESCE(f.parent, f.any, r.seq) END) AS grp,
    r.seq, r.key, r.parent, r.at, r.size, f.parent
FROM row AS r LEFT JOIN first AS f ON f.key = r.key
ORDER BY grp, r.parent DESC, r.seq
"""
#: rows sent to SQLite at once
INSERT_BATCH = 5_000
#: SQLite's page cache and sort buffer (KiB): larger sorted runs, fewer merge passes; flat
CACHE_KIB = 2000


class GroupedRow(NamedTuple):
    """One row of a :class:`GroupedRows` group: its order, key, whether it is a parent row, the
    payload it was added with, and the ``seq`` of the first parent row of its key (``None``
    when no parent row has the key: a parent row other than that one is a repeat)."""

    seq: int
    key: str | None
    parent: bool
    payload: bytes
    first_parent: int | None


class GroupedRows(Closing):
    """Rows joined by key in one sorted pass, in two files of ``folder``; a context manager.

    Each row is a *parent* (a conversation row) or a *child* (a message row), with a key (the
    conversation id; a row without one stands alone) and an opaque ``bytes`` payload. Once every
    row is added, :meth:`groups` gives them grouped, each group once, in the order of its first
    row, the rows of a group in the order they were added:

    - every parent row starts a group of its own (a key's later parent rows too: a duplicate);
    - a child joins the group of the first parent row of its key, after that row;
    - children of a key no parent row has make a group of that key, at the place of its first
      row, or after every other group when ``orphans_last``.

    Payloads are appended to a flat file as they come; a SQLite table holds each row's key and
    where its payload is. Adding costs no look-up; :meth:`groups` is one external sort of those
    narrow rows by SQLite (in its bounded cache and temporary files), whatever their order in
    the source, then each payload is read back from its place (from the system's file cache,
    as a rule: it was written moments before). Both files are created private (0600); a write
    that finds no room raises :class:`~importer.errors.OutputWriteError` naming its file.
    """

    def __init__(self, folder: Path, file_name: str = "grouped.sqlite") -> None:
        self.path = folder / file_name
        self.payload_path = folder / f"{file_name}.payloads"
        self._name, self._payload_name = written_as(self.path), written_as(self.payload_path)
        with writing(self._name):
            create_private(self.path)  # before SQLite opens it: its journal gets its mode
            self._db = sqlite3.connect(self.path)
            self._db.executescript(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; "
                f"PRAGMA cache_size = -{CACHE_KIB};" + _GROUPED_SCHEMA
            )
        self._payloads = PayloadFile(self.payload_path, self._payload_name)
        self._adding = True
        self._pending: list[tuple[int, str | None, bool, int, int]] = []
        self._seq = 0

    def add(self, key: str | None, parent: bool, payload: bytes) -> int:
        """Add a row; return its ``seq`` (1, 2, ... in the order of adding)."""
        assert self._adding, "rows are added before groups() is called"
        self._seq += 1
        at = self._payloads.append(payload)
        self._pending.append((self._seq, key, parent, at, len(payload)))
        if len(self._pending) >= INSERT_BATCH:
            self._flush()
        return self._seq

    def _flush(self) -> None:
        if self._pending:
            with writing(self._name):
                self._db.executemany("INSERT INTO row VALUES (?, ?, ?, ?, ?)", self._pending)
            self._pending = []

    def _reading(self) -> None:
        """Every row added written, for reading (no row is added after)."""
        if self._adding:
            self._flush()
            with writing(self._name):
                self._db.commit()
            self._payloads.flush()
            self._adding = False

    def payload(self, seq: int) -> bytes | None:
        """The payload of row ``seq``, ``None`` when there is no such row (ends the adding)."""
        self._reading()
        found = self._db.execute("SELECT at, size FROM row WHERE seq = ?", (seq,)).fetchone()
        return None if found is None else self._payloads.read(found[0], found[1])

    def groups(self, orphans_last: bool = False) -> Iterator[Sequence[GroupedRow]]:
        """Every row, once, in its group (class doc); the groups in order, each a list. Called
        once, when every row is added."""
        self._reading()
        self._db.executescript(_FIRSTS)
        read, new = self._payloads.read, tuple.__new__
        group: list[GroupedRow] = []
        current = 0  # no group: seq starts at 1
        for grp, seq, key, parent, at, size, first in self._db.execute(
            _GROUPED, {"late": int(orphans_last)}
        ):
            if grp != current:
                if group:
                    yield group
                group, current = [], grp
            # tuple.__new__: the named tuple without a Python call
            group.append(new(GroupedRow, (seq, key, parent == 1, read(at, size), first)))
        if group:
            yield group

    def close(self) -> None:
        """Close both files (they are removed with the reader's work folder)."""
        self._payloads.close()
        with writing(self._name):
            self._db.close()
