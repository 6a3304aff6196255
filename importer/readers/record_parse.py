"""One record's bytes parsed into its records, within the bounds, or the reason it cannot be.

Every JSON container (an NDJSON line, an element the scanner split off) ends here: a record over
``max_record_bytes`` or nested past ``max_json_depth`` is refused on its bytes before ``json``
parses it (so no ``RecursionError`` comes out of a record); commas before a ``]`` or ``}`` are
forgiven; any other broken record is one :class:`~importer.readers.envelopes.JsonRecord` with
its place, a guess at its id and its text, so that it reaches the dead letters to be fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from importer.readers.envelopes import JsonRecord, records_of
from importer.readers.limits import (
    DEFAULT_LIMITS,
    ReadLimits,
    json_depth_over,
    nesting_message,
    over_record_bound,
)
from importer.readers.scanner import is_request_path
from importer.readers.text import decode_bytes

#: how much of an unparsable record is kept for the dead-letter file
MAX_RAW_TEXT = 1_000_000

_ID_HINT = re.compile(r'"(?:source_id|id)"\s*:\s*"?([^",}\s]+)')
_TRAILING_COMMA = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|,(\s*[\]}])')


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


def parse_record(
    raw: bytes,
    name: str,
    line: int,
    *,
    stream: str | None = None,
    path: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    located_at: int = 0,
) -> Iterator[JsonRecord]:
    """The records of ``raw`` (which starts on ``line`` of file ``name``), located at
    ``located_at`` when given (a record of a HAL page: the page's line)."""
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
            yield from records_of(value, location, stream, replaced=replaced, path=path)
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
    yield from records_of(value, location, stream, replaced=replaced, path=path)


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
