"""The handlers of the sandbox's pages: read the store, render, answer. Read-only: no page
changes anything, and none needs a token (the guard, :mod:`importer.sandbox.web.guard`, decides
who may look)."""

from __future__ import annotations

from aiohttp import web

from importer.sandbox.state import sandbox_of
from importer.sandbox.web import queries, render

#: attachment types a page may show inline; any other file is served as a download
INLINE_TYPES = frozenset(render.IMAGE_TYPES)


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def _number(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "")
    try:
        return max(1, int(raw)) if raw else 1
    except ValueError:
        return 1


async def mailboxes(request: web.Request) -> web.StreamResponse:
    """``GET /``: the mailboxes."""
    return _html(render.mailboxes_page(queries.mailbox_counts(sandbox_of(request).store)))


async def conversations(request: web.Request) -> web.StreamResponse:
    """``GET /mailboxes/{id}?q=&page=``: a page of the mailbox's conversations."""
    store = sandbox_of(request).store
    mailbox = store.mailbox(int(request.match_info["id"]))
    if mailbox is None:
        raise web.HTTPNotFound(text="No such mailbox: go back to the list of mailboxes.")
    listing = queries.conversation_page(
        store, mailbox["id"], request.query.get("q", ""), page=_number(request, "page")
    )
    return _html(render.conversations_page(mailbox, listing))


async def conversation(request: web.Request) -> web.StreamResponse:
    """``GET /conversations/{id}[?order=oldest]``: one conversation with its threads."""
    store = sandbox_of(request).store
    oldest_first = request.query.get("order") == "oldest"
    view = queries.conversation_view(
        store, int(request.match_info["id"]), oldest_first=oldest_first
    )
    if view is None:
        raise web.HTTPNotFound(text="No such conversation: it may have been deleted.")
    mailbox = store.mailbox(view.conv["mailbox_id"]) or {
        "id": view.conv["mailbox_id"],
        "name": f"Mailbox {view.conv['mailbox_id']}",
    }
    return _html(render.conversation_page(mailbox, view, oldest_first=oldest_first))


async def web_link(request: web.Request) -> web.StreamResponse:
    """``GET /conversation/{id}/{number}``, where a conversation's ``_links.web`` points: the
    conversation's page."""
    raise web.HTTPFound(f"/conversations/{int(request.match_info['id'])}")


def _attachment_row(request: web.Request) -> tuple[dict[str, object], bytes]:
    store = sandbox_of(request).store
    conversation_id = int(request.match_info["id"])
    attachment_id = int(request.match_info["attachment_id"])
    conv = store.conversation(conversation_id)
    data = store.attachment_data(attachment_id, conversation_id)
    if data is None or conv is None or conv.get("deleted_at") is not None:
        raise web.HTTPNotFound(text="No such attachment in this conversation.")
    for thread in store.threads(conversation_id):
        for row in store.attachments(thread["id"]):
            if row["id"] == attachment_id:
                return row, data
    raise web.HTTPNotFound(text="No such attachment in this conversation.")


async def attachment(request: web.Request) -> web.StreamResponse:
    """``GET /conversations/{id}/attachments/{aid}[?download=1]``: the file. Raster images are
    shown inline unless ``download`` is asked; anything else is always a download (a file of
    the export never runs as a page of the sandbox)."""
    row, data = _attachment_row(request)
    mime = str(row["mime_type"])
    inline = mime in INLINE_TYPES and "download" not in request.query
    name = str(row["file_name"]).replace('"', "'").replace("\\", "_")
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    disposition = "inline" if inline else "attachment"
    return web.Response(
        body=data,
        content_type=mime if inline else "application/octet-stream",
        headers={
            "Content-Disposition": f'{disposition}; filename="{ascii_name}"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
