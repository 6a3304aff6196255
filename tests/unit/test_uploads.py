"""Uploads after creation: each file once, looked up on its thread when an answer is lost."""

from __future__ import annotations

from typing import Any

from importer.errors import RetryableApiError
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.model import Attachment
from importer.pipeline.uploads import (
    MAX_UPLOAD_SENDS,
    ThreadFiles,
    UploadState,
    upload_once,
)
from importer.transform.payload import AttachmentDraft
from importer.transform.split import Part

CONVERSATION = 500


class FakeThreads:
    """A conversation's two threads in Help Scout, and an upload endpoint that follows a script:
    ``stored`` (201), ``lost`` (stored, answer lost), ``refused-lost`` (not stored, answer
    lost), ``rejected`` (400), ``throttled`` (the client gave up on 429s)."""

    def __init__(self, script: list[str], files: dict[int, list[str]] | None = None) -> None:
        self.script = script
        self.files: dict[int, list[str]] = {10: [], 11: [], **(files or {})}
        self.uploads: list[tuple[int, str]] = []

    def listing(self) -> list[dict[str, Any]]:
        return [
            {
                "id": thread_id,
                "createdAt": f"2024-01-01T10:0{thread_id - 10}:00Z",
                "_embedded": {"attachments": [{"filename": name} for name in names]},
            }
            for thread_id, names in sorted(self.files.items(), reverse=True)  # newest first
        ]

    async def list_threads(self, conversation_id: int) -> list[dict[str, Any]]:
        assert CONVERSATION == conversation_id
        return self.listing()

    async def upload(
        self, conversation_id: int, thread_id: int, file_name: str, *, mime_type: str, data_b64: str
    ) -> Outcome:
        step = self.script.pop(0) if self.script else "stored"
        self.uploads.append((thread_id, file_name))
        if step in ("stored", "lost"):
            self.files[thread_id].append(file_name)
        if step == "stored":
            return Outcome(OutcomeKind.CREATED, 201, "created")
        if step in ("lost", "refused-lost"):
            return Outcome(OutcomeKind.IN_DOUBT, 500, "server_error")
        if step == "throttled":
            raise RetryableApiError("still throttled after 900s; rerun later", status=429)
        return Outcome(OutcomeKind.REJECTED, 413, "too_large")


def draft(name: str) -> AttachmentDraft:
    return AttachmentDraft(name, "image/png", Attachment(file_name=name, data_base64="aGk="), None)


def part(inline: dict[int, list[str]] | None = None) -> Part:
    threads: list[dict[str, Any]] = [{"type": "customer"}, {"type": "reply"}]
    for index, names in (inline or {}).items():
        threads[index]["attachments"] = [{"fileName": n} for n in names]
    return Part(1, 1, {"threads": threads})


async def send(fake: FakeThreads, files: ThreadFiles, name: str, thread_index: int = 0) -> Any:
    return await upload_once(
        fake.upload,
        fake.list_threads,
        files,
        conversation_id=CONVERSATION,
        thread_index=thread_index,
        attachment=draft(name),
        data_b64="aGk=",
    )


async def test_a_lost_answer_of_a_stored_file_is_found_not_sent_again() -> None:
    fake = FakeThreads(["lost"])
    files = ThreadFiles.of(part(), fake.listing())
    result = await send(fake, files, "a.png")
    assert (UploadState.DONE, True) == (result.state, result.found)
    assert [(10, "a.png")] == fake.uploads


async def test_a_lost_answer_of_a_file_not_stored_is_sent_again() -> None:
    fake = FakeThreads(["refused-lost", "stored"])
    files = ThreadFiles.of(part(), fake.listing())
    result = await send(fake, files, "a.png", thread_index=1)
    assert (UploadState.DONE, False) == (result.state, result.found)
    assert [(11, "a.png"), (11, "a.png")] == fake.uploads
    assert ["a.png"] == fake.files[11]


async def test_five_lost_answers_of_a_file_not_stored_still_end_done() -> None:
    """Five lost answers in a row, then stored: done (3 sends left a file pending after two runs
    in ~1% of the upload fault test's runs)."""
    fake = FakeThreads(["refused-lost"] * 5 + ["stored"])
    files = ThreadFiles.of(part(), fake.listing())
    result = await send(fake, files, "a.png")
    assert (UploadState.DONE, 6) == (result.state, len(fake.uploads))
    assert ["a.png"] == fake.files[10]


async def test_answers_lost_every_time_leave_the_file_pending_for_a_rerun() -> None:
    fake = FakeThreads(["refused-lost"] * MAX_UPLOAD_SENDS)
    files = ThreadFiles.of(part(), fake.listing())
    result = await send(fake, files, "a.png")
    assert UploadState.PENDING == result.state
    assert "rerun to try again" in result.reason
    assert MAX_UPLOAD_SENDS == len(fake.uploads)


async def test_a_refused_file_fails_and_a_lasting_throttle_stays_pending() -> None:
    fake = FakeThreads(["rejected", "throttled"])
    files = ThreadFiles.of(part(), fake.listing())
    refused = await send(fake, files, "a.png")
    throttled = await send(fake, files, "b.png")
    assert (UploadState.FAILED, UploadState.PENDING) == (refused.state, throttled.state)
    assert "413" in refused.reason


async def test_on_resume_a_file_already_on_its_thread_is_not_uploaded_twice() -> None:
    """A crash after the upload, before its mark: the file is found on the thread. Files of the
    same name are counted: an inline one and one uploaded before leave the next to upload."""
    fake = FakeThreads([], files={10: ["same.png", "same.png", "other.png"]})
    files = ThreadFiles.of(part(inline={0: ["same.png"]}), fake.listing())
    first = await send(fake, files, "same.png")  # the inline one + this one are there
    second = await send(fake, files, "same.png")  # not there yet
    other = await send(fake, files, "other.png")
    assert (True, False, True) == (first.found, second.found, other.found)
    assert [(10, "same.png")] == fake.uploads
    assert 3 == fake.files[10].count("same.png")
