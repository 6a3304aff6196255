"""A report's errors and warnings, past the first ten thousand kept on disk, not in memory.

An export can warn about every conversation (Intercom's parts without a message, a subject made
from the first message): 173,000 warnings held as dicts took 300 MB at 100,000 conversations and
would take gigabytes at a million. :class:`SpooledEntries` keeps the first ``in_memory`` entries
in a list and appends the rest, as JSON lines, to an anonymous temporary file (private, gone
when closed or when the process ends); reading them back (iterating, indexing, comparing) reads
the file. The report's JSON file is written from it one entry at a time
(:func:`importer.report.write_json_atomic`).
"""

from __future__ import annotations

import json
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from typing import IO, Any, overload

import orjson

#: entries kept in memory before the rest go to disk
IN_MEMORY = 10_000
#: the last entries also kept in memory: what a run's settling reads back (its latest errors)
TAIL = 256
#: the bytes of entries read back from disk at once
READ_BLOCK = 1 << 20


class SpooledEntries:
    """An append-only sequence of JSON objects (report entries), bounded in memory."""

    def __init__(self, entries: Iterable[dict[str, Any]] = (), *, in_memory: int = IN_MEMORY):
        self._in_memory = in_memory
        self._head: list[dict[str, Any]] = []
        self._spill: IO[bytes] | None = None
        self._spilled = 0
        self._at_end = True  # the file's position is its end (where the next entry goes)
        self._tail: deque[dict[str, Any]] = deque(maxlen=TAIL)
        self.extend(entries)

    def append(self, entry: dict[str, Any]) -> None:
        self._tail.append(entry)
        if len(self._head) < self._in_memory:
            self._head.append(entry)
            return
        if self._spill is None:
            self._spill = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the report)
        if not self._at_end:  # a read moved the position (a seek flushes: not one per entry)
            self._spill.seek(0, 2)
            self._at_end = True
        self._spill.write(_line(entry))
        self._spilled += 1

    def extend(self, entries: Iterable[dict[str, Any]]) -> None:
        for entry in entries:
            self.append(entry)

    def __len__(self) -> int:
        return len(self._head) + self._spilled

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self._head
        yield from self._from_disk(self._spilled)

    def _from_disk(self, count: int) -> Iterator[dict[str, Any]]:
        """The first ``count`` entries on disk, read a megabyte at a time (from its own offset:
        an entry appended meanwhile goes to the end, as always)."""
        spill = self._spill
        if spill is None or count == 0:
            return
        spill.flush()
        offset, rest = 0, b""
        while count:
            self._at_end = False  # before the seek: an append after it seeks to the end
            spill.seek(offset)
            block = spill.read(READ_BLOCK)
            if not block:
                return
            offset += len(block)
            *lines, rest = (rest + block).split(b"\n")
            for line in lines[:count]:
                yield orjson.loads(line)
            count -= min(count, len(lines))

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if stop <= len(self._head) and step > 0:
                return self._head[slice(start, stop, step)]
            before_tail = len(self) - len(self._tail)
            if start >= before_tail and step > 0:  # the latest entries: never read from disk
                return list(self._tail)[start - before_tail : stop - before_tail : step]
            return list(self)[index]
        if 0 <= index < len(self._head):
            return self._head[index]
        if -len(self._tail) <= index < 0:
            return self._tail[index]
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpooledEntries | list | tuple):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"SpooledEntries({len(self)} entries, {self._spilled} on disk)"

    def close(self) -> None:
        """Remove the file of the entries on disk (they are gone)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None
            self._spilled = 0


def _line(entry: dict[str, Any]) -> bytes:
    """One entry as a line on disk (what orjson refuses, an integer past 64 bits, by ``json``)."""
    try:
        return orjson.dumps(entry, default=str) + b"\n"
    except orjson.JSONEncodeError:
        return json.dumps(entry, default=str, ensure_ascii=False).encode("utf-8") + b"\n"
