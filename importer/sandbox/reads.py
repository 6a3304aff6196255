"""Read endpoints of conversations: list/search (§5.6), get (§6), threads (§5.7), an
attachment's data."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from importer.sandbox.hal import (
    conversation_json,
    hal,
    page_of,
    page_slice,
    thread_json,
    threads_newest_first,
    vnd_error,
)
from importer.sandbox.search import Predicate, QueryError, compile_query
from importer.sandbox.state import Sandbox, origin_of, query_int, sandbox_of
from importer.sandbox.validation import FieldError, Rules

#: list ``status`` filter -> stored statuses (``open`` is read as active)
STATUS_FILTERS = {
    "active": ("active",),
    "open": ("active",),
    "pending": ("pending",),
    "closed": ("closed",),
    "spam": ("spam",),
    "all": ("active", "pending", "closed", "spam"),
}
SORT_FIELDS = {"createdAt", "modifiedAt", "number", "subject", "status", "mailboxid"}


class _Doc(dict[str, Any]):
    """A conversation as search sees it; thread bodies are read only when asked for."""

    def __init__(self, sb: Sandbox, conv: dict[str, Any]) -> None:
        customer = sb.store.customer(conv["customer_id"]) if conv["customer_id"] else None
        api_stamp = datetime.fromtimestamp(conv["created_via_api_at"], UTC)
        created = (
            api_stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
            if sb.config.search_created_at == "api"
            else conv["created_at"]
        )
        super().__init__(
            id=conv["id"], number=conv["number"], mailboxId=conv["mailbox_id"],
            status=conv["status"], subject=conv["subject"], createdAt=created,
            modifiedAt=datetime.fromtimestamp(conv["modified_at"], UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            tags=[t.lower() for t in conv["tags"] or []],
            emails=[e["value"].lower() for e in (customer or {}).get("emails", [])],
            customerIds=[conv["customer_id"]],
            fields={str(f["id"]): f["value"] for f in conv["fields"] or []},
            assignee=conv["assign_to"],
        )  # fmt: skip
        self._sb = sb
        self._conversation_id = conv["id"]

    def __missing__(self, key: str) -> Any:
        if key != "body":
            raise KeyError(key)
        text = "\n".join(t["text"] for t in self._sb.store.threads(self._conversation_id))
        self["body"] = text
        return text


def parse_stamp(value: str) -> float | None:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _equals(key: str, value: str) -> Predicate:
    return lambda doc: str(doc[key]) == value


def _field_is(field_id: str, value: str) -> Predicate:
    return lambda doc: bool(doc["fields"].get(field_id) == value)


def _filters(request: web.Request) -> tuple[list[Predicate], list[FieldError]]:
    """The list parameters as predicates; bad parameters as errors with their name as path."""
    rules = Rules()
    q = request.query
    preds: list[Predicate] = []
    if q.get("mailbox"):
        try:
            ids = {int(m) for m in q["mailbox"].split(",") if m.strip()}
            preds.append(lambda d: d["mailboxId"] in ids)
        except ValueError:
            rules.add("mailbox", "must be a mailbox id or a comma list of ids", q["mailbox"])
    status = q.get("status") or "active"
    if status not in STATUS_FILTERS:
        rules.enum(status, "status", tuple(STATUS_FILTERS))
    else:
        preds.append(lambda d: d["status"] in STATUS_FILTERS[status])
    if q.get("tag"):
        wanted = {t.strip().lower() for t in q["tag"].split(",") if t.strip()}
        preds.append(lambda d: bool(wanted & set(d["tags"])))
    if q.get("modifiedSince") is not None:
        since = parse_stamp(q["modifiedSince"])
        if since is None:
            rules.date(q["modifiedSince"], "modifiedSince")
        else:
            since_iso = q["modifiedSince"]
            preds.append(lambda d: d["modifiedAt"] >= since_iso)
    for name, key in (("number", "number"), ("assigned_to", "assignee")):
        if q.get(name):
            value = q[name]
            preds.append(_equals(key, value))
    if q.get("customFieldsByIds"):
        for part in q["customFieldsByIds"].split(","):
            fid, sep, value = part.partition(":")
            if not sep or not fid.strip().isdigit():
                rules.add("customFieldsByIds", "use fieldId:value", q["customFieldsByIds"])
                continue
            preds.append(_field_is(fid.strip(), value))
    if q.get("query"):
        try:
            preds.append(compile_query(q["query"]))
        except QueryError as exc:
            rules.add("query", str(exc), q["query"], anchor="InvalidQuery")
    return preds, rules.errors


async def list_conversations(request: web.Request) -> web.StreamResponse:
    """``GET /v2/conversations``: filters, query, sort, page of 50; honours ``--search-lag``."""
    sb = sandbox_of(request)
    try:
        page = query_int(request, "page", 1) or 1
    except ValueError:
        return vnd_error(400, "Bad request", [FieldError("page", "must be 1 or more",
                                                         request.query.get("page"))])  # fmt: skip
    preds, errors = _filters(request)
    if errors:
        return vnd_error(400, "Bad request", errors)
    docs = []
    rows = {}
    for conv in sb.store.conversations():
        if not sb.visible(conv["created_via_api_at"]):
            continue
        doc = _Doc(sb, conv)
        if all(p(doc) for p in preds):
            docs.append(doc)
            rows[conv["id"]] = conv
    sort_field = request.query.get("sortField", "createdAt")
    if sort_field not in SORT_FIELDS:
        sort_field = "createdAt"
    key = {"mailboxid": "mailboxId"}.get(sort_field, sort_field)
    descending = request.query.get("sortOrder", "desc").lower() != "asc"
    docs.sort(key=lambda d: (d[key], d["id"]), reverse=descending)
    origin = origin_of(request)
    embed = "threads" in request.query.get("embed", "").split(",")
    now = sb.now()
    chosen = docs[page_slice(page)]
    items = [
        conversation_json(sb.store, origin, rows[d["id"]], embed_threads=embed, now=now)
        for d in chosen
    ]
    return hal(page_of(request, "conversations", items, page=page, total=len(docs)))


def _conversation_or_404(sb: Sandbox, request: web.Request) -> dict[str, Any] | web.Response:
    conversation_id = int(request.match_info["id"])
    conv = sb.store.conversation(conversation_id)
    gone = conv is not None and conv.get("deleted_at") is not None
    if conv is None or (gone and sb.config.deleted_get == "404"):
        return vnd_error(404, f"Conversation {conversation_id} not found")
    return conv  # deleted, with --deleted-get state: shown with ``state: deleted``


async def get_conversation(request: web.Request) -> web.StreamResponse:
    """``GET /v2/conversations/{id}[?embed=threads]``: immediate, no search lag."""
    sb = sandbox_of(request)
    conv = _conversation_or_404(sb, request)
    if isinstance(conv, web.Response):
        return conv
    embed = "threads" in request.query.get("embed", "").split(",")
    return hal(
        conversation_json(sb.store, origin_of(request), conv, embed_threads=embed, now=sb.now())
    )


async def list_threads(request: web.Request) -> web.StreamResponse:
    """``GET /v2/conversations/{id}/threads``: newest first, ``reply`` shown as ``message``."""
    sb = sandbox_of(request)
    conv = _conversation_or_404(sb, request)
    if isinstance(conv, web.Response):
        return conv
    try:
        page = query_int(request, "page", 1) or 1
    except ValueError:
        return vnd_error(400, "Bad request", [FieldError("page", "must be 1 or more")])
    origin = origin_of(request)
    items = [
        thread_json(sb.store, origin, conv, thread=t) for t in threads_newest_first(sb.store, conv)
    ]
    return hal(page_of(request, "threads", items, page=page))


async def attachment_data(request: web.Request) -> web.StreamResponse:
    """``GET /v2/conversations/{id}/attachments/{attachment_id}/data``: ``{"data": base64}``."""
    sb = sandbox_of(request)
    conversation_id = int(request.match_info["id"])
    attachment_id = int(request.match_info["attachment_id"])
    data = sb.store.attachment_data(attachment_id, conversation_id)
    if data is None:
        return vnd_error(
            404, f"Attachment {attachment_id} of conversation {conversation_id} not found"
        )
    return hal({"data": base64.b64encode(data).decode("ascii")})
