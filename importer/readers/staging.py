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
copy read), kept in :mod:`marshal`'s encoding (exact for every value JSON parses to, NaN and
integers past 64 bits included, and four times cheaper to write than JSON text); anything else a
reader keeps (a user's summary, a duplicate's place, a mail's head) is a JSON value, kept the same
way (as JSON text when marshal refuses it). Both are appended to a file of records
(:class:`~importer.readers.payloads.PayloadFile`); one SQLite table, indexed by (kind, key, seq)
and (kind, seq), says where each is (records inline made every insert and look-up touch pages
of records: 35% of a mail archive's staging).
``seq`` is the order of ``put``, so "source order" is the order the reader read the files in;
``location`` is where a record was first put. Memory stays bounded by SQLite's page cache
whatever the size of the export; the file is created 0600 in the reader's work folder and goes
with it. A write that finds no room raises :class:`~importer.errors.OutputWriteError` naming the
file (the run stops, exit 4).

A reader that only ever needs every record of each conversation together, once, uses
:class:`~importer.readers.grouped_rows.GroupedRows` instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

from importer.outputs import create_private, writing
from importer.readers.closing import Closing
from importer.readers.key_filter import KeyFilter
from importer.readers.payloads import PayloadFile, decode_value, encode_record, encode_value

STORE_FILE = "staging.sqlite"
#: the suffix of the store's file of records
RECORDS_SUFFIX = ".records"
#: the kind of the copies of a main record passed over (:meth:`StagingStore.put_once`)
DUPLICATES = "duplicates"
COMMIT_EVERY = 10_000
#: rows sent to SQLite at once (``executemany``): a third of a put's cost was the call itself
INSERT_BATCH = 1_000
#: the writing store's page cache (KiB; SQLite's default is 2,000): the (kind, key) index of a
#: large export is inserted at random places, half of a put's cost; 8 MB took 10-20% off it
CACHE_KIB = 8_000

_SCHEMA = """
CREATE TABLE staged (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT, location TEXT NOT NULL,
    at INTEGER NOT NULL, size INTEGER NOT NULL);
CREATE INDEX staged_by_key ON staged (kind, key, seq);
CREATE INDEX staged_in_order ON staged (kind, seq);
"""
_COLUMNS = "seq, kind, key, location, at, size"


def _records_path(path: Path) -> Path:
    return path.with_name(path.name + RECORDS_SUFFIX)


def written_as(path: Path) -> str:
    """How a write that fails names a staging file: the file, and what it is."""
    return f"{path}, one of the export's staging files"


#: whether a record seen again replaces the one kept: ``later_wins(later data, kept data)``
LaterWins: TypeAlias = Callable[[Any, Any], bool]


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


class StagingStore(Closing):
    """Records by kind and key in a SQLite file of ``folder``; a context manager."""

    def __init__(self, folder: Path, file_name: str = STORE_FILE) -> None:
        self.path = folder / file_name
        self._name = written_as(self.path)
        self._record_kinds: set[str] = set()  # the kinds put with put_record
        self._kinds: set[str] | None = set()  # the kinds put at all (None: not known)
        with writing(self._name):
            create_private(self.path)  # before SQLite opens it: its journal gets its mode
            self._db = sqlite3.connect(self.path)
            self._db.executescript(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; "
                f"PRAGMA cache_size = -{CACHE_KIB};" + _SCHEMA
            )
        self._records = PayloadFile(_records_path(self.path), self._name)
        self._pending = 0
        self._seq = 0  # the last seq given
        self._rows: list[tuple[int, str, str | None, str, int, int]] = []  # put, not yet sent
        self._row_keys: set[tuple[str, str | None]] = set()  # (kind, key) of those rows
        self._filter: KeyFilter | None = KeyFilter()  # every (kind, key) put (None: not known)
        #: ``(kind, first seq, last seq)``: :meth:`of_kind` of that kind gives only those rows
        self.window: tuple[str, int, int] | None = None

    @classmethod
    def reading(
        cls, path: Path, record_kinds: frozenset[str], kinds: frozenset[str] | None = None
    ) -> StagingStore:
        """The store staged (and committed) at ``path`` by another instance, opened read-only:
        how a planning worker builds conversations from it. ``record_kinds`` are the kinds that
        instance put with :meth:`put_record` (:attr:`record_kinds`), ``kinds`` those it put at
        all (:attr:`kinds`: a look-up of another kind then costs no query)."""
        store = cls.__new__(cls)
        store.path, store._name = path, written_as(path)
        store._record_kinds = set(record_kinds)
        store._kinds = None if kinds is None else set(kinds)
        store._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        store._records = PayloadFile.reading(_records_path(path), store._name)
        store._pending, store.window = 0, None
        store._seq, store._rows, store._row_keys, store._filter = 0, [], set(), None
        return store

    @property
    def kinds(self) -> frozenset[str] | None:
        """The kinds put so far (``None``: a store opened without knowing them)."""
        return None if self._kinds is None else frozenset(self._kinds)

    @property
    def record_kinds(self) -> frozenset[str]:
        """The kinds put with :meth:`put_record` (what :meth:`reading` is given)."""
        return frozenset(self._record_kinds)

    # -- writing (``writing`` only once a write failed: around every put it costs 2 µs) ------
    # A kind holds staged records or plain values, never both. A staged record is the sequence
    # ``(data, replaced)`` (at the row's location), ``(data, replaced, location)`` once replaced:
    # as fast as the untyped lists before it (columns of their own cost 15% more a put).
    def put(self, kind: str, key: str | None, location: str, *, record: Any) -> int:
        """Stage ``record`` (any JSON value) under ``kind`` and ``key``; return its ``seq``."""
        return self._insert(kind, key, location, text=encode_value(record))

    def put_record(self, kind: str, key: str | None, record: StagedRecord) -> int:
        """Stage a parsed record under ``kind`` and ``key``, at its location; its ``seq``."""
        data, replaced, location = record
        self._record_kinds.add(kind)
        return self._insert(kind, key, location, text=encode_record(data, replaced))

    def put_once(
        self, kind: str, key: str | None, record: StagedRecord, *, later_wins: LaterWins
    ) -> None:
        """Stage a main record under ``key`` once. One seen again (a list page and the full
        object, an incremental export) keeps its first place and takes the later copy when
        ``later_wins(later, kept)``; the copy not read is noted under :data:`DUPLICATES` (its
        location; as record the location of the copy read instead, when the later one won, else
        ``None``)."""
        self._record_kinds.add(kind)
        text = encode_record(record.data, record.replaced)
        self.put_encoded_once(kind, key, record.location, text=text, later_wins=later_wins)

    def put_encoded_once(
        self, kind: str, key: str | None, location: str, *, text: bytes | str, later_wins: LaterWins
    ) -> None:
        """:meth:`put_once` of a record encoded already (by a staging worker): decoded only when
        its key was staged before."""
        earlier = self.first(kind, key) if key is not None else None
        if earlier is None:
            self._insert(kind, key, location, text=text)
            return
        data, replaced = decode_value(text)[:2]
        kept = earlier.staged_record
        if later_wins(data, kept.data):
            self.replace_record(earlier.seq, StagedRecord(data, replaced, location))
            self.put(DUPLICATES, key, kept.location, record=location)
        else:
            self.put(DUPLICATES, key, location, record=None)

    def put_encoded(self, kind: str, key: str | None, location: str, *, text: bytes | str) -> int:
        """Stage a row encoded already (by a staging worker); its ``seq``."""
        return self._insert(kind, key, location, text=text)

    def add_record_kinds(self, kinds: frozenset[str]) -> None:
        """Kinds a staging worker put with :meth:`put_record` for this store."""
        self._record_kinds |= kinds

    def _insert(self, kind: str, key: str | None, location: str, *, text: bytes | str) -> int:
        self._seq += 1
        if self._kinds is not None:
            self._kinds.add(kind)
        self._rows.append((self._seq, kind, key, location, *self._records.append_value(text)))
        self._row_keys.add((kind, key))
        if self._filter is not None:
            self._filter.add(kind, key)
        if len(self._rows) >= INSERT_BATCH:
            self._flush()
        return self._seq

    def _flush(self) -> None:
        """Send the rows put since the last flush to SQLite in one call (a read that could see
        them flushes first)."""
        if not self._rows:
            return
        self._records.flush()  # a row SQLite has is a record that can be read
        try:
            self._db.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?)", self._rows)
            self._pending += len(self._rows)
            if self._pending >= COMMIT_EVERY:
                self._db.commit()
                self._pending = 0
        except (OSError, sqlite3.Error):
            with writing(self._name):
                raise
        self._rows, self._row_keys = [], set()

    def _flush_for(self, kind: str, key: str | None) -> None:
        if (kind, key) in self._row_keys:
            self._flush()

    def replace(self, seq: int, record: Any) -> None:
        """Replace the record staged as ``seq`` (its kind, key and location stay)."""
        self._flush()
        with writing(self._name):
            self._update(seq, encode_value(record))

    def replace_record(self, seq: int, record: StagedRecord) -> None:
        """Replace the record staged as ``seq`` by a later copy read at ``record.location``
        (its kind, key and the location it was first put at stay)."""
        self._flush()
        with writing(self._name):
            self._update(seq, encode_record(record.data, record.replaced, record.location))

    def _update(self, seq: int, text: bytes | str) -> None:
        """Row ``seq`` made to point at ``text``, written after the others."""
        at, size = self._records.append_value(text)
        self._records.flush()
        self._db.execute("UPDATE staged SET at = ?, size = ? WHERE seq = ?", (at, size, seq))

    def commit(self) -> None:
        """Write what was put so far (also done every ``COMMIT_EVERY`` records)."""
        self._flush()
        with writing(self._name):
            self._db.commit()
        self._pending = 0
        # the page cache given back (refilled by later look-ups): planning workers fork after
        # the staging, and each one's RSS would count the cache's pages again
        self._db.execute("PRAGMA shrink_memory")

    # -- reading -----------------------------------------------------------------------------
    def _never_put(self, kind: str, key: str | None) -> bool:
        """Whether nothing was put under ``kind`` and ``key``, known without a query: a kind
        the export has none of (metrics, duplicates), a key never put (a main record's first
        copy, a mail's own Message-ID: most look-ups while staging)."""
        if self._kinds is not None and kind not in self._kinds:
            return True
        return self._filter is not None and not self._filter.may_hold(kind, key)

    def first(self, kind: str, key: str | None) -> Staged | None:
        """The first record put under ``kind`` and ``key``, ``None`` when there is none."""
        if self._never_put(kind, key):
            return None
        self._flush_for(kind, key)
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM staged WHERE kind = ? AND key IS ? ORDER BY seq LIMIT 1",
            (kind, key),
        ).fetchone()
        return None if row is None else self._staged(row)

    def by_key(self, kind: str, key: str | None) -> Iterator[Staged]:
        """Every record of ``kind`` put under ``key``, in the order they were put."""
        if self._never_put(kind, key):
            return
        self._flush_for(kind, key)
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM staged WHERE kind = ? AND key IS ? ORDER BY seq",
            (kind, key),
        )
        for row in rows:
            yield self._staged(row)

    def of_kind(self, kind: str) -> Iterator[Staged]:
        """Every record of ``kind``, in the order they were put (of the :attr:`window`'s kind:
        those of its rows only)."""
        self._flush()
        query = f"SELECT {_COLUMNS} FROM staged WHERE kind = ?"
        args: tuple[str | int, ...] = (kind,)
        if self.window is not None and self.window[0] == kind:
            query, args = query + " AND seq BETWEEN ? AND ?", (kind, *self.window[1:])
        for row in self._db.execute(query + " ORDER BY seq", args):
            yield self._staged(row)

    def runs(self, kind: str, size: int) -> Iterator[tuple[int, int, int]]:
        """The records of ``kind`` in runs of ``size`` (the last one shorter), each as
        ``(first seq, last seq, records)``: the slices planning workers build."""
        self._flush()
        first = last = count = 0
        for (seq,) in self._db.execute(
            "SELECT seq FROM staged WHERE kind = ? ORDER BY seq", (kind,)
        ):
            if count == 0:
                first = seq
            last, count = seq, count + 1
            if count >= size:
                yield first, last, count
                count = 0
        if count:
            yield first, last, count

    def keys(self, kind: str) -> Iterator[str]:
        """The distinct keys of ``kind``, in the order each was first put."""
        self._flush()
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
        self._flush()
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
        self._flush()
        query = "SELECT COUNT(*) FROM staged WHERE kind = ?"
        args: tuple[str, ...] = (kind,)
        if key is not None:
            query, args = query + " AND key = ?", (kind, key)
        total: int = self._db.execute(query, args).fetchone()[0]
        return total

    def _staged(self, row: tuple[int, str, str | None, str, int, int]) -> Staged:
        seq, kind, key, location, at, size = row
        record = decode_value(self._records.read_value(at, size))
        if kind in self._record_kinds:
            if len(record) == 2:  # read where it was put
                record = (*record, location)
            # tuple.__new__: the named tuple without a Python call (a row per comment read)
            record = tuple.__new__(StagedRecord, record)
        return Staged(seq, kind, key, location, record)

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database (the file is removed with the reader's work folder)."""
        self._rows = []  # not written: nothing reads them any more
        with writing(self._name):
            self._db.close()
        self._records.close()
