"""What only Gorgias writes: the signs its reader's ``owns`` goes by (what makes a record
plainly Gorgias's, see :mod:`importer.readers.signs`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from importer.readers.signs import has_key_ending

GORGIAS_KEYS = frozenset(
    {
        "from_agent",
        "stripped_text",
        "stripped_html",
        "stripped_signature",
        "assignee_user",
        "assignee_team",
        "is_retriable",
        "last_sending_error",
    }
)


def is_gorgias(record: Mapping[str, Any]) -> bool:
    """A Gorgias record: an ``/api/...`` uri, ``*_datetime`` keys, keys only Gorgias writes."""
    uri = record.get("uri")
    if isinstance(uri, str) and uri.startswith("/api/"):
        return True
    if has_key_ending(record, "_datetime"):
        return True
    return not GORGIAS_KEYS.isdisjoint(record.keys())
