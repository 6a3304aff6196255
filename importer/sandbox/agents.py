"""What an agent (or an integration) does to a conversation after it was created: delete it,
reply, add a note, change its status or assignee; each moves ``userUpdatedAt``.

Why: ``importer undo`` must delete exactly what a migration created and keep what people have
worked on since, so its tests need a sandbox that can play the agent. The real API answers a
delete with 204 and then 404; whether a GET of a deleted conversation answers 404 or the
conversation with ``state: deleted`` is not documented, so ``--deleted-get`` chooses (see
``helpscout-api.md`` §3, §6). Every DELETE is recorded (``Store.delete_requests``) so a test can
prove no conversation was deleted twice.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from importer.sandbox.hal import iso, vnd_error
from importer.sandbox.state import OWNER_USER_ID, Sandbox, read_json, sandbox_of
from importer.sandbox.store import Store
from importer.sandbox.validation import FieldError

STATUSES = ("active", "pending", "closed", "spam")


def _live(sb: Sandbox, request: web.Request) -> dict[str, Any] | web.Response:
    """The conversation of the path, or a 404 when it does not exist or was deleted."""
    conversation_id = int(request.match_info["id"])
    conv = sb.store.conversation(conversation_id)
    if conv is None or conv.get("deleted_at") is not None:
        return vnd_error(404, f"Conversation {conversation_id} not found")
    return conv


def delete(store: Store, conversation_id: int, now: float) -> int:
    """Delete a conversation: 204 when it existed, 404 when not (or already deleted); every
    request is recorded."""
    with store._lock:
        row = store._db.execute(
            "SELECT deleted_at FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        status = 204 if row is not None and row[0] is None else 404
        if status == 204:
            store._db.execute(
                "UPDATE conversations SET deleted_at = ?, modified_at = ? WHERE id = ?",
                (now, now, conversation_id),
            )
        store._db.execute(
            "INSERT INTO delete_requests (conversation_id, at, status) VALUES (?, ?, ?)",
            (conversation_id, now, status),
        )
    return status


def delete_requests(store: Store) -> list[tuple[int, int]]:
    """Every DELETE received, in order: (conversation id, status answered)."""
    with store._lock:
        rows = store._db.execute(
            "SELECT conversation_id, status FROM delete_requests ORDER BY rowid"
        ).fetchall()
    return [(int(r[0]), int(r[1])) for r in rows]


def _touch(store: Store, conversation_id: int, now: float, **columns: Any) -> None:
    sets = ", ".join([*(f"{name} = ?" for name in columns), "modified_at = ?"])
    with store._lock:
        store._db.execute(
            f"UPDATE conversations SET {sets} WHERE id = ?",
            (*columns.values(), now, conversation_id),
        )


def _add_thread(store: Store, conv: dict[str, Any], thread: dict[str, Any], *, now: float) -> int:
    """A thread written now (not imported), after the others; the conversation is modified."""
    with store._lock:
        (seq,) = store._db.execute(
            "SELECT COALESCE(MAX(seq), -1) + 1 FROM threads WHERE conversation_id = ?",
            (conv["id"],),
        ).fetchone()
        cur = store._db.execute(
            "INSERT INTO threads (conversation_id, seq, type, text, created_at, user_id, "
            "customer_id, imported, status, draft, to_list, cc, bcc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, 0, '[]', '[]', '[]')",
            (conv["id"], seq, thread["type"], thread["text"], thread["created_at"],
             thread.get("user_id"), thread.get("customer_id")),
        )  # fmt: skip
    _touch(store, conv["id"], now)
    return int(cur.lastrowid or 0)


async def delete_conversation(request: web.Request) -> web.StreamResponse:
    """``DELETE /v2/conversations/{id}``: 204, then 404."""
    sb = sandbox_of(request)
    conversation_id = int(request.match_info["id"])
    status = delete(sb.store, conversation_id, sb.now())
    if status == 404:
        return vnd_error(404, f"Conversation {conversation_id} not found")
    return web.Response(status=204)


async def _thread(request: web.Request, kind: str) -> web.StreamResponse:
    sb = sandbox_of(request)
    conv = _live(sb, request)
    if isinstance(conv, web.Response):
        return conv
    body = await read_json(request, sb.config.max_body_bytes)
    if isinstance(body, web.Response):
        return body
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return vnd_error(400, "Bad request", [FieldError("text", "may not be empty", text)])
    now = sb.now()
    thread: dict[str, Any] = {"type": kind, "text": text, "created_at": iso(now)}
    thread["user_id"] = body.get("user") or OWNER_USER_ID
    if kind == "reply":
        thread["customer_id"] = conv["customer_id"]
    thread_id = _add_thread(sb.store, conv, thread, now=now)
    if kind == "reply" and body.get("status") in STATUSES:
        _touch(sb.store, conv["id"], now, status=body["status"])
    return web.Response(status=201, headers={"Resource-ID": str(thread_id)})


async def reply(request: web.Request) -> web.StreamResponse:
    """``POST /v2/conversations/{id}/reply``: an agent's reply (``text``, ``user``)."""
    return await _thread(request, "reply")


async def note(request: web.Request) -> web.StreamResponse:
    """``POST /v2/conversations/{id}/notes``: an agent's note (``text``, ``user``)."""
    return await _thread(request, "note")


async def patch_conversation(request: web.Request) -> web.StreamResponse:
    """``PATCH /v2/conversations/{id}`` with ``{"op": "replace", "path": "/status" or
    "/assignTo", "value": ...}`` (or ``"op": "remove", "path": "/assignTo"``): 204."""
    sb = sandbox_of(request)
    conv = _live(sb, request)
    if isinstance(conv, web.Response):
        return conv
    body = await read_json(request, sb.config.max_body_bytes)
    if isinstance(body, web.Response):
        return body
    op, path, value = body.get("op"), body.get("path"), body.get("value")
    if path == "/status" and op == "replace" and value in STATUSES:
        _touch(sb.store, conv["id"], sb.now(), status=value)
    elif path == "/assignTo" and op == "replace" and isinstance(value, int):
        if sb.store.user(value) is None:
            return vnd_error(400, "Bad request", [FieldError("value", "unknown user", value)])
        _touch(sb.store, conv["id"], sb.now(), assign_to=value)
    elif path == "/assignTo" and op == "remove":
        _touch(sb.store, conv["id"], sb.now(), assign_to=None)
    else:
        return vnd_error(400, "Bad request", [FieldError("path", "not supported", path)])
    return web.Response(status=204)


def add_agent_routes(app: web.Application, conv: str) -> None:
    """The routes of this module, under ``conv`` (the conversation path pattern)."""
    app.router.add_delete(conv, delete_conversation)
    app.router.add_post(f"{conv}/reply", reply)
    app.router.add_post(f"{conv}/notes", note)
    app.router.add_patch(conv, patch_conversation)
