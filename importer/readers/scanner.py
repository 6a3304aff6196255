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
* a top-level object keyed by request path (``{"/api/v2/tickets/1/comments.json": {...},
  "GET /tickets/2": {...}}``, as API dumps and test fixtures keep their pages): each object
  value is a document of its own, given back whole with its key as ``path`` (one page at a time
  in memory).

Structural damage (an unclosed string or bracket, stray text between records) raises
:class:`JsonScanError` with the line; the caller reports it and stops reading that file.
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


class JsonScanError(ValueError):
    """The document's structure is broken at ``line``."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class ScannedItem:
    """The raw bytes of one record, the line it starts on, its container key and request path."""

    line: int
    raw: bytes
    stream: str | None = None
    path: str | None = None  # the request path the item was keyed by (a whole page)


class JsonItemScanner:
    """Feed chunks of a JSON document with :meth:`feed`; call :meth:`finish` at the end."""

    def __init__(self, first_line: int = 1) -> None:
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
        # "paths" (keyed by request path: each object value is an item)
        self._object: str | None = None
        self._marker_seen = False
        self._key: str | None = None
        self._string_start: int | None = None
        self._string_pieces: list[bytes] = []
        self._last_string: str | None = None
        # an array at depth 1 of an undecided object/container waiting for its first element
        self._array_probe: tuple[str, int] | None = None  # (key, position after "[")
        self._path_value: str | None = None  # the request path whose object value is captured
        self._gap_from = 0  # start of text that must be whitespace (at depth 0)
        self._started_at = first_line

    # -- helpers ---------------------------------------------------------------------------
    def _line_at(self, chunk: bytes, pos: int) -> int:
        self._line += chunk.count(b"\n", self._counted, pos)
        self._counted = pos
        return self._line

    def _start_capture(self, chunk: bytes, pos: int) -> None:
        self._pieces = []
        self._capture_from = pos
        self._capture_line = self._line_at(chunk, pos)

    def _end_capture(self, chunk: bytes, pos: int) -> bytes:
        assert self._capture_from is not None
        raw = b"".join([*self._pieces, chunk[self._capture_from : pos]])
        self._pieces = []
        self._capture_from = None
        return raw

    def _emit_element(self, chunk: bytes, pos: int, closing: bool) -> None:
        raw = self._end_capture(chunk, pos)
        body = raw.lstrip(_WHITESPACE)
        line = self._capture_line + raw[: len(raw) - len(body)].count(b"\n")
        body = body.rstrip(_WHITESPACE)
        if not body:
            if closing and self._split_count == 0:
                return  # an empty array
            raise JsonScanError("an array element is missing (two commas in a row?)", line)
        self._split_count += 1
        self._items.append(ScannedItem(line, body, self._split_stream))

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
            )

    # -- the walk --------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> list[ScannedItem]:
        """Scan ``chunk``; return the records it completed."""
        self._items = []
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
            if depth >= 2 and depth != self._split_depth and self._array_probe is None:
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
                if depth == 1 and self._object is not None:
                    self._last_string = chunk[pos + 1 : end - 1].decode("utf-8", "replace")
                pos = end
                continue
            self._structural(chunk, pos, chunk[pos : pos + 1])
            pos += 1
        self._end_chunk(chunk)
        return self._items

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
            )
        if char == b'"':
            self._in_string = True
            if depth == 1 and self._object is not None:
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
            elif depth == 1 and char == b"[" and self._object is not None:
                key = self._key or ""
                if self._object == "container" or (
                    not self._marker_seen and key not in RECORD_LIST_KEYS
                ):
                    self._array_probe = (key, pos + 1)
            self._depth += 1
            return
        if char in b"}]":
            if self._split_depth == depth and char == b"]":
                self._emit_element(chunk, pos, closing=True)
                self._split_depth = None
            self._depth -= 1
            if self._depth == 1 and self._path_value is not None and char == b"}":
                raw = self._end_capture(chunk, pos + 1)
                self._items.append(ScannedItem(self._capture_line, raw, path=self._path_value))
                self._path_value = None
            elif self._depth == 0:
                if self._object == "open":
                    raw = self._end_capture(chunk, pos + 1)
                    self._items.append(ScannedItem(self._capture_line, raw))
                self._object = None
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
            self._pieces = []
            self._capture_from = None
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
        if char != b"{" or chunk[start:pos].strip(_WHITESPACE):
            return
        # an array of objects right under a container: its elements are records
        if self._object == "open":
            self._object = "container"
            self._pieces = []
            self._capture_from = None
        self._split_depth = 2
        self._split_stream = key
        self._split_count = 0
        self._start_capture(chunk, pos)

    def _end_chunk(self, chunk: bytes) -> None:
        if self._depth == 0 and not self._in_string:
            self._check_gap(chunk, len(chunk))
        self._line_at(chunk, len(chunk))
        self._counted = 0
        if self._capture_from is not None:
            self._pieces.append(chunk[self._capture_from :])
        if self._string_start is not None:
            self._string_pieces.append(chunk[self._string_start :])
        if self._array_probe is not None:
            key, start = self._array_probe
            if chunk[start:].strip(_WHITESPACE):
                self._array_probe = None
            else:
                self._array_probe = (key, 0)

    def finish(self) -> None:
        """Check the document ended cleanly; raise :class:`JsonScanError` if not."""
        if self._in_string:
            raise JsonScanError(
                "a string is not closed before the end of the file "
                f"(in the JSON value that starts at line {self._started_at})",
                self._line,
            )
        if self._depth:
            raise JsonScanError(
                f"the JSON value that starts at line {self._started_at} is not closed "
                "before the end of the file",
                self._line,
            )
