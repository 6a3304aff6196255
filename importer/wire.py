"""The exact bytes a request body is sent as: compact JSON in UTF-8, non-ASCII as it is.

The splitter measures parts with :func:`json_bytes` and the client sends :func:`json_bytes` of
the same body, so a part measured within ``--max-request-bytes`` is sent within it, byte for
byte. orjson makes it fast; a value orjson refuses (an integer past 64 bits) goes through the
standard library's encoder, with the same spelling.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def orjson_bytes(value: Any) -> bytes | None:
    """``value`` as a request body when orjson writes it, else None."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return None


def json_bytes(value: Any) -> bytes:
    """``value`` as a request body."""
    encoded = orjson_bytes(value)
    if encoded is None:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return encoded


#: a string longer than this is measured without encoding it (orjson reserves about eight
#: times a string's length, more for non-ASCII text, while it encodes)
LARGE_TEXT = 1 << 20
#: characters JSON writes as two (``\"``, ``\\``, ``\n``...); other control characters take six
_SHORT_ESCAPES = '"\\\n\r\t\b\f'
_LONG_ESCAPES = tuple(chr(code) for code in range(0x20) if chr(code) not in _SHORT_ESCAPES)


def string_size(text: str) -> int:
    """The bytes of ``text`` as a JSON string (quotes included), as :func:`json_bytes` writes
    it, counted without writing it."""
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    size += 2 + sum(text.count(char) for char in _SHORT_ESCAPES)
    return size + 5 * sum(text.count(char) for char in _LONG_ESCAPES)


def json_size(value: Any) -> int:
    """The size in bytes of ``value`` sent as a request body. The long strings of an object
    (a thread's text) are counted, not encoded: a 60 MB message measured through orjson held
    half a gigabyte."""
    if isinstance(value, dict):
        long = [
            key for key, item in value.items() if isinstance(item, str) and len(item) > LARGE_TEXT
        ]
        if long:
            try:
                sizes = [string_size(value[key]) for key in long]
            except UnicodeEncodeError:  # a lone surrogate: as json_bytes spells it
                return len(json_bytes(value))
            rest = {key: "" if key in long else item for key, item in value.items()}
            return len(json_bytes(rest)) + sum(size - 2 for size in sizes)
    return len(json_bytes(value))
