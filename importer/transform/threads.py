"""Each message of a conversation as a Help Scout thread: its type (by the author's role and the
message's privacy), its author, its text, and its attachments as candidates under
``--attachments`` (inline or uploaded later: ``split`` decides; skipped; or listed as links).

Apart from the conversation's own fields (:mod:`importer.transform.draft`): a thread depends
only on its message, the conversation's customer and the context.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from importer.model import Attachment
from importer.transform.normalise import NAME_LIMIT, NormalConversation, NormalMessage, is_email
from importer.transform.payload import AttachmentDraft, DraftFindings, PayloadContext, ThreadDraft

#: the type of a customer's thread by conversation type (an email's: ``customer``)
_CUSTOMER_THREAD_TYPES = {"chat": "chat", "phone": "phone"}


@dataclass
class _ConversationThreads:
    """What every thread of one conversation shares."""

    customer_ref: dict[str, Any]  # the conversation's customer as a thread names them
    own_email: str  # the customer's address, stripped and lowercase ("" without one)
    customer_type: str  # the type of a thread the customer wrote


def thread_drafts(
    conv: NormalConversation,
    customer: dict[str, Any],
    thread_times: list[str],
    *,
    ctx: PayloadContext,
    found: DraftFindings,
) -> list[ThreadDraft]:
    """A thread per message of ``conv``, each created at its time in ``thread_times``."""
    shared = _ConversationThreads(
        customer_ref=_thread_ref(customer),
        own_email=(conv.customer.email or "").strip().lower(),
        customer_type=_CUSTOMER_THREAD_TYPES.get(conv.type, "customer"),
    )
    return [
        _thread(message, created_at, shared, ctx=ctx, found=found)
        for message, created_at in zip(conv.messages, thread_times, strict=True)
    ]


def _thread(
    message: NormalMessage,
    created_at: str,
    shared: _ConversationThreads,
    *,
    ctx: PayloadContext,
    found: DraftFindings,
) -> ThreadDraft:
    text = message.body_html
    if ctx.attachment_policy == "link" and message.attachments:
        text += _link_list(message.attachments)
    body: dict[str, Any] = {"type": "", "text": text, "imported": True, "createdAt": created_at}
    if message.role == "customer" and not message.private:
        body["type"] = shared.customer_type
        body["customer"] = _author_ref(message, shared.own_email) or shared.customer_ref
    else:
        user = ctx.resolve_user(message.author_email, message.author_id) or ctx.default_user
        if message.role == "customer":
            who = html.escape(message.author_name or message.author_email or "the customer")
            body["text"] = f"<p><em>Private message from {who}</em></p>" + text
            found.warn(
                "map",
                "message.private",
                "private customer message imported as a note",
                location=message.location,
            )
        if message.private:
            body["type"] = "note"
        else:
            body["type"] = "reply"
            body["customer"] = shared.customer_ref
        if user is not None:
            body["user"] = user
    return ThreadDraft(body, _attachment_drafts(message, ctx, found), created_at)


def _thread_ref(customer: dict[str, Any]) -> dict[str, Any]:
    return {"id": customer["id"]} if "id" in customer else {"email": customer["email"]}


def _author_ref(message: NormalMessage, own_email: str) -> dict[str, Any] | None:
    """The thread's own customer when someone else than the conversation's customer (whose
    address, stripped and lowercase, is ``own_email``) wrote it (a colleague in copy): by their
    email, so the message keeps its true author."""
    email = (message.author_email or "").strip()
    if not own_email or not email or email.lower() == own_email or not is_email(email):
        return None  # without the customer's own address, another author cannot be told
    ref: dict[str, Any] = {"email": email}
    first, _, last = " ".join((message.author_name or "").split()).partition(" ")
    if first:
        ref["firstName"] = first[:NAME_LIMIT]
    if last:
        ref["lastName"] = last[:NAME_LIMIT]
    return ref


def _attachment_drafts(
    message: NormalMessage, ctx: PayloadContext, found: DraftFindings
) -> list[AttachmentDraft]:
    if not message.attachments:
        return []
    if ctx.attachment_policy == "skip":  # left out on purpose, still one error entry each
        for attachment in message.attachments:
            found.leave_out(
                "attachment",
                "attachment.skipped",
                f"{attachment.file_name}: left out (--attachments skip)",
                location=message.location,
            )
        return []
    if ctx.attachment_policy == "link":
        for attachment in message.attachments:
            found.warn(
                "attachment",
                "attachment.listed",
                f"{attachment.file_name}: listed as a link in the message",
                location=message.location,
            )
        return []
    return [
        AttachmentDraft(
            file_name=attachment.file_name,
            mime_type=attachment.content_type or "application/octet-stream",
            source=attachment,
            location=message.location,
        )
        for attachment in message.attachments
    ]


def _link_list(attachments: list[Attachment]) -> str:
    items = []
    for attachment in attachments:
        name = html.escape(attachment.file_name)
        if attachment.url:
            items.append(f'<li><a href="{html.escape(attachment.url)}">{name}</a></li>')
        else:
            items.append(f"<li>{name}</li>")
    return "<p>Attachments:</p><ul>" + "".join(items) + "</ul>"
