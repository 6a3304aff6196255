"""A streaming splitter of JSON documents into records, with each record's starting line.

``json.load`` needs the whole document in memory; a 2 GB export does not fit. The scanner walks
the bytes chunk by chunk, tracking string/escape state and bracket depth, and jumps between the
characters that matter with a regular expression. It works on bytes because every character that
matters is ASCII, which UTF-8 and cp1252 encode the same way; each record's bytes are decoded on
their own later, so an encoding problem is reported on the record that holds it.

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
resynchronises at the next record: after damage in a record of an array of records, at the
next line that starts with ``{`` at the indentation the array's well-formed records start at
(searched from the damaged record's second line, so a quote left open that swallowed the
records after it gives them back); after damage in a top-level object, at the next line that
starts with ``{``. Where no such line follows (a minified document, a broken first record
whose indentation is not known yet), the error item names the bytes to the end of the file
that were not read. :class:`JsonScanError` is the damage as the walk meets it.

Bounded: a record whose bytes pass ``max_item_bytes`` is not kept in memory; the scanner walks
on to its end and gives it back as an item without bytes whose ``oversize`` is its size. A key of
the top-level object longer than :data:`KEY_LIMIT` is kept cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RECORD_MARKER_KEYS = frozenset({"id", "source_id"})
# "/api/v2/tickets/1/comments.json", "GET /tickets/2", "https://x.zendesk.com/api/v2/users.json"
REQUEST_PATH = re.compile(
    r"(?:(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) +)?(?:https?://[^/\s]+)?/[^\s]+"
)


def is_request_path(key: str | None) -> bool:
    """Whether a key of a JSON object names an API request (a dump keyed by request path)."""
    return key is not None and REQUEST_PATH.fullmatch(key) is not None


# Arrays of objects that belong to a record, never the record list of a container.
RECORD_LIST_KEYS = frozenset(
    {
        "messages",
        "attachments",
        "custom_fields",
        "fields",
        "conversation_parts",
        "threads",
        "thumbnails",
        "child_events",
        "channels",
    }
)

# A whole string is one event; a lone quote is a string that goes on in the next chunk.
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_ANY_EVENT = re.compile(_STRING + rb'|["\[\]{},:]', re.DOTALL)
# Deep inside a record only brackets matter: skip every other byte and whole strings at once.
_SKIP_TO_BRACKET = re.compile(rb'(?:[^"\[\]{}]++|' + _STRING + rb")*+", re.DOTALL)
_INSIDE_STRING = re.compile(rb'["\\]')
_WHITESPACE = b" \t\r\n"
#: the most of a top-level key kept (keys name streams and request paths: short)
KEY_LIMIT = 4096
#: the end of the bytes searched for the next record that is kept for the next chunk (a line
#: break and an indentation cut by the chunk's end)
_TAIL_BYTES = 256
#: the default bound of one item's bytes (the read layer passes ``--max-record-bytes``)
DEFAULT_MAX_ITEM_BYTES = 64 << 20


def _damage_item(damage: _Damage, cost: str) -> ScannedItem:
    """The error item of ``damage``: what broke, and ``cost``, the lines and bytes not read."""
    return ScannedItem(damage.line, b"", damage.stream, error=f"{damage.message}; {cost}")


class JsonScanError(ValueError):
    """The document's structure is broken at ``line`` (byte ``offset`` of the document);
    ``items`` are the records the same chunk completed before the damage."""

    def __init__(self, message: str, line: int, offset: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.offset = offset
        self.items: list[ScannedItem] = []


@dataclass(frozen=True)
class ScannedItem:
    """The raw bytes of one record, the line it starts on, its container key and request path."""

    line: int
    raw: bytes
    stream: str | None = None
    path: str | None = None  # the request path the item was keyed by (a whole page)
    oversize: int = 0  # over the bound: its size in bytes (``raw`` is then empty)
    error: str | None = None  # structural damage: what and which lines were not read
    page_line: int = 0  # a record of a HAL page's ``_embedded``: the line the page starts on


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


class JsonItemScanner:
    """Feed chunks of a JSON document with :meth:`feed`; call :meth:`finish` at the end."""

    def __init__(self, first_line: int = 1, max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> None:
        self._max_item_bytes = max_item_bytes
        self._captured = 0  # bytes of the current capture in earlier chunks
        self._offset = 0  # bytes of the document before the current chunk
        self._line = first_line  # line number at self._counted within the current chunk
        self._counted = 0
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._items: list[ScannedItem] = []
        # capture of the text of the current record (or array element)
        self._pieces: list[bytes] = []
        self._capture_from: int | None = None
        self._capture_line = 0
        # arrays whose elements are records: the depth inside them
        self._split_depth: int | None = None
        self._split_stream: str | None = None
        self._split_count = 0
        # top-level object state: None between values, "open" undecided/record, "container",
        # "hal" (a HAL page split under "_embedded"), "paths" (keyed by request path: each
        # object value is an item)
        self._object: str | None = None
        self._marker_seen = False
        self._key: str | None = None
        # the depth inside the "_embedded" object of a HAL page (its keys are tracked), or None
        self._embedded_depth: int | None = None
        self._string_start: int | None = None
        self._string_pieces: list[bytes] = []
        self._last_string: str | None = None
        # an array at depth 1 of an undecided object/container waiting for its first element
        self._array_probe: tuple[str, int] | None = None  # (key, position after "[")
        self._path_value: str | None = None  # the request path whose object value is captured
        self._gap_from = 0  # start of text that must be whitespace (at depth 0)
        self._started_at = first_line
        self._capture_offset = 0  # byte of the document where the current capture starts
        self._indent: bytes | None = None  # how the records of the array are indented
        self._damage: _Damage | None = None  # set while looking for the next record
        self._tail = b""  # the end of the bytes searched, for a line start cut by a chunk
        self._before_chunk = b""  # the end of the chunks walked before the current one

    # -- helpers ---------------------------------------------------------------------------
    def _line_at(self, chunk: bytes, pos: int) -> int:
        self._line += chunk.count(b"\n", self._counted, pos)
        self._counted = pos
        return self._line

    def _start_capture(self, chunk: bytes, pos: int) -> None:
        self._pieces = []
        self._captured = 0
        self._capture_from = pos
        self._capture_line = self._line_at(chunk, pos)
        self._capture_offset = self._offset + pos

    def _drop_capture(self) -> None:
        self._pieces = []
        self._captured = 0
        self._capture_from = None

    def _end_capture(self, chunk: bytes, pos: int) -> bytes | int:
        """The captured bytes, or their size when they pass the bound (then not kept)."""
        assert self._capture_from is not None
        size = self._captured + pos - self._capture_from
        if size > self._max_item_bytes:
            self._drop_capture()
            return size
        raw = b"".join([*self._pieces, chunk[self._capture_from : pos]])
        self._drop_capture()
        return raw

    def _item(
        self,
        line: int,
        raw: bytes | int,
        stream: str | None = None,
        path: str | None = None,
        page_line: int = 0,
    ) -> ScannedItem:
        if isinstance(raw, int):
            return ScannedItem(line, b"", stream, path, oversize=raw, page_line=page_line)
        return ScannedItem(line, raw, stream, path, page_line=page_line)

    def _emit_element(self, chunk: bytes, pos: int, closing: bool) -> None:
        raw = self._end_capture(chunk, pos)
        page_line = self._started_at if self._object == "hal" else 0
        if isinstance(raw, int):  # over the bound: its first line is not known, nor needed
            self._split_count += 1
            self._items.append(
                self._item(self._capture_line, raw, self._split_stream, page_line=page_line)
            )
            return
        body = raw.lstrip(_WHITESPACE)
        leading = raw[: len(raw) - len(body)]
        line = self._capture_line + leading.count(b"\n")
        if b"\n" in leading and body[:1] == b"{":  # a record on a line of its own
            self._indent = leading.rpartition(b"\n")[2].lstrip(b"\r")
        body = body.rstrip(_WHITESPACE)
        if not body:
            if closing:
                return  # an empty array, or a comma before its "]" (no data in it)
            # the commas around it are sound: the element alone is lost, the walk goes on
            self._split_count += 1
            self._items.append(
                ScannedItem(
                    line,
                    b"",
                    self._split_stream,
                    error="an array element is missing (two commas in a row?)",
                    page_line=page_line,
                )
            )
            return
        self._split_count += 1
        self._items.append(ScannedItem(line, body, self._split_stream, page_line=page_line))

    def _check_gap(self, chunk: bytes, pos: int) -> None:
        if chunk[self._gap_from : pos].strip(_WHITESPACE):
            bad = (
                self._gap_from
                + len(chunk[self._gap_from : pos])
                - len(chunk[self._gap_from : pos].lstrip(_WHITESPACE))
            )
            raise JsonScanError(
                "text between JSON records is not JSON (a record must be an object or array)",
                self._line_at(chunk, bad),
                self._offset + bad,
            )

    # -- the walk --------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> list[ScannedItem]:
        """Scan ``chunk``; return the records it completed, and an item with an ``error`` for
        each damaged stretch whose end (the next record) it found."""
        self._items = []
        self._scan(chunk)
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
            lead = len(held) - len(held.lstrip(_WHITESPACE))
            start_line = self._capture_line + held.count(b"\n", 0, lead)
            start_offset = self._capture_offset + lead
            if indent is None and b"\n" in held[:lead] and held[lead : lead + 1] == b"{":
                # the first record is the damaged one: it started a line of its own, at the
                # indentation its siblings share
                indent = held[:lead].rpartition(b"\n")[2].lstrip(b"\r")
            held = held[lead:]
        in_array = self._split_depth is not None
        pattern: re.Pattern[bytes] | None = None
        if in_array and indent is not None:
            pattern = re.compile(rb"\n" + re.escape(indent) + rb"\{")
        elif not in_array and self._object in (None, "open"):
            pattern = re.compile(rb"\n\{")
        self._damage = _Damage(
            start_line,
            start_offset,
            str(exc),
            pattern,
            self._split_depth or 0,
            self._split_stream,
            self._object if in_array else None,
        )
        self._reset_walk()
        first_break = held.find(b"\n")  # searched from the record's second line on
        if first_break == -1:  # nothing held past the record's first line
            self._offset = exc.offset
            self._line = exc.line
            self._tail = b""
            return data[error_pos:]
        self._offset = start_offset + first_break
        self._line = start_line
        self._tail = b""
        return held[first_break:] + data[error_pos:]

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
            self._tail = searched[-_TAIL_BYTES:]
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
        self._depth = damage.depth
        self._object = damage.object_state
        if damage.object_state == "hal":  # back in the list under "_embedded"
            self._embedded_depth = damage.depth - 1
        record = searched[start:]
        if damage.depth:  # an element of the array of records: capture it from here
            self._split_depth = damage.depth
            self._split_stream = damage.stream
            self._split_count = 1
            self._pieces = []
            self._captured = 0
            self._capture_from = 0
            self._capture_line = self._line
            self._capture_offset = self._offset
        return record

    def _feed(self, chunk: bytes) -> None:
        self._counted = 0
        if self._capture_from is not None:
            self._capture_from = 0
        if self._string_start is not None:
            self._string_start = 0
        self._gap_from = 0
        pos = 0
        size = len(chunk)
        while pos < size:
            if self._in_string:
                pos = self._walk_string(chunk, pos)
                continue
            depth = self._depth
            if (
                depth >= 2
                and depth != self._split_depth
                and depth != self._embedded_depth
                and self._array_probe is None
            ):
                skipped = _SKIP_TO_BRACKET.match(chunk, pos)
                pos = skipped.end() if skipped else pos
                if pos < size:  # a bracket, or a quote whose string goes on in the next chunk
                    self._structural(chunk, pos, chunk[pos : pos + 1])
                    pos += 1
                continue
            match = _ANY_EVENT.search(chunk, pos)
            if match is None:
                break
            pos, end = match.span()
            if end - pos > 1 and depth and self._array_probe is None:  # a whole string
                if (depth == 1 and self._object is not None) or depth == self._embedded_depth:
                    self._last_string = chunk[pos + 1 : end - 1].decode("utf-8", "replace")
                pos = end
                continue
            self._structural(chunk, pos, chunk[pos : pos + 1])
            pos += 1
        self._end_chunk(chunk)

    def _walk_string(self, chunk: bytes, pos: int) -> int:
        if self._escape:
            self._escape = False
            pos += 1
            if pos >= len(chunk):
                return pos
        match = _INSIDE_STRING.search(chunk, pos)
        if match is None:
            return len(chunk)
        pos = match.start()
        if chunk[pos] == 0x5C:  # backslash
            if pos + 1 >= len(chunk):
                self._escape = True
                return pos + 1
            return pos + 2
        self._in_string = False
        if self._string_start is not None:
            raw = b"".join([*self._string_pieces, chunk[self._string_start : pos]])
            self._last_string = raw.decode("utf-8", "replace")
            self._string_start = None
            self._string_pieces = []
        return pos + 1

    def _structural(self, chunk: bytes, pos: int, char: bytes) -> None:
        depth = self._depth
        if self._array_probe is not None and char not in b'"':
            self._finish_probe(chunk, pos, char)
        if depth == 0 and char not in b"{[":
            self._check_gap(chunk, pos)
            raise JsonScanError(
                f"unexpected {char.decode()} between JSON records "
                "(a record must be an object, or the file a JSON array)",
                self._line_at(chunk, pos),
                self._offset + pos,
            )
        if char == b'"':
            self._in_string = True
            if (depth == 1 and self._object is not None) or depth == self._embedded_depth:
                self._string_start = pos + 1
                self._string_pieces = []
            if self._array_probe is not None:
                self._array_probe = None
            return
        if char in b"{[":
            if depth == 0:
                self._check_gap(chunk, pos)
                self._started_at = self._line_at(chunk, pos)
                if char == b"[":
                    self._open_split(chunk, pos + 1, None)
                else:
                    self._object = "open"
                    self._marker_seen = False
                    self._key = None
                    self._start_capture(chunk, pos)
            elif depth == 1 and char == b"{" and self._keyed_by_path():
                self._open_path_value(chunk, pos)
            elif depth == 1 and char == b"{" and self._opens_embedded():
                self._embedded_depth = 2
            elif depth == 1 and char == b"[" and self._object not in (None, "hal"):
                key = self._key or ""
                if self._object == "container" or (
                    not self._marker_seen and key not in RECORD_LIST_KEYS
                ):
                    self._array_probe = (key, pos + 1)
            elif depth == self._embedded_depth and char == b"[":
                key = self._key or ""
                if key not in RECORD_LIST_KEYS:
                    self._array_probe = (key, pos + 1)
            self._depth += 1
            return
        if char in b"}]":
            if self._split_depth == depth and char == b"]":
                self._emit_element(chunk, pos, closing=True)
                self._split_depth = None
            elif depth == self._embedded_depth:  # the end of "_embedded"
                self._embedded_depth = None
            self._depth -= 1
            if self._depth == 1 and self._path_value is not None and char == b"}":
                raw = self._end_capture(chunk, pos + 1)
                self._items.append(self._item(self._capture_line, raw, path=self._path_value))
                self._path_value = None
            elif self._depth == 0:
                if self._object == "open":
                    raw = self._end_capture(chunk, pos + 1)
                    self._items.append(self._item(self._capture_line, raw))
                self._object = None
                self._embedded_depth = None
                self._gap_from = pos + 1
            return
        if char == b",":
            if self._split_depth == depth:
                self._emit_element(chunk, pos, closing=False)
                self._start_capture(chunk, pos + 1)
            return
        # ":" — a key of a top-level object ends here
        if depth == 1 and self._object is not None:
            self._key = self._last_string
            if self._key in RECORD_MARKER_KEYS:
                self._marker_seen = True
        elif depth == self._embedded_depth:  # a key under "_embedded": a list's stream
            self._key = self._last_string

    def _opens_embedded(self) -> bool:
        """Whether the object value starting now is the ``_embedded`` of a HAL page (an
        object not yet a record, nor a container of lists)."""
        return (
            self._key == "_embedded" and self._object in ("open", "hal") and not self._marker_seen
        )

    def _keyed_by_path(self) -> bool:
        """Whether the object value starting now is a page keyed by its request path."""
        return (
            self._object in ("open", "paths")
            and not self._marker_seen
            and is_request_path(self._key)
        )

    def _open_path_value(self, chunk: bytes, pos: int) -> None:
        if self._object == "open":  # the object is not a record: drop what was captured of it
            self._object = "paths"
            self._drop_capture()
        self._path_value = self._key
        self._start_capture(chunk, pos)

    def _open_split(self, chunk: bytes, pos: int, stream: str | None) -> None:
        self._split_depth = self._depth + 1
        self._split_stream = stream
        self._split_count = 0
        self._start_capture(chunk, pos)

    def _finish_probe(self, chunk: bytes, pos: int, char: bytes) -> None:
        assert self._array_probe is not None
        key, start = self._array_probe
        self._array_probe = None
        if char not in b"{," or chunk[start:pos].strip(_WHITESPACE):
            return
        # an array of objects right under a container (or a HAL page's "_embedded"): its
        # elements are records; so are those of an array whose first element is missing (a
        # comma first: a damaged list of records, its first one lost)
        if self._object == "open":
            self._object = "container" if self._embedded_depth is None else "hal"
            self._drop_capture()
        self._split_depth = self._depth
        self._split_stream = key
        self._split_count = 0
        self._start_capture(chunk, pos if char == b"{" else start)
        if char == b",":
            return
        before = self._before_chunk + chunk[max(0, pos - _TAIL_BYTES) : pos]
        line_start = before.rfind(b"\n") + 1
        if line_start and not before[line_start:].strip(b" \t"):
            # the first record starts a line of its own: its siblings share its indentation
            # (what the search for the next record goes by, should this one be damaged)
            self._indent = before[line_start:]

    def _end_chunk(self, chunk: bytes) -> None:
        self._before_chunk = (self._before_chunk + chunk[-_TAIL_BYTES:])[-_TAIL_BYTES:]
        if self._depth == 0 and not self._in_string:
            self._check_gap(chunk, len(chunk))
        self._line_at(chunk, len(chunk))
        self._counted = 0
        if self._capture_from is not None:
            self._captured += len(chunk) - self._capture_from
            if self._captured <= self._max_item_bytes:
                self._pieces.append(chunk[self._capture_from :])
            else:  # over the bound: only its size is kept from now on
                self._pieces = []
        if self._string_start is not None and sum(map(len, self._string_pieces)) < KEY_LIMIT:
            self._string_pieces.append(chunk[self._string_start :][:KEY_LIMIT])
        if self._array_probe is not None:
            key, start = self._array_probe
            if chunk[start:].strip(_WHITESPACE):
                self._array_probe = None
            else:
                self._array_probe = (key, 0)

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
                self._scan_after_end(exc)
                continue
            return self._items

    def _scan_after_end(self, exc: JsonScanError) -> None:
        replay = self._damaged(exc, b"")
        self._scan(replay)

    def _check_end(self) -> None:
        if self._in_string:
            raise JsonScanError(
                "a string is not closed before the end of the file "
                f"(in the JSON value that starts at line {self._started_at})",
                self._line,
                self._offset,
            )
        if self._depth:
            raise JsonScanError(
                f"the JSON value that starts at line {self._started_at} is not closed "
                "before the end of the file",
                self._line,
                self._offset,
            )
