"""What the Singer tap ``tap-helpscout`` (1.2.2) writes, put back into the API's own shape: pure.

The tap (github.com/singer-io/tap-helpscout: ``transform.py``, ``streams/``, ``schemas/``)
writes each conversation of ``GET /v2/conversations?status=all`` with every key snake_case
(``primary_customer``, ``created_by``, ``user_updated_at``), ``_embedded`` and ``_links``
removed, ``threads`` a count, and every time as ``2019-03-02T10:00:02.000000Z``. Then, as the
stream ``conversation_threads``, each thread of ``GET /v2/conversations/{id}/threads`` (newest
first) with ``conversation_id`` added, its attachments taken out of ``_embedded`` without their
links (``{id, filename, mime_type, width, height, size}``). Its ``customers`` and ``users``
streams hold people the threads already name.

:func:`api_conversation` gives such a conversation and its thread records the API's shape
(camelCase keys, the threads under ``_embedded.threads``, each attachment's data address
``<api>/v2/conversations/{cid}/attachments/{aid}/data`` under ``_links.data.href``, times without
a zero fraction), so that it is read by the very rules of the API's own dumps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from importer.readers.common import id_text
from importer.readers.helpscout.signs import TAP_KEYS

#: the stream of the tap's thread records, and the key that joins them to their conversation
THREADS_STREAM = "conversation_threads"
CONVERSATION_ID = "conversation_id"
#: a time the tap wrote with a fraction of zeros (singer-python's ``%Y-%m-%dT%H:%M:%S.%fZ``)
_ZERO_FRACTION = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.0+Z")


def is_tap_conversation(record: Mapping[str, Any]) -> bool:
    """A conversation as the tap writes it: a snake_case key only conversations have, and no
    ``conversation_id`` (a thread's)."""
    return CONVERSATION_ID not in record and not TAP_KEYS.isdisjoint(record.keys())


def camel(key: str) -> str:
    """``primary_customer`` -> ``primaryCustomer``: the tap's snake_case undone."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _api_value(value: Any, key: str = "") -> Any:
    """A value with its keys camelCase, and a time (a key ending ``_at``, or ``time``) without
    the fraction of zeros the tap added."""
    if isinstance(value, Mapping):
        return {
            camel(inner_key): _api_value(inner, inner_key) for inner_key, inner in value.items()
        }
    if isinstance(value, list):
        return [_api_value(item) for item in value]
    if isinstance(value, str) and (key.endswith("_at") or key == "time"):
        return _ZERO_FRACTION.sub(r"\1Z", value)
    return value


def _api_object(record: Mapping[str, Any], leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    return {camel(key): _api_value(v, key) for key, v in record.items() if key not in leave_out}


def _attachment(item: Mapping[str, Any], conversation_id: str, api_url: str) -> dict[str, Any]:
    """One attachment of a thread record, with the address of its data in the old account."""
    attachment = _api_object(item)
    attachment_id = id_text(item.get("id"))
    if attachment_id is not None:
        href = f"{api_url}/v2/conversations/{conversation_id}/attachments/{attachment_id}/data"
        attachment["_links"] = {"data": {"href": href}}
    return attachment


def api_thread(thread: Mapping[str, Any], conversation_id: str, api_url: str) -> dict[str, Any]:
    """One record of ``conversation_threads`` in the API's shape."""
    shaped = _api_object(thread, ("attachments", CONVERSATION_ID))
    items = thread.get("attachments")
    attachments = [
        _attachment(item, conversation_id, api_url)
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, Mapping)
    ]
    shaped["_embedded"] = {"attachments": attachments}
    return shaped


def api_conversation(
    conversation: Mapping[str, Any], threads: Iterable[Mapping[str, Any]], api_url: str
) -> dict[str, Any]:
    """A tap conversation and its thread records (each once) as the API gives them with
    ``embed=threads``."""
    conversation_id = id_text(conversation.get("id")) or ""
    shaped = _api_object(conversation)
    shaped["_embedded"] = {
        "threads": [api_thread(thread, conversation_id, api_url.rstrip("/")) for thread in threads]
    }
    return shaped


def once_each(
    threads: Iterable[tuple[Mapping[str, Any], str]],
) -> list[tuple[Mapping[str, Any], str]]:
    """Thread records with their places, each thread once: a thread written again (by a later
    sync of the same conversation) is read from its last copy, in its first place."""
    kept: dict[str, int] = {}
    found: list[tuple[Mapping[str, Any], str]] = []
    for thread, where in threads:
        thread_id = id_text(thread.get("id"))
        if thread_id is not None and thread_id in kept:
            found[kept[thread_id]] = (thread, where)
            continue
        if thread_id is not None:
            kept[thread_id] = len(found)
        found.append((thread, where))
    return found


def missing_threads(count: Any, source_id: str) -> str:
    """The error of a tap conversation whose thread records are not in the export."""
    counted = f"{count} thread(s)" if isinstance(count, int) else "threads"
    return (
        f"Help Scout conversation {source_id} has {counted} but the export holds none of them: "
        f"tap-helpscout writes them as the stream {THREADS_STREAM!r} (after every "
        "conversation); select that stream too and give its records (or its file) with the "
        "conversations"
    )
