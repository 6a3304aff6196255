"""The on-disk join store of every reader that joins records across files.

Exports come as several files in any order (tickets, then comments, then users, or the other way
round, or interleaved in one ETL stream), and may not fit in memory. A reader first stages every
record it needs under a *kind* (``"tickets"``, ``"comments"``) and a *key* (the id it is joined
on), then walks one kind in source order and fetches the records of another by key::

    with StagingStore(workdir) as store:
        for role, item in routed:                          # see importer.readers.base
            read = StagedRecord(item.data, item.replaced_bytes, item.location)
            store.put_record(role, ticket_id_of(item), read)
        for ticket in store.of_kind("tickets"):            # in the order they were put
            comments = list(store.by_key("comments", ticket.key))
            ...                                            # ticket.staged_record.data, ...
        for key, first, count in store.keys_without("comments", "tickets"):
            ...                                            # comments of tickets not in the export

A parsed record is a :class:`StagedRecord` (its data, bytes read as cp1252, the place of the
copy read); anything else a reader keeps (a user's summary, a duplicate's place) a JSON value.
They are kept as JSON text in one SQLite table indexed by (kind, key, seq) and (kind, seq).
``seq`` is the order of ``put``, so "source order" is the order the reader read the files in;
``location`` is where a record was first put. Memory stays bounded by SQLite's page cache
whatever the size of the export; the file is created 0600 in the reader's work folder and goes
with it. A write that finds no room raises :class:`~importer.errors.OutputWriteError` naming the
file (the run stops, exit 4).

A reader that only ever needs every record of each conversation together, once, uses
:class:`GroupedRows` instead: records are appended without a look-up each, and read back in one
sorted pass (SQLite's external sort), conversation by conversation, rather than by a query per
key: much faster on a large export whose rows come in random order, in the same bounded memory.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple, Self, cast

from importer.outputs import create_private, open_private, writing

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


def written_as(path: Path) -> str:
    """How a write that fails names a staging file: the file, and what it is."""
    return f"{path}, one of the export's staging files"


class StagedRecord(NamedTuple):
    """A parsed record as a reader stages it: its ``data`` (any JSON value), how many of its
    bytes were ``replaced`` (read as cp1252: its conversation's encoding warning) and the
    ``location`` (``file:line``) of the copy read."""

    data: Any
    replaced: int
    location: str


@dataclass(frozen=True)
class Staged:
    """One staged row: its order, kind, join key, ``file:line`` where it was first put, and the
    record: a :class:`StagedRecord` when put with :meth:`StagingStore.put_record`, else the
    JSON value put."""

    seq: int
    kind: str
    key: str | None
    location: str
    record: Any

    @property
    def staged_record(self) -> StagedRecord:
        """The record, put with :meth:`StagingStore.put_record` (a ``TypeError`` otherwise)."""
        record = self.record
        if not isinstance(record, StagedRecord):
            raise TypeError(f"the {self.kind} record at {self.location} is not a staged record")
        return record


class _Closed:
    """A context manager that calls ``close()`` on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class StagingStore(_Closed):
    """Records by kind and key in a SQLite file of ``folder``; a context manager."""

    def __init__(self, folder: Path, file_name: str = STORE_FILE) -> None:
        self.path = folder / file_name
        self._name = written_as(self.path)
        self._record_kinds: set[str] = set()  # the kinds put with put_record
        with writing(self._name):
            create_private(self.path)  # before SQLite opens it: its journal gets its mode
            self._db = sqlite3.connect(self.path)
            self._db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)
        self._pending = 0

    # -- writing (``writing`` only once a write failed: around every put it costs 2 µs) ------
    # A kind holds staged records or plain values, never both. A staged record is the JSON list
    # ``[data, replaced]`` (at the row's location), ``[data, replaced, location]`` once replaced:
    # as fast as the untyped lists before it (columns of their own cost 15% more a put).
    def put(self, kind: str, key: str | None, location: str, record: Any) -> int:
        """Stage ``record`` (any JSON value) under ``kind`` and ``key``; return its ``seq``."""
        return self._insert(kind, key, location, _encode(record))

    def put_record(self, kind: str, key: str | None, record: StagedRecord) -> int:
        """Stage a parsed record under ``kind`` and ``key``, at its location; its ``seq``."""
        data, replaced, location = record
        self._record_kinds.add(kind)
        return self._insert(kind, key, location, _encode((data, replaced)))

    def _insert(self, kind: str, key: str | None, location: str, text: str) -> int:
        try:
            cursor = self._db.execute(
                "INSERT INTO staged (kind, key, location, record) VALUES (?, ?, ?, ?)",
                (kind, key, location, text),
            )
            self._pending += 1
            if self._pending >= COMMIT_EVERY:
                self._db.commit()
                self._pending = 0
        except (OSError, sqlite3.Error):
            with writing(self._name):
                raise
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def replace(self, seq: int, record: Any) -> None:
        """Replace the record staged as ``seq`` (its kind, key and location stay)."""
        with writing(self._name):
            self._db.execute("UPDATE staged SET record = ? WHERE seq = ?", (_encode(record), seq))

    def replace_record(self, seq: int, record: StagedRecord) -> None:
        """Replace the record staged as ``seq`` by a later copy read at ``record.location``
        (its kind, key and the location it was first put at stay)."""
        with writing(self._name):
            self._db.execute("UPDATE staged SET record = ? WHERE seq = ?", (_encode(record), seq))

    def commit(self) -> None:
        """Write what was put so far (also done every ``COMMIT_EVERY`` records)."""
        with writing(self._name):
            self._db.commit()
        self._pending = 0

    # -- reading -----------------------------------------------------------------------------
    def first(self, kind: str, key: str | None) -> Staged | None:
        """The first record put under ``kind`` and ``key``, ``None`` when there is none."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM staged WHERE kind = ? AND key IS ? ORDER BY seq LIMIT 1",
            (kind, key),
        ).fetchone()
        return None if row is None else self._staged(row)

    def by_key(self, kind: str, key: str | None) -> Iterator[Staged]:
        """Every record of ``kind`` put under ``key``, in the order they were put."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM staged WHERE kind = ? AND key IS ? ORDER BY seq",
            (kind, key),
        )
        for row in rows:
            yield self._staged(row)

    def of_kind(self, kind: str) -> Iterator[Staged]:
        """Every record of ``kind``, in the order they were put."""
        for row in self._db.execute(
            f"SELECT {_COLUMNS} FROM staged WHERE kind = ? ORDER BY seq", (kind,)
        ):
            yield self._staged(row)

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
            yield key, self._staged(row.fetchone()), count

    def count(self, kind: str, key: str | None = None) -> int:
        """How many records of ``kind`` (under ``key`` when given) are staged."""
        query = "SELECT COUNT(*) FROM staged WHERE kind = ?"
        args: tuple[str, ...] = (kind,)
        if key is not None:
            query, args = query + " AND key = ?", (kind, key)
        total: int = self._db.execute(query, args).fetchone()[0]
        return total

    def _staged(self, row: tuple[int, str, str | None, str, str]) -> Staged:
        seq, kind, key, location, text = row
        record = json.loads(text)
        if kind in self._record_kinds:
            if len(record) == 2:  # read where it was put
                record.append(location)
            # tuple.__new__: the named tuple without a Python call (a row per comment read)
            record = tuple.__new__(StagedRecord, record)
        return Staged(seq, kind, key, location, record)

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database (the file is removed with the reader's work folder)."""
        with writing(self._name):
            self._db.close()


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


class GroupedRows(_Closed):
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
        with writing(self._payload_name):
            out = open_private(self.payload_path, "wb", buffering=1 << 20)
        self._out: BinaryIO | None = cast(BinaryIO, out)
        self._in: int | None = None
        self._end = 0
        self._pending: list[tuple[int, str | None, bool, int, int]] = []
        self._seq = 0

    def add(self, key: str | None, parent: bool, payload: bytes) -> int:
        """Add a row; return its ``seq`` (1, 2, ... in the order of adding)."""
        assert self._out is not None, "rows are added before groups() is called"
        self._seq += 1
        size = len(payload)
        try:  # writing() only when it fails: around every row it costs about 2 µs
            self._out.write(payload)
        except OSError:
            with writing(self._payload_name):
                raise
        self._pending.append((self._seq, key, parent, self._end, size))
        self._end += size
        if len(self._pending) >= INSERT_BATCH:
            self._flush()
        return self._seq

    def _flush(self) -> None:
        if self._pending:
            with writing(self._name):
                self._db.executemany("INSERT INTO row VALUES (?, ?, ?, ?, ?)", self._pending)
            self._pending = []

    def _reading(self) -> int:
        """The payload file open for reading, once every row is added."""
        if self._in is None:
            self._flush()
            with writing(self._name):
                self._db.commit()
            if self._out is not None:
                out, self._out = self._out, None
                with writing(self._payload_name):
                    out.close()
            self._in = os.open(self.payload_path, os.O_RDONLY)
        return self._in

    def payload(self, seq: int) -> bytes | None:
        """The payload of row ``seq``, ``None`` when there is no such row (ends the adding)."""
        fd = self._reading()
        found = self._db.execute("SELECT at, size FROM row WHERE seq = ?", (seq,)).fetchone()
        return None if found is None else os.pread(fd, found[1], found[0])

    def groups(self, orphans_last: bool = False) -> Iterator[Sequence[GroupedRow]]:
        """Every row, once, in its group (class doc); the groups in order, each a list. Called
        once, when every row is added."""
        fd = self._reading()
        self._db.executescript(_FIRSTS)
        read, new = os.pread, tuple.__new__
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
            group.append(new(GroupedRow, (seq, key, parent == 1, read(fd, size, at), first)))
        if group:
            yield group

    def close(self) -> None:
        """Close both files (they are removed with the reader's work folder)."""
        if self._out is not None:
            out, self._out = self._out, None
            with writing(self._payload_name):
                out.close()
        if self._in is not None:
            os.close(self._in)
            self._in = None
        with writing(self._name):
            self._db.close()
