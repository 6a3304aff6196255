"""The one container layer of every JSON reader: the records of one file, whatever holds them.

::

    for item in iter_json_records(input_file):       # one JsonRecord per record, in file order
        if item.data is None:                         # could not be parsed: item.error, raw_text
            ...
        item.location, item.stream, item.request_path, item.data

Containers, recognised by content (never by file name):

* NDJSON (one record per line), a JSON array, records one after another (pretty-printed);
* an object wrapping lists of records (``{"tickets": [...], "users": [...]}``, ``{"type":
  "admin.list", "admins": [...]}``): the key is the record's ``stream``;
* API pages (``{"tickets": [...], "next_page": ..., "end_time": ..., "count": ...}``): a wrapping
  object whose scalars are dropped; several pages one after another, or one page per line;
* an object keyed by request path (``{"/api/v2/tickets/1/comments.json": {"comments": [...]}}``,
  ``"GET /tickets/2"``): each value is read as a document of its own, and its records keep the key
  as ``request_path`` (a reader takes the ticket id from it, see :func:`id_after`);
* a lone object wrapping one record (``{"ticket": {"id": 1, ...}}``): the record, its key as stream;
* HAL pages (Help Scout: ``{"_embedded": {"conversations": [...]}, "page": {...}, "_links":
  {...}}``): the lists under ``_embedded`` are the records, the key their stream; a HAL page
  without ``_embedded`` (an empty last page) holds none. The scanner splits a page into its
  records, so a damaged record costs that record only, not its page; each record is located at
  the line its page starts on (as when the page is read whole, on one line of NDJSON).

NDJSON is read line by line (:mod:`importer.readers.ndjson`); anything else goes through
:class:`~importer.readers.scanner.JsonItemScanner`, which splits the document without loading
it; there a broken structure is reported with the lines and bytes it cost, and reading goes on
at the next record the scanner finds. Each record's bytes are parsed within the bounds by
:mod:`importer.readers.record_parse`, and ETL envelopes and wrappers are unwrapped by
:mod:`importer.readers.envelopes` (Airbyte, Singer, a container on one line). The names those
modules define that readers use stay importable from here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import BinaryIO, NamedTuple

from importer.readers.envelopes import (
    SINGER_CONTROL_TYPES,
    JsonRecord,
    container_lists,
    id_after,
    records_of,
)
from importer.readers.extractor_files import airbyte_csv_columns, airbyte_csv_records, stream_hint
from importer.readers.inputs import InputFile
from importer.readers.limits import ReadLimits, over_record_bound
from importer.readers.ndjson import (
    CHUNK_BYTES,
    JsonLines,
    bounded_lines,
    first_content_line,
    looks_like_ndjson,
    ndjson_records,
)
from importer.readers.record_parse import MAX_RAW_TEXT, parse_record
from importer.readers.scanner import (
    RECORD_LIST_KEYS,
    RECORD_MARKER_KEYS,
    JsonItemScanner,
    ScannedItem,
    is_request_path,
)

__all__ = [
    "CHUNK_BYTES",
    "MAX_RAW_TEXT",
    "RECORD_LIST_KEYS",
    "RECORD_MARKER_KEYS",
    "RUN_BYTES",
    "SINGER_CONTROL_TYPES",
    "JsonItemScanner",
    "JsonLines",
    "JsonRecord",
    "ScannedItem",
    "bounded_lines",
    "container_lists",
    "id_after",
    "is_request_path",
    "iter_json_records",
    "json_line_runs",
    "parse_record",
    "records_of",
]

#: the bytes of a run of raw lines (see :func:`json_line_runs`)
RUN_BYTES = 8 << 20


def _scanned_records(
    scanner: JsonItemScanner,
    chunks: Iterable[bytes],
    where: _Where,
    *,
    path: str | None = None,
) -> Iterator[JsonRecord]:
    """The records of the items ``scanner`` splits ``chunks`` into; a page keyed by request path
    is split again, so each of its records keeps its own line."""
    for chunk in chunks:
        for item in scanner.feed(chunk):
            yield from _item_records(item, where, path)
    for item in scanner.finish():
        yield from _item_records(item, where, path)


class _Where(NamedTuple):
    """The file a document is read from: its name, its bounds, the stream its name gives."""

    name: str
    limits: ReadLimits
    hint: str | None


def _item_records(item: ScannedItem, where: _Where, path: str | None) -> Iterator[JsonRecord]:
    # a record of a HAL page is located at its page; damage where it is (page_line 0)
    name, limits = where.name, where.limits
    location = f"{name}:{item.page_line or item.line}"
    stream = item.stream or where.hint
    if item.error is not None:
        yield JsonRecord(location, None, stream, error=item.error, request_path=path)
    elif item.oversize:
        what = f"the page of {item.path}" if item.path else f"the record at line {item.line}"
        message = over_record_bound(what, item.oversize, limits)
        yield JsonRecord(location, None, stream, error=message, request_path=path)
    elif item.path is not None:
        page = JsonItemScanner(item.line, limits.max_record_bytes)
        yield from _scanned_records(page, [item.raw], where, path=item.path)
    else:
        yield from parse_record(
            item.raw,
            name,
            item.line,
            stream=stream,
            path=path,
            limits=limits,
            located_at=item.page_line,
        )


def _chunks(stream: BinaryIO, first: bytes) -> Iterator[bytes]:
    chunk = first
    while chunk:
        yield chunk
        chunk = stream.read(CHUNK_BYTES)


def _document_records(
    stream: BinaryIO, first: bytes, first_number: int, *, where: _Where
) -> Iterator[JsonRecord]:
    scanner = JsonItemScanner(first_number, where.limits.max_record_bytes)
    yield from _scanned_records(scanner, _chunks(stream, first), where)


def _raw_csv_columns(first: bytes) -> list[str] | None:
    """The columns of an Airbyte raw CSV file whose first line is ``first``, else ``None``."""
    if first.lstrip()[:1] in (b"{", b"["):
        return None
    return airbyte_csv_columns(first)


def iter_json_records(input_file: InputFile) -> Iterator[JsonRecord]:
    """Every record of ``input_file`` in file order, each with its ``name:line`` location; an
    Airbyte raw CSV file's rows are its records (see :mod:`importer.readers.extractor_files`)."""
    limits = input_file.limits
    where = _Where(input_file.name, limits, stream_hint(input_file.name))
    with input_file.open() as stream:
        first, number = first_content_line(stream, limits)
        if not first:
            return
        columns = _raw_csv_columns(first)
        if columns is not None:
            yield from airbyte_csv_records(
                stream, where.name, columns, header_line=number, hint=where.hint, limits=limits
            )
        elif looks_like_ndjson(first, limits):
            yield from ndjson_records(
                stream, where.name, first, first_number=number, limits=limits, hint=where.hint
            )
        else:
            yield from _document_records(stream, first, number, where=where)


def json_line_runs(
    input_file: InputFile, size: int, max_bytes: int = RUN_BYTES
) -> Iterator[JsonLines | JsonRecord]:
    """:func:`iter_json_records`, where the lines of an NDJSON file come unparsed in runs of at
    most ``size`` lines and about ``max_bytes`` (a run ends at the line that reaches them); the
    records of other containers come one by one, parsed."""
    limits = input_file.limits
    where = _Where(input_file.name, limits, stream_hint(input_file.name))
    with input_file.open() as stream:
        first, first_number = first_content_line(stream, limits)
        if not first:
            return
        columns = _raw_csv_columns(first)
        if columns is not None:
            yield from airbyte_csv_records(
                stream,
                where.name,
                columns,
                header_line=first_number,
                hint=where.hint,
                limits=limits,
            )
            return
        if not looks_like_ndjson(first, limits):
            yield from _document_records(stream, first, first_number, where=where)
            return
        run: list[tuple[int, bytes | int]] = []
        run_bytes = 0
        lines = enumerate(bounded_lines(stream, limits), start=first_number + 1)
        for number, line in itertools.chain([(first_number, first)], lines):
            body = line if isinstance(line, int) else line.strip()
            if not body:
                continue
            run.append((number, body))
            run_bytes += len(body) if isinstance(body, bytes) else 0
            if len(run) >= size or run_bytes >= max_bytes:
                yield JsonLines(where.name, run, limits, where.hint)
                run, run_bytes = [], 0
        if run:
            yield JsonLines(where.name, run, limits, where.hint)
