"""Reading the records of one CSV stream: decoding, NUL bytes, broken quotes and large records.

Parsing uses the standard library's ``csv`` module rather than pandas: ``reader.line_num`` gives
the physical line of every record, also when a quoted field spans several lines, which pandas'
chunked reader cannot report; locations (``file:line``, ``file:line:column``) depend on it. Each
physical line is decoded on its own (:mod:`importer.readers.csv.decoding`), so an encoding
warning lands on the conversation holding the bytes; NUL bytes are removed and counted. Damage
costs one record, never the file nor the next rows: a broken quote is reported at its line and
the lines after it read again as rows; a record over ``--max-record-bytes`` is one invalid
record; records over :data:`LARGE_RECORD` go to :mod:`importer.readers.csv.large_record`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from functools import partial
from typing import BinaryIO, NamedTuple

from importer.errors import ImporterError
from importer.readers.csv.decoding import (
    COUNTED_CP1252,
    CP1252_COUNT,
    decoded_line,
    start_counting,
)
from importer.readers.csv.large_record import parse_large_record
from importer.readers.limits import ReadLimits, over_record_bound
from importer.readers.text import UTF8_BOM

#: a record (row) larger than this is parsed by :func:`parse_large_record` rather than by
#: ``csv``, whose field buffer takes four bytes a character, doubles as it grows and is kept
#: for the next rows; up to this size the physical lines of a record are held, to read them
#: again when the record turns out broken
LARGE_RECORD = 1 << 20

UNCLOSED_QUOTE = (
    "the CSV row cannot be parsed: a quoted field is not closed where it should be (a quote "
    'inside a quoted field must be doubled, ""), so the next lines would be read into it; '
    "this line is left out and the lines after it are read as rows. Fix the quote and "
    "re-feed the line"
)


class _LargeRecordError(ImporterError):
    """Raised inside :meth:`CsvRows._lines` to take a large record away from ``csv``; it never
    leaves this module."""


class CsvRow(NamedTuple):
    """One record of a CSV file: its first physical line, its fields (``None`` when it cannot
    be used: ``problem`` says why, ``text`` holds its first line when there is one to keep),
    bytes read as cp1252 and NUL bytes removed."""

    line: int
    fields: list[str] | None
    replaced: int
    nuls: int
    problem: str | None = None
    text: str | None = None
    #: the cells read before the trouble, to find the record's conversation id
    known: list[str] | None = None


def is_blank_row(row: list[str]) -> bool:
    """A blank line, or a row of empty cells as spreadsheets write them: no record.

    Speed trick: the first cell is tried alone before every cell is, so a row with a value
    first (every row of a real export) costs one ``strip``. It came in with commit 9e05f23,
    measured with the rest of that commit by ``make bench``'s offline "generic CSV, the same as
    message rows in random order" (reader CPU about 150 s to about 17 s); no recorded benchmark
    of this step alone.
    """
    return not (row and (row[0].strip() or any(cell.strip() for cell in row)))


class CsvRows:
    """The records of one CSV stream, each a :class:`CsvRow`, within ``limits``.

    Physical lines are decoded one by one (UTF-8, stray bytes as cp1252, a byte order mark
    dropped, NUL bytes removed and counted: Help Scout takes no NUL in text) and parsed by
    ``csv`` in strict mode, so that a field whose quote is not closed cannot swallow the next
    rows unnoticed: a record that spans several physical lines and is broken (a quote closed
    in the wrong place, the end of the file inside a quote, or, once the header is read, the
    wrong number of fields) is reported at its first line, and the lines after that one are
    read again as rows. A one-line record that only strict mode refuses (``"a"b``) is read
    leniently, as ``csv`` reads it by default. A record larger than :data:`LARGE_RECORD` is
    parsed by :func:`parse_large_record`; one larger than ``max_record_bytes`` is one invalid
    record, read through to its end without being kept.
    """

    def __init__(self, stream: BinaryIO, delimiter: str, limits: ReadLimits) -> None:
        self.stream = stream
        self.delimiter = delimiter
        self.limits = limits
        self.bound = limits.max_record_bytes
        self.large = min(LARGE_RECORD, self.bound)
        #: a line longer than ``large`` comes in pieces (to :func:`parse_large_record` only)
        self.read = partial(stream.readline, self.large + 1)
        #: raw lines to read before the stream's (read again after a broken record), last first
        self.pending: list[bytes] = []
        #: the raw lines of the record being read, while it is at most ``large`` bytes
        self.held: list[bytes] = []
        self.large_line = b""  # the line that took the record over ``large``
        self.nuls = 0  # NUL bytes removed since the last record
        self.width: int | None = None  # fields in the header, once it is read
        self.line = 0  # physical lines before the current csv reader's first
        first = self.read()
        #: bytes of the byte order mark dropped from the first line
        self.bom = len(UTF8_BOM) if first.startswith(UTF8_BOM) else 0
        if first:
            self.pending.append(first[self.bom :])

    def _raw(self) -> Iterator[bytes]:
        """The raw lines still to read: pending ones first, then the stream's."""
        pending, read = self.pending, self.read
        while True:
            raw = pending.pop() if pending else read()
            if not raw:
                return
            yield raw

    def _lines(self) -> Iterator[str]:
        """The physical lines for ``csv``; raises :class:`_LargeRecordError` at the line that
        takes a record over ``large`` bytes (``held`` then has the record's earlier lines).

        Speed tricks: a line is searched for NUL before any copy is made of it (a real export
        has none), and decoded in one C call, the bytes read as cp1252 counted by the codec's
        error handler (:func:`~importer.readers.csv.decoding.counted_cp1252`, whose docstring
        names its benchmark)."""
        held, large = self.held, self.large
        size = 0
        for raw in self._raw():
            if not held:
                size = 0  # the first line of a record
            size += len(raw)
            if size > large:
                self.large_line = raw
                raise _LargeRecordError("a record larger than LARGE_RECORD")
            held.append(raw)
            if b"\0" in raw:
                self.nuls += raw.count(b"\0")
                raw = raw.replace(b"\0", b"")
            yield raw.decode("utf-8", COUNTED_CP1252)

    def __iter__(self) -> Iterator[CsvRow]:
        start_counting()
        while True:  # one csv reader per stretch between broken or large records
            reader = csv.reader(self._lines(), delimiter=self.delimiter, strict=True)
            base = previous = self.line
            held = self.held
            counted = CP1252_COUNT.count
            while True:
                held.clear()
                problem: str | None = None
                try:
                    row: list[str] | None = next(reader)
                except StopIteration:
                    return
                except csv.Error:
                    row = None
                except _LargeRecordError:
                    CP1252_COUNT.count = counted  # its lines are decoded again
                    yield from self._large(previous + 1)
                    break
                start, previous = previous + 1, base + reader.line_num
                if previous > start and (
                    row is None or (self.width is not None and len(row) != self.width)
                ):
                    yield self._resync(start, counted)
                    break
                if row is None:  # one line that strict mode refuses: read it leniently
                    row, problem = self._lenient(held[0])
                replaced = CP1252_COUNT.count - counted
                counted = CP1252_COUNT.count
                nuls, self.nuls = self.nuls, 0
                if row is None:
                    yield self._broken(
                        start, replaced, nuls, problem=problem or UNCLOSED_QUOTE, raw=held[0]
                    )
                elif not is_blank_row(row):
                    if self.width is None:
                        self.width = len(row)
                    yield CsvRow(start, row, replaced, nuls)

    def _lenient(self, raw: bytes) -> tuple[list[str] | None, str | None]:
        """The line ``raw`` that strict ``csv`` refuses, read as ``csv`` reads by default: its
        fields, or ``None`` and why it cannot be read."""
        lenient = csv.reader([decoded_line(raw), ""], delimiter=self.delimiter)
        problem = None
        try:
            row = next(lenient, None)
        except csv.Error as exc:  # a bare carriage return inside the line
            row, problem = None, f"the row cannot be parsed ({exc})"
        if lenient.line_num > 1:  # its quote is not closed on the line
            return None, UNCLOSED_QUOTE
        return row, problem

    def _broken(self, start: int, replaced: int, nuls: int, *, problem: str, raw: bytes) -> CsvRow:
        """The invalid record of the line ``raw`` (its first), kept as text when it is within
        the bound; its cells read leniently up to the trouble."""
        if len(raw) > self.bound:
            return CsvRow(start, None, replaced, nuls, problem)
        text = decoded_line(raw)
        try:
            known = next(csv.reader([text], delimiter=self.delimiter), None)
        except csv.Error:  # a bare carriage return: no cell can be trusted
            known = None
        return CsvRow(start, None, replaced, nuls, problem, text.rstrip("\r\n"), known)

    def _resync(self, start: int, counted: int) -> CsvRow:
        """The broken record of several held lines starting at line ``start``: its first line
        is one invalid record, the lines after it are read again."""
        held = self.held
        self.pending.extend(reversed(held[1:]))
        self.line = start
        CP1252_COUNT.count = counted  # the lines read again count their own bytes
        self.nuls = 0
        return self._broken(start, 0, 0, problem=UNCLOSED_QUOTE, raw=held[0])

    def _large(self, start: int) -> Iterator[CsvRow]:
        """The record at line ``start`` that is larger than ``large`` bytes, parsed by
        :func:`parse_large_record`; the reading then goes on after it (after its first line
        when it is broken)."""
        held, pending, large_line = self.held, self.pending, self.large_line
        first = held[0] if held else large_line
        # where line ``start + 1`` begins in the stream, to read from there again if need be
        after_first = (
            self.stream.tell()
            - sum(map(len, pending))
            - len(large_line)
            - sum(map(len, held))
            + len(first)
            + (self.bom if start == 1 else 0)
        )
        self.large_line = b""
        lines = [*held, large_line]
        held.clear()
        del large_line
        self.nuls = 0
        counted = CP1252_COUNT.count
        fields, used, size, broken, nuls = parse_large_record(
            _popped(lines, self._raw()), delimiter=self.delimiter, bound=self.bound
        )
        replaced = CP1252_COUNT.count - counted
        wrong = self.width is not None and size <= self.bound and len(fields) != self.width
        if used > 1 and (broken or wrong):
            self.stream.seek(after_first)
            pending.clear()
            self.line = start
            CP1252_COUNT.count = counted
            yield self._broken(start, 0, 0, problem=UNCLOSED_QUOTE, raw=first)
            return
        self.line = start + used - 1
        if size > self.bound:  # its text is not kept; the cells before the bound name it
            problem = over_record_bound("the CSV row", size, self.limits)
            yield CsvRow(start, None, replaced, nuls, problem, None, fields)
        elif broken:
            yield self._broken(start, replaced, nuls, problem=UNCLOSED_QUOTE, raw=first)
        else:
            if self.width is None:
                self.width = len(fields)
            yield CsvRow(start, fields, replaced, nuls)


def _popped(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    """The lines of ``first`` then of ``rest``, each let go of here once given."""
    first.reverse()
    while first:
        yield first.pop()
    yield from rest
