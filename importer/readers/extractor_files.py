"""Files as extractors write them: a stream named by the file, Airbyte's raw CSV rows.

The contract's one exception to "by content, never by file name" (its *Inputs* section): a file
named ``<stream>-<14-digit timestamp>.jsonl`` (``target-jsonl``) or ``_airbyte_raw_<stream>.jsonl``
/ ``.csv`` (Airbyte's local JSON and CSV destinations) gives its records that stream as a hint,
used as an envelope's stream is (an envelope's own stream, or the key of a list that holds the
records, still wins); the content still decides the format. Only these exact names count, by the
file's own name (its last path component, in a folder or a zip archive alike).
:func:`stream_hint` is computed once a file.

Airbyte's local CSV destination writes a header of its raw columns (old: ``_airbyte_ab_id,
_airbyte_emitted_at, _airbyte_data``; new: ``_airbyte_raw_id, _airbyte_extracted_at,
_airbyte_loaded_at, _airbyte_data, _airbyte_meta, _airbyte_generation_id``), each row holding
the record as a JSON string in a quoted field. Such a file is recognised by that header (by
content, whatever its name) and read as JSON records: :func:`airbyte_csv_records` splits it into
rows within the record bound (a row is one physical line, or several while a quoted field is
open), and each row's ``_airbyte_data`` is parsed as any JSON record is
(:func:`~importer.readers.record_parse.parse_text`): a row that cannot be split, or whose
``_airbyte_data`` is not valid JSON, is one invalid record at ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from importer.readers.envelopes import JsonRecord
from importer.readers.limits import ReadLimits, over_record_bound
from importer.readers.ndjson import bounded_lines
from importer.readers.record_parse import AIRBYTE_DATA, parse_text
from importer.readers.text import decode_bytes, strip_bom

#: ``target-jsonl``'s ``<stream>-<timestamp>.jsonl`` and Airbyte's ``_airbyte_raw_<stream>.*``;
#: the timestamp as the contract writes it (14 digits) or as target-jsonl's code writes it
#: (``strftime("%Y%m%dT%H%M%S")``: ``20240101T120000``)
_STREAM_NAMES = (
    re.compile(r"(?P<stream>.+)-(?:[0-9]{14}|[0-9]{8}T[0-9]{6})\.jsonl"),
    re.compile(r"_airbyte_raw_(?P<stream>.+)\.(?:jsonl|csv)"),
)
#: the first cell of a raw row header, old columns or new
_RAW_HEADER_START = (b"_airbyte_", b'"_airbyte_')
#: one CSV field: quoted (quotes inside doubled) or not
_QUOTED = re.compile(r'"([^"]*+(?:""[^"]*+)*+)"')

UNCLOSED_QUOTE = (
    "the CSV row cannot be parsed: a quoted field is not closed (a quote inside a quoted field "
    'must be doubled, ""); this line is left out and the lines after it are read as rows'
)
BROKEN_ROW = (
    "the CSV row cannot be parsed: a quoted field is not closed, or is followed by more than "
    'a comma (a quote inside a quoted field must be doubled, "")'
)


def stream_hint(name: str) -> str | None:
    """The stream a file's name gives its records (``tickets`` for ``tickets-20240101120000.jsonl``
    or ``_airbyte_raw_tickets.csv``), ``None`` for any other name. ``name`` is a display name:
    ``export/a.jsonl`` or ``export.zip!dir/a.jsonl``; only its last component counts."""
    base = re.split(r"[/\\!]", name)[-1]
    for pattern in _STREAM_NAMES:
        found = pattern.fullmatch(base)
        if found:
            return found.group("stream")
    return None


def split_csv_row(text: str) -> list[str] | None:
    """The fields of one CSV row (its line break removed), ``None`` when a quoted field is not
    closed or is followed by anything but a comma."""
    fields: list[str] = []
    pos, end = 0, len(text)
    while True:
        if text.startswith('"', pos):
            found = _QUOTED.match(text, pos)
            if found is None:
                return None
            fields.append(found.group(1).replace('""', '"'))
            pos = found.end()
        else:
            comma = text.find(",", pos)
            comma = end if comma < 0 else comma
            fields.append(text[pos:comma])
            pos = comma
        if pos >= end:
            return fields
        if text[pos] != ",":
            return None
        pos += 1


def airbyte_csv_columns(line: bytes) -> list[str] | None:
    """The columns of an Airbyte raw CSV header (every column ``_airbyte_*``, one of them
    ``_airbyte_data``), ``None`` for any other first line."""
    line = strip_bom(line).strip()
    if not line.startswith(_RAW_HEADER_START):
        return None
    columns = split_csv_row(decode_bytes(line)[0])
    if not columns or AIRBYTE_DATA not in columns:
        return None
    if not all(column.startswith("_airbyte_") for column in columns):
        return None
    return columns


class _Rows:
    """The rows of a CSV stream after its header: ``(line, bytes)``, ``(line, size)`` for a row
    over the record bound (skipped to its end, never held), ``(line, None)`` for a line whose
    quoted field is never closed (the lines after it are read again as rows)."""

    def __init__(self, lines: Iterable[tuple[int, bytes | int]], limits: ReadLimits) -> None:
        self._lines = iter(lines)
        self._back: list[tuple[int, bytes | int]] = []
        self._bound = limits.max_record_bytes

    def _next(self) -> tuple[int, bytes | int] | None:
        return self._back.pop() if self._back else next(self._lines, None)

    def __iter__(self) -> Iterator[tuple[int, bytes | int | None]]:
        while (entry := self._next()) is not None:
            number, line = entry
            if isinstance(line, int) or line.count(b'"') % 2 == 0:
                yield entry
            else:
                yield self._joined(number, line)

    def _joined(self, number: int, first: bytes) -> tuple[int, bytes | int | None]:
        """The row that starts with ``first``, whose quoted field goes on to the next lines."""
        held: list[tuple[int, bytes | int]] = [(number, first)]
        size = len(first)
        while (entry := self._next()) is not None:
            line = entry[1]
            if isinstance(line, int):  # its quotes unknown: the row ends with it
                return number, size + line
            size += len(line)
            closes = line.count(b'"') % 2 == 1
            if size > self._bound:
                return number, size if closes else self._skip(size)
            held.append(entry)
            if closes:
                return number, b"".join(part for _, part in held if isinstance(part, bytes))
        self._back.extend(reversed(held[1:]))  # never closed: read the lines after it again
        return number, None

    def _skip(self, size: int) -> int:
        """Past the end of a row over the bound (its quoted field closed): its size."""
        while (entry := self._next()) is not None:
            line = entry[1]
            size += line if isinstance(line, int) else len(line)
            if isinstance(line, int) or line.count(b'"') % 2:
                break
        return size


def _row_records(
    row: bytes, number: int, name: str, *, columns: list[str], hint: str | None, limits: ReadLimits
) -> Iterator[JsonRecord]:
    """The records of one raw row: its ``_airbyte_data`` parsed as a JSON record."""
    text, replaced = decode_bytes(row)
    fields = split_csv_row(text.rstrip("\r\n"))
    if fields is None or len(fields) != len(columns):
        problem = (
            BROKEN_ROW
            if fields is None
            else f"the CSV row has {len(fields)} fields where its header names {len(columns)}"
        )
        yield JsonRecord(f"{name}:{number}", None, hint, error=problem, raw_text=text[:1_000_000])
        return
    data = fields[columns.index(AIRBYTE_DATA)]
    yield from parse_text(data, name, number, stream=hint, limits=limits, replaced=replaced)


def airbyte_csv_records(
    stream: BinaryIO,
    name: str,
    columns: list[str],
    *,
    header_line: int,
    hint: str | None,
    limits: ReadLimits,
) -> Iterator[JsonRecord]:
    """The records of an Airbyte raw CSV file ``name`` whose header (``columns``, on line
    ``header_line``) is read already; each located at the line its row starts on."""
    lines = enumerate(bounded_lines(stream, limits), start=header_line + 1)
    for number, row in _Rows(lines, limits):
        if row is None:
            yield JsonRecord(f"{name}:{number}", None, hint, error=UNCLOSED_QUOTE)
        elif isinstance(row, int):
            message = over_record_bound(f"the row at line {number}", row, limits)
            yield JsonRecord(f"{name}:{number}", None, hint, error=message)
        elif row.strip():
            yield from _row_records(row, number, name, columns=columns, hint=hint, limits=limits)
