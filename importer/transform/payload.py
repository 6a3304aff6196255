"""Map a normalised conversation onto Help Scout's Create Conversation body (the contract's
payload rules): status policy, type, author role and privacy to thread type, customer, tags,
fields. Attachments stay candidates here; ``split`` decides which go inline.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from importer.findings import Finding
from importer.model import CLOSED_LIKE, OPEN_LIKE, PENDING_LIKE, Attachment
from importer.transform.fields import MailboxField, field_value
from importer.transform.normalise import (
    NAME_LIMIT,
    NormalConversation,
    NormalCustomer,
    NormalMessage,
    is_email,
)
from importer.transform.times import format_api_time

PENDING_CUSTOMER_ID = 0  # replaced by the created customer's id before sending; never sent as is

UserResolver = Callable[[str | None, str | None], int | None]


def _no_user(email: str | None, source_id: str | None) -> int | None:
    return None


@dataclass(frozen=True)
class PayloadContext:
    """Everything mapping needs besides the conversation; offline commands leave ids unknown."""

    mailbox_id: int | None = None
    status_policy: str = "closed"
    status_words: Mapping[str, list[str]] = field(default_factory=dict)
    no_email_policy: str = "create"
    placeholder_domain: str = "imported.invalid"
    source_name: str = "import"
    attachment_policy: str = "inline"
    resolve_user: UserResolver = _no_user
    default_user: int | None = None
    #: the mailbox's custom fields by name (and lowercase name); None when offline
    mailbox_fields: Mapping[str, MailboxField] | None = None
    source_id_field: int | None = None


@dataclass
class AttachmentDraft:
    """An attachment that may go inline (base64) or be uploaded after creation."""

    file_name: str
    mime_type: str
    source: Attachment
    location: str | None

    @property
    def inline_bytes(self) -> int:
        """Bytes the attachment adds inline: its base64 length plus the JSON around it."""
        if self.source.data_base64:
            data_len = len(self.source.data_base64)
        elif self.source.size is not None:
            data_len = 4 * math.ceil(self.source.size / 3)
        else:
            return -1  # unknown until read
        return data_len + len(self.file_name.encode()) + len(self.mime_type) + 40


@dataclass
class ThreadDraft:
    """One thread's JSON (without attachments) and its attachment candidates."""

    body: dict[str, Any]
    attachments: list[AttachmentDraft]
    created_at: str


@dataclass
class Draft:
    """A whole conversation mapped to Help Scout, before splitting."""

    source_id: str
    base: dict[str, Any]  # every conversation field but ``threads``
    threads: list[ThreadDraft]
    customer_key: str
    customer_to_create: dict[str, Any] | None
    warnings: list[Finding]
    left_out: list[Finding]


def help_scout_status(
    conv: NormalConversation, ctx: PayloadContext, warn: Callable[[str, str], None]
) -> str:
    """The conversation's status under ``--status-policy``."""
    if ctx.status_policy == "closed":
        return "closed"
    word = (conv.status or "").strip().lower()
    if not word:
        return "closed"
    words = ctx.status_words
    if word in words.get("open", OPEN_LIKE):
        return "active"
    if word in words.get("pending", PENDING_LIKE):
        return "pending"
    if word in words.get("closed", CLOSED_LIKE):
        return "closed"
    warn("status", f"status {conv.status!r} is not a known word; imported as closed")
    return "closed"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _id_slug(text: str) -> str:
    """A customer id fit for an address; ids that had to change get a short hash of the
    original, so ``A.b`` and ``a-B`` stay two customers."""
    slug = _slug(text)
    if slug == text:
        return slug
    return f"{slug}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def _customer_fields(customer: NormalCustomer) -> dict[str, Any]:
    pairs = {
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "phone": customer.phone,
        "organization": customer.organization,
        "jobTitle": customer.job_title,
        "location": customer.location,
    }
    return {key: value for key, value in pairs.items() if value}


def email_key(email: str) -> str:
    """The customer key of an email address (see :func:`customer_key`)."""
    return "email:" + email.lower()


def customer_key(customer: NormalCustomer) -> str:
    """The key that names one customer across conversations (email, else source id, else phone)."""
    if customer.email:
        return email_key(customer.email)
    if customer.source_id:
        return "id:" + customer.source_id
    return "phone:" + re.sub(r"\D", "", customer.phone or "")


def _customer(
    conv: NormalConversation, ctx: PayloadContext
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The customer object of the request, and the body to create it first when needed."""
    customer = conv.customer
    fields = _customer_fields(customer)
    if customer.email:
        return {"email": customer.email, **fields}, None
    if ctx.no_email_policy == "placeholder":
        who = customer.source_id or re.sub(r"\D", "", customer.phone or "")
        email = f"{_slug(conv.source or ctx.source_name)}-{_id_slug(who)}@{ctx.placeholder_domain}"
        return {"email": email, **fields}, None
    to_create = {k: v for k, v in fields.items() if k != "phone"}
    if customer.phone:
        to_create["phones"] = [{"type": "work", "value": customer.phone}]
    return {"id": PENDING_CUSTOMER_ID}, to_create


def customer_marker(key: str) -> str:
    """The note (``background``) a created customer carries, so it can be found again."""
    return f"Imported by importer; source customer {key}"[:200]


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
    message: NormalMessage, ctx: PayloadContext, found: _Collector
) -> list[AttachmentDraft]:
    if not message.attachments:
        return []
    if ctx.attachment_policy == "skip":  # left out on purpose, still one error entry each
        for attachment in message.attachments:
            found.leave_out(
                "attachment",
                "attachment.skipped",
                f"{attachment.file_name}: left out (--attachments skip)",
                message.location,
            )
        return []
    if ctx.attachment_policy == "link":
        for attachment in message.attachments:
            found.warn(
                "attachment",
                "attachment.listed",
                f"{attachment.file_name}: listed as a link in the message",
                message.location,
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


class _Collector:
    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        self.warnings: list[Finding] = []
        self.left_out: list[Finding] = []

    def warn(self, stage: str, code: str, message: str, location: str | None = None) -> None:
        self.warnings.append(Finding(stage, code, message, location, self.source_id))

    def leave_out(self, stage: str, code: str, message: str, location: str | None = None) -> None:
        """Something of an imported conversation that is not sent: an error entry."""
        self.left_out.append(Finding(stage, code, message, location, self.source_id))


#: the type of a customer's thread by conversation type (an email's: ``customer``)
_CUSTOMER_THREAD_TYPES = {"chat": "chat", "phone": "phone"}


@dataclass
class _ConversationThreads:
    """What every thread of one conversation shares."""

    customer_ref: dict[str, Any]  # the conversation's customer as a thread names them
    own_email: str  # the customer's address, stripped and lowercase ("" without one)
    customer_type: str  # the type of a thread the customer wrote


def _thread(
    message: NormalMessage,
    created_at: str,
    shared: _ConversationThreads,
    ctx: PayloadContext,
    found: _Collector,
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
                message.location,
            )
        if message.private:
            body["type"] = "note"
        else:
            body["type"] = "reply"
            body["customer"] = shared.customer_ref
        if user is not None:
            body["user"] = user
    return ThreadDraft(body, _attachment_drafts(message, ctx, found), created_at)


def _threads(
    conv: NormalConversation,
    customer: dict[str, Any],
    thread_times: list[str],
    ctx: PayloadContext,
    found: _Collector,
) -> list[ThreadDraft]:
    shared = _ConversationThreads(
        customer_ref=_thread_ref(customer),
        own_email=(conv.customer.email or "").strip().lower(),
        customer_type=_CUSTOMER_THREAD_TYPES.get(conv.type, "customer"),
    )
    return [
        _thread(message, created_at, shared, ctx, found)
        for message, created_at in zip(conv.messages, thread_times, strict=True)
    ]


def _api_time(moment: datetime, conv: NormalConversation, thread_times: list[str]) -> str:
    """``moment`` in Help Scout's format, taken from the threads' when it is the first or the
    last message's own time."""
    if thread_times:
        if moment is conv.messages[0].created_at:
            return thread_times[0]
        if moment is conv.messages[-1].created_at:
            return thread_times[-1]
    return format_api_time(moment)


def _fields(
    conv: NormalConversation, ctx: PayloadContext, found: _Collector
) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    if ctx.mailbox_fields is not None:
        for name, value in conv.custom_fields.items():
            if value is None or value == "":
                continue
            target = ctx.mailbox_fields.get(name) or ctx.mailbox_fields.get(name.lower())
            if target is None:
                found.warn(
                    "map",
                    "custom_fields",
                    f"custom field {name!r} has no field in the mailbox: left out",
                )
                continue
            if target.id == ctx.source_id_field:
                continue  # the source id goes there
            sent = field_value(target, value)
            if sent.note is not None:
                found.warn("map", "custom_fields", f"custom field {name!r}: {sent.note}")
            if sent.value is not None:
                fields.append({"id": target.id, "value": sent.value})
    if ctx.source_id_field is not None:
        fields.append({"id": ctx.source_id_field, "value": conv.source_id})
    return fields


def build_draft(conv: NormalConversation, ctx: PayloadContext) -> Draft:
    """Map ``conv`` to a Help Scout request body, threads kept apart for splitting."""
    found = _Collector(conv.source_id)
    thread_times = [message.api_created_at for message in conv.messages]
    customer, to_create = _customer(conv, ctx)
    status = help_scout_status(conv, ctx, lambda code, msg: found.warn("map", code, msg))
    base: dict[str, Any] = {
        "subject": conv.subject,
        "type": conv.type,
        "mailboxId": ctx.mailbox_id,
        "status": status,
        "customer": customer,
        "imported": True,
        "autoReply": False,
        "createdAt": _api_time(conv.created_at, conv, thread_times),
    }
    if status == "closed":
        closed = conv.closed_at or conv.messages[-1].created_at
        if closed < conv.created_at:
            found.warn(
                "map", "closedAt", "closed time before the creation time; set to the creation time"
            )
            closed = conv.created_at
        base["closedAt"] = _api_time(closed, conv, thread_times)
    if conv.tags:
        base["tags"] = list(conv.tags)
    assignee = ctx.resolve_user(conv.assignee_email, conv.assignee_id)
    if assignee is not None:
        base["assignTo"] = assignee
    fields = _fields(conv, ctx, found)
    if fields:
        base["fields"] = fields
    threads = _threads(conv, customer, thread_times, ctx, found)
    key = customer_key(conv.customer)
    if to_create is not None:
        to_create["background"] = customer_marker(key)
    return Draft(
        source_id=conv.source_id,
        base=base,
        threads=threads,
        customer_key=key,
        customer_to_create=to_create,
        warnings=conv.warnings + found.warnings,
        left_out=list(conv.left_out) + found.left_out,
    )
