"""One record's bytes parsed into its records, within the bounds, or the reason it cannot be.

Every JSON container (an NDJSON line, an element the scanner split off) ends here: a record over
``max_record_bytes`` or nested past ``max_json_depth`` is refused on its bytes before ``json``
parses it (so no ``RecursionError`` comes out of a record); commas before a ``]`` or ``}`` are
forgiven; any other broken record is one :class:`~importer.readers.envelopes.JsonRecord` with
its place, a guess at its id and its text, so that it reaches the dead letters to be fixed.
An Airbyte raw row (``{"_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data": {...}}``, or
the newer ``_airbyte_raw_id``, ``_airbyte_extracted_at``... columns) is unwrapped here, once a
record: its ``_airbyte_data`` is the record, an object or its JSON text (parsed within the same
bounds, its place the row's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson

from importer.readers.envelopes import JsonRecord, records_of
from importer.readers.limits import (
    DEFAULT_LIMITS,
    NOT_PARSED,
    ReadLimits,
    json_depth_over,
    nesting_message,
    over_record_bound,
)
from importer.readers.scanner import is_request_path
from importer.readers.text import decode_bytes

#: how much of an unparsable record is kept for the dead-letter file
MAX_RAW_TEXT = 1_000_000

#: the column of an Airbyte raw row that holds the record (an object, or its JSON text)
AIRBYTE_DATA = "_airbyte_data"

#: every digit turned into ``0`` and every other byte into a space: an integer orjson might read
#: as a float (19 digits or more: past 64 bits) is then one ``in`` away (2.6 µs a comment of
#: Zendesk's, where a regular expression took 20)
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER = b"0" * 19
_ID_HINT = re.compile(r'"(?:source_id|id)"\s*:\s*"?([^",}\s]+)')
_TRAILING_COMMA = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|,(\s*[\]}])')


def _refused(
    location: str, stream: str | None, message: str, *, raw: bytes, path: str | None
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
        yield _refused(location, stream, message, raw=raw, path=path)
        return
    value = _fast_parsed(raw)  # orjson refuses a value nested past its bound (1,024 deep)
    if json_depth_over(raw, limits.max_json_depth, parsed=value) is not None:
        message = nesting_message(f"the record at line {line}", limits)
        yield _refused(location, stream, message, raw=raw, path=path)
        return
    if value is NOT_PARSED:
        text, replaced = decode_bytes(raw)
        # _parsed inlined: every record passes here, and this costs it no generator nor _At (no
        # benchmark recorded; one more dict look-up a record, for the raw rows: 40 ns)
        try:
            value = json.loads(text)
        except (RecursionError, json.JSONDecodeError) as exc:
            at = _At(stream, path, limits, replaced)
            yield from _failed(exc, text, location, line=line, at=at)
            return
    else:
        replaced = 0
    if type(value) is dict and AIRBYTE_DATA in value and _raw_row(value):
        yield from _row_data(value, location, line, at=_At(stream, path, limits, replaced))
        return
    yield from records_of(value, location, stream, replaced=replaced, path=path)


def _fast_parsed(raw: bytes) -> Any:
    """``raw`` parsed by orjson (twice as fast as ``json``), or ``NOT_PARSED`` where orjson could
    read it otherwise than ``json`` or not at all: a number of 19 digits or more (orjson reads an
    integer past 64 bits as a float, ``json`` exactly), or anything orjson refuses (text that is
    not UTF-8, ``NaN``, ``1e400``, a lone surrogate escape, broken JSON): ``json`` then reads it
    as before, with its own error message. Where both read a text, they read the same value."""
    if _LONG_NUMBER in raw.translate(_DIGITS_AS_ZERO):
        return NOT_PARSED
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return NOT_PARSED


class _At(NamedTuple):
    """Where a record's text was found, and what goes with its records."""

    stream: str | None
    path: str | None
    limits: ReadLimits
    replaced: int  # bytes read as cp1252


def parse_text(
    text: str,
    name: str,
    line: int,
    *,
    stream: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    replaced: int = 0,
) -> Iterator[JsonRecord]:
    """:func:`parse_record` of a record's text already decoded (and within the size bound): an
    Airbyte raw row's ``_airbyte_data`` held as a JSON string."""
    yield from _text_records(text, f"{name}:{line}", line, at=_At(stream, None, limits, replaced))


def _text_records(text: str, location: str, line: int, *, at: _At) -> Iterator[JsonRecord]:
    """The records of a JSON text nested inside a record, its depth checked first."""
    if json_depth_over(text, at.limits.max_json_depth) is not None:
        message = nesting_message(f"the record at line {line}", at.limits)
        yield _refused(
            location, at.stream, message, raw=text.encode("utf-8", "replace"), path=at.path
        )
        return
    yield from _parsed(text, location, line, at=at)


def _parsed(text: str, location: str, line: int, *, at: _At) -> Iterator[JsonRecord]:
    """The records of a record's ``text``, or the one invalid record saying why it is not JSON."""
    try:
        value = json.loads(text)
    except (RecursionError, json.JSONDecodeError) as exc:
        yield from _failed(exc, text, location, line=line, at=at)
        return
    if type(value) is dict and AIRBYTE_DATA in value and _raw_row(value):
        yield from _row_data(value, location, line, at=at)
        return
    yield from records_of(value, location, at.stream, replaced=at.replaced, path=at.path)


def _failed(
    exc: RecursionError | json.JSONDecodeError, text: str, location: str, *, line: int, at: _At
) -> Iterator[JsonRecord]:
    """The records of a text ``json`` refused: none but the invalid one, unless the only fault
    is commas before a ``]`` or ``}`` (no data in them, nothing to report)."""
    if isinstance(exc, RecursionError):  # within the depth bound, but past what this stack takes
        message = nesting_message(f"the record at line {line}", at.limits)
        yield _refused(
            location, at.stream, message, raw=text.encode("utf-8", "replace"), path=at.path
        )
        return
    value = _without_trailing_commas(text)
    if value is None:
        yield _not_json(text, exc, location, line=line, at=at)
    elif type(value) is dict and AIRBYTE_DATA in value and _raw_row(value):
        yield from _row_data(value, location, line, at=at)
    else:
        yield from records_of(value, location, at.stream, replaced=at.replaced, path=at.path)


def _row_data(value: dict[str, Any], location: str, line: int, *, at: _At) -> Iterator[JsonRecord]:
    """The records of an Airbyte raw row's ``_airbyte_data``: an object, or its JSON text."""
    data = value[AIRBYTE_DATA]
    if isinstance(data, str):
        yield from _text_records(data, location, line, at=at)
    else:
        yield from records_of(data, location, at.stream, replaced=at.replaced, path=at.path)


def _raw_row(value: dict[str, Any]) -> bool:
    """Whether an object holding ``_airbyte_data`` is an Airbyte raw row: every key
    ``_airbyte_*`` (old columns ``_airbyte_ab_id``, ``_airbyte_emitted_at``; new ones
    ``_airbyte_raw_id``, ``_airbyte_extracted_at``, ``_airbyte_loaded_at``, ``_airbyte_meta``,
    ``_airbyte_generation_id``)."""
    return all(key.startswith("_airbyte_") for key in value)


def _not_json(
    text: str, exc: json.JSONDecodeError, location: str, *, line: int, at: _At
) -> JsonRecord:
    """The invalid record of a text that is not valid JSON, with its id (a guess) and text."""
    hint = _ID_HINT.search(text)
    return JsonRecord(
        location,
        None,
        at.stream,
        error=(
            f"not valid JSON: {exc.msg} at line {line + exc.lineno - 1} column {exc.colno}; "
            "fix the record (or the export tool that wrote it) and read the file again"
        ),
        id_hint=hint.group(1) if hint else None,
        replaced_bytes=at.replaced,
        raw_text=text.strip("\r\n")[:MAX_RAW_TEXT],
        request_path=at.path,
    )


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
