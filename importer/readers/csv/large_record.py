"""The parser of a CSV record too large for the ``csv`` module, in pieces of the stream.

``csv``'s field buffer takes four bytes a character, doubles as it grows and is kept for the next
rows: a 50 MB field would cost several hundred MB for the rest of the file. A record over
:data:`~importer.readers.csv.rows.LARGE_RECORD` is parsed here instead, from the raw lines (or 1
MiB pieces of one long line) as they come, in about twice its size of memory; it reads as strict
``csv`` reads it, so a record reads the same whichever parser takes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import NamedTuple

from importer.readers.csv.decoding import incremental_decoder

_START, _UNQUOTED, _QUOTED, _AFTER = range(4)


class LargeRecord(NamedTuple):
    """A parsed large record: its fields (once it is over the bound, only those complete before:
    the rest is read to its end and not kept), how many physical lines it takes, its size in
    bytes, whether it is broken (the file ends inside a quote, or a quote is closed in the wrong
    place after its first line), and the NUL bytes removed from it."""

    fields: list[str]
    lines: int
    size: int
    broken: bool
    nuls: int


def parse_large_record(lines: Iterator[bytes], *, delimiter: str, bound: int) -> LargeRecord:
    """One record read from ``lines`` as strict ``csv`` reads it (a quote closed in the wrong
    place on its first line read leniently, as by default), taking no more lines than it needs.

    Memory trick, not a speed one: each piece is decoded and scanned, then let go; a quoted run
    is found with ``str.find`` and an unquoted one with a cached pattern (:func:`_unquoted`), so
    a large field costs no Python step per character. Benchmark: ``scripts/bench_bounds.py``,
    "largest field: a 62 MiB CSV body" in BENCHMARKS.md; when it came in (commit 8c40d49) the
    peak RSS of validate with one 50 MB field went from 364 to 262 MB (60 MB: 426 to 303 MB).
    """
    scanner = _FieldScanner(delimiter)
    decoder = incremental_decoder()
    used = size = nuls = 0
    last_partial = False  # the last line read has no line end (the end of the file)
    for raw in lines:
        size += len(raw)
        ends = raw.endswith(b"\n")
        if b"\0" in raw:
            nuls += raw.count(b"\0")
            raw = raw.replace(b"\0", b"")
        text = decoder.decode(raw, ends)
        del raw
        broken = scanner.scan(text, first_line=not used)
        if broken is not None:  # the record ends on this line
            return LargeRecord(scanner.fields, used + 1, size, broken, nuls)
        used += ends
        last_partial = not ends
        if size > bound:  # the cells complete so far are kept, to name the record
            scanner.stop_keeping()
    # the end of the file
    if scanner.state == _QUOTED:
        return LargeRecord(scanner.fields, used + last_partial, size, True, nuls)
    if scanner.keep:
        scanner.fields.append("".join(scanner.parts))
    return LargeRecord(scanner.fields, used + last_partial, size, False, nuls)


class _FieldScanner:
    """The fields of one record, scanned piece by piece: where the last piece left off (inside
    a quoted field or not) and the parts of the field being read."""

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self.unquoted = _unquoted(delimiter)
        self.fields: list[str] = []
        self.parts: list[str] = []
        self.keep = True  # False once the record is over the bound: nothing more is kept
        self.state = _START

    def stop_keeping(self) -> None:
        self.keep, self.parts = False, []

    def scan(self, text: str, *, first_line: bool) -> bool | None:
        """Scan one piece of text: ``None`` when the record goes on after it, else whether the
        record is broken (a quote closed in the wrong place after its first line) or not (a
        line end outside quotes)."""
        delimiter, unquoted, fields, keep = self.delimiter, self.unquoted, self.fields, self.keep
        parts, state = self.parts, self.state
        ended: bool | None = None
        pos, end = 0, len(text)
        while pos < end:
            if state == _START:
                if text[pos] == '"':
                    state, pos = _QUOTED, pos + 1
                    continue
                state = _UNQUOTED
            if state == _QUOTED:
                stop = text.find('"', pos)
                if keep:
                    parts.append(text[pos:] if stop < 0 else text[pos:stop])
                if stop < 0:
                    break
                state, pos = _AFTER, stop + 1
                continue
            if state == _UNQUOTED:
                found = unquoted.match(text, pos)
                assert found is not None  # the pattern matches the empty string
                if keep:
                    parts.append(found.group())
                pos = found.end()
                if pos == end:
                    break
            char = text[pos]
            if state == _AFTER and char == '"':  # a doubled quote
                if keep:
                    parts.append('"')
                state, pos = _QUOTED, pos + 1
                continue
            if char == delimiter or char in "\r\n":
                if keep:
                    fields.append("".join(parts))
                parts = []
                if char != delimiter:
                    ended = False
                    break
                state, pos = _START, pos + 1
                continue
            if not first_line:  # a quote closed in the wrong place after the first line
                ended = True
                break
            state = _UNQUOTED  # on the first line: the character joins the field
        self.parts, self.state = parts, state
        return ended


@cache
def _unquoted(delimiter: str) -> re.Pattern[str]:
    """The characters of an unquoted field: up to a delimiter or a line end."""
    return re.compile(f"[^{re.escape(delimiter)}\\r\\n]*")
