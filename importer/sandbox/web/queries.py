"""What the sandbox's pages show, read from its store: mailboxes with their counts, a page of a
mailbox's conversations (searched by subject or customer email), one conversation with its
threads, authors and attachments, and the other parts of a split conversation.

Apart from the HTML (:mod:`importer.sandbox.web.render`) so that what a page holds is tested
without a browser, and from the API's reads (:mod:`importer.sandbox.reads`) because a person
pages and searches differently from a client: newest first, a free-text box.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from importer.sandbox.store import Store

#: conversations on one page of a mailbox
PAGE_SIZE = 25
#: the subject of one part of a split conversation (the contract's `` (part i/k)``)
PART_SUBJECT = re.compile(r"^(?P<base>.*) \(part (?P<index>\d+)/(?P<count>\d+)\)$", re.S)
#: thread types written by the customer, and what each is called on a page
CUSTOMER_KINDS = {"customer": "Customer message", "chat": "Chat", "phone": "Phone call"}
AGENT_KINDS = {"reply": "Reply", "note": "Note"}


@dataclass
class Person:
    """An author or a customer as a page names them."""

    name: str
    email: str | None = None


@dataclass
class ConversationRow:
    """One line of a mailbox's list."""

    conv: dict[str, Any]
    customer: Person
    thread_count: int


@dataclass
class ConversationPage:
    """One page of a mailbox's conversations, newest first."""

    rows: list[ConversationRow]
    page: int
    pages: int
    total: int
    query: str


@dataclass
class ThreadView:
    """One thread as a page shows it."""

    row: dict[str, Any]
    kind: str
    label: str
    author: Person
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ConversationView:
    """One conversation: its row, customer, threads in the order asked, and its parts."""

    conv: dict[str, Any]
    customer: Person
    threads: list[ThreadView]
    #: (index, conversation id) of every part of a split conversation, this one included
    parts: list[tuple[int, int]]
    fields: list[tuple[str, str]]


def person_of_customer(customer: dict[str, Any] | None) -> Person:
    """A customer as a page names them: their name, else their email, else ``customer N``."""
    if customer is None:
        return Person("unknown customer")
    name = " ".join(p for p in (customer["first_name"], customer["last_name"]) if p)
    email = customer.get("email")
    return Person(name or email or f"customer {customer['id']}", email)


def person_of_user(user: dict[str, Any] | None, user_id: int | None) -> Person:
    """A user (agent) as a page names them."""
    if user is None:
        return Person(f"user {user_id}" if user_id is not None else "unknown user")
    name = " ".join(p for p in (user["first_name"], user["last_name"]) if p)
    return Person(name or user["email"], user["email"])


def mailbox_counts(store: Store) -> list[tuple[dict[str, Any], int]]:
    """Every mailbox with how many conversations it holds."""
    return [(m, store.count_conversations(m["id"])) for m in store.mailboxes()]


def _matches(conv: dict[str, Any], customer: dict[str, Any] | None, needle: str) -> bool:
    if needle in (conv["subject"] or "").lower():
        return True
    emails = (customer or {}).get("emails") or []
    return any(needle in str(e.get("value", "")).lower() for e in emails)


def conversation_page(store: Store, mailbox_id: int, query: str, *, page: int) -> ConversationPage:
    """Page ``page`` (from 1) of the mailbox's conversations whose subject or customer email
    holds ``query`` (any case; all when empty), newest created first."""
    customers = {c["id"]: c for c in store.customers()}
    needle = query.strip().lower()
    found = [
        conv
        for conv in store.conversations(mailbox_id)
        if not needle or _matches(conv, customers.get(conv["customer_id"]), needle)
    ]
    found.sort(key=lambda c: (c["created_at"] or "", c["id"]), reverse=True)
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    chosen = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    rows = [
        ConversationRow(
            conv,
            person_of_customer(customers.get(conv["customer_id"])),
            len(store.threads(conv["id"])),
        )
        for conv in chosen
    ]
    return ConversationPage(rows, page, pages, len(found), query)


def _thread_view(store: Store, thread: dict[str, Any]) -> ThreadView:
    kind = thread["type"]
    if kind in CUSTOMER_KINDS:
        author = person_of_customer(store.customer(thread["customer_id"]))
        label = CUSTOMER_KINDS[kind]
    else:
        author = person_of_user(store.user(thread["user_id"]), thread["user_id"])
        label = AGENT_KINDS.get(kind, kind.capitalize())
    return ThreadView(thread, kind, label, author, store.attachments(thread["id"]))


def conversation_view(
    store: Store, conversation_id: int, *, oldest_first: bool
) -> ConversationView | None:
    """The conversation, its threads newest first (as Help Scout shows them) or oldest first,
    or None when there is no such conversation (or it was deleted)."""
    conv = store.conversation(conversation_id)
    if conv is None or conv.get("deleted_at") is not None:
        return None
    threads = store.threads(conversation_id)
    threads.sort(key=lambda t: (t["created_at"] or "", t["seq"]), reverse=not oldest_first)
    specs = {f["id"]: f for f in store.fields(conv["mailbox_id"])}
    fields = []
    for entry in conv["fields"] or []:
        spec = specs.get(entry["id"])
        value = str(entry["value"])
        if spec and spec["type"] == "dropdown":
            value = next((label for oid, label in spec["options"] if str(oid) == value), value)
        fields.append((spec["name"] if spec else f"field {entry['id']}", value))
    return ConversationView(
        conv,
        person_of_customer(store.customer(conv["customer_id"]) if conv["customer_id"] else None),
        [_thread_view(store, t) for t in threads],
        split_parts(store, conv),
        fields,
    )


def _field_values(conv: dict[str, Any]) -> set[tuple[int, str]]:
    return {(f["id"], str(f["value"])) for f in conv["fields"] or [] if str(f["value"]).strip()}


def split_parts(store: Store, conv: dict[str, Any]) -> list[tuple[int, int]]:
    """The parts of the split conversation ``conv`` belongs to, as (index, id) in order; empty
    when its subject is not a part's. Parts are told by the value of a custom field they share
    (``--source-id-field``), else by the base subject and the customer."""
    match = PART_SUBJECT.match(conv["subject"] or "")
    if match is None:
        return []
    base, count = match["base"], match["count"]
    candidates = []
    for other in store.conversations(conv["mailbox_id"]):
        found = PART_SUBJECT.match(other["subject"] or "")
        if found and found["base"] == base and found["count"] == count:
            candidates.append((int(found["index"]), other))
    mine = _field_values(conv)
    by_field = [(i, c) for i, c in candidates if mine and mine & _field_values(c)]
    chosen = by_field or [(i, c) for i, c in candidates if c["customer_id"] == conv["customer_id"]]
    return sorted((i, c["id"]) for i, c in chosen)
