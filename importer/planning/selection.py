"""Which planned conversations a command takes: the same for every command.

``--since``/``--until`` (a :class:`DateRange`), ``--limit``, and a source id met twice made
invalid (the first one stands). One :class:`Selection` serves ``validate``, ``convert``, ``plan``,
``run`` and ``verify``, in one process or over planning workers, so they agree on what is taken.
"""

from __future__ import annotations

import sqlite3
import tempfile
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol, TypeVar

from importer.errors import UsageError
from importer.findings import Finding
from importer.outputs import create_private, writing
from importer.readers import SourceRecord
from importer.readers.key_filter import KeyFilter
from importer.transform.plan import InvalidConversation
from importer.transform.times import TimestampError, is_bare_date, parse_timestamp


class Selectable(Protocol):
    """What selecting a planned conversation needs (a plan, an invalid conversation, or the
    summary of a plan made in a worker process)."""

    location: str
    warnings: list[Finding]

    @property
    def source_id(self) -> str | None: ...

    @property
    def created_at(self) -> datetime | None: ...

    @property
    def record(self) -> Any: ...


P = TypeVar("P", bound=Selectable)


@dataclass(frozen=True)
class DateRange:
    """``--since`` (inclusive) and ``--until`` (a bare date includes that whole day)."""

    since: datetime | None = None
    until: datetime | None = None

    def holds(self, moment: datetime | None) -> bool:
        """Whether a conversation created at ``moment`` is in range (unknown times are kept)."""
        if moment is None:
            return True
        if self.since is not None and moment < self.since:
            return False
        return not (self.until is not None and moment >= self.until)


def parse_date_range(since: str | None, until: str | None, zone: tzinfo) -> DateRange:
    """Read ``--since``/``--until``; a bad value is a usage error naming the option."""

    def read(option: str, value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            moment = parse_timestamp(value, zone)
        except TimestampError as exc:
            raise UsageError(f"{option} {value!r}: {exc}") from exc
        if option == "--until" and is_bare_date(value):  # a bare date: the whole day
            moment += timedelta(days=1)
        return moment

    return DateRange(read("--since", since), read("--until", until))


_SEEN = "seen"  # the filter's one kind
#: new ids written at once
_WRITE_BATCH = 1000


class SeenSourceIds:
    """A source id met a second time makes that conversation invalid (the first one stands).

    The ids seen are kept on disk (a temporary SQLite file, one open transaction, no journal),
    not in a dict: memory stays flat however many conversations the export holds. A filter of
    the ids seen (:class:`~importer.readers.key_filter.KeyFilter`) says which id is new without
    a query, and new ids are written a thousand at a time: an id cost 10 µs, a query and a
    write of its own."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="importer-seen-")
        self._path = Path(self._folder.name) / "seen.sqlite"
        create_private(self._path)
        # one thread uses it; the finalizer that closes it may run on any (the collector's)
        self._conn = sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute(
            "CREATE TABLE seen (source_id TEXT PRIMARY KEY, location TEXT NOT NULL) WITHOUT ROWID"
        )
        self._conn.execute("BEGIN")
        self._filter = KeyFilter()
        self._pending: dict[str, str] = {}  # ids seen, not yet written: where each was met
        weakref.finalize(self, _close_seen, self._conn, self._folder)

    def first_location(self, source_id: str, location: str) -> str:
        """Where ``source_id`` was first met: ``location`` itself the first time. A full disk
        stops the command (exit 4), naming the file."""
        if self._filter.may_hold(_SEEN, source_id):  # seen, or (rarely) the filter errs
            earlier = self._pending.get(source_id)
            if earlier is not None:
                return earlier
            row = self._conn.execute(
                "SELECT location FROM seen WHERE source_id = ?", (source_id,)
            ).fetchone()
            if row is not None:
                return str(row[0])
        self._filter.add(_SEEN, source_id)
        self._pending[source_id] = location
        if len(self._pending) >= _WRITE_BATCH:
            with writing(self._path):
                self._conn.executemany("INSERT INTO seen VALUES (?, ?)", self._pending.items())
            self._pending = {}
        return location

    def check(self, planned: P) -> P | InvalidConversation:
        """``planned`` itself, or an invalid conversation naming where the id was first seen."""
        if isinstance(planned, InvalidConversation) or planned.source_id is None:
            return planned
        first = self.first_location(planned.source_id, planned.location)
        if first == planned.location:
            return planned
        finding = Finding(
            "read",
            "source_id",
            f"source_id {planned.source_id!r} already seen at {first}; give every conversation "
            "its own id",
            planned.location,
            planned.source_id,
        )
        return InvalidConversation(
            planned.source_id,
            planned.location,
            [finding],
            planned.record,
            list(planned.warnings),
            planned.created_at,
        )


def _close_seen(conn: sqlite3.Connection, folder: tempfile.TemporaryDirectory[str]) -> None:
    conn.close()
    folder.cleanup()


@dataclass(frozen=True)
class AlreadyImported:
    """A conversation the checkpoint holds as done (every part, every upload): ``run`` counts
    it without planning it again (a resumed run skips done work at the reader's pace)."""

    source_id: str
    location: str
    warnings: tuple[Finding, ...] = ()


class Selection:
    """Which planned conversations a command takes, the same for every command: those in
    ``--since``/``--until``, up to ``--limit`` of them, a repeated source id made invalid."""

    def __init__(self, date_range: DateRange, limit: int | None) -> None:
        self.date_range = date_range
        self.limit = limit
        self.seen = SeenSourceIds()
        self.taken = 0
        #: warnings about the export itself (no source id: files or streams passed over) that
        #: rode on a conversation not taken: they go with the next one taken
        self.carried: list[Finding] = []

    @property
    def full(self) -> bool:
        """Whether ``--limit`` conversations were taken already."""
        return self.limit is not None and self.taken >= self.limit

    @property
    def every_date(self) -> bool:
        """Whether no ``--since``/``--until`` narrows the selection."""
        return self.date_range.since is None and self.date_range.until is None

    def take_done(self, record: SourceRecord) -> AlreadyImported | None:
        """A record whose conversation is done, counted toward ``--limit`` and checked for a
        repeated id like any other; None when its id was met before (then plan it: it is
        invalid as a repeat, with its reasons)."""
        assert record.source_id is not None
        if self.seen.first_location(record.source_id, record.location) != record.location:
            return None
        self.taken += 1
        carried, self.carried = tuple(self.carried), []
        return AlreadyImported(record.source_id, record.location, carried)

    def take(self, planned: P) -> P | InvalidConversation | None:
        """``planned`` (or it made invalid as a repeat) when selected, else None."""
        if not self.date_range.holds(planned.created_at):
            self.carried += [w for w in planned.warnings if w.source_id is None]
            return None
        self.taken += 1
        if self.carried:
            planned.warnings[:0] = self.carried
            self.carried = []
        return self.seen.check(planned)
