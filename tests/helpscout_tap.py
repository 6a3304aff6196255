"""What tap-helpscout 1.2.2 writes, made from Help Scout API objects, as the tap makes it.

Built from the tap's code (github.com/singer-io/tap-helpscout: ``transform.py``,
``streams/abstract.py``, ``sync.py``, ``schemas/*.json``) and singer-python's ``Transformer``:

- ``_embedded`` sub-lists a record carries (a thread's ``attachments``, a customer's ``emails``,
  ``phones``...) are copied up beside it, then every ``_embedded`` and ``_links`` is removed (the
  attachments lose their links), then every key is turned to snake_case;
- a conversation gets ``updated_at``, the later of ``user_updated_at`` and
  ``customer_waiting_since.time``; its threads stay a count (``threads``), as the list endpoint
  gives them;
- each thread of ``GET /v2/conversations/{id}/threads`` (newest first, as the API lists them)
  becomes a record of stream ``conversation_threads`` with ``conversation_id`` added; they come
  after every conversation, conversation by conversation in the order of a Python ``set`` of
  their ids;
- the ``Transformer`` keeps only the keys of the stream's schema and writes every ``date-time``
  as ``%Y-%m-%dT%H:%M:%S.%fZ`` (``2019-03-02T10:00:02.000000Z``);
- on stdout: ``STATE``, ``SCHEMA`` and ``RECORD`` messages; ``target-jsonl`` writes each
  stream's records, bare, to ``<stream>-<YYYYMMDDTHHMMSS>.jsonl``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: the keys of each stream's schema (nested objects: their own keys; ``None``: kept whole)
_PERSON = {"id": None, "type": None, "first": None, "last": None, "photo_url": None, "email": None}
SCHEMAS: dict[str, dict[str, Any]] = {
    "conversations": {
        **dict.fromkeys(
            [
                "id",
                "number",
                "threads",
                "type",
                "folder_id",
                "status",
                "state",
                "subject",
                "preview",
                "mailbox_id",
                "created_at",
                "updated_at",
                "closed_by",
                "closed_at",
                "user_updated_at",
                "cc",
                "bcc",
            ]
        ),
        "assignee": _PERSON,
        "created_by": _PERSON,
        "primary_customer": _PERSON,
        "customer_waiting_since": {"time": None, "friendly": None, "last_reply_from": None},
        "source": {"type": None, "via": None},
        "tags": {"id": None, "color": None, "tag": None},
        "custom_fields": {"id": None, "name": None, "value": None, "text": None},
    },
    "conversation_threads": {
        **dict.fromkeys(
            [
                "id",
                "conversation_id",
                "type",
                "status",
                "state",
                "body",
                "saved_reply_id",
                "to",
                "cc",
                "bcc",
                "created_at",
                "opened_at",
            ]
        ),
        "action": {"type": None, "text": None},
        "source": {"type": None, "via": None},
        "customer": {k: None for k in _PERSON if k != "type"},
        "created_by": _PERSON,
        "assigned_to": _PERSON,
        "attachments": dict.fromkeys(["id", "filename", "mime_type", "width", "height", "size"]),
    },
    "customers": {
        **dict.fromkeys(
            [
                "id",
                "first_name",
                "last_name",
                "gender",
                "job_title",
                "location",
                "organization",
                "photo_type",
                "photo_url",
                "age",
                "created_at",
                "updated_at",
                "background",
                "websites",
                "chats",
                "properties",
            ]
        ),
        "address": dict.fromkeys(["lines", "city", "state", "postal_code", "country"]),
        "emails": {"id": None, "value": None, "type": None},
        "phones": {"id": None, "value": None, "type": None},
        "social_profiles": {"id": None, "value": None, "type": None},
    },
    "users": dict.fromkeys(
        [
            "id",
            "first_name",
            "last_name",
            "email",
            "role",
            "timezone",
            "photo_url",
            "created_at",
            "updated_at",
            "type",
        ]
    ),
}
DATE_TIMES = {
    "conversations": {"created_at", "updated_at", "closed_at", "user_updated_at", "time"},
    "conversation_threads": {"created_at", "opened_at"},
    "customers": {"created_at", "updated_at"},
    "users": {"created_at", "updated_at"},
}
KEY_PROPERTIES = ["id"]
_DENESTED = ["attachments", "address", "chats", "emails", "phones", "social_profiles", "websites"]


def snake(name: str) -> str:
    """tap-helpscout's ``convert``: camelCase to snake_case."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _converted(value: Any) -> Any:
    """``remove_embedded_links`` then ``convert_json``."""
    if isinstance(value, list):
        return [_converted(item) for item in value]
    if isinstance(value, dict):
        return {
            snake(key): _converted(inner)
            for key, inner in value.items()
            if key not in ("_embedded", "_links")
        }
    return value


def _denested(record: Mapping[str, Any]) -> dict[str, Any]:
    """``denest_embedded_nodes``: the ``_embedded`` lists a record carries, copied up."""
    out = dict(record)
    embedded = record.get("_embedded")
    if isinstance(embedded, Mapping):
        for node in _DENESTED:
            if node in embedded:
                out[node] = embedded[node]
    return out


def _date_time(value: Any) -> Any:
    """singer-python's date-time: parsed, written ``%Y-%m-%dT%H:%M:%S.%fZ`` in UTC."""
    if not isinstance(value, str):
        return value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _by_schema(value: Any, schema: Any, times: set[str]) -> Any:
    """The ``Transformer``: only the schema's keys, date-times rewritten."""
    if schema is None:
        return value
    if isinstance(value, list):
        return [_by_schema(item, schema, times) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: _date_time(inner) if key in times else _by_schema(inner, schema[key], times)
        for key, inner in value.items()
        if key in schema
    }


def tap_record(stream: str, api_object: Mapping[str, Any], **added: Any) -> dict[str, Any]:
    """One record of ``stream`` as the tap writes it, from the API's object."""
    record = _converted(_denested(api_object))
    if stream == "conversations":
        waiting = (record.get("customer_waiting_since") or {}).get("time")
        record["updated_at"] = max(v for v in (record.get("user_updated_at"), waiting) if v)
    record.update(added)
    return _by_schema(record, SCHEMAS[stream], DATE_TIMES[stream])  # type: ignore[no-any-return]


def tap_streams(
    conversations: Iterable[Mapping[str, Any]],
    customers: Iterable[Mapping[str, Any]] = (),
    users: Iterable[Mapping[str, Any]] = (),
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(stream, record)`` in the tap's order, from API conversations with embedded threads
    (listed newest first, as ``GET /v2/conversations/{id}/threads`` gives them)."""
    threads: dict[int, list[Mapping[str, Any]]] = {}
    for conversation in conversations:
        yield "conversations", tap_record("conversations", conversation)
        threads[conversation["id"]] = conversation["_embedded"]["threads"]
    for conversation_id in set(threads):  # the tap's parent_ids is a set
        for thread in threads[conversation_id]:
            record = tap_record("conversation_threads", thread, conversation_id=conversation_id)
            yield "conversation_threads", record
    for customer in customers:
        yield "customers", tap_record("customers", customer)
    for user in users:
        yield "users", tap_record("users", user)


def singer_lines(records: Iterable[tuple[str, dict[str, Any]]]) -> str:
    """The tap's stdout: a STATE and a SCHEMA before each stream's records, a STATE after."""
    lines: list[dict[str, Any]] = []
    current = None
    for stream, record in records:
        if stream != current:
            if current is not None:
                lines.append({"type": "STATE", "value": {"bookmarks": {current: "x"}}})
            current = stream
            lines.append({"type": "STATE", "value": {"currently_syncing": stream}})
            schema = {"type": ["null", "object"], "properties": {}}
            lines.append(
                {
                    "type": "SCHEMA",
                    "stream": stream,
                    "schema": schema,
                    "key_properties": KEY_PROPERTIES,
                }
            )
        lines.append({"type": "RECORD", "stream": stream, "record": record})
    lines.append({"type": "STATE", "value": {"currently_syncing": None}})
    return "".join(json.dumps(line) + "\n" for line in lines)


def target_jsonl(records: Iterable[tuple[str, dict[str, Any]]], folder: Path) -> list[Path]:
    """target-jsonl's files: one per stream, ``<stream>-<timestamp>.jsonl``, records bare."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[str]] = {}
    for stream, record in records:
        files.setdefault(stream, []).append(json.dumps(record) + "\n")
    paths = []
    for stream, lines in files.items():
        path = folder / f"{stream}-20240301T120000.jsonl"
        path.write_text("".join(lines), encoding="utf-8")
        paths.append(path)
    return paths
