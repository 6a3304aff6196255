"""A streaming splitter of JSON documents into records, with each record's starting line.

``json.load`` needs the whole document in memory; a 2 GB export does not fit. The scanner walks
the bytes chunk by chunk (:mod:`importer.readers.json_walk`) and gives back each record's bytes,
to be decoded and parsed on their own later, so an encoding problem is reported on the record
that holds it.

What it splits:

* a top-level array: every element is a record;
* top-level objects one after another (pretty-printed records, or a whole document): each is a
  record, unless it is a *container*: an object without ``id``/``source_id`` before its first array
  of objects. Then the elements of every array of objects directly under it are the records, and
  the key is kept as the record's stream (``{"tickets": [...], "users": [...]}``);
* a HAL page (Help Scout: ``{"_embedded": {"conversations": [...]}, "page": {...}, "_links":
  {...}}``, keys in any order): a top-level object without ``id``/``source_id`` before its
  ``_embedded`` object. The elements of every array of objects directly under ``_embedded`` are
  the records, the key their stream (but not a record's own lists, :data:`RECORD_LIST_KEYS`:
  ``threads``, ``attachments``, so a record whose ``_embedded`` comes before its ``id`` stays
  whole); the rest of the page is dropped like a container's scalars. Their items carry the
  page's line (``page_line``). A page whose ``_embedded`` holds no array of objects (``{}``, an
  empty list) or that has none (an empty last page) is one item, as any other object;
* a top-level object keyed by request path (``{"/api/v2/tickets/1/comments.json": {...},
  "GET /tickets/2": {...}}``, as API dumps and test fixtures keep their pages): each object
  value is a document of its own, given back whole with its key as ``path`` (one page at a time
  in memory).

Structural damage (an unclosed string or bracket, stray text between records) is one item with
an ``error`` (its line, and the lines and bytes that could not be read), and the scan
resynchronises at the next record (this module): after damage in a record of an array of
records, at the next line that starts with ``{`` at the indentation the array's well-formed
records start at (searched from the damaged record's second line, so a quote left open that
swallowed the records after it gives them back); after damage in a top-level object, at the
next line that starts with ``{``. Where no such line follows (a minified document, a broken
first record whose indentation is not known yet), the error item names the bytes to the end of
the file that were not read. :class:`JsonScanError` is the damage as the walk meets it.

Bounded: a record whose bytes pass ``max_item_bytes`` is not kept in memory; the scanner walks
on to its end and gives it back as an item without bytes whose ``oversize`` is its size. A key of
the top-level object longer than :data:`KEY_LIMIT` is kept cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from importer.readers.json_walk import TAIL_BYTES, JsonWalk
from importer.readers.scan_state import (
    DEFAULT_MAX_ITEM_BYTES,
    KEY_LIMIT,
    RECORD_LIST_KEYS,
    RECORD_MARKER_KEYS,
    REQUEST_PATH,
    WHITESPACE,
    JsonScanError,
    ScannedItem,
    is_request_path,
)

__all__ = [
    "DEFAULT_MAX_ITEM_BYTES",
    "KEY_LIMIT",
    "RECORD_LIST_KEYS",
    "RECORD_MARKER_KEYS",
    "REQUEST_PATH",
    "JsonItemScanner",
    "JsonScanError",
    "ScannedItem",
    "is_request_path",
]


def _damage_item(damage: _Damage, cost: str) -> ScannedItem:
    """The error item of ``damage``: what broke, and ``cost``, the lines and bytes not read."""
    return ScannedItem(damage.line, b"", damage.stream, error=f"{damage.message}; {cost}")


@dataclass
class _Damage:
    """Where the scan broke, while it looks for the next record."""

    line: int  # first line not read
    offset: int  # first byte not read
    message: str
    pattern: re.Pattern[bytes] | None  # the start of the next record; None: none can be found
    depth: int  # the depth to resume at (the array of records', or 0)
    stream: str | None
    object_state: str | None


class JsonItemScanner(JsonWalk):
    """Feed chunks of a JSON document with :meth:`feed`; call :meth:`finish` at the end."""

    def __init__(self, first_line: int = 1, max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> None:
        super().__init__(first_line, max_item_bytes)
        self._damage: _Damage | None = None  # set while looking for the next record
        self._tail = b""  # the end of the bytes searched, for a line start cut by a chunk

    def feed(self, chunk: bytes) -> list[ScannedItem]:
        """Scan ``chunk``; return the records it completed, and an item with an ``error`` for
        each damaged stretch whose end (the next record) it found."""
        self._items = []
        self._scan(chunk)
        return self._items

    def finish(self) -> list[ScannedItem]:
        """The items the end of the document completes: the damage that reached it (a value
        not closed, or damage whose next record never came), and the records found after
        it in what the damaged value held."""
        self._items = []
        while True:
            if self._damage is not None:
                damage, self._damage = self._damage, None
                end = max(self._offset - 1, damage.offset)
                self._items.append(
                    _damage_item(
                        damage,
                        f"lines {damage.line}-{self._line} (bytes {damage.offset}-{end}, to the "
                        "end of the file) are not read",
                    )
                )
                return self._items
            try:
                self._check_end()
            except JsonScanError as exc:
                self._scan(self._damaged(exc, b""))
                continue
            return self._items

    def _scan(self, data: bytes) -> None:
        """Walk ``data`` (the next bytes of the document); after damage, look for the next
        record in what was held of the damaged one and in ``data``, and walk on from there."""
        pending: bytes | None = data
        while pending is not None:
            data, pending = pending, None
            if self._damage is not None:
                found = self._seek_record(data)
                if found is None:
                    return
                data = found
            try:
                self._feed(data)
            except JsonScanError as exc:
                pending = self._damaged(exc, data)
                continue
            self._offset += len(data)

    def _damaged(self, exc: JsonScanError, data: bytes) -> bytes:
        """Enter the search for the next record after ``exc``; the bytes to search: what was
        held of the damaged record after its first line, then ``data`` after the damage."""
        error_pos = max(0, min(len(data), exc.offset - self._offset))
        held = b""
        if self._capture_from is not None and self._captured <= self._max_item_bytes:
            held = b"".join([*self._pieces, data[self._capture_from : error_pos]])
        start_line, start_offset = exc.line, exc.offset
        indent = self._indent
        if self._capture_from is not None:  # the damaged record: from its first byte
            lead = len(held) - len(held.lstrip(WHITESPACE))
            start_line = self._capture_line + held.count(b"\n", 0, lead)
            start_offset = self._capture_offset + lead
            if indent is None and b"\n" in held[:lead] and held[lead : lead + 1] == b"{":
                # the first record is the damaged one: it started a line of its own, at the
                # indentation its siblings share
                indent = held[:lead].rpartition(b"\n")[2].lstrip(b"\r")
            held = held[lead:]
        self._damage = _Damage(
            start_line,
            start_offset,
            str(exc),
            self._next_record_pattern(indent),
            self._split_depth or 0,
            self._split_stream,
            self._object if self._split_depth is not None else None,
        )
        self._reset_walk()
        self._tail = b""
        first_break = held.find(b"\n")  # searched from the record's second line on
        if first_break == -1:  # nothing held past the record's first line
            self._offset = exc.offset
            self._line = exc.line
            return data[error_pos:]
        self._offset = start_offset + first_break
        self._line = start_line
        return held[first_break:] + data[error_pos:]

    def _next_record_pattern(self, indent: bytes | None) -> re.Pattern[bytes] | None:
        """How the next record starts after damage here: a line at the indentation of the
        array's records, or a line starting with ``{`` at the top; ``None``: not known."""
        if self._split_depth is not None:
            return None if indent is None else re.compile(rb"\n" + re.escape(indent) + rb"\{")
        if self._object in (None, "open"):
            return re.compile(rb"\n\{")
        return None

    def _reset_walk(self) -> None:
        self._in_string = False
        self._escape = False
        self._array_probe = None
        self._path_value = None
        self._embedded_depth = None
        self._string_start = None
        self._string_pieces = []
        self._drop_capture()

    def _seek_record(self, data: bytes) -> bytes | None:
        """The bytes of ``data`` from the start of the next record (the walk set to resume
        there, the damage reported), or ``None`` when ``data`` holds none."""
        damage = self._damage
        assert damage is not None
        searched = self._tail + data  # ``_line`` and ``_offset`` are at the end of the tail
        base_line = self._line - self._tail.count(b"\n")
        base_offset = self._offset - len(self._tail)
        found = damage.pattern.search(searched) if damage.pattern is not None else None
        if found is None:
            self._line = base_line + searched.count(b"\n")
            self._offset = base_offset + len(searched)
            self._tail = searched[-TAIL_BYTES:]
            return None
        start = found.start() + 1  # after the line break: the record's indentation
        self._line = base_line + searched.count(b"\n", 0, start)
        self._offset = base_offset + start
        self._tail = b""
        self._items.append(
            _damage_item(
                damage,
                (
                    f"lines {damage.line}-{self._line - 1} (bytes "
                    f"{damage.offset}-{self._offset - 1}) are not read, reading goes on at "
                    f"line {self._line}"
                ),
            )
        )
        self._damage = None
        self._resume_at(damage)
        return searched[start:]

    def _resume_at(self, damage: _Damage) -> None:
        """Set the walk to go on at the record found after ``damage`` (at the start of the
        bytes walked next): in the array of records it broke in, or at the top."""
        self._depth = damage.depth
        self._object = damage.object_state
        if damage.object_state == "hal":  # back in the list under "_embedded"
            self._embedded_depth = damage.depth - 1
        if damage.depth:  # an element of the array of records: capture it from here
            self._split_depth = damage.depth
            self._split_stream = damage.stream
            self._split_count = 1
            self._pieces = []
            self._captured = 0
            self._capture_from = 0
            self._capture_line = self._line
            self._capture_offset = self._offset
