"""``POST /v2/conversations`` and the attachment upload: validate, resolve, store, 201."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from importer.sandbox.hal import CUSTOMER_THREADS, iso, vnd_error, web_location
from importer.sandbox.state import (
    OWNER_USER_ID,
    Sandbox,
    origin_of,
    read_json,
    sandbox_of,
)
from importer.sandbox.validation import (
    MAX_THREADS,
    THREADS_WITH_CUSTOMER,
    FieldError,
    Rules,
    check_attachment,
    check_conversation,
    check_field_value,
    decode_base64,
)


def faultable(handler: Any) -> Any:
    """Mark a write handler as a target of ``--fault``."""
    handler.faultable = True
    return handler


def _check_references(sb: Sandbox, body: dict[str, Any]) -> list[FieldError]:
    """Ids that must name something that exists: users, fields, customers by id."""
    rules = Rules()
    store = sb.store
    for key in ("assignTo", "user"):
        if body.get(key) is not None and store.user(body[key]) is None:
            rules.add(key, "user not found", body[key], anchor="InvalidIdentifier")
    specs = {f["id"]: f for f in store.fields(body["mailboxId"])}
    for i, entry in enumerate(body.get("fields") or []):
        spec = specs.get(entry["id"])
        if spec is None:
            rules.add(f"fields[{i}].id", "no such field in this mailbox", entry["id"],
                      anchor="InvalidIdentifier")  # fmt: skip
        else:
            check_field_value(rules, spec, entry["value"], path=f"fields[{i}].value")
    refs = [("customer", body["customer"])]
    for i, thread in enumerate(body["threads"]):
        user = thread.get("user") if thread["type"] in ("reply", "note") else None
        if user is not None and store.user(user) is None:
            rules.add(f"threads[{i}].user", "user not found", user, anchor="InvalidIdentifier")
        if thread.get("customer") is not None and thread["type"] in THREADS_WITH_CUSTOMER:
            refs.append((f"threads[{i}].customer", thread["customer"]))
    for path, customer in refs:
        if customer.get("id") is not None and store.customer(customer["id"]) is None:
            rules.add(
                f"{path}.id", "customer not found", customer["id"], anchor="InvalidIdentifier"
            )
    return rules.errors


def resolve_customer(sb: Sandbox, customer: dict[str, Any]) -> int:
    """By id, else by email, else a new customer; a matched customer's other fields are ignored."""
    if customer.get("id") is not None:
        return int(customer["id"])
    found = sb.store.customer_id_by_email(customer["email"])
    if found is not None:
        return found
    profile = {k: v for k, v in customer.items() if k not in ("id", "email", "phone")}
    phones = [{"type": "work", "value": customer["phone"]}] if customer.get("phone") else []
    return sb.store.create_customer(
        profile, [{"type": "work", "value": customer["email"]}], phones, now=sb.now()
    )


@faultable
async def create_conversation(request: web.Request) -> web.StreamResponse:
    """``POST /v2/conversations`` (helpscout-api.md §2-§3)."""
    sb = sandbox_of(request)
    body = await read_json(request, sb.config.max_body_bytes)
    if isinstance(body, web.Response):
        return body
    threads = body.get("threads")
    if isinstance(threads, list) and len(threads) > MAX_THREADS:
        error = FieldError("threads", f"a conversation holds at most {MAX_THREADS} threads",
                           len(threads), "MaxThreads")  # fmt: skip
        return vnd_error(412, "Precondition Failed", [error])
    errors = check_conversation(body)
    if errors:
        return vnd_error(400, "Bad request", errors)
    if sb.store.mailbox(body["mailboxId"]) is None:
        if sb.config.unknown_mailbox_status == 404:
            return vnd_error(404, f"Mailbox {body['mailboxId']} not found")
        error = FieldError("mailboxId", "mailbox not found", body["mailboxId"], "InvalidIdentifier")
        return vnd_error(400, "Bad request", [error])
    errors = _check_references(sb, body)
    if errors:
        return vnd_error(400, "Bad request", errors)
    conversation_id, number = _store_conversation(sb, body)
    origin = origin_of(request)
    return web.Response(
        status=201,
        headers={
            "Resource-ID": str(conversation_id),
            "Location": f"{origin}/v2/conversations/{conversation_id}",
            "Web-Location": web_location(origin, {"id": conversation_id, "number": number}),
        },
    )


def _store_conversation(sb: Sandbox, body: dict[str, Any]) -> tuple[int, int]:
    now = sb.now()
    stamp = iso(now)
    customer_id = resolve_customer(sb, body["customer"])
    default_user = body.get("user") or OWNER_USER_ID
    rows: list[dict[str, Any]] = []
    for thread in body["threads"]:
        kind = thread["type"]
        honoured = thread.get("imported") is True and thread.get("createdAt")
        attachments = [
            {**a, "bytes": decode_base64(a["data"]) or b""} for a in thread.get("attachments") or []
        ]
        rows.append({
            "type": kind,
            "text": thread["text"],
            "created_at": thread["createdAt"] if honoured else stamp,
            "user_id": None if kind in CUSTOMER_THREADS else thread.get("user") or default_user,
            "customer_id": resolve_customer(sb, thread["customer"])
            if kind in THREADS_WITH_CUSTOMER else None,
            "imported": int(bool(thread.get("imported"))),
            "status": thread.get("status"),
            "draft": int(bool(thread.get("draft"))),
            "to_list": thread.get("to") or [],
            "cc": thread.get("cc") or [],
            "bcc": thread.get("bcc") or [],
            "attachments": attachments,
        })  # fmt: skip
    first = min(range(len(rows)), key=lambda i: (rows[i]["created_at"], i))
    if body.get("user") is not None:
        created_by = {"type": "user", "id": body["user"]}
    elif rows[first]["type"] in CUSTOMER_THREADS:
        created_by = {"type": "customer", "id": rows[first]["customer_id"]}
    else:
        created_by = {"type": "user", "id": rows[first]["user_id"]}
    closed = body["status"] == "closed"
    record = {
        "mailbox_id": body["mailboxId"],
        "subject": body["subject"],
        "type": body["type"],
        "status": body["status"],
        "created_at": body.get("createdAt") or stamp,
        "closed_at": (body.get("closedAt") or stamp) if closed else None,
        "imported": int(bool(body.get("imported"))),
        "created_via_api_at": now,
        "modified_at": now,
        "tags": list(dict.fromkeys(body.get("tags") or [])),
        "fields": [{"id": f["id"], "value": f["value"]} for f in body.get("fields") or []],
        "customer_id": customer_id,
        "user_id": default_user,
        "assign_to": body.get("assignTo"),
        "cc": [],
        "bcc": [],
        "created_by": created_by,
    }
    sb.store.tag_ids(record["tags"])
    conversation_id = sb.store.create_conversation(record, rows)
    stored = sb.store.conversation(conversation_id)
    return conversation_id, int(stored["number"]) if stored else 0


@faultable
async def upload_attachment(request: web.Request) -> web.StreamResponse:
    """``POST /v2/conversations/{id}/threads/{threadId}/attachments`` -> 201 + Resource-ID."""
    sb = sandbox_of(request)
    conversation_id = int(request.match_info["id"])
    thread_id = int(request.match_info["thread_id"])
    thread = sb.store.thread(thread_id)
    if thread is None or thread["conversation_id"] != conversation_id:
        return vnd_error(404, f"Thread {thread_id} of conversation {conversation_id} not found")
    body = await read_json(request, sb.config.max_attachment_bytes)
    if isinstance(body, web.Response):
        return body
    rules = Rules()
    check_attachment(rules, body, "attachment")
    if rules.errors:
        errors = [FieldError(e.path.removeprefix("attachment."), e.message, e.rejected, e.anchor)
                  for e in rules.errors]  # fmt: skip
        return vnd_error(400, "Bad request", errors)
    data = decode_base64(body["data"]) or b""
    attachment_id = sb.store.add_attachment(
        conversation_id,
        thread_id,
        body["fileName"],
        mime_type=body["mimeType"],
        data=data,
        now=sb.now(),
    )
    origin = origin_of(request)
    return web.Response(
        status=201,
        headers={
            "Resource-ID": str(attachment_id),
            "Location": f"{origin}/v2/conversations/{conversation_id}/attachments/{attachment_id}",
        },
    )
