"""JSON records of one file, whatever the container: NDJSON, an array, or an object with lists.

A file is NDJSON when its first line holds a whole JSON object (or at least ends in ``}``): then
every line is parsed on its own, a broken line is reported and reading goes on with the next.
Anything else goes through :class:`~importer.readers.scanner.JsonItemScanner`, which splits the
document without loading it; there a broken structure is reported once and the file ends there.

ETL wrappers are unwrapped, keeping the stream name: Airbyte ``{"stream", "data", "emitted_at"}``
lines (and the full ``{"type": "RECORD", "record": {...}}`` message), Singer ``{"type": "RECORD",
"stream", "record"}`` lines (their ``SCHEMA`` and ``STATE`` lines carry no records). A parsed
object that is itself a container (``{"tickets": [...]}`` on one line) yields its records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from importer.readers.inputs import InputFile
from importer.readers.scanner import (
    RECORD_LIST_KEYS,
    RECORD_MARKER_KEYS,
    JsonItemScanner,
    JsonScanError,
)
from importer.readers.text import decode_bytes, strip_bom

CHUNK_BYTES = 1 << 20
FIRST_LINE_LIMIT = 64 << 20
SINGER_CONTROL_TYPES = frozenset({"SCHEMA", "STATE", "ACTIVATE_VERSION", "BATCH", "LOG", "TRACE"})

_ID_HINT = re.compile(r'"(?:source_id|id)"\s*:\s*"?([^",}\s]+)')


#: how much of an unparsable record is kept for the dead-letter file
MAX_RAW_TEXT = 1_000_000


@dataclass(frozen=True)
class JsonRecord:
    """One record of a JSON file, or the reason it could not be parsed."""

    location: str
    data: dict[str, Any] | None
    stream: str | None = None
    error: str | None = None
    id_hint: str | None = None  # a best guess at the record's id when it could not be parsed
    replaced_bytes: int = 0  # bytes read as cp1252 (see ``importer.readers.text``)
    raw_text: str | None = None  # the text of a record that could not be parsed, to fix it


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
    if value.get("type") in SINGER_CONTROL_TYPES and not RECORD_MARKER_KEYS & value.keys():
        return None
    if (
        isinstance(value.get("data"), dict)
        and "stream" in value
        and ("emitted_at" in value or "_airbyte_emitted_at" in value)
    ):
        return value["data"], str(value["stream"])
    return value, stream


def container_lists(value: dict[str, Any]) -> list[tuple[str, list[Any]]] | None:
    """The record lists of a container object (``{"tickets": [...]}``), ``None`` for a record."""
    if RECORD_MARKER_KEYS & value.keys():
        return None
    lists = [
        (key, items)
        for key, items in value.items()
        if isinstance(items, list)
        and key not in RECORD_LIST_KEYS
        and (not items or isinstance(items[0], dict))
    ]
    return lists or None


def _records_of(
    value: Any, location: str, stream: str | None, replaced: int
) -> Iterator[JsonRecord]:
    unwrapped = _unwrap(value, stream)
    if unwrapped is None:
        return
    value, stream = unwrapped
    if isinstance(value, dict):
        lists = container_lists(value)
        if lists is None:
            yield JsonRecord(location, value, stream, replaced_bytes=replaced)
            return
        for key, items in lists:
            for item in items:
                yield from _records_of(item, location, key, replaced)
        return
    kind = "an array" if isinstance(value, list) else type(value).__name__
    yield JsonRecord(
        location,
        None,
        stream,
        error=f"a record must be a JSON object, not {kind}",
        replaced_bytes=replaced,
    )


def _parse(raw: bytes, name: str, line: int, stream: str | None) -> Iterator[JsonRecord]:
    text, replaced = decode_bytes(raw)
    location = f"{name}:{line}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
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
        )
        return
    yield from _records_of(value, location, stream, replaced)


def _first_content_line(stream: BinaryIO) -> tuple[bytes, int]:
    """The first line that is not blank (BOM removed) and its line number (0 for an empty file)."""
    number = 0
    while True:
        line = stream.readline(FIRST_LINE_LIMIT)
        if not line:
            return b"", 0
        number += 1
        if number == 1:
            line = strip_bom(line)
        if line.strip():
            return line, number


def _looks_like_ndjson(line: bytes) -> bool:
    if not line.lstrip().startswith(b"{"):
        return not line.lstrip().startswith(b"[")
    if not line.endswith(b"\n") and len(line) >= FIRST_LINE_LIMIT:
        return False  # one huge line: let the scanner split it
    body = line.strip()
    if body.endswith(b"}"):
        return True
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _ndjson_records(
    stream: BinaryIO, name: str, first: bytes, first_number: int
) -> Iterator[JsonRecord]:
    yield from _parse(first.strip(), name, first_number, None)
    for number, line in enumerate(stream, start=first_number + 1):
        body = line.strip()
        if body:
            yield from _parse(body, name, number, None)


def _document_records(
    stream: BinaryIO, name: str, first: bytes, first_number: int
) -> Iterator[JsonRecord]:
    scanner = JsonItemScanner(first_line=first_number)
    chunk = first
    try:
        while chunk:
            for item in scanner.feed(chunk):
                yield from _parse(item.raw, name, item.line, item.stream)
            chunk = stream.read(CHUNK_BYTES)
        scanner.finish()
    except JsonScanError as exc:
        yield JsonRecord(
            f"{name}:{exc.line}",
            None,
            error=f"{exc}; the rest of the file is not read",
        )


def iter_json_records(input_file: InputFile) -> Iterator[JsonRecord]:
    """Every record of ``input_file`` in file order, each with its ``name:line`` location."""
    with input_file.open() as stream:
        first, number = _first_content_line(stream)
        if not first:
            return
        if _looks_like_ndjson(first):
            yield from _ndjson_records(stream, input_file.name, first, number)
        else:
            yield from _document_records(stream, input_file.name, first, number)
