"""Map a normalised conversation onto Help Scout's Create Conversation body (the contract's
payload rules): status policy, type, customer (created first when it has no email, or given a
placeholder address), times, tags, assignee and custom fields; each message becomes a thread in
:mod:`importer.transform.threads`. The result is a :class:`~importer.transform.payload.Draft`,
threads kept apart and attachments still candidates, for ``split``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from importer.model import CLOSED_LIKE, OPEN_LIKE, PENDING_LIKE
from importer.transform.fields import field_value
from importer.transform.normalise import NormalConversation, NormalCustomer
from importer.transform.payload import (
    PENDING_CUSTOMER_ID,
    Draft,
    DraftFindings,
    PayloadContext,
    customer_key,
)
from importer.transform.threads import thread_drafts
from importer.transform.times import format_api_time


def build_draft(conv: NormalConversation, ctx: PayloadContext) -> Draft:
    """Map ``conv`` to a Help Scout request body, threads kept apart for splitting."""
    found = DraftFindings(conv.source_id)
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
    threads = thread_drafts(conv, customer, thread_times, ctx=ctx, found=found)
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


def _api_time(moment: datetime, conv: NormalConversation, thread_times: list[str]) -> str:
    """``moment`` in Help Scout's format, taken from the conversation's own times or the
    threads' when it is one of them (the first or the last message's)."""
    if moment is conv.created_at and conv.api_created_at is not None:
        return conv.api_created_at
    if moment is conv.closed_at and conv.api_closed_at is not None:
        return conv.api_closed_at
    if thread_times:
        if moment is conv.messages[0].created_at:
            return thread_times[0]
        if moment is conv.messages[-1].created_at:
            return thread_times[-1]
    return format_api_time(moment)


def _fields(
    conv: NormalConversation, ctx: PayloadContext, found: DraftFindings
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
