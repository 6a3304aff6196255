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

A file is NDJSON when its first line holds a whole JSON object (or at least ends in ``}``): then
every line is parsed on its own, a broken line is reported and reading goes on with the next.
Anything else goes through :class:`~importer.readers.scanner.JsonItemScanner`, which splits the
document without loading it; there a broken structure is reported with the lines and bytes it
cost, and reading goes on at the next record the scanner finds.

Bounded (:mod:`importer.readers.limits`, carried by the ``InputFile``): a line or record over
``max_record_bytes`` is not held in memory (a line is read no further than the bound, then
skipped to its end) and comes out as one record that could not be parsed, with its place and
size; a record nested deeper than ``max_json_depth`` is refused on its bytes before ``json``
parses it, so no ``RecursionError`` can come out of a record.

ETL wrappers are unwrapped, keeping the stream name, streams interleaved in any order: Airbyte
``{"stream", "data", "emitted_at"}`` lines (``emitted_at`` may be missing) and the full ``{"type":
"RECORD", "record": {...}}`` message, Singer ``{"type": "RECORD", "stream", "record"}`` lines
(their ``SCHEMA`` and ``STATE`` lines carry no records). A parsed object that is itself a
container (``{"tickets": [...]}`` on one line) yields its records.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from importer.readers.inputs import InputFile
from importer.readers.limits import (
    DEFAULT_LIMITS,
    ReadLimits,
    json_depth_over,
    nesting_message,
    over_record_bound,
)
from importer.readers.scanner import (
    RECORD_LIST_KEYS,
    RECORD_MARKER_KEYS,
    JsonItemScanner,
    ScannedItem,
    is_request_path,
)
from importer.readers.text import decode_bytes, strip_bom

CHUNK_BYTES = 1 << 20
#: the bytes of a run of raw lines (see :func:`json_line_runs`)
RUN_BYTES = 8 << 20
SINGER_CONTROL_TYPES = frozenset({"SCHEMA", "STATE", "ACTIVATE_VERSION", "BATCH", "LOG", "TRACE"})

_ID_HINT = re.compile(r'"(?:source_id|id)"\s*:\s*"?([^",}\s]+)')


#: how much of an unparsable record is kept for the dead-letter file
MAX_RAW_TEXT = 1_000_000


@dataclass(frozen=True)
class JsonRecord:
    """One record of a JSON file, or the reason it could not be parsed.

    ``location`` is ``file:line`` (the line the record starts on); ``stream`` the ETL stream or
    the key of the list that held it (``None`` for a bare record); ``request_path`` the key of the
    page it came from in a dump keyed by request path.
    """

    location: str
    data: dict[str, Any] | None
    stream: str | None = None
    error: str | None = None
    id_hint: str | None = None  # a best guess at the record's id when it could not be parsed
    replaced_bytes: int = 0  # bytes read as cp1252 (see ``importer.readers.text``)
    raw_text: str | None = None  # the text of a record that could not be parsed, to fix it
    request_path: str | None = None  # "/api/v2/tickets/1/comments.json" for a keyed page


def _unwrap(value: Any, stream: str | None) -> tuple[Any, str | None] | None:
    """The record inside an ETL wrapper, ``None`` for a wrapper line that holds no record."""
    if not isinstance(value, dict):
        return value, stream
    if value.get("type") == "RECORD" and isinstance(value.get("record"), dict):
        inner = value["record"]
        if "stream" in value:  # Singer
            return inner, str(value["stream"])
        if isinstance(inner.get("data"), dict) and "stream" in inner:  # Airbyte message
            return inner["data"], str(inner["stream"])
    kind = value.get("type")
    if (
        isinstance(kind, str)
        and kind in SINGER_CONTROL_TYPES
        and not RECORD_MARKER_KEYS & value.keys()
    ):
        return None
    if (  # Airbyte record lines, also plain {"stream", "data"} lines (no record marker)
        isinstance(value.get("data"), dict)
        and isinstance(value.get("stream"), str)
        and not RECORD_MARKER_KEYS & value.keys()
    ):
        return value["data"], value["stream"]
    return value, stream


def _hal_lists(value: dict[str, Any]) -> list[tuple[str, list[Any]]] | None:
    """The record lists of a HAL page (``{"_embedded": {"conversations": [...]}, "page": ...}``);
    none for a page without ``_embedded``; ``None`` for an object that is not a HAL page."""
    embedded = value.get("_embedded")
    if isinstance(embedded, dict):
        return [
            (key, items)
            for key, items in embedded.items()
            if isinstance(items, list) and (not items or isinstance(items[0], dict))
        ]
    page = value.get("page")
    if "_links" in value and isinstance(page, dict) and {"totalElements", "number"} & page.keys():
        return []
    return None


def container_lists(value: dict[str, Any]) -> list[tuple[str, list[Any]]] | None:
    """The record lists of a container object (``{"tickets": [...]}``), ``None`` for a record."""
    if RECORD_MARKER_KEYS & value.keys():
        return None
    hal = _hal_lists(value)
    if hal is not None:
        return hal
    lists = [
        (key, items)
        for key, items in value.items()
        if isinstance(items, list)
        and key not in RECORD_LIST_KEYS
        and (not items or isinstance(items[0], dict))
    ]
    return lists or None


def _pages_by_path(value: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """The pages of an object keyed by request path, ``None`` for anything else."""
    if not value or RECORD_MARKER_KEYS & value.keys():
        return None
    if all(is_request_path(key) for key in value):
        return list(value.items())
    return None


def _wrapped_record(value: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``("ticket", {...})`` for ``{"ticket": {"id": ...}}``: one record under one key."""
    if len(value) != 1:
        return None
    [(key, inner)] = value.items()
    if isinstance(inner, dict) and RECORD_MARKER_KEYS & inner.keys() and not is_request_path(key):
        return key, inner
    return None


def _records_of(
    value: Any, location: str, stream: str | None, replaced: int, path: str | None = None
) -> Iterator[JsonRecord]:
    unwrapped = _unwrap(value, stream)
    if unwrapped is None:
        return
    value, stream = unwrapped
    if isinstance(value, dict):
        pages = _pages_by_path(value)
        if pages is not None:
            for page_path, page in pages:
                if isinstance(page, list):
                    for item in page:
                        yield from _records_of(item, location, None, replaced, page_path)
                elif isinstance(page, dict):
                    yield from _records_of(page, location, None, replaced, page_path)
            return
        wrapped = _wrapped_record(value)
        if wrapped is not None:
            stream, value = wrapped
        lists = container_lists(value)
        if lists is None:
            yield JsonRecord(location, value, stream, replaced_bytes=replaced, request_path=path)
            return
        for key, items in lists:
            key_stream, key_path = (None, key) if is_request_path(key) else (key, path)
            for item in items:
                yield from _records_of(item, location, key_stream, replaced, key_path)
        return
    kind = "an array" if isinstance(value, list) else type(value).__name__
    yield JsonRecord(
        location,
        None,
        stream,
        error=f"a record must be a JSON object, not {kind}",
        replaced_bytes=replaced,
        request_path=path,
    )


def _refused(
    location: str, stream: str | None, message: str, raw: bytes, path: str | None
) -> JsonRecord:
    """A record refused before parsing (over a bound), with what can be kept of its text."""
    head = raw[: MAX_RAW_TEXT + 1].decode("utf-8", "replace")
    hint = _ID_HINT.search(head[:65_536])
    return JsonRecord(
        location,
        None,
        stream,
        error=message,
        id_hint=hint.group(1) if hint else None,
        raw_text=head[:MAX_RAW_TEXT] or None,
        request_path=path,
    )


def _parse(
    raw: bytes,
    name: str,
    line: int,
    stream: str | None,
    path: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    located_at: int = 0,
) -> Iterator[JsonRecord]:
    """The records of ``raw`` (which starts on ``line``), located at ``located_at`` when given
    (a record of a HAL page: the page's line)."""
    location = f"{name}:{located_at or line}"
    if is_request_path(stream):  # a list keyed by request path: {"/api/v2/users.json": [...]}
        stream, path = None, stream
    if len(raw) > limits.max_record_bytes:
        message = over_record_bound(f"the record at line {line}", len(raw), limits)
        yield _refused(location, stream, message, raw, path)
        return
    if json_depth_over(raw, limits.max_json_depth) is not None:
        message = nesting_message(f"the record at line {line}", limits)
        yield _refused(location, stream, message, raw, path)
        return
    text, replaced = decode_bytes(raw)
    try:
        value = json.loads(text)
    except RecursionError:  # within the depth bound, but past what this stack takes
        message = nesting_message(f"the record at line {line}", limits)
        yield _refused(location, stream, message, raw, path)
        return
    except json.JSONDecodeError as exc:
        value = _without_trailing_commas(text)
        if value is not None:  # a comma before ] or }: no data in it, nothing to report
            yield from _records_of(value, location, stream, replaced, path)
            return
        hint = _ID_HINT.search(text)
        yield JsonRecord(
            location,
            None,
            stream,
            error=(
                f"not valid JSON: {exc.msg} at line {line + exc.lineno - 1} column {exc.colno}; "
                "fix the record (or the export tool that wrote it) and read the file again"
            ),
            id_hint=hint.group(1) if hint else None,
            replaced_bytes=replaced,
            raw_text=text.strip("\r\n")[:MAX_RAW_TEXT],
            request_path=path,
        )
        return
    yield from _records_of(value, location, stream, replaced, path)


_TRAILING_COMMA = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|,(\s*[\]}])')


def _without_trailing_commas(text: str) -> Any | None:
    """``text`` parsed with the commas before a ``]`` or ``}`` left out (as JavaScript and
    many hand-edited exports write them), or ``None`` when it is broken otherwise."""
    if "," not in text:
        return None
    repaired = _TRAILING_COMMA.sub(lambda found: found.group(1) or found.group(2), text)
    if repaired == text:
        return None
    try:
        return json.loads(repaired)
    except (ValueError, RecursionError):
        return None


def _first_content_line(stream: BinaryIO, limits: ReadLimits) -> tuple[bytes, int]:
    """The first line that is not blank (BOM removed) and its line number (0 for an empty
    file); a line longer than the record bound comes cut at the bound (see
    :func:`_looks_like_ndjson`)."""
    number = 0
    while True:
        line = stream.readline(_line_bound(limits))
        if not line:
            return b"", 0
        number += 1
        if number == 1:
            line = strip_bom(line)
        if line.strip():
            return line, number


def _line_bound(limits: ReadLimits) -> int:
    """How much of a line is read at once: the record bound and its line break (``\r\n``)."""
    return limits.max_record_bytes + 2


def _looks_like_ndjson(line: bytes, limits: ReadLimits) -> bool:
    if not line.lstrip().startswith(b"{"):
        return not line.lstrip().startswith(b"[")
    if not line.endswith(b"\n") and len(line) >= _line_bound(limits):
        return False  # one huge line: let the scanner split it
    body = line.strip()
    if body.endswith(b"}") or json_depth_over(body, limits.max_json_depth) is not None:
        return True  # a record a line (one nested too deep is refused on its own line)
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def bounded_lines(stream: BinaryIO, limits: ReadLimits) -> Iterator[bytes | int]:
    """The lines of ``stream``; a line over the record bound is read no further than the bound
    and skipped to its end, and comes as its size (an ``int``) instead of its bytes."""
    bound = _line_bound(limits)
    readline = stream.readline
    while line := readline(bound):
        if len(line) < bound or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        while line and not line.endswith(b"\n"):
            line = readline(CHUNK_BYTES)
            size += len(line)
        yield size


def _ndjson_records(
    stream: BinaryIO, name: str, first: bytes, first_number: int, limits: ReadLimits
) -> Iterator[JsonRecord]:
    yield from _parse(first.strip(), name, first_number, None, None, limits)
    for number, line in enumerate(bounded_lines(stream, limits), start=first_number + 1):
        if isinstance(line, int):
            yield _line_over_bound(name, number, line, limits)
            continue
        body = line.strip()
        if body:
            yield from _parse(body, name, number, None, None, limits)


def _line_over_bound(name: str, number: int, size: int, limits: ReadLimits) -> JsonRecord:
    message = over_record_bound(f"line {number}", size, limits)
    return JsonRecord(f"{name}:{number}", None, error=message)


def _scanned_records(
    scanner: JsonItemScanner,
    chunks: Iterable[bytes],
    name: str,
    limits: ReadLimits,
    path: str | None = None,
) -> Iterator[JsonRecord]:
    """The records of the items ``scanner`` splits ``chunks`` into; a page keyed by request path
    is split again, so each of its records keeps its own line."""
    for chunk in chunks:
        for item in scanner.feed(chunk):
            yield from _item_records(item, name, limits, path)
    for item in scanner.finish():
        yield from _item_records(item, name, limits, path)


def _item_records(
    item: ScannedItem, name: str, limits: ReadLimits, path: str | None
) -> Iterator[JsonRecord]:
    # a record of a HAL page is located at its page; damage where it is (page_line 0)
    location = f"{name}:{item.page_line or item.line}"
    if item.error is not None:
        yield JsonRecord(location, None, item.stream, error=item.error, request_path=path)
    elif item.oversize:
        what = f"the page of {item.path}" if item.path else f"the record at line {item.line}"
        message = over_record_bound(what, item.oversize, limits)
        yield JsonRecord(location, None, item.stream, error=message, request_path=path)
    elif item.path is not None:
        page = JsonItemScanner(item.line, limits.max_record_bytes)
        yield from _scanned_records(page, [item.raw], name, limits, item.path)
    else:
        yield from _parse(item.raw, name, item.line, item.stream, path, limits, item.page_line)


def _chunks(stream: BinaryIO, first: bytes) -> Iterator[bytes]:
    chunk = first
    while chunk:
        yield chunk
        chunk = stream.read(CHUNK_BYTES)


def _document_records(
    stream: BinaryIO, name: str, first: bytes, first_number: int, limits: ReadLimits
) -> Iterator[JsonRecord]:
    scanner = JsonItemScanner(first_number, limits.max_record_bytes)
    yield from _scanned_records(scanner, _chunks(stream, first), name, limits)


def iter_json_records(input_file: InputFile) -> Iterator[JsonRecord]:
    """Every record of ``input_file`` in file order, each with its ``name:line`` location."""
    limits = input_file.limits
    with input_file.open() as stream:
        first, number = _first_content_line(stream, limits)
        if not first:
            return
        if _looks_like_ndjson(first, limits):
            yield from _ndjson_records(stream, input_file.name, first, number, limits)
        else:
            yield from _document_records(stream, input_file.name, first, number, limits)


@dataclass(frozen=True)
class JsonLines:
    """Consecutive lines of an NDJSON file (each with its line number), not yet parsed: what a
    worker process is sent instead of the records (raw bytes cost next to nothing to send)."""

    name: str
    lines: list[tuple[int, bytes | int]]  # a line over the bound: its size
    limits: ReadLimits = DEFAULT_LIMITS

    @property
    def weight(self) -> int:
        """The bytes of these lines (a line over the bound weighs nothing: it is not held)."""
        return sum(len(body) for _, body in self.lines if isinstance(body, bytes))

    def json_records(self) -> Iterator[JsonRecord]:
        """The records of these lines, as :func:`iter_json_records` reads them."""
        for number, body in self.lines:
            if isinstance(body, int):
                yield _line_over_bound(self.name, number, body, self.limits)
            else:
                yield from _parse(body, self.name, number, None, None, self.limits)


def json_line_runs(
    input_file: InputFile, size: int, max_bytes: int = RUN_BYTES
) -> Iterator[JsonLines | JsonRecord]:
    """:func:`iter_json_records`, where the lines of an NDJSON file come unparsed in runs of at
    most ``size`` lines and about ``max_bytes`` (a run ends at the line that reaches them); the
    records of other containers come one by one, parsed."""
    limits = input_file.limits
    with input_file.open() as stream:
        first, first_number = _first_content_line(stream, limits)
        if not first:
            return
        if not _looks_like_ndjson(first, limits):
            yield from _document_records(stream, input_file.name, first, first_number, limits)
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
                yield JsonLines(input_file.name, run, limits)
                run, run_bytes = [], 0
        if run:
            yield JsonLines(input_file.name, run, limits)


def id_after(request_path: str | None, segment: str) -> str | None:
    """The path segment after ``segment``: ``id_after("/api/v2/tickets/7/comments.json",
    "tickets")`` is ``"7"``; ``None`` when the path has no such segment."""
    if not request_path:
        return None
    parts = request_path.split("?", 1)[0].split("/")
    for index, part in enumerate(parts[:-1]):
        if part == segment and parts[index + 1]:
            return parts[index + 1].removesuffix(".json")
    return None
