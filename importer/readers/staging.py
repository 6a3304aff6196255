"""The on-disk join store of every reader that joins records across files.

Exports come as several files in any order (tickets, then comments, then users, or the other way
round, or interleaved in one ETL stream), and may not fit in memory. A reader first ``put``\\ s
every record it needs under a *kind* (``"tickets"``, ``"comments"``) and a *key* (the id it is
joined on), then walks one kind in source order and fetches the records of another by key::

    with StagingStore(workdir) as store:
        for role, item in routed:                          # see importer.readers.base
            store.put(role, ticket_id_of(item), item.location, item.data)
        for ticket in store.of_kind("tickets"):            # in the order they were put
            comments = list(store.by_key("comments", ticket.key))
            ...
        for key, first, count in store.keys_without("comments", "tickets"):
            ...                                            # comments of tickets not in the export

Records are kept as JSON text in one SQLite table, indexed by (kind, key, seq) and (kind, seq);
``seq`` is the order of ``put``, so "source order" is the order the reader read the files in.
Every record keeps its ``location`` (``file:line``). Memory stays bounded by SQLite's page cache
whatever the size of the export; the file lives in the reader's work folder and goes with it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

STORE_FILE = "staging.sqlite"
COMMIT_EVERY = 10_000

_SCHEMA = """
CREATE TABLE staged (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT, location TEXT NOT NULL,
    record TEXT NOT NULL);
CREATE INDEX staged_by_key ON staged (kind, key, seq);
CREATE INDEX staged_in_order ON staged (kind, seq);
"""
_COLUMNS = "seq, kind, key, location, record"
#: one encoder for every record (``json.dumps`` with options builds a new one each call)
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


@dataclass(frozen=True)
class Staged:
    """One staged record: its order, kind, join key, ``file:line`` and the record itself."""

    seq: int
    kind: str
    key: str | None
    location: str
    record: Any


def _staged(row: tuple[int, str, str | None, str, str]) -> Staged:
    seq, kind, key, location, record = row
    return Staged(seq, kind, key, location, json.loads(record))


class StagingStore:
    """Records by kind and key in a SQLite file of ``folder``; a context manager."""

    def __init__(self, folder: Path, file_name: str = STORE_FILE) -> None:
        self.path = folder / file_name
        self._db = sqlite3.connect(self.path)
        self._db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)
        self._pending = 0

    # -- writing -----------------------------------------------------------------------------
    def put(self, kind: str, key: str | None, location: str, record: Any) -> int:
        """Stage ``record`` (any JSON value) under ``kind`` and ``key``; return its ``seq``."""
        cursor = self._db.execute(
            "INSERT INTO staged (kind, key, location, record) VALUES (?, ?, ?, ?)",
            (kind, key, location, _encode(record)),
        )
        self._pending += 1
        if self._pending >= COMMIT_EVERY:
            self.commit()
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def replace(self, seq: int, record: Any) -> None:
        """Replace the record staged as ``seq`` (its kind, key and location stay)."""
        self._db.execute(
            "UPDATE staged SET record = ? WHERE seq = ?",
            (_encode(record), seq),
        )

    def commit(self) -> None:
        """Write what was put so far (also done every ``COMMIT_EVERY`` records)."""
        self._db.commit()
        self._pending = 0

    # -- reading -----------------------------------------------------------------------------
    def first(self, kind: str, key: str | None) -> Staged | None:
        """The first record put under ``kind`` and ``key``, ``None`` when there is none."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM staged WHERE kind = ? AND key IS ? ORDER BY seq LIMIT 1",
            (kind, key),
        ).fetchone()
        return None if row is None else _staged(row)

    def by_key(self, kind: str, key: str | None) -> Iterator[Staged]:
        """Every record of ``kind`` put under ``key``, in the order they were put."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM staged WHERE kind = ? AND key IS ? ORDER BY seq",
            (kind, key),
        )
        for row in rows:
            yield _staged(row)

    def of_kind(self, kind: str) -> Iterator[Staged]:
        """Every record of ``kind``, in the order they were put."""
        for row in self._db.execute(
            f"SELECT {_COLUMNS} FROM staged WHERE kind = ? ORDER BY seq", (kind,)
        ):
            yield _staged(row)

    def keys(self, kind: str) -> Iterator[str]:
        """The distinct keys of ``kind``, in the order each was first put."""
        rows = self._db.execute(
            "SELECT key FROM staged WHERE kind = ? AND key IS NOT NULL "
            "GROUP BY key ORDER BY MIN(seq)",
            (kind,),
        )
        for (key,) in rows:
            yield key

    def keys_without(self, kind: str, other: str) -> Iterator[tuple[str, Staged, int]]:
        """Keys of ``kind`` no record of ``other`` has (orphans): ``(key, first record, count)``,
        in the order each key was first put."""
        rows = self._db.execute(
            "SELECT s.key, MIN(s.seq), COUNT(*) FROM staged AS s "
            "WHERE s.kind = ? AND s.key IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM staged AS o WHERE o.kind = ? AND o.key = s.key) "
            "GROUP BY s.key ORDER BY 2",
            (kind, other),
        )
        for key, seq, count in rows:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM staged WHERE seq = ?", (seq,))
            yield key, _staged(row.fetchone()), count

    def count(self, kind: str, key: str | None = None) -> int:
        """How many records of ``kind`` (under ``key`` when given) are staged."""
        query = "SELECT COUNT(*) FROM staged WHERE kind = ?"
        args: tuple[str, ...] = (kind,)
        if key is not None:
            query, args = query + " AND key = ?", (kind, key)
        total: int = self._db.execute(query, args).fetchone()[0]
        return total

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database (the file is removed with the reader's work folder)."""
        self._db.close()

    def __enter__(self) -> StagingStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
