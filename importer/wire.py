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


def json_bytes(value: Any) -> bytes:
    """``value`` as a request body."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_size(value: Any) -> int:
    """The size in bytes of ``value`` sent as a request body."""
    return len(json_bytes(value))
