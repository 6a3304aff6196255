"""The generic CSV reader: ``conversations.csv`` + ``messages.csv``, or ``messages.csv`` alone.

Files are told apart by their header (see :meth:`CsvColumns.kind_of`), never by name. Rows may
come in any order and the files may not fit in memory, so every row is first staged on disk
(:class:`~importer.readers.staging.GroupedRows`: conversation rows as parents, message rows as
their children, keyed by conversation id, without a look-up per row); then one sorted pass gives
the conversations one at a time, in the order they first appear (conversation files first; with
messages alone, the first message row of each), each with its message rows in file order. A row
is staged as its list of fields; cells are picked by column positions worked out once per file.

Parsing uses the standard library's ``csv`` module rather than pandas: ``reader.line_num`` gives
the physical line of every record, also when a quoted field spans several lines, which pandas'
chunked reader cannot report; locations (``file:line``, ``file:line:column``) depend on it.
Each physical line is decoded on its own (UTF-8, stray bytes as cp1252, see
:mod:`importer.readers.text`), so an encoding warning lands on the conversation holding the bytes;
NUL bytes are removed, with a warning on their conversation. Damage costs one record, never the
file nor the next rows (:class:`_CsvRows`): a broken quote is reported at its line and the lines
after it read again as rows; a record over ``--max-record-bytes`` is one invalid record; records
over :data:`LARGE_RECORD` are parsed without ``csv``, in about twice their size of memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import marshal
import mimetypes
import posixpath
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from importer.errors import FormatError, ImporterError
from importer.findings import Finding
from importer.model import RAW_TEXT_KEY
from importer.readers.base import Reader, RoleFile
from importer.readers.batches import BATCH_BYTES, RecordBatch
from importer.readers.csv.mapping import CsvColumns, csv_columns
from importer.readers.inputs import AttachmentPathError, InputFile, attachment_size
from importer.readers.limits import ReadLimits, over_record_bound
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import GroupedRow, GroupedRows
from importer.readers.text import CP1252_FALLBACK, UTF8_BOM, encoding_message

#: bytes read as cp1252 so far in this thread (by :data:`COUNTED_CP1252`)
_replaced = threading.local()
_cp1252 = codecs.lookup_error(CP1252_FALLBACK)
COUNTED_CP1252 = "importer.csv.cp1252"


def _counted_cp1252(exc: UnicodeError) -> tuple[str | bytes, int]:
    """The readers' cp1252 fallback (:mod:`importer.readers.text`), counting the bytes."""
    if isinstance(exc, UnicodeDecodeError):
        _replaced.count = getattr(_replaced, "count", 0) + exc.end - exc.start
    return _cp1252(exc)


codecs.register_error(COUNTED_CP1252, _counted_cp1252)

#: a record (row) larger than this is parsed by :meth:`_CsvRows._parse_large` rather than by
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
    """Raised inside :meth:`_CsvRows._lines` to take a large record away from ``csv``; it never
    leaves this module."""


class _Row(NamedTuple):
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


def _decoded_line(raw: bytes) -> str:
    """One raw line decoded as the reader decodes it, NUL bytes removed, nothing counted."""
    return raw.replace(b"\0", b"").decode("utf-8", CP1252_FALLBACK)


class _CsvRows:
    """The records of one CSV stream, each a :class:`_Row`, within ``limits``.

    Physical lines are decoded one by one (UTF-8, stray bytes as cp1252, a byte order mark
    dropped, NUL bytes removed and counted: Help Scout takes no NUL in text) and parsed by
    ``csv`` in strict mode, so that a field whose quote is not closed cannot swallow the next
    rows unnoticed: a record that spans several physical lines and is broken (a quote closed
    in the wrong place, the end of the file inside a quote, or, once the header is read, the
    wrong number of fields) is reported at its first line, and the lines after that one are
    read again as rows. A one-line record that only strict mode refuses (``"a"b``) is read
    leniently, as ``csv`` reads it by default. A record larger than :data:`LARGE_RECORD` is
    parsed by :meth:`_parse_large`; one larger than ``max_record_bytes`` is one invalid record,
    read through to its end without being kept.
    """

    def __init__(self, stream: BinaryIO, delimiter: str, limits: ReadLimits) -> None:
        self.stream = stream
        self.delimiter = delimiter
        self.limits = limits
        self.bound = limits.max_record_bytes
        self.large = min(LARGE_RECORD, self.bound)
        #: a line longer than ``large`` comes in pieces (to :meth:`_parse_large` only)
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
        takes a record over ``large`` bytes (``held`` then has the record's earlier lines)."""
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

    def __iter__(self) -> Iterator[_Row]:
        if not hasattr(_replaced, "count"):
            _replaced.count = 0  # this thread's first
        while True:  # one csv reader per stretch between broken or large records
            reader = csv.reader(self._lines(), delimiter=self.delimiter, strict=True)
            base = previous = self.line
            held = self.held
            counted = _replaced.count
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
                    _replaced.count = counted  # its lines are decoded again
                    yield from self._large(previous + 1)
                    break
                start, previous = previous + 1, base + reader.line_num
                if previous > start and (
                    row is None or (self.width is not None and len(row) != self.width)
                ):
                    yield self._resync(start, counted)
                    break
                if row is None:  # one line that strict mode refuses: read it leniently
                    lenient = csv.reader([_decoded_line(held[0]), ""], delimiter=self.delimiter)
                    try:
                        row = next(lenient, None)
                    except csv.Error as exc:  # a bare carriage return inside the line
                        row, problem = None, f"the row cannot be parsed ({exc})"
                    if lenient.line_num > 1:  # its quote is not closed on the line
                        row, problem = None, UNCLOSED_QUOTE
                replaced = _replaced.count - counted
                counted = _replaced.count
                nuls, self.nuls = self.nuls, 0
                if row is not None:
                    if not (row and (row[0].strip() or any(c.strip() for c in row))):
                        continue  # a blank line, or a row of empty cells as spreadsheets write
                    if self.width is None:
                        self.width = len(row)
                    yield _Row(start, row, replaced, nuls)
                else:
                    yield self._broken(start, replaced, nuls, problem or UNCLOSED_QUOTE, held[0])

    def _broken(self, start: int, replaced: int, nuls: int, problem: str, raw: bytes) -> _Row:
        """The invalid record of the line ``raw`` (its first), kept as text when it is within
        the bound; its cells read leniently up to the trouble."""
        if len(raw) > self.bound:
            return _Row(start, None, replaced, nuls, problem)
        text = _decoded_line(raw)
        try:
            known = next(csv.reader([text], delimiter=self.delimiter), None)
        except csv.Error:  # a bare carriage return: no cell can be trusted
            known = None
        return _Row(start, None, replaced, nuls, problem, text.rstrip("\r\n"), known)

    def _resync(self, start: int, counted: int) -> _Row:
        """The broken record of several held lines starting at line ``start``: its first line
        is one invalid record, the lines after it are read again."""
        held = self.held
        self.pending.extend(reversed(held[1:]))
        self.line = start
        _replaced.count = counted  # the lines read again count their own bytes
        self.nuls = 0
        return self._broken(start, 0, 0, UNCLOSED_QUOTE, held[0])

    def _large(self, start: int) -> Iterator[_Row]:
        """The record at line ``start`` that is larger than ``large`` bytes, parsed here; the
        reading then goes on after it (after its first line when it is broken)."""
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
        counted = _replaced.count
        fields, used, size, broken = self._parse_large(_popped(lines, self._raw()))
        replaced = _replaced.count - counted
        nuls, self.nuls = self.nuls, 0
        wrong = self.width is not None and size <= self.bound and len(fields) != self.width
        if used > 1 and (broken or wrong):
            self.stream.seek(after_first)
            pending.clear()
            self.line = start
            _replaced.count = counted
            yield self._broken(start, 0, 0, UNCLOSED_QUOTE, first)
            return
        self.line = start + used - 1
        if size > self.bound:  # its text is not kept; the cells before the bound name it
            problem = over_record_bound("the CSV row", size, self.limits)
            yield _Row(start, None, replaced, nuls, problem, None, fields)
        elif broken:
            yield self._broken(start, replaced, nuls, UNCLOSED_QUOTE, first)
        else:
            if self.width is None:
                self.width = len(fields)
            yield _Row(start, fields, replaced, nuls)

    def _parse_large(self, lines: Iterator[bytes]) -> tuple[list[str], int, int, bool]:
        """One record read from ``lines`` as strict ``csv`` reads it (a quote closed in the
        wrong place on its first line read leniently, as by default), taking no more lines
        than it needs: its fields (once it is over the bound, only those complete before: the
        rest is read to its end and not kept), how many physical lines it takes, its size in
        bytes, and whether it is broken (the file ends inside a quote, or a quote is closed in
        the wrong place after its first line)."""
        delimiter, bound = self.delimiter, self.bound
        unquoted = _unquoted(delimiter)
        decoder = _incremental_decoder()
        fields: list[str] = []
        parts: list[str] = []
        keep = True
        state = _START
        used = size = 0
        last_partial = False  # the last line read has no line end (the end of the file)
        for raw in lines:
            size += len(raw)
            ends = raw.endswith(b"\n")
            if b"\0" in raw:
                self.nuls += raw.count(b"\0")
                raw = raw.replace(b"\0", b"")
            text = decoder.decode(raw, ends)
            del raw
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
                        return fields, used + 1, size, False
                    state, pos = _START, pos + 1
                    continue
                if used:  # a quote closed in the wrong place after the first line
                    return fields, used + 1, size, True
                state = _UNQUOTED  # on the first line: the character joins the field
            used += ends
            last_partial = not ends
            if size > bound:  # the cells complete so far are kept, to name the record
                keep, parts = False, []
        # the end of the file
        if state == _QUOTED:
            return fields, used + last_partial, size, True
        if keep:
            fields.append("".join(parts))
        return fields, used + last_partial, size, False


_START, _UNQUOTED, _QUOTED, _AFTER = range(4)


@cache
def _unquoted(delimiter: str) -> re.Pattern[str]:
    """The characters of an unquoted field: up to a delimiter or a line end."""
    return re.compile(f"[^{re.escape(delimiter)}\\r\\n]*")


def _incremental_decoder() -> codecs.IncrementalDecoder:
    """A decoder of UTF-8 with the counted cp1252 fallback, across pieces of one long line."""
    return codecs.getincrementaldecoder("utf-8")(COUNTED_CP1252)


def _popped(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    """The lines of ``first`` then of ``rest``, each let go of here once given."""
    first.reverse()
    while first:
        yield first.pop()
    yield from rest


def nul_message(removed: int) -> str:
    """The warning text for ``removed`` NUL bytes taken out of a conversation's cells."""
    return (
        f"{removed} NUL bytes were removed from the text (Help Scout takes no NUL character); "
        "the rest of each cell is kept as it was. If text is missing around them, fix the export"
    )


def _row_text(row: list[str], delimiter: str) -> str:
    """A parsed row written back as CSV text, kept with an invalid record to fix and re-feed."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(row)
    return out.getvalue()


class _Good(NamedTuple):
    """A row that was read: its file (index), line, bytes read as cp1252, NUL bytes removed,
    and its fields."""

    file: int
    line: int
    replaced: int
    nuls: int
    fields: list[str]


class _Broken(NamedTuple):
    """A row that cannot be used: its file (index), line, bytes read as cp1252, why and where,
    and its text (``None`` when it could not be parsed at all)."""

    file: int
    line: int
    replaced: int
    error: str
    error_at: str
    raw: str | None


def _decode(payload: bytes) -> _Good | _Broken:
    values = marshal.loads(payload)
    # tuple.__new__: the named tuple without a Python call
    return tuple.__new__(_Good if len(values) == 5 else _Broken, values)  # type: ignore[return-value]


def _cells(header: list[str], fields: list[str]) -> dict[str, str]:
    """A row's non-empty cells by column (a column named twice: its last non-empty cell)."""
    return {name: value for name, value in zip(header, fields, strict=True) if value.strip()}


@dataclass
class _FileColumns:
    """Where the mapped columns sit in one file's header, worked out once per file."""

    header: list[str]
    #: column -> its first position (1-based), for ``file:line:column``
    positions: dict[str, int]
    #: (field, its column's indexes last first, ``:column`` of its location) of each message
    #: field whose column is present (a column named twice: its last non-empty cell is read)
    message_fields: list[tuple[str, list[int], str]]
    #: (column, index) of the columns a messages-alone conversation takes from its rows
    conversation_cells: list[tuple[str, int]]
    has_body_column: bool


class UnbuiltConversation(NamedTuple):
    """A conversation's rows as staged (its conversation row first, if any), to build."""

    key: str
    location: str
    payloads: list[bytes]


class CsvStage:
    """The staging of one CSV export in a :class:`GroupedRows` store of ``folder``: conversation
    rows are parent rows, message rows children, keyed by conversation id."""

    def __init__(self, folder: Path, files: Sequence[tuple[InputFile, str]], columns: CsvColumns):
        self.files = [input_file for input_file, _ in files]
        self.kinds = [kind for _, kind in files]
        self.columns = columns
        self.headers: list[list[str]] = [[] for _ in files]
        self.layout: list[_FileColumns | None] = [None for _ in files]
        self.messages_only = "conversations" not in self.kinds
        # with messages alone, a column both tables name (created_at) is the message's
        self.message_owned = (
            set(columns.message.values()) - {columns.message["conversation_id"], ""}
            if self.messages_only
            else set()
        )
        self.store = GroupedRows(folder, "csv-stage.sqlite")
        self.names = [input_file.name for input_file in self.files]
        #: how many columns a messages-alone conversation may take from its rows, in all files
        self.conversation_columns = 0
        #: (field, column, path in ``field_locations``) of the conversation fields read
        self.conversation_fields = [
            (field_name, column, field_name.replace("customer_", "customer.", 1))
            for field_name, column in columns.conversation.items()
            if column and column not in self.message_owned
        ]

    def close(self) -> None:
        self.store.close()

    def _location(self, row: _Good | _Broken) -> str:
        return f"{self.files[row.file].name}:{row.line}"

    # -- staging -------------------------------------------------------------------------------
    def stage(self) -> None:
        """Read every file into the store: conversation files first, then message files."""
        # csv is given no record over LARGE_RECORD (larger ones are parsed by _CsvRows)
        csv.field_size_limit(max(csv.field_size_limit(), LARGE_RECORD + 1))
        order = sorted(range(len(self.files)), key=lambda i: self.kinds[i] != "conversations")
        for index in order:
            self._stage_file(index)
        self.conversation_columns = len(
            {name for layout in self.layout if layout for name, _ in layout.conversation_cells}
        )

    def _stage_file(self, index: int) -> None:
        input_file, kind = self.files[index], self.kinds[index]
        id_column = (
            self.columns.conversation["source_id"]
            if kind == "conversations"
            else self.columns.message["conversation_id"]
        )
        with input_file.open() as stream:
            rows = iter(_CsvRows(stream, self.columns.delimiter, input_file.limits))
            first = next(rows, None)
            if first is None or first.fields is None:
                why = first.problem if first is not None else "the file is empty"
                line = first.line if first is not None else 1
                raise FormatError(
                    f"{input_file.name}:{line}: the header row cannot be read: {why}; "
                    "fix the header row, nothing in the file can be read without it"
                )
            # read as detection read it: NUL bytes dropped (a NUL is a row's problem, and the
            # header's names are what recognised the file)
            self.headers[index] = [name.replace("\0", "").strip() for name in first.fields]
            if id_column not in self.headers[index]:
                raise FormatError(
                    f"{input_file.name}:{first.line}: the header row has no {id_column!r} column "
                    "(it holds "
                    + ", ".join(repr(name) for name in self.headers[index][:8])
                    + "); name the columns with --mapping (see mappings/csv.toml)"
                )
            self._stage_rows(index, rows, id_column, kind == "conversations")

    def _stage_rows(
        self, index: int, rows: Iterator[_Row], id_column: str, conversations: bool
    ) -> None:
        input_file = self.files[index]
        header = self.headers[index]
        self.layout[index] = self._file_columns(header)
        id_index = header.index(id_column)
        width = len(header)
        # marshal: the fastest codec of tuples of str and int, for a file this process writes
        # and reads back (a good row as _Good, a broken one as _Broken: told apart by length)
        add, dumps = self.store.add, marshal.dumps
        for line, row, replaced, nuls, problem, text, known in rows:
            cid = None
            if row is not None and id_index < len(row):
                cid = row[id_index].strip() or None
            if row is not None and len(row) == width and cid is not None:
                add(cid, conversations, dumps((index, line, replaced, nuls, row)))  # a _Good
                continue
            location = f"{input_file.name}:{line}"
            error_at = location
            if row is None:
                # the cells read before the trouble name its conversation, when they can
                if known is not None and id_index < len(known):
                    cid = known[id_index].strip() or None
                error = problem or "the CSV row cannot be parsed"
            elif len(row) != width:
                error = (
                    f"the row has {len(row)} fields, the header has {width}: "
                    "a field holding the delimiter, a quote or a line break needs double "
                    "quotes"
                )
                error_at = f"{location}:{min(len(row), width) + 1}"  # first odd field
            else:
                error = f"the conversation id (column {id_column!r}) is empty"
                error_at = f"{location}:{id_index + 1}"
            # the row's text goes with the invalid record
            raw = text if row is None else _row_text(row, self.columns.delimiter)
            broken = _Broken(index, line, replaced, error, error_at, raw)
            # a row without a conversation id is an invalid conversation of its own
            add(cid, conversations or cid is None, dumps(tuple(broken)))

    def _file_columns(self, header: list[str]) -> _FileColumns:
        positions: dict[str, int] = {}
        for position, name in enumerate(header, 1):
            positions.setdefault(name, position)
        message_fields = [
            (
                field_name,
                [i for i in reversed(range(len(header))) if header[i] == column],
                f":{positions[column]}",
            )
            for field_name, column in self.columns.message.items()
            if column and column in positions
        ]
        wanted = {
            column
            for column in self.columns.conversation.values()
            if column and column not in self.message_owned
        }
        prefix = self.columns.custom_field_prefix
        conversation_cells = [
            (name, i) for i, name in enumerate(header) if name in wanted or name.startswith(prefix)
        ]
        body_columns = {self.columns.message["body_html"], self.columns.message["body_text"]}
        return _FileColumns(
            header,
            positions,
            message_fields,
            conversation_cells,
            bool((body_columns - {""}) & set(header)),
        )

    def __getstate__(self) -> dict[str, Any]:
        """What a planning worker is sent to build conversations (:class:`CsvGroups`): all but
        the store, which stays with the process that staged it."""
        return {**self.__dict__, "store": None}

    # -- emitting ------------------------------------------------------------------------------
    def records(self) -> Iterator[SourceRecord]:
        """One :class:`SourceRecord` per conversation, in the order each first appears
        (conversation files first; with messages alone, the first message row of each), then
        one per conversation id that message rows name but no conversation row has."""
        for item in self.items():
            yield item if isinstance(item, SourceRecord) else self.built(item)

    def items(self) -> Iterator[SourceRecord | UnbuiltConversation]:
        """:meth:`records`, the conversations to build still as their rows' bytes."""
        for group in self.store.groups(orphans_last=not self.messages_only):
            head = group[0]
            if head.parent:
                row = _decode(head.payload)
                location = self._location(row)
                if isinstance(row, _Broken):
                    yield _invalid(location, head.key, row.error, row.error_at, row.raw)
                elif head.first_parent != head.seq:
                    yield self._repeated(head, row)
                else:
                    assert head.key is not None
                    payloads = [child.payload for child in group]
                    yield UnbuiltConversation(head.key, location, payloads)
            elif self.messages_only:
                assert head.key is not None
                payloads = [child.payload for child in group]
                location = self._location(_decode(payloads[0]))
                yield UnbuiltConversation(head.key, location, payloads)
            else:
                yield self._orphan(head, group)

    def built(self, unbuilt: UnbuiltConversation) -> SourceRecord:
        """The record of a conversation from its rows."""
        rows = [_decode(payload) for payload in unbuilt.payloads]
        build = partial(self._conversation, unbuilt.key, rows)
        return read_safely(build, unbuilt.location, unbuilt.key)

    def _repeated(self, head: GroupedRow, row: _Good) -> SourceRecord:
        """The invalid record of a conversation row whose id an earlier row has."""
        assert head.first_parent is not None
        payload = self.store.payload(head.first_parent)
        assert payload is not None
        location = self._location(row)
        first_at = self._location(_decode(payload))
        error = f"conversation id {head.key!r} appears again (first at {first_at})"
        cells = _cells(self.headers[row.file], row.fields)
        return _invalid(location, head.key, error, location, cells.get(RAW_TEXT_KEY))

    def _orphan(self, head: GroupedRow, group: Sequence[GroupedRow]) -> SourceRecord:
        conversation_files = ", ".join(
            f.name for f, k in zip(self.files, self.kinds, strict=True) if k == "conversations"
        )
        count = len(group)
        rows = "a message row names" if count == 1 else f"{count} message rows name"
        error = (
            f"{rows} conversation {head.key!r}, which is not in {conversation_files}; "
            "add its row there or correct the id"
        )
        location = self._location(_decode(head.payload))
        return _invalid(location, head.key, error, location)

    def _merged_cells(self, rows: list[_Good | _Broken]) -> dict[str, str]:
        """With ``messages.csv`` alone, the conversation's cells: those of its first good row,
        a column left empty there taken from a later good row (the first non-empty value wins)."""
        merged: dict[str, str] = {}
        for row in rows:
            if len(merged) == self.conversation_columns:
                break  # every column has its value
            if isinstance(row, _Broken):
                continue
            layout = self.layout[row.file]
            assert layout is not None
            cells: dict[str, str] = {}
            fields = row.fields
            for name, i in layout.conversation_cells:
                if fields[i].strip():
                    cells[name] = fields[i]
            for name, value in cells.items():
                if name not in merged:
                    merged[name] = value
        return merged

    def _conversation(self, cid: str, rows: list[_Good | _Broken]) -> SourceRecord:
        """The conversation of the rows of a group: its conversation row then its message rows,
        or with messages alone, its message rows (the first stands for the conversation)."""
        if self.messages_only:
            file, line, replaced, nuls = rows[0].file, rows[0].line, 0, 0
            cells = self._merged_cells(rows)
        else:
            head, *rows = rows
            assert isinstance(head, _Good)
            file, line, replaced, nuls = head.file, head.line, head.replaced, head.nuls
            cells = _cells(self.headers[file], head.fields)
        location = f"{self.files[file].name}:{line}"
        record = SourceRecord(location, None, cid)
        data = self._conversation_data(cells, file, line, record)
        messages: list[dict[str, Any]] = []
        bad_rows: list[Finding] = []
        raw_rows: list[str] = []
        for message in rows:
            if isinstance(message, _Broken):  # the conversation is invalid; its good rows kept
                bad_rows.append(Finding("read", "parse", message.error, message.error_at, cid))
                raw_rows.append(message.raw or "")
                continue
            replaced += message.replaced
            nuls += message.nuls
            where = f"{self.names[message.file]}:{message.line}"
            messages.append(self._message_data(message, record, where))
            record.message_locations.append(where)
        data["messages"] = messages
        if bad_rows:
            record.error, record.left_out[:0] = bad_rows[0], bad_rows[1:]
            data[RAW_TEXT_KEY] = "\n".join(raw_rows)
        if replaced:
            record.warnings.append(
                Finding("read", "encoding", encoding_message(replaced), location, cid)
            )
        if nuls:
            record.warnings.append(Finding("read", "nul", nul_message(nuls), location, cid))
        record.data = data
        return record

    def _at(self, file: int, line: int, column: str) -> str:
        layout = self.layout[file]
        assert layout is not None
        position = layout.positions.get(column) or self.headers[file].index(column) + 1
        return f"{self.files[file].name}:{line}:{position}"

    def _conversation_data(
        self, cells: dict[str, str], file: int, line: int, record: SourceRecord
    ) -> dict[str, Any]:
        names = self.columns.conversation
        value = {f: cells[c] for f, c, _ in self.conversation_fields if c in cells}
        layout = self.layout[file]
        assert layout is not None
        positions = layout.positions
        where = f"{self.names[file]}:{line}:"
        for field_name, column, path in self.conversation_fields:
            if field_name in value:
                if column in positions:
                    record.field_locations[path] = f"{where}{positions[column]}"
                else:  # a column of another file's header only
                    record.field_locations[path] = self._at(file, line, column)
        data: dict[str, Any] = {"source_id": record.source_id}
        for field_name in ("subject", "status", "created_at", "closed_at"):
            if field_name in value:
                data[field_name] = value[field_name]
        for field_name in ("assignee_email", "assignee_id"):
            if field_name in value:
                data[field_name] = value[field_name].strip()
        customer = {
            key: value[f"customer_{key}"].strip()
            for key in ("id", "email", "first_name", "last_name", "phone")
            if f"customer_{key}" in value
        }
        data["customer"] = customer
        if "type" in value:
            word = value["type"].strip().lower()
            if word in self.columns.channel_words:
                data["type"] = self.columns.channel_words[word]
            else:
                record.warnings.append(
                    Finding(
                        "read",
                        "type",
                        f"channel {value['type']!r} is not a channel word of the mapping; "
                        "the conversation is read as email (add the word to [channel_words])",
                        self._at(file, line, names["type"]),
                        record.source_id,
                    )
                )
        if "tags" in value:
            data["tags"] = self._split(value["tags"])
        prefix = self.columns.custom_field_prefix
        custom = {k[len(prefix) :]: v for k, v in cells.items() if k.startswith(prefix)}
        if custom:
            data["custom_fields"] = custom
        return data

    def _split(self, cell: str) -> list[str]:
        return [item.strip() for item in cell.split(self.columns.list_separator) if item.strip()]

    def _message_data(self, row: _Good, record: SourceRecord, where: str) -> dict[str, Any]:
        """The message of ``row`` (at ``where``, ``file:line``)."""
        layout = self.layout[row.file]
        assert layout is not None
        fields = row.fields
        value: dict[str, str] = {}
        path = f"messages[{len(record.message_locations)}]."  # its place in data["messages"]
        locations = record.field_locations
        for field_name, indexes, column in layout.message_fields:
            for i in indexes:
                if fields[i].strip():
                    value[field_name] = fields[i]
                    locations[path + field_name] = where + column
                    break
        message: dict[str, Any] = {}
        for field_name in ("created_at", "body_html", "body_text", "author_name"):
            if field_name in value:
                message[field_name] = value[field_name]
        for field_name in ("source_id", "author_id", "author_email"):
            if field_name in value:
                message[field_name] = value[field_name].strip()
        if "author_role" in value:
            word = value["author_role"].strip().lower()
            message["author_role"] = self.columns.role_words.get(word, word)
        if "private" in value:
            message["private"] = value["private"].strip().lower() in self.columns.true_words
        if "attachments" in value:
            location = self._at(row.file, row.line, self.columns.message["attachments"])
            message["attachments"] = self._attachments(
                value["attachments"], row.file, location, record
            )
        if layout.has_body_column and "body_html" not in message and "body_text" not in message:
            # empty body cells: an empty body, as in canonical input (left out, or "(attachment)")
            message["body_text"] = ""
        return message

    def _attachments(
        self, cell: str, file: int, location: str, record: SourceRecord
    ) -> list[dict[str, Any]]:
        attachments: list[dict[str, Any]] = []
        for relative in self._split(cell):
            name = posixpath.basename(relative.replace("\\", "/")) or relative
            try:
                ref = self.files[file].resolve(relative)
            except AttachmentPathError as exc:
                record.left_out.append(
                    Finding(
                        "attachment",
                        "path",
                        f"attachment {name!r} is left out: {exc}",
                        location,
                        record.source_id,
                    )
                )
                continue
            attachments.append(
                {
                    "file_name": name,
                    "content_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
                    "size": attachment_size(ref),
                    "path": ref,
                }
            )
        return attachments


def _invalid(
    location: str, cid: str | None, error: str, error_at: str | None, raw: str | None = None
) -> SourceRecord:
    finding = Finding("read", "parse", error, error_at or location, cid)
    return SourceRecord(location, None, cid, error=finding, raw_text=raw)


def read_generic_csv(
    files: Sequence[tuple[InputFile, str]], columns: CsvColumns, folder: Path
) -> Iterator[SourceRecord]:
    """Stage ``files`` (each with its kind) in ``folder``, then yield their conversations."""
    stage = CsvStage(folder, files, columns)
    try:
        stage.stage()
        yield from stage.records()
    finally:
        stage.close()


@dataclass
class CsvGroups(RecordBatch):
    """Conversations of a staged CSV export for a planning worker: those to build as their rows'
    bytes (the worker builds them), the invalid ones already read."""

    stage: CsvStage
    items: list[SourceRecord | UnbuiltConversation]

    def records(self) -> Iterator[SourceRecord]:
        for item in self.items:
            yield item if isinstance(item, SourceRecord) else self.stage.built(item)

    @property
    def weight(self) -> int:
        """The bytes of the staged rows this batch sends."""
        return sum(
            sum(map(len, item.payloads))
            for item in self.items
            if isinstance(item, UnbuiltConversation)
        )


def generic_csv_batches(
    files: Sequence[tuple[InputFile, str]], columns: CsvColumns, folder: Path, size: int
) -> Iterator[CsvGroups]:
    """:func:`read_generic_csv` in batches of ``size`` conversations, built where planned."""
    stage = CsvStage(folder, files, columns)
    try:
        stage.stage()
        items: list[SourceRecord | UnbuiltConversation] = []
        weight = 0
        for item in stage.items():
            items.append(item)
            if isinstance(item, UnbuiltConversation):
                weight += sum(map(len, item.payloads))
            if len(items) >= size or weight >= BATCH_BYTES:
                yield CsvGroups(stage, items)
                items, weight = [], 0
        if items:
            yield CsvGroups(stage, items)
    finally:
        stage.close()


class CsvReader(Reader):
    """The generic CSV layout: roles ``conversations`` and ``messages``, told apart by header."""

    detection_place = 20
    reads_files_given = False
    info = FormatInfo(
        "csv",
        "generic CSV: one row per conversation plus one row per message",
        "conversations.csv + messages.csv, or messages.csv alone (told apart by header)",
        True,
    )
    roles = ("conversations", "messages")

    def does_not_fit(self, names: str) -> str:
        return (
            f"--format csv does not fit {names}: no header has the conversation id column "
            "and conversation or message columns of the csv mapping; name your columns "
            "with --mapping (see mappings/csv.toml)"
        )

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return None  # no JSON records

    def sniff_csv(self, header: Sequence[str], mapping: dict[str, Any]) -> str | None:
        return csv_columns(mapping).kind_of(list(header))

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        csv_columns(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        yield from read_generic_csv(self._by_role(files), csv_columns(mapping), workdir)

    def record_batches(
        self,
        files: Mapping[str, Sequence[RoleFile]],
        mapping: dict[str, Any],
        workdir: Path,
        size: int,
    ) -> Iterator[RecordBatch]:
        return generic_csv_batches(self._by_role(files), csv_columns(mapping), workdir, size)

    def _by_role(self, files: Mapping[str, Sequence[RoleFile]]) -> list[tuple[InputFile, str]]:
        return [(rf.file, rf.role) for role in self.roles for rf in files.get(role, ())]


READER = CsvReader()
