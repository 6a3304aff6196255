"""The walk over a JSON document's bytes: strings, brackets and the records they delimit.

The hottest code of every JSON format: it tracks string/escape state and bracket depth, and
jumps between the characters that matter with regular expressions (deep inside a record, to the
next bracket at once), so that the Python loop turns once per bracket, not once per byte. What
is done once per record (opening a top-level value, a list of records, a page keyed by request
path or a HAL page's ``_embedded``; closing them) is in methods of its own, called only at those
depths, never per token. It works on bytes: every character that matters is ASCII, which UTF-8
and cp1252 encode the same way.

What it splits is told in :mod:`importer.readers.scanner`; damage is raised as
:class:`~importer.readers.scan_state.JsonScanError`, and the scanner resumes after it.
"""

from __future__ import annotations

import re

from importer.readers.scan_state import (
    KEY_LIMIT,
    RECORD_LIST_KEYS,
    RECORD_MARKER_KEYS,
    WHITESPACE,
    JsonScanError,
    ScanState,
    is_request_path,
)

# A whole string is one event; a lone quote is a string that goes on in the next chunk.
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_ANY_EVENT = re.compile(_STRING + rb'|["\[\]{},:]', re.DOTALL)
# Deep inside a record only brackets matter: skip every other byte and whole strings at once.
_SKIP_TO_BRACKET = re.compile(rb'(?:[^"\[\]{}]++|' + _STRING + rb")*+", re.DOTALL)
_INSIDE_STRING = re.compile(rb'["\\]')
#: the end of the bytes searched for the next record that is kept for the next chunk (a line
#: break and an indentation cut by the chunk's end)
TAIL_BYTES = 256


class JsonWalk(ScanState):
    """Walks chunks of a JSON document, adding the records they complete to ``_items``."""

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
        elif char in b"{[":
            if depth <= 1 or depth == self._embedded_depth:  # once a record, not per token
                self._open_near_top(chunk, pos, char)
            self._depth = depth + 1
        elif char in b"}]":
            if depth <= 2 or depth == self._split_depth or depth == self._embedded_depth:
                self._close_near_top(chunk, pos, char)  # once a record, not per token
            else:
                self._depth = depth - 1
        elif char == b",":
            if self._split_depth == depth:
                self._emit_element(chunk, pos, closing=False)
                self._start_capture(chunk, pos + 1)
        # ":" — a key of a top-level object ends here
        elif depth == 1 and self._object is not None:
            self._key = self._last_string
            if self._key in RECORD_MARKER_KEYS:
                self._marker_seen = True
        elif depth == self._embedded_depth:  # a key under "_embedded": a list's stream
            self._key = self._last_string

    def _open_near_top(self, chunk: bytes, pos: int, char: bytes) -> None:
        """An object or array opens at depth 0 or 1, or right under ``_embedded``: a value of
        its own, a page keyed by request path, a HAL page's ``_embedded``, or an array that
        may hold records (probed at its first element)."""
        depth = self._depth
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

    def _close_near_top(self, chunk: bytes, pos: int, char: bytes) -> None:
        """An object or array closes at depth 1 or 2, or ends a list of records or
        ``_embedded``: the item it completes, if any."""
        depth = self._depth
        if self._split_depth == depth and char == b"]":
            self._emit_element(chunk, pos, closing=True)
            self._split_depth = None
        elif depth == self._embedded_depth:  # the end of "_embedded"
            self._embedded_depth = None
        self._depth = depth - 1
        if depth == 2 and self._path_value is not None and char == b"}":
            raw = self._end_capture(chunk, pos + 1)
            self._items.append(self._item(self._capture_line, raw, path=self._path_value))
            self._path_value = None
        elif depth == 1:
            if self._object == "open":
                raw = self._end_capture(chunk, pos + 1)
                self._items.append(self._item(self._capture_line, raw))
            self._object = None
            self._embedded_depth = None
            self._gap_from = pos + 1

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
        if char not in b"{," or chunk[start:pos].strip(WHITESPACE):
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
        before = self._before_chunk + chunk[max(0, pos - TAIL_BYTES) : pos]
        line_start = before.rfind(b"\n") + 1
        if line_start and not before[line_start:].strip(b" \t"):
            # the first record starts a line of its own: its siblings share its indentation
            # (what the search for the next record goes by, should this one be damaged)
            self._indent = before[line_start:]

    def _check_gap(self, chunk: bytes, pos: int) -> None:
        if chunk[self._gap_from : pos].strip(WHITESPACE):
            bad = (
                self._gap_from
                + len(chunk[self._gap_from : pos])
                - len(chunk[self._gap_from : pos].lstrip(WHITESPACE))
            )
            raise JsonScanError(
                "text between JSON records is not JSON (a record must be an object or array)",
                self._line_at(chunk, bad),
                self._offset + bad,
            )

    def _end_chunk(self, chunk: bytes) -> None:
        self._before_chunk = (self._before_chunk + chunk[-TAIL_BYTES:])[-TAIL_BYTES:]
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
            if chunk[start:].strip(WHITESPACE):
                self._array_probe = None
            else:
                self._array_probe = (key, 0)

    def _check_end(self) -> None:
        """Raise the damage the end of the document leaves: a string or a value not closed."""
        if self._in_string:
            raise JsonScanError(
                "a string is not closed before the end of the file "
                f"(in the JSON value that starts at line {self._started_at})",
                self._line,
                self._offset,
            )
        if self._depth and self._depth == self._split_depth and self._capture_from is not None:
            self._end_between_records()
        if self._depth:
            raise JsonScanError(
                f"the JSON value that starts at line {self._started_at} is not closed "
                "before the end of the file",
                self._line,
                self._offset,
            )

    def _end_between_records(self) -> None:
        """The file ends between two records of a list (cut after one): the last record is
        whole, and given back; the list not closed is the damage :meth:`_check_end` raises
        next (fuzzer case helpscout/b74f811f7c43: a page cut after its last conversation lost
        that conversation)."""
        if not b"".join(self._pieces).rstrip(WHITESPACE).endswith(b"}"):
            return  # a value cut short (or none after the last comma): nothing whole to give
        self._capture_from = 0  # the last chunk's bytes are in the pieces already
        self._emit_element(b"", 0, closing=True)
        self._split_depth = None
