"""The files of a part that do not travel inside its create request.

- **Before the POST**, the part's attachments given by URL are fetched (from
  ``--attachments-dir`` when ``importer fetch-attachments`` kept them there, else from the URL,
  on the downloader's own session) and spooled to disk; one that cannot be had gets a line in
  its message (:meth:`PartFiles.notes`) and an error entry, and the conversation goes on.
- **After the part exists**, every file still pending is uploaded to its thread, each once
  (:func:`importer.pipeline.uploads.upload_once`), from the spool, the export, or its URL.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from importer.attachment_refs import read_attachment_bytes
from importer.errors import DownloadError
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.download_hosts import HostDownError
from importer.helpscout.downloads import AttachmentDownloader, fetched_file
from importer.outputs import write_private
from importer.pipeline.checkpoint import UploadsLog
from importer.pipeline.uploads import FOUND, ThreadFiles, UploadResult, UploadState, upload_once
from importer.transform.payload import AttachmentDraft
from importer.transform.plan import ConversationPlan
from importer.transform.split import URL_NOTE_RESERVE, Part
from importer.wire import json_bytes

#: what a URL attachment became before its part was sent (by deferred index): a file on
#: disk, or why not
Fetched = dict[int, Path | DownloadError]


class LeftOut(Protocol):
    """A file of a part could not be had (``why``): the conversation goes without it."""

    def __call__(
        self, plan: ConversationPlan, part: Part, attachment: AttachmentDraft, *, why: str
    ) -> None: ...


EventSink = Callable[[str, dict[str, Any]], None]


def notes(part: Part, fetched: Fetched) -> dict[int, str]:
    """A line for each message whose URL attachment could not be fetched, naming the file and
    why (by thread index): the conversation is imported without it, never silently."""
    lines: dict[int, str] = {}
    for index, error in sorted(fetched.items()):
        if not isinstance(error, DownloadError):
            continue
        thread_index, attachment = part.deferred[index]
        lines[thread_index] = lines.get(thread_index, "") + note(attachment.file_name, str(error))
    return lines


def note(file_name: str, why: str) -> str:
    """The line naming a file left out, within the bytes the splitter reserved for it."""
    line = (
        f'<p><em>Attachment "{html.escape(_cut(file_name, 80))}" was not imported: '
        f"{html.escape(_cut(why, 160))}</em></p>"
    )
    while len(json_bytes(line)) > URL_NOTE_RESERVE:  # escaping made it longer: cut the reason
        why = why[: max(len(why) - 40, 0)]
        line = (
            f'<p><em>Attachment "{html.escape(_cut(file_name, 40))}" was not imported: '
            f"{html.escape(_cut(why, 160))}</em></p>"
        )
    return line


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def remove_spooled(fetched: Fetched) -> None:
    """Delete the files fetched for one part once its uploads are over."""
    for item in fetched.values():
        if isinstance(item, Path):
            item.unlink(missing_ok=True)


@dataclass(kw_only=True)
class PartFiles:
    """Fetches and uploads the files of parts (see the module's docstring)."""

    client: HelpScoutClient
    log: UploadsLog
    left_out: LeftOut
    emit: EventSink
    downloader: AttachmentDownloader | None = None
    spool_dir: Path | None = None
    attachments_dir: Path | None = None

    async def fetch_urls(self, part: Part) -> Fetched:
        """Fetch the part's URL attachments before its POST (spooled to disk). A file whose
        host is down raises :class:`HostDownError` (the conversation waits for the host), and
        what was spooled for the part is removed."""
        fetched: Fetched = {}
        try:
            for index, (_, attachment) in enumerate(part.deferred):
                url = attachment.source.url
                if not url or attachment.source.data_base64 or attachment.source.path:
                    continue
                try:
                    data = await self._download(url)
                except DownloadError as exc:
                    fetched[index] = exc
                    continue
                assert self.spool_dir is not None
                name = f"{hashlib.sha256(url.encode()).hexdigest()[:24]}-{index}"
                path = self.spool_dir / name
                await asyncio.to_thread(write_private, path, data)  # full disk: exit 4
                fetched[index] = path
        except BaseException:
            remove_spooled(fetched)
            raise
        return fetched

    async def upload_pending(
        self, plan: ConversationPlan, part: Part, conversation_id: int, *, fetched: Fetched
    ) -> None:
        """Upload the attachments of a created part still pending in the checkpoint, each to its
        thread, each once; ``fetched`` holds those fetched before the part was sent."""
        states = self.log.upload_states(plan.source_id, part.index)
        if UploadState.PENDING not in states.values():
            return
        files = ThreadFiles.of(part, await self.client.list_threads(conversation_id))
        for index, (thread_index, attachment) in enumerate(part.deferred):
            if states.get(index) == UploadState.DONE:  # all of them before any lookup
                files.account(thread_index, attachment.file_name)
        for index, (thread_index, attachment) in enumerate(part.deferred):
            if states.get(index) != UploadState.PENDING:
                continue
            result = await self._upload_one(
                conversation_id,
                files,
                thread_index,
                attachment=attachment,
                fetched=fetched.get(index),
            )
            if result.state is not UploadState.DONE:
                self.left_out(plan, part, attachment, why=result.reason)
            if result.found:
                self.emit(
                    "upload.found",
                    {"source_id": plan.source_id, "part": part.index, "file": attachment.file_name},
                )
            if result.state is not UploadState.PENDING:
                self.log.record_upload(
                    plan.source_id, part.index, index, done=result.state is UploadState.DONE
                )

    async def _upload_one(
        self,
        conversation_id: int,
        files: ThreadFiles,
        thread_index: int,
        *,
        attachment: AttachmentDraft,
        fetched: Path | DownloadError | None,
    ) -> UploadResult:
        """Read one file and upload it unless it is on its thread already."""
        try:
            if isinstance(fetched, DownloadError):
                raise fetched
            data = await self._bytes(attachment, fetched)
        except HostDownError as exc:
            if files.found(thread_index, attachment.file_name):  # uploaded by an earlier run
                return FOUND
            hosts = self.downloader.hosts if self.downloader is not None else None
            if hosts is None or not hosts.given_up(exc.host):
                raise  # the conversation waits for the host
            # its part exists: the upload stays pending, a rerun finishes it
            return UploadResult(UploadState.PENDING, str(exc))
        except (OSError, ValueError, DownloadError) as exc:
            if files.found(thread_index, attachment.file_name):  # uploaded by an earlier run
                return FOUND
            why = str(exc) if isinstance(exc, DownloadError) else f"cannot be read ({exc})"
            return UploadResult(UploadState.FAILED, why)
        return await upload_once(
            self.client.upload_attachment,
            self.client.list_threads,
            files,
            conversation_id=conversation_id,
            thread_index=thread_index,
            attachment=attachment,
            data_b64=base64.b64encode(data).decode("ascii"),
        )

    async def _bytes(self, attachment: AttachmentDraft, spooled: Path | None) -> bytes:
        source = attachment.source
        if spooled is not None:
            return await asyncio.to_thread(spooled.read_bytes)
        if source.data_base64:
            return base64.b64decode("".join(source.data_base64.split()), validate=True)
        if source.path:
            return await asyncio.to_thread(read_attachment_bytes, source.path)
        if not source.url:
            raise ValueError("the attachment has no data, path or URL")
        return await self._download(source.url)

    async def _download(self, url: str) -> bytes:
        """The file of ``url``: from ``--attachments-dir`` when fetched there, else fetched."""
        if self.attachments_dir is not None:
            kept = fetched_file(self.attachments_dir, url)
            if kept.is_file():
                return await asyncio.to_thread(kept.read_bytes)
        if self.downloader is None:
            raise DownloadError("no downloader for URL attachments in this run", code="internal")
        return await self.downloader.fetch(url)
