"""Attachments uploaded after their part was created: each once, also when an answer is lost.

Help Scout has no idempotency key for uploads either, but ``GET /v2/conversations/{id}/threads``
lists each thread's files (``_embedded.attachments[].filename``). So a file's presence is
decided by counting: a thread should hold, before a given upload, the files of that name sent
inline with the part plus the earlier uploads of that name already done. One more than that
means the upload is there. This is checked

- before each upload a stopped or crashed run left pending (its answer may have been lost), on
  the listing read anyway to find the threads' ids, and
- after an answer that leaves the outcome unknown (5xx, timeout, reset after sending): listed
  again; absent, the file is sent again, up to ``MAX_UPLOAD_SENDS`` sends.

An upload that stays unknown, or meets a lasting throttle, stays *pending*: an error entry says
so and a rerun tries again. A refused upload (400, 413, an unreadable file) is *failed*: an error
entry, not retried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from importer.errors import RetryableApiError
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.transform.payload import AttachmentDraft
from importer.transform.split import Part

# Sends of one file whose answers were all lost before it is left pending for the rerun: 3 left
# a file pending after two runs in ~1% of runs at 25% of 5xx.
MAX_UPLOAD_SENDS = 6


class UploadState(StrEnum):
    """Where an upload ends in the checkpoint."""

    DONE = "done"
    FAILED = "failed"  # refused or unreadable: not retried
    PENDING = "pending"  # outcome unknown or throttled: a rerun tries again


def ordered_threads(threads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Threads oldest first, as the part sent them (the API lists them newest first)."""
    return sorted(threads, key=lambda t: (str(t.get("createdAt", "")), int(t.get("id", 0))))


def _names(thread: dict[str, Any]) -> Counter[str]:
    embedded = thread.get("_embedded")
    files = embedded.get("attachments") if isinstance(embedded, dict) else None
    listed = files if isinstance(files, list) else []
    return Counter(str(entry.get("filename")) for entry in listed if isinstance(entry, dict))


@dataclass
class ThreadFiles:
    """For one created part: how many files of each name its threads hold in Help Scout, and
    how many of those are accounted for (sent inline, or uploaded and recorded done)."""

    threads: list[dict[str, Any]]
    present: dict[tuple[int, str], int] = field(default_factory=dict)
    accounted: Counter[tuple[int, str]] = field(default_factory=Counter)

    @classmethod
    def of(cls, part: Part, listed: list[dict[str, Any]]) -> ThreadFiles:
        """From the part's payload (inline files) and the conversation's listed threads."""
        files = cls([])
        files.observe(listed)
        for index, thread in enumerate(part.payload["threads"]):
            for inline in thread.get("attachments", []):
                files.accounted[(index, str(inline.get("fileName")))] += 1
        return files

    def observe(self, listed: list[dict[str, Any]]) -> None:
        """Take the file counts of a (new) listing of the conversation's threads."""
        self.threads = ordered_threads(listed)
        self.present = {
            (index, name): count
            for index, thread in enumerate(self.threads)
            for name, count in _names(thread).items()
        }

    def thread_id(self, thread_index: int) -> int | None:
        """The Help Scout id of the part's ``thread_index``-th thread, if listed."""
        if thread_index >= len(self.threads):
            return None
        return int(self.threads[thread_index]["id"])

    def found(self, thread_index: int, name: str) -> bool:
        """Whether the thread holds one more file of this name than is accounted for: the file
        is there, and is accounted for from now on."""
        key = (thread_index, name)
        if self.present.get(key, 0) <= self.accounted[key]:
            return False
        self.account(thread_index, name)
        return True

    def account(self, thread_index: int, name: str) -> None:
        """One more file of this name is on the thread (uploaded, or found there)."""
        key = (thread_index, name)
        self.accounted[key] += 1
        self.present[key] = max(self.present.get(key, 0), self.accounted[key])


class Upload(Protocol):
    """``HelpScoutClient.upload_attachment``'s shape."""

    def __call__(
        self, conversation_id: int, thread_id: int, file_name: str, *, mime_type: str, data_b64: str
    ) -> Awaitable[Outcome]: ...


ListThreads = Callable[[int], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class UploadResult:
    """How one upload ended, with the reason when it did not end done."""

    state: UploadState
    reason: str = ""
    found: bool = False  # already there: found on its thread rather than uploaded now


FOUND = UploadResult(UploadState.DONE, found=True)


async def upload_once(
    upload: Upload,
    list_threads: ListThreads,
    files: ThreadFiles,
    *,
    conversation_id: int,
    thread_index: int,
    attachment: AttachmentDraft,
    data_b64: str,
) -> UploadResult:
    """Upload one file to its thread unless it is there already; look before sending again."""
    name = attachment.file_name
    if files.found(thread_index, name):
        return FOUND
    thread_id = files.thread_id(thread_index)
    if thread_id is None:
        return UploadResult(UploadState.FAILED, "its thread was not found after creation")
    for _ in range(MAX_UPLOAD_SENDS):
        try:
            outcome = await upload(
                conversation_id, thread_id, name, mime_type=attachment.mime_type, data_b64=data_b64
            )
        except RetryableApiError as exc:
            return UploadResult(UploadState.PENDING, f"upload failed: {exc}; rerun to try again")
        if outcome.ok:
            files.account(thread_index, name)
            return UploadResult(UploadState.DONE)
        if outcome.kind is not OutcomeKind.IN_DOUBT:
            return UploadResult(UploadState.FAILED, f"upload failed: {outcome.describe()}")
        files.observe(await list_threads(conversation_id))
        if files.found(thread_index, name):
            return FOUND
    return UploadResult(
        UploadState.PENDING,
        f"the upload's answer was lost {MAX_UPLOAD_SENDS} times and the file is not on its "
        "thread; rerun to try again",
    )
