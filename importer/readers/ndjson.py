"""NDJSON: a file of one record a line, each line parsed on its own, and how it is recognised.

A file is NDJSON when its first line holds a whole JSON object (or at least ends in ``}``);
then a broken line costs that line only. Lines are read within the record bound: a line over
``max_record_bytes`` is read no further than the bound, skipped to its end and reported with its
place and size, never held in memory. :class:`JsonLines` carries lines unparsed to a worker
process (``--jobs``), where they are parsed as here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from importer.readers.envelopes import JsonRecord
from importer.readers.limits import DEFAULT_LIMITS, ReadLimits, json_depth_over, over_record_bound
from importer.readers.record_parse import parse_record
from importer.readers.text import strip_bom

#: how much of a file is read at once (a document's chunks, the rest of a line over the bound)
CHUNK_BYTES = 1 << 20


def first_content_line(stream: BinaryIO, limits: ReadLimits) -> tuple[bytes, int]:
    """The first line that is not blank (BOM removed) and its line number (0 for an empty
    file); a line longer than the record bound comes cut at the bound (see
    :func:`looks_like_ndjson`)."""
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


def looks_like_ndjson(line: bytes, limits: ReadLimits) -> bool:
    """Whether a file whose first line (not blank) is ``line`` holds one record a line."""
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


def ndjson_records(
    stream: BinaryIO,
    name: str,
    first: bytes,
    *,
    first_number: int,
    limits: ReadLimits,
    hint: str | None = None,
) -> Iterator[JsonRecord]:
    """The records of an NDJSON file ``name`` whose first line ``first`` (line
    ``first_number``) is read already; ``hint``: the stream its name gives its records."""
    yield from parse_record(first.strip(), name, first_number, stream=hint, limits=limits)
    for number, line in enumerate(bounded_lines(stream, limits), start=first_number + 1):
        if isinstance(line, int):
            yield line_over_bound(name, number, line, limits=limits, stream=hint)
            continue
        body = line.strip()
        if body:
            yield from parse_record(body, name, number, stream=hint, limits=limits)


def line_over_bound(
    name: str, number: int, size: int, *, limits: ReadLimits, stream: str | None = None
) -> JsonRecord:
    """The record of a line over the record bound: its place and size, no data."""
    message = over_record_bound(f"line {number}", size, limits)
    return JsonRecord(f"{name}:{number}", None, stream, error=message)


@dataclass(frozen=True)
class JsonLines:
    """Consecutive lines of an NDJSON file (each with its line number), not yet parsed: what a
    worker process is sent instead of the records (raw bytes cost next to nothing to send)."""

    name: str
    lines: list[tuple[int, bytes | int]]  # a line over the bound: its size
    limits: ReadLimits = DEFAULT_LIMITS
    stream: str | None = None  # the stream the file's name gives its records

    @property
    def weight(self) -> int:
        """The bytes of these lines (a line over the bound weighs nothing: it is not held)."""
        return sum(len(body) for _, body in self.lines if isinstance(body, bytes))

    def json_records(self) -> Iterator[JsonRecord]:
        """The records of these lines, as :func:`~importer.readers.containers.iter_json_records`
        reads them."""
        hint, limits = self.stream, self.limits
        for number, body in self.lines:
            if isinstance(body, int):
                yield line_over_bound(self.name, number, body, limits=limits, stream=hint)
            else:
                yield from parse_record(body, self.name, number, stream=hint, limits=limits)
