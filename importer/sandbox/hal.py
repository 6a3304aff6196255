"""Response bodies in the HAL shapes of helpscout-api.md §3.2 and §5-§6."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from importer.sandbox.config import PAGE_SIZE
from importer.sandbox.store import Store
from importer.sandbox.validation import ERRORS_URL, FieldError

HAL_JSON = "application/hal+json"
VND_ERROR = "application/vnd.error+json"
#: thread types whose author is the customer
CUSTOMER_THREADS = ("customer", "chat", "phone")
#: ``closedByUser`` of a conversation nobody closed: an object, never null (clients call ``.get``)
NOBODY = {"id": 0, "type": "user", "first": "unknown", "last": "unknown", "email": "unknown"}
_AGES = ((365 * 86400, "year"), (30 * 86400, "month"), (86400, "day"), (3600, "hour"),
         (60, "minute"))  # fmt: skip
_log_counter = iter(range(1, 1 << 62))


def iso(epoch: float) -> str:
    """Epoch seconds -> ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_of(stamp: str) -> float:
    """``YYYY-MM-DDTHH:MM:SSZ`` -> epoch seconds."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def friendly_age(seconds: float) -> str:
    """How long ago, as a person says it: ``3 years ago``, ``1 hour ago``, ``just now``."""
    for size, unit in _AGES:
        count = int(seconds // size)
        if count >= 1:
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def hal(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A HAL JSON response."""
    return web.Response(
        status=status, text=json.dumps(body), content_type=HAL_JSON, headers=headers
    )


def vnd_error(status: int, message: str, errors: list[FieldError] | None = None) -> web.Response:
    """A ``application/vnd.error+json`` response with a fresh ``logRef``."""
    body: dict[str, Any] = {
        "logRef": f"{uuid.uuid4()}#{next(_log_counter)}",
        "message": message,
        "_embedded": {"errors": [e.to_json() for e in errors or []]},
        "_links": {"about": {"href": ERRORS_URL}},
    }
    return web.Response(status=status, text=json.dumps(body), content_type=VND_ERROR)


def page_slice(page: int) -> slice:
    """The items of 1-based ``page``."""
    return slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE)


def page_of(
    request: web.Request,
    name: str,
    items: list[dict[str, Any]],
    *,
    page: int,
    total: int | None = None,
) -> dict[str, Any]:
    """One page of a list: ``_embedded.<name>`` (left out when empty), ``page``, ``_links``.

    Without ``total``, ``items`` is the whole list; with it, ``items`` is already that page.
    """
    if total is None:
        total = len(items)
        chunk = items[page_slice(page)]
    else:
        chunk = items
    pages = max(1, math.ceil(total / PAGE_SIZE))
    base = f"{request.url.origin()}{request.path}"
    params = {k: v for k, v in request.query.items() if k != "page"}

    def link(number: int) -> dict[str, str]:
        return {"href": f"{base}?{urlencode({**params, 'page': number})}"}

    links: dict[str, Any] = {
        "self": link(page),
        "first": link(1),
        "last": link(pages),
        "page": {"href": f"{base}?{urlencode(params)}{'&' if params else ''}page={{page}}",
                 "templated": True},
    }  # fmt: skip
    if page < pages:
        links["next"] = link(page + 1)
    if page > 1:
        links["previous"] = link(page - 1)
    body: dict[str, Any] = {
        "page": {"size": PAGE_SIZE, "totalElements": total, "totalPages": pages, "number": page},
        "_links": links,
    }
    if chunk:
        body["_embedded"] = {name: chunk}
    return body


def _first_email(customer: dict[str, Any] | None) -> str | None:
    if not customer or not customer["emails"]:
        return None
    return str(customer["emails"][0]["value"])


def person(store: Store, kind: str, person_id: int | None) -> dict[str, Any] | None:
    """``{id, type, first, last, photoUrl, email}`` of a customer or user."""
    if person_id is None:
        return None
    if kind == "customer":
        row = store.customer(person_id)
        if row is None:
            return {"id": person_id, "type": "customer"}
        return {"id": row["id"], "type": "customer", "first": row["first_name"],
                "last": row["last_name"], "photoUrl": row["profile"].get("photoUrl"),
                "email": _first_email(row)}  # fmt: skip
    user = store.user(person_id)
    if user is None:
        return {"id": person_id, "type": "user"}
    return {"id": user["id"], "type": "user", "first": user["first_name"],
            "last": user["last_name"], "email": user["email"]}  # fmt: skip


def thread_json(
    store: Store, origin: str, conv: dict[str, Any], *, thread: dict[str, Any]
) -> dict[str, Any]:
    """A thread as ``GET .../threads`` lists it; ``reply`` becomes ``message``."""
    by_customer = thread["type"] in CUSTOMER_THREADS
    conv_url = f"{origin}/v2/conversations/{conv['id']}"
    attachments = [
        {"id": a["id"], "filename": a["file_name"], "mimeType": a["mime_type"],
         "size": a["size"], "width": 0, "height": 0, "state": "valid",
         "_links": {"self": {"href": f"{origin}/v2/attachments/{a['id']}"},
                    "data": {"href": f"{conv_url}/attachments/{a['id']}/data"}}}
        for a in store.attachments(thread["id"])
    ]  # fmt: skip
    created_by = (
        person(store, "customer", thread["customer_id"])
        if by_customer
        else person(store, "user", thread["user_id"])
    )
    return {
        "id": thread["id"],
        "type": "message" if thread["type"] == "reply" else thread["type"],
        "status": thread["status"] or conv["status"],
        "state": "draft" if thread["draft"] else "published",
        "body": thread["text"],
        "source": {"type": "api", "via": "customer" if by_customer else "user"},
        "customer": person(store, "customer", thread["customer_id"]),
        "createdBy": created_by,
        "assignedTo": None,
        "to": thread["to_list"] or [],
        "cc": thread["cc"] or [],
        "bcc": thread["bcc"] or [],
        "createdAt": thread["created_at"],
        "_embedded": {"attachments": attachments},
        "_links": {"self": {"href": f"{conv_url}/threads/{thread['id']}"}},
    }


def threads_newest_first(store: Store, conv: dict[str, Any]) -> list[dict[str, Any]]:
    """Threads by ``createdAt`` descending, later-sent first among equal times."""
    rows = store.threads(conv["id"])
    rows.sort(key=lambda t: (t["created_at"], t["seq"]), reverse=True)
    return rows


def customer_waiting_since(
    conv: dict[str, Any], threads: list[dict[str, Any]], now: float
) -> dict[str, Any]:
    """``{time, friendly, latestReplyFrom}``: the moment of the latest reply (the newest thread
    that is not a note, else the conversation's start) and who wrote it."""
    latest = next((t for t in threads if t["type"] != "note"), None)
    stamp = latest["created_at"] if latest else conv["created_at"]
    by_customer = latest is None or latest["type"] in CUSTOMER_THREADS
    return {
        "time": stamp,
        "friendly": friendly_age(max(0.0, now - epoch_of(stamp))),
        "latestReplyFrom": "customer" if by_customer else "user",
    }


def conversation_json(
    store: Store, origin: str, conv: dict[str, Any], *, embed_threads: bool, now: float
) -> dict[str, Any]:
    """A conversation as ``GET /v2/conversations/{id}`` returns it (§6)."""
    threads = threads_newest_first(store, conv)
    fields = {f["id"]: f for f in store.fields(conv["mailbox_id"])}
    custom_fields = []
    for entry in conv["fields"] or []:
        spec = fields.get(entry["id"])
        text = entry["value"]
        if spec and spec["type"] == "dropdown":
            text = next((label for oid, label in spec["options"] if str(oid) == entry["value"]),
                        entry["value"])  # fmt: skip
        custom_fields.append({"id": entry["id"], "name": spec["name"] if spec else "",
                              "value": entry["value"], "text": text})  # fmt: skip
    created_by = conv["created_by"]
    closed_by = conv["user_id"] if conv["closed_at"] else None
    url = f"{origin}/v2/conversations/{conv['id']}"
    body: dict[str, Any] = {
        "id": conv["id"],
        "number": conv["number"],
        "threads": len(threads),
        "type": conv["type"],
        "folderId": conv["mailbox_id"] * 100 + 1,
        "status": conv["status"],
        "state": "deleted" if conv.get("deleted_at") is not None else "published",
        "subject": conv["subject"],
        "preview": (threads[0]["text"] if threads else "")[:255],
        "mailboxId": conv["mailbox_id"],
        "assignee": person(store, "user", conv["assign_to"]),
        "createdBy": {**(person(store, created_by["type"], created_by["id"]) or {})},
        "createdAt": conv["created_at"],
        "closedBy": closed_by,
        "closedByUser": person(store, "user", closed_by) or dict(NOBODY),
        "closedAt": conv["closed_at"],
        "userUpdatedAt": iso(conv["modified_at"]),
        "customerWaitingSince": customer_waiting_since(conv, threads, now),
        "source": {"type": "api", "via": created_by["type"]},
        "tags": store.tag_ids(conv["tags"] or []),
        "cc": conv["cc"] or [],
        "bcc": conv["bcc"] or [],
        "primaryCustomer": person(store, "customer", conv["customer_id"]),
        "customFields": custom_fields,
        "_links": {
            "self": {"href": url},
            "mailbox": {"href": f"{origin}/v2/mailboxes/{conv['mailbox_id']}"},
            "primaryCustomer": {"href": f"{origin}/v2/customers/{conv['customer_id']}"},
            "threads": {"href": f"{url}/threads"},
            "web": {"href": web_location(origin, conv)},
        },
    }
    if embed_threads:
        body["_embedded"] = {
            "threads": [thread_json(store, origin, conv, thread=t) for t in threads]
        }
    return body


def web_location(origin: str, conv: dict[str, Any]) -> str:
    """Where a person would open the conversation (not served by the sandbox)."""
    return f"{origin}/conversation/{conv['id']}/{conv['number']}"


def customer_json(origin: str, row: dict[str, Any]) -> dict[str, Any]:
    """A customer as ``GET /v2/customers`` lists it."""
    profile = row["profile"]
    emails = [{"id": i + 1, "type": e.get("type", "work"), "value": e["value"]}
              for i, e in enumerate(row["emails"])]  # fmt: skip
    phones = [{"id": i + 1, "type": p.get("type", "work"), "value": p["value"]}
              for i, p in enumerate(row["phones"])]  # fmt: skip
    return {
        "id": row["id"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        **{k: profile.get(k) for k in ("gender", "jobTitle", "location", "organization",
                                       "photoType", "photoUrl", "age", "background")},
        "createdAt": iso(row["created_via_api_at"]),
        "updatedAt": iso(row["created_via_api_at"]),
        "_embedded": {"emails": emails, "phones": phones},
        "_links": {"self": {"href": f"{origin}/v2/customers/{row['id']}"}},
    }  # fmt: skip


def user_json(origin: str, row: dict[str, Any]) -> dict[str, Any]:
    """A user as ``GET /v2/users`` lists it (§5.2)."""
    first, last = row["first_name"] or "", row["last_name"] or ""
    return {
        "id": row["id"], "firstName": first, "lastName": last, "email": row["email"],
        "role": "owner" if row["id"] == 1 else "user", "timezone": "UTC", "photoUrl": None,
        "createdAt": row["created_at"], "updatedAt": row["created_at"], "type": "user",
        "mention": (first or row["email"].split("@")[0]).lower(),
        "initials": (first[:1] + last[:1]).upper(), "jobTitle": None, "phone": None,
        "alternateEmails": row["alternate_emails"] or [],
        "_links": {"self": {"href": f"{origin}/v2/users/{row['id']}"}},
    }  # fmt: skip


def mailbox_json(origin: str, row: dict[str, Any]) -> dict[str, Any]:
    """A mailbox as ``GET /v2/mailboxes`` lists it (§5.1)."""
    url = f"{origin}/v2/mailboxes/{row['id']}"
    return {
        "id": row["id"], "name": row["name"], "slug": row["slug"], "email": row["email"],
        "createdAt": row["created_at"], "updatedAt": row["created_at"],
        "_links": {"self": {"href": url}, "folders": {"href": f"{url}/folders"},
                   "fields": {"href": f"{url}/fields"}},
    }  # fmt: skip


def field_json(row: dict[str, Any]) -> dict[str, Any]:
    """A custom field as ``GET /v2/mailboxes/{id}/fields`` lists it (§5.5)."""
    return {
        "id": row["id"], "name": row["name"], "type": row["type"],
        "order": row["ord"], "required": bool(row["required"]),
        "options": [{"id": oid, "order": i + 1, "label": label}
                    for i, (oid, label) in enumerate(row["options"])],
    }  # fmt: skip
