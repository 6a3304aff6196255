"""Split a mapped conversation into requests Help Scout accepts: at most 100 threads and at most
``--max-request-bytes`` each, in order, with the contract's part rules.

Threads are cut greedily on their text alone, which gives the fewest parts for both limits; then
each part takes its inline attachments in order while it stays within the byte budget, and the
rest wait to be uploaded after creation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from importer.errors import InvalidConversationError
from importer.findings import Finding
from importer.settings import MAX_THREADS_PER_CONVERSATION
from importer.transform.payload import (
    PENDING_CUSTOMER_ID,
    AttachmentDraft,
    Draft,
    ThreadDraft,
    email_key,
)
from importer.wire import LARGE_TEXT, json_bytes, json_size, orjson_bytes

PART_SUFFIX_RESERVE = " (part 999/999)"
_ID_RESERVE = 12  # digits a real customer id may add over the placeholder
_STATUS_RESERVE = 16  # a part may gain ``closedAt`` or change status

ReadAttachment = Callable[[str], bytes]


@dataclass
class Part:
    """One Create Conversation request of a (possibly split) conversation: what the engine
    needs to send it exactly once, and its request body for a given customer id.

    ``payload`` is the wire body as planned (a customer without email still named by the
    placeholder id); the engine reads the part through its properties and :meth:`body`.
    """

    index: int  # 1-based
    count: int
    payload: dict[str, Any]
    deferred: list[tuple[int, AttachmentDraft]] = field(default_factory=list)  # (thread, file)

    @property
    def size(self) -> int:
        """Bytes of the request body."""
        return json_size(self.payload)

    @property
    def subject(self) -> str:
        return str(self.payload["subject"])

    @property
    def customer_email(self) -> str | None:
        """The conversation's customer by email, if it is named so (not by a created id)."""
        email = self.payload["customer"].get("email")
        return email if isinstance(email, str) else None

    @property
    def names_pending_customer(self) -> bool:
        """Whether the customer is one the importer creates first (named by the placeholder)."""
        return bool(self.payload["customer"].get("id") == PENDING_CUSTOMER_ID)

    @property
    def thread_times(self) -> tuple[str, ...]:
        """Every thread's ``createdAt``, sorted: how reconcile recognises the part."""
        return tuple(sorted(str(t.get("createdAt", "")) for t in self.payload["threads"]))

    @property
    def thread_count(self) -> int:
        return len(self.payload["threads"])

    @property
    def inline_attachments(self) -> int:
        return sum(len(thread.get("attachments", [])) for thread in self.payload["threads"])

    @cached_property
    def span(self) -> str:
        """Which messages the part holds: a digest of its threads' texts in order. Not of their
        times (a future time is clamped to the moment of the run, another on each run), nor of
        user or customer ids, tags or fields, which may change between runs without moving a
        message."""
        texts = [
            hashlib.sha256(str(t.get("text")).encode()).hexdigest()[:16]
            for t in self.payload["threads"]
        ]
        return hashlib.sha256(json_bytes(texts)).hexdigest()[:32]

    @property
    def colleague_keys(self) -> set[str]:
        """The customer keys of everyone a customer thread names by email (colleagues who wrote
        in the conversation, whom Help Scout may create as customers)."""
        keys = set()
        for thread in self.payload["threads"]:
            email = thread.get("customer", {}).get("email")
            if isinstance(email, str):
                keys.add(email_key(email))
        return keys

    def body(
        self, customer_id: int | None = None, notes: Mapping[int, str] | None = None
    ) -> dict[str, Any]:
        """The request body: the created customer's id in place of the placeholder (also in the
        threads it wrote; a message by someone else keeps its own author), and ``notes`` (HTML,
        by thread index) appended to their threads. ``payload`` itself is never changed."""
        bind = customer_id is not None and self.names_pending_customer
        if not bind and not notes:
            return self.payload
        threads = list(self.payload["threads"])
        if bind:
            for index, thread in enumerate(threads):
                if thread.get("customer", {}).get("id") == PENDING_CUSTOMER_ID:
                    threads[index] = {**thread, "customer": {"id": customer_id}}
        for index, note in (notes or {}).items():
            thread = threads[index]
            threads[index] = {**thread, "text": f"{thread.get('text') or ''}{note}"}
        body = {**self.payload, "threads": threads}
        if bind:
            body["customer"] = {"id": customer_id}
        return body

    def created_customer_id(self, customer_id: int | None) -> int | None:
        """The id of the customer the sent body names by id (one the importer created)."""
        if self.names_pending_customer:
            return customer_id
        given = self.payload["customer"].get("id")
        return given if isinstance(given, int) else None


def _pending_refs(draft: Draft) -> bool:
    return bool(draft.base.get("customer", {}).get("id") == PENDING_CUSTOMER_ID)


def _base_probe(draft: Draft) -> dict[str, Any]:
    """The base of any part of ``draft`` at its largest (the longest subject, a ``closedAt``),
    without threads."""
    probe = dict(draft.base)
    probe["subject"] = str(probe["subject"]) + PART_SUFFIX_RESERVE
    probe.setdefault("closedAt", "2000-01-01T00:00:00Z")
    probe["threads"] = []
    return probe


def _id_reserve(draft: Draft) -> int:
    """Bytes a customer id may gain when the placeholder is replaced at send time."""
    return _ID_RESERVE if _pending_refs(draft) else 0


def _base_reserve(draft: Draft) -> int:
    """Bytes a part's base may gain when it is sent: a status, a real customer id."""
    return _STATUS_RESERVE + _id_reserve(draft)


def _base_size(draft: Draft) -> int:
    return json_size(_base_probe(draft)) + _base_reserve(draft)


#: bytes a thread may gain for each URL attachment that cannot be fetched at send time: the
#: line that names it (``importer.pipeline.attachments.notes`` keeps within this)
URL_NOTE_RESERVE = 400


def _url_notes_reserve(attachments: list[AttachmentDraft]) -> int:
    return URL_NOTE_RESERVE * sum(1 for a in attachments if a.source.url)


def _thread_reserve(thread: ThreadDraft, id_reserve: int) -> int:
    """Bytes a thread may gain when it is sent: a real customer id, a note per URL attachment."""
    return (id_reserve if "customer" in thread.body else 0) + (
        _url_notes_reserve(thread.attachments) if thread.attachments else 0
    )


def _thread_sizes(draft: Draft) -> list[int]:
    id_reserve = _id_reserve(draft)
    return [
        json_size(thread.body) + 1 + _thread_reserve(thread, id_reserve) for thread in draft.threads
    ]


def _has_long_text(thread: ThreadDraft) -> bool:
    text = thread.body.get("text")
    return isinstance(text, str) and len(text) > LARGE_TEXT


def fits_one_request(draft: Draft, *, max_bytes: int, max_threads: int) -> bool:
    """Whether ``draft`` goes whole in one request: ``_base_size`` plus every one of
    ``_thread_sizes`` within ``max_bytes``, and ``max_threads`` threads at most; then no thread
    is too big alone and :func:`cut_points` gives ``[0]``. Measured in one encoding of the base
    and the threads together, which is as long as each encoded apart plus a comma or bracket
    each. False, to measure each apart, when a thread's text is long (:func:`json_size` counts
    it without encoding it) or orjson refuses a value."""
    threads = draft.threads
    if len(threads) > max_threads or any(_has_long_text(thread) for thread in threads):
        return False
    encoded = orjson_bytes([_base_probe(draft), *[thread.body for thread in threads]])
    if encoded is None:
        return False
    id_reserve = _id_reserve(draft)
    # "[" base ("," thread)... "]": the base, each thread with its separator, two brackets
    size = len(encoded) - 2 + _base_reserve(draft)
    size += sum(_thread_reserve(thread, id_reserve) for thread in threads)
    return size <= max_bytes


def cut_points(sizes: list[int], base: int, max_bytes: int, *, max_threads: int) -> list[int]:
    """Start index of each part: greedy, so the number of parts is the fewest possible."""
    starts = [0]
    used, count = base, 0
    for index, size in enumerate(sizes):
        if count and (count >= max_threads or used + size > max_bytes):
            starts.append(index)
            used, count = base, 0
        used += size
        count += 1
    return starts


def _oversized(draft: Draft, sizes: list[int], base: int, *, max_bytes: int) -> list[Finding]:
    findings = []
    for index, size in enumerate(sizes):
        if base + size > max_bytes:
            findings.append(
                Finding(
                    "split",
                    f"threads[{index}].text",
                    f"message {index + 1} alone makes a request of {base + size} bytes; one "
                    f"request may carry {max_bytes}: shorten it or raise --max-request-bytes",
                    None,
                    draft.source_id,
                )
            )
    return findings


def _inline_data(draft: AttachmentDraft, read: ReadAttachment) -> str:
    source = draft.source
    if source.data_base64:
        text = "".join(source.data_base64.split())
        base64.b64decode(text, validate=True)
        return text
    assert source.path is not None
    return base64.b64encode(read(source.path)).decode("ascii")


def _place_attachments(
    part: Part,
    threads: list[Any],
    max_bytes: int,
    *,
    read: ReadAttachment,
    policy: str,
    left_out: list[Finding],
    source_id: str,
) -> None:
    if not any(thread.attachments for thread in threads):
        return
    used = part.size
    for thread_index, thread in enumerate(threads):
        inline: list[dict[str, str]] = []
        for attachment in thread.attachments:
            try:
                # base64 given in the export is checked whatever the policy; a file is read
                # only when it goes inline
                given = _inline_data(attachment, read) if attachment.source.data_base64 else None
                estimate = attachment.inline_bytes
                if (
                    policy == "upload"
                    or attachment.source.url
                    or (estimate >= 0 and used + estimate > max_bytes)
                ):
                    part.deferred.append((thread_index, attachment))
                    continue
                data = given if given is not None else _inline_data(attachment, read)
            except (OSError, ValueError, binascii.Error) as exc:
                left_out.append(
                    Finding(
                        "attachment",
                        "attachment",
                        f"{attachment.file_name}: cannot be read ({exc}); left out",
                        attachment.location,
                        source_id,
                        part.index,
                    )
                )
                continue
            entry = {
                "fileName": attachment.file_name,
                "mimeType": attachment.mime_type,
                "data": data,
            }
            size = json_size(entry) + 1
            if used + size > max_bytes:
                part.deferred.append((thread_index, attachment))
                continue
            inline.append(entry)
            used += size
        if inline:
            body = part.payload["threads"][thread_index]
            part.payload["threads"][thread_index] = {**body, "attachments": inline}


def split_draft(
    draft: Draft,
    *,
    max_bytes: int,
    read_attachment: ReadAttachment,
    attachment_policy: str = "inline",
    max_threads: int = MAX_THREADS_PER_CONVERSATION,
) -> tuple[list[Part], list[Finding]]:
    """Cut ``draft`` into parts; returns them with the attachments left out on the way."""
    if fits_one_request(draft, max_bytes=max_bytes, max_threads=max_threads):
        starts = [0]  # the common case, measured without measuring each thread
    else:
        base = _base_size(draft)
        sizes = _thread_sizes(draft)
        too_big = _oversized(draft, sizes, base, max_bytes=max_bytes)
        if too_big:
            raise InvalidConversationError(too_big)
        starts = cut_points(sizes, base, max_bytes, max_threads=max_threads)
    bounds = list(zip(starts, [*starts[1:], len(draft.threads)], strict=True))
    count = len(bounds)
    parts: list[Part] = []
    left_out: list[Finding] = []
    for number, (start, end) in enumerate(bounds, start=1):
        threads = draft.threads[start:end]
        # the draft is this conversation's alone and nothing changes a payload after it is cut
        # (a part's body for sending is a new dict): no copies, only new top-level dicts
        payload = {**draft.base, "threads": [thread.body for thread in threads]}
        if count > 1:
            payload["subject"] = f"{draft.base['subject']} (part {number}/{count})"
            if number > 1:
                payload["createdAt"] = threads[0].created_at
            if number < count:  # closes at its last thread, never before it was created
                payload["status"] = "closed"
                payload["closedAt"] = max(threads[-1].created_at, payload["createdAt"])
            elif "closedAt" in payload and payload["closedAt"] < payload["createdAt"]:
                payload["closedAt"] = payload["createdAt"]
        part = Part(index=number, count=count, payload=payload)
        _place_attachments(
            part,
            threads,
            max_bytes,
            read=read_attachment,
            policy=attachment_policy,
            left_out=left_out,
            source_id=draft.source_id,
        )
        parts.append(part)
    return parts, left_out
