"""The records a parsed JSON value holds, whatever wraps them, and the :class:`JsonRecord`.

Exports wrap their records in many ways, and one file may hold several: ETL envelopes (Airbyte
``{"stream", "data", "emitted_at"}`` lines and ``{"type": "RECORD", "record": {...}}`` messages,
Singer ``{"type": "RECORD", "stream", "record"}`` lines; their control lines hold no record),
objects wrapping lists of records (the key is the record's stream), API pages (their scalars
dropped), HAL pages (the lists under ``_embedded``), objects keyed by request path (each value
a document of its own, its records keeping the key as ``request_path``) and a lone object
wrapping one record. :func:`records_of` unwraps them all, recursively, so that every reader gets
bare records with their stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from importer.readers.scanner import RECORD_LIST_KEYS, RECORD_MARKER_KEYS, is_request_path

SINGER_CONTROL_TYPES = frozenset({"SCHEMA", "STATE", "ACTIVATE_VERSION", "BATCH", "LOG", "TRACE"})


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


def records_of(
    value: Any, location: str, stream: str | None, *, replaced: int, path: str | None = None
) -> Iterator[JsonRecord]:
    """The records of one parsed JSON ``value`` found at ``location`` (``replaced``: its bytes
    read as cp1252), every wrapper unwrapped; a value that is no object is one invalid record."""
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
                        yield from records_of(
                            item, location, None, replaced=replaced, path=page_path
                        )
                elif isinstance(page, dict):
                    yield from records_of(page, location, None, replaced=replaced, path=page_path)
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
                yield from records_of(item, location, key_stream, replaced=replaced, path=key_path)
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
