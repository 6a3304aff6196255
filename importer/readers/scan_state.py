"""What the JSON scanner gives and keeps: its items, its state, the capture of a record's bytes.

The scanner (:mod:`importer.readers.scanner`) is one object built in three layers, so that each
can be read alone: this state (where the walk is, what it has captured of the current record,
the items it has given), the walk over the bytes (:mod:`importer.readers.json_walk`, the hot
loop) and the search for the next record after damage (:mod:`importer.readers.scanner`). Also
here: the keys that tell a record from a container of records, which the read layer shares.
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

WHITESPACE = b" \t\r\n"
#: the most of a top-level key kept (keys name streams and request paths: short)
KEY_LIMIT = 4096
#: the default bound of one item's bytes (the read layer passes ``--max-record-bytes``)
DEFAULT_MAX_ITEM_BYTES = 64 << 20


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


class ScanState:
    """The state of one scan, and the capture of the current record's bytes across chunks."""

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
        self._before_chunk = b""  # the end of the chunks walked before the current one

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
        *,
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
        body = raw.lstrip(WHITESPACE)
        leading = raw[: len(raw) - len(body)]
        line = self._capture_line + leading.count(b"\n")
        if b"\n" in leading and body[:1] == b"{":  # a record on a line of its own
            self._indent = leading.rpartition(b"\n")[2].lstrip(b"\r")
        body = body.rstrip(WHITESPACE)
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
