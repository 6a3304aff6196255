"""What makes a JSON record plainly one platform's: keys and values no other platform writes.

A reader recognises its own records tolerantly (no single key required), so on its own it may
take another platform's record for one of its own: an Intercom conversation with a ``title`` and
a ``type`` looks like a Zendesk ticket field, an Intercom admin ``{type, id, email, name}`` like
a Zendesk user. Each reader's ``role_of`` first asks :func:`other_platform` and refuses a record
that plainly belongs to another platform, whatever its stream is named.

Each reader declares its platform's signs (:meth:`~importer.readers.base.Reader.owns`, kept in
its package's ``signs.py``): only what that platform alone writes (``source-formats.md`` §2 to
§4, §11, §14), never what records of several platforms share (``id``, ``email``,
``requester_id``, ``subject``...). A reader whose signs are decisive
(``decisive_signs``: Front's prefixed ids, Gorgias's ``/api/`` uris and ``*_datetime`` keys) is
asked first, and a record bearing them is that platform's alone, whatever keys it shares with
others (a Front teammate may say ``type: user`` like an Intercom contact, a Front conversation
has Intercom's ``waiting_since``, a Gorgias message Freshdesk's ``body_text``). This module
knows no platform: it asks the registered readers, each only of a record with one of its
``sign_keys`` (every record read is asked: most share none of another platform's keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from importer.readers.base import READERS


def is_number(value: Any) -> bool:
    """An integer that is not a bool (JSON's ``true`` is no status code)."""
    return isinstance(value, int) and not isinstance(value, bool)


def has_key_ending(record: Mapping[str, Any], suffix: str) -> bool:
    """Whether a key of ``record`` ends with ``suffix`` (every record is asked: one search in
    the keys joined, not one call per key)."""
    try:
        keys = "\0".join(record) + "\0"
    except TypeError:  # keys that are not text (never from JSON)
        return any(str(key).endswith(suffix) for key in record)
    return suffix + "\0" in keys


def other_platform(record: Mapping[str, Any], own: str | None) -> str | None:
    """The platform other than ``own`` whose record ``record`` plainly is, else ``None`` (with
    ``own`` ``None``: the platform whose record it plainly is)."""
    decisive, others = READERS.signs()
    keys = record.keys()
    for name, owns, needs in decisive:
        if (needs is None or not needs.isdisjoint(keys)) and owns(record, None):
            return None if name == own else name
    for name, owns, needs in others:
        if name != own and (needs is None or not needs.isdisjoint(keys)) and owns(record, None):
            return name
    return None
