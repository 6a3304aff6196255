"""Split a mapped conversation into requests Help Scout accepts: at most 100 threads and at most
``--max-request-bytes`` each, in order, with the contract's part rules.

Threads are cut greedily on their text alone, which gives the fewest parts for both limits; then
each part takes its inline attachments in order while it stays within the byte budget, and the
rest wait to be uploaded after creation.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from importer.errors import InvalidConversationError
from importer.findings import Finding
from importer.settings import MAX_THREADS_PER_CONVERSATION
from importer.transform.payload import PENDING_CUSTOMER_ID, AttachmentDraft, Draft

PART_SUFFIX_RESERVE = " (part 999/999)"
_ID_RESERVE = 12  # digits a real customer id may add over the placeholder
_STATUS_RESERVE = 16  # a part may gain ``closedAt`` or change status

ReadAttachment = Callable[[str], bytes]


def json_bytes(value: Any) -> bytes:
    """The exact bytes a request body is sent as (compact JSON, UTF-8)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_size(value: Any) -> int:
    """The size in bytes of ``value`` sent as a request body."""
    return len(json_bytes(value))


@dataclass
class Part:
    """One Create Conversation request of a (possibly split) conversation."""

    index: int  # 1-based
    count: int
    payload: dict[str, Any]
    deferred: list[tuple[int, AttachmentDraft]] = field(default_factory=list)  # (thread, file)

    @property
    def size(self) -> int:
        """Bytes of the request body."""
        return json_size(self.payload)


def _pending_refs(draft: Draft) -> bool:
    return bool(draft.base.get("customer", {}).get("id") == PENDING_CUSTOMER_ID)


def _base_size(draft: Draft) -> int:
    probe = dict(draft.base)
    probe["subject"] = str(probe["subject"]) + PART_SUFFIX_RESERVE
    probe.setdefault("closedAt", "2000-01-01T00:00:00Z")
    probe["threads"] = []
    extra = _STATUS_RESERVE + (_ID_RESERVE if _pending_refs(draft) else 0)
    return json_size(probe) + extra


def _thread_sizes(draft: Draft) -> list[int]:
    pending = _pending_refs(draft)
    return [
        json_size(thread.body) + 1 + (_ID_RESERVE if pending and "customer" in thread.body else 0)
        for thread in draft.threads
    ]


def cut_points(sizes: list[int], base: int, max_bytes: int, max_threads: int) -> list[int]:
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


def _oversized(draft: Draft, sizes: list[int], base: int, max_bytes: int) -> list[Finding]:
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
    read: ReadAttachment,
    policy: str,
    left_out: list[Finding],
    source_id: str,
) -> None:
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
            part.payload["threads"][thread_index]["attachments"] = inline


def split_draft(
    draft: Draft,
    *,
    max_bytes: int,
    read_attachment: ReadAttachment,
    attachment_policy: str = "inline",
    max_threads: int = MAX_THREADS_PER_CONVERSATION,
) -> tuple[list[Part], list[Finding]]:
    """Cut ``draft`` into parts; returns them with the attachments left out on the way."""
    base = _base_size(draft)
    sizes = _thread_sizes(draft)
    too_big = _oversized(draft, sizes, base, max_bytes)
    if too_big:
        raise InvalidConversationError(too_big)
    starts = cut_points(sizes, base, max_bytes, max_threads)
    bounds = list(zip(starts, [*starts[1:], len(draft.threads)], strict=True))
    count = len(bounds)
    parts: list[Part] = []
    left_out: list[Finding] = []
    for number, (start, end) in enumerate(bounds, start=1):
        threads = draft.threads[start:end]
        payload = copy.deepcopy(draft.base)
        payload["threads"] = [copy.deepcopy(thread.body) for thread in threads]
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
            part, threads, max_bytes, read_attachment, attachment_policy, left_out, draft.source_id
        )
        parts.append(part)
    return parts, left_out
