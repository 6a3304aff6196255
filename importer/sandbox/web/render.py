"""The sandbox's pages as HTML: plain server-rendered markup, one stylesheet and one small
script, both served by the sandbox itself (no build step, nothing from outside).

Why plain: these pages are for looking at a rehearsal the way an agent will see it, and they
must work for a keyboard and a screen reader (headings, table headers, labels, alternative
text); every value is escaped, every body sanitised (:mod:`importer.sandbox.web.sanitise`).
Times are written in UTC; the script shows them in the viewer's time zone, UTC on hover.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from importer.sandbox.web.queries import (
    ConversationPage,
    ConversationView,
    Person,
    ThreadView,
)
from importer.sandbox.web.sanitise import clean_body

#: attachments a page shows as images (served inline; anything else is only downloaded)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def e(value: object) -> str:
    """``value`` as text escaped for HTML."""
    return escape("" if value is None else str(value), quote=True)


def layout(title: str, body: str, crumbs: list[tuple[str, str | None]]) -> str:
    """A whole page: ``title``, a breadcrumb trail of (label, link or None), ``body``."""
    trail = " › ".join(
        f'<a href="{e(href)}">{e(label)}</a>'
        if href
        else f'<span aria-current="page">{e(label)}</span>'
        for label, href in crumbs
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · Help Scout sandbox</title>"
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/sandbox.css">'
        '<script src="/static/sandbox.js" defer></script></head><body>'
        '<a class="skip" href="#main">Skip to the content</a>'
        '<header class="top"><a class="brand" href="/">Help Scout sandbox</a>'
        '<span class="note">read-only: what the API holds</span></header>'
        f'<nav aria-label="Breadcrumb" class="crumbs">{trail}</nav>'
        f'<main id="main">{body}</main></body></html>'
    )


def moment(stamp: str | None) -> str:
    """A ``YYYY-MM-DDTHH:MM:SSZ`` time as ``<time>``: UTC here, the viewer's zone once the
    script has run, UTC on hover."""
    if not stamp:
        return '<span class="none">—</span>'
    shown = stamp.replace("T", " ").removesuffix("Z")
    return f'<time datetime="{e(stamp)}" title="{e(shown)} UTC">{e(shown[:16])} UTC</time>'


def person(who: Person) -> str:
    """A name, with the email after it when there is one."""
    if who.email and who.email != who.name:
        return f'{e(who.name)} <span class="email">&lt;{e(who.email)}&gt;</span>'
    return e(who.name)


def tags(names: list[str] | None) -> str:
    """Tags as a list of small labels."""
    if not names:
        return '<span class="none">—</span>'
    items = "".join(f'<li class="tag">{e(t)}</li>' for t in names)
    return f'<ul class="tags">{items}</ul>'


def status(conv: dict[str, Any]) -> str:
    """The status, and the imported mark."""
    mark = ""
    if conv["imported"]:
        mark = ' <span class="imported" title="imported: true">imported</span>'
    word = e(conv["status"])
    return f'<span class="status status-{word}">{word}</span>{mark}'


def mailboxes_page(mailboxes: list[tuple[dict[str, Any], int]]) -> str:
    """``/``: every mailbox with its conversation count."""
    rows = "".join(
        f'<tr><td>{m["id"]}</td><td><a href="/mailboxes/{m["id"]}">{e(m["name"])}</a></td>'
        f'<td>{e(m["email"])}</td><td class="num">{count}</td></tr>'
        for m, count in mailboxes
    )
    body = (
        "<h1>Mailboxes</h1>"
        "<table><caption>Mailboxes of the sandbox account</caption><thead><tr>"
        '<th scope="col">Id</th><th scope="col">Name</th><th scope="col">Email</th>'
        '<th scope="col" class="num">Conversations</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    return layout("Mailboxes", body, [("Mailboxes", None)])


def _page_link(mailbox_id: int, query: str, page: int) -> str:
    params = {"q": query, "page": page} if query else {"page": page}
    return f"/mailboxes/{mailbox_id}?{urlencode(params)}"


def _pager(mailbox_id: int, listing: ConversationPage) -> str:
    links = []
    if listing.page > 1:
        href = _page_link(mailbox_id, listing.query, listing.page - 1)
        links.append(f'<a rel="prev" href="{e(href)}">← Newer</a>')
    links.append(f"<span>page {listing.page} of {listing.pages}</span>")
    if listing.page < listing.pages:
        href = _page_link(mailbox_id, listing.query, listing.page + 1)
        links.append(f'<a rel="next" href="{e(href)}">Older →</a>')
    return f'<nav class="pager" aria-label="Pages">{" ".join(links)}</nav>'


def conversations_page(mailbox: dict[str, Any], listing: ConversationPage) -> str:
    """``/mailboxes/{id}``: a page of its conversations and the search box."""
    rows = "".join(
        f'<tr><td class="num">{r.conv["number"]}</td>'
        f'<td><a href="/conversations/{r.conv["id"]}">{e(r.conv["subject"])}</a></td>'
        f"<td>{person(r.customer)}</td><td>{status(r.conv)}</td><td>{tags(r.conv['tags'])}</td>"
        f"<td>{moment(r.conv['created_at'])}</td><td>{moment(r.conv['closed_at'])}</td>"
        f'<td class="num">{r.thread_count}</td></tr>'
        for r in listing.rows
    )
    found = f"{listing.total} conversation{'s' if listing.total != 1 else ''}"
    if listing.query:
        found += f" whose subject or customer email holds “{e(listing.query)}”"
    body = (
        f"<h1>{e(mailbox['name'])}</h1>"
        f'<form class="search" method="get" action="/mailboxes/{mailbox["id"]}" role="search">'
        '<label for="q">Search by subject or customer email</label>'
        f'<input id="q" name="q" type="search" value="{e(listing.query)}">'
        '<button type="submit">Search</button></form>'
        f'<p class="found">{found}</p>'
        '<table class="conversations"><caption>Conversations, newest first</caption><thead><tr>'
        '<th scope="col" class="num">#</th><th scope="col">Subject</th>'
        '<th scope="col">Customer</th><th scope="col">Status</th><th scope="col">Tags</th>'
        '<th scope="col">Created</th><th scope="col">Closed</th>'
        '<th scope="col" class="num">Threads</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>{_pager(mailbox['id'], listing)}"
    )
    return layout(mailbox["name"], body, [("Mailboxes", "/"), (mailbox["name"], None)])


def _attachments(conv_id: int, thread: ThreadView) -> str:
    if not thread.attachments:
        return ""
    items, images = [], []
    for a in thread.attachments:
        href = f"/conversations/{conv_id}/attachments/{a['id']}"
        items.append(
            f'<li><a href="{e(href)}?download=1" download="{e(a["file_name"])}">'
            f'{e(a["file_name"])}</a> <span class="size">{e(a["mime_type"])},'
            f" {a['size']:,} bytes</span></li>"
        )
        if a["mime_type"] in IMAGE_TYPES:
            images.append(f'<img class="inline" src="{e(href)}" alt="{e(a["file_name"])}">')
    return (
        '<section class="attachments" aria-label="Attachments"><h4>Attachments</h4>'
        f"<ul>{''.join(items)}</ul>{''.join(images)}</section>"
    )


def _thread(conv_id: int, thread: ThreadView) -> str:
    row = thread.row
    side = "customer" if thread.kind not in ("reply", "note") else thread.kind
    draft = ' <span class="draft">draft</span>' if row["draft"] else ""
    return (
        f'<article class="thread thread-{side}" id="thread-{row["id"]}"'
        f' data-type="{e(thread.kind)}">'
        f'<header><h3><span class="kind">{e(thread.label)}</span>'
        f' <span class="author">{person(thread.author)}</span>{draft}</h3>'
        f'<p class="when">{moment(row["created_at"])}</p></header>'
        f'<div class="body">{clean_body(row["text"] or "")}</div>'
        f"{_attachments(conv_id, thread)}</article>"
    )


def _parts(view: ConversationView) -> str:
    if len(view.parts) < 2:
        return ""
    links = "".join(
        f'<li><span aria-current="page">part {index}</span></li>'
        if cid == view.conv["id"]
        else f'<li><a href="/conversations/{cid}">part {index}</a></li>'
        for index, cid in view.parts
    )
    return (
        '<nav class="parts" aria-label="Parts of this conversation"><h2>Parts</h2>'
        f"<ol>{links}</ol></nav>"
    )


def _facts(view: ConversationView) -> str:
    conv = view.conv
    rows = [
        ("Customer", person(view.customer)),
        ("Status", status(conv)),
        ("Type", e(conv["type"])),
        ("Tags", tags(conv["tags"])),
        ("Created", moment(conv["created_at"])),
        ("Closed", moment(conv["closed_at"])),
        ("Threads", str(len(view.threads))),
        *((e(name), e(value)) for name, value in view.fields),
    ]
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="facts">{items}</dl>'


def conversation_page(
    mailbox: dict[str, Any], view: ConversationView, *, oldest_first: bool
) -> str:
    """``/conversations/{id}``: the conversation as Help Scout shows it, threads newest first
    (or oldest first), each with its kind, author and time, attachments and inline images."""
    conv = view.conv
    order = "oldest" if oldest_first else "newest"
    switch = (
        f'<a href="/conversations/{conv["id"]}">Newest first</a>'
        if oldest_first
        else f'<a href="/conversations/{conv["id"]}?order=oldest">Oldest first</a>'
    )
    threads = "".join(_thread(conv["id"], t) for t in view.threads)
    body = (
        f'<h1><span class="number">#{conv["number"]}</span> {e(conv["subject"])}</h1>'
        f"{_facts(view)}{_parts(view)}"
        f'<section class="threads" aria-label="Threads"><h2>Threads, {order} first</h2>'
        f'<p class="order">Show: {switch}</p>{threads}</section>'
    )
    crumbs: list[tuple[str, str | None]] = [
        ("Mailboxes", "/"),
        (mailbox["name"], f"/mailboxes/{mailbox['id']}"),
        (f"#{conv['number']}", None),
    ]
    return layout(conv["subject"] or f"#{conv['number']}", body, crumbs)
