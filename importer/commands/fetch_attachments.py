"""``importer fetch-attachments``: every attachment an export names by URL, fetched to a folder.

Links of the old help desk expire (Freshdesk's and Intercom's within hours) or need its login
(Zendesk's private attachments), and a migration runs for days: fetch them all first, while
they work, then ``run --attachments-dir DIR`` reads each file from the folder instead of its URL.

- Each file is kept as :func:`~importer.helpscout.downloads.fetched_file` names it (a digest of
  its URL), written to a temporary name and renamed once complete: a stop or a crash never
  leaves half a file under the real name, and a rerun fetches only what is missing.
- ``--workers`` downloads at once, each with the downloader's bounds (``--download-*``).
- Credentials for the old help desk come from ``IMPORTER_SOURCE_AUTH`` (never logged).
- The report counts ``attachments`` (URL attachments in the export), ``fetched`` (this run),
  ``already_fetched``, ``failed`` and ``bytes``, and lists one error per file that failed, with
  its conversation, file name, URL without its query string, and why. Exit 0 when every file is
  in the folder, 1 when some could not be fetched, 130 when interrupted (rerun to resume).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer.commands.stopping import GRACE_MARGIN_S, StopController
from importer.errors import DownloadError, OutputWriteError, StoppedError
from importer.helpscout.downloads import (
    AttachmentDownloader,
    fetched_file,
    public_url,
    source_auth_from_env,
)
from importer.outputs import make_private_dirs, write_private
from importer.progress import Progress
from importer.readers import SourceRecord, open_export
from importer.readers.limits import DEFAULT_LIMITS, ReadLimits
from importer.report import STDOUT_NAME, write_json_atomic
from importer.settings import DownloadLimits

log = logging.getLogger("importer.fetch")

DEFAULT_FETCH_WORKERS = 4


@dataclass(frozen=True)
class UrlAttachment:
    """One attachment the export names by URL."""

    source_id: str | None
    file_name: str
    url: str
    location: str


@dataclass
class FetchReport:
    """What ``fetch-attachments`` did; ``to_dict`` is its report JSON."""

    inputs: list[str]
    folder: str
    format: str | None = None
    attachments: int = 0
    fetched: int = 0
    already_fetched: int = 0
    failed: int = 0
    bytes: int = 0
    interrupted: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0

    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "fetch-attachments",
            "format": self.format,
            "inputs": self.inputs,
            "to": self.folder,
            "attachments": self.attachments,
            "fetched": self.fetched,
            "already_fetched": self.already_fetched,
            "failed": self.failed,
            "bytes": self.bytes,
            "interrupted": self.interrupted,
            "elapsed_s": round(self.elapsed_s, 3),
            "errors": self.errors,
        }

    def render(self) -> str:
        lines = [
            f"fetch-attachments: {self.attachments} attachment URL(s) into {self.folder}",
            f"  fetched          {self.fetched} ({self.bytes:,} bytes)",
            f"  already_fetched  {self.already_fetched}",
            f"  failed           {self.failed}",
        ]
        for entry in self.errors[:20]:
            lines.append(f"error: {entry['location']}: {entry['file_name']}: {entry['message']}")
        if len(self.errors) > 20:
            lines.append(f"... and {len(self.errors) - 20} more errors (see --report)")
        if self.interrupted:
            lines.append("interrupted: rerun the same command to fetch the rest")
        return "\n".join(lines)


def url_attachments(record: SourceRecord) -> Iterator[UrlAttachment]:
    """The attachments of one read conversation that only a URL gives."""
    data = record.data
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        return
    for index, message in enumerate(messages):
        attachments = message.get("attachments") if isinstance(message, dict) else None
        if not isinstance(attachments, list):
            continue
        where = (
            record.message_locations[index]
            if index < len(record.message_locations)
            else record.location
        )
        for attachment in attachments:
            if not isinstance(attachment, dict):
                continue
            url = attachment.get("url")
            if not isinstance(url, str) or not url.strip():
                continue
            if attachment.get("data_base64") or attachment.get("path"):
                continue
            name = str(attachment.get("file_name") or public_url(url).rsplit("/", 1)[-1])
            yield UrlAttachment(record.source_id, name, url.strip(), where)


async def fetch_attachments(
    inputs: list[Path],
    folder: Path,
    *,
    format_name: str | None = None,
    mapping_file: Path | None = None,
    read_limits: ReadLimits = DEFAULT_LIMITS,
    workers: int = DEFAULT_FETCH_WORKERS,
    limits: DownloadLimits = DownloadLimits(),
    report_path: Path | None = None,
    show_progress: bool = False,
    input_names: list[str] | None = None,
) -> FetchReport:
    """Fetch every URL attachment of ``inputs`` into ``folder`` (see the module's docstring)."""
    started = time.monotonic()
    headers_for = source_auth_from_env()  # a malformed variable stops here (exit 2)
    stop = asyncio.Event()
    controller = StopController(stop, grace_s=limits.per_file_s + GRACE_MARGIN_S)
    controller.install()
    report = FetchReport(input_names or [str(p) for p in inputs], str(folder))
    try:
        make_private_dirs(folder)  # 0700 where created; a folder given keeps its mode
        with (
            open_export(inputs, format_name, mapping_file, limits=read_limits) as export,
            Progress("fetch", enabled=show_progress) as progress,
        ):
            report.format = export.format
            async with AttachmentDownloader(
                limits, stop=stop, headers_for=headers_for
            ) as downloader:
                fetcher = _Fetcher(folder, downloader, report, progress=progress)
                queue: asyncio.Queue[UrlAttachment | None] = asyncio.Queue(maxsize=workers * 4)
                tasks = [asyncio.create_task(fetcher.work(queue)) for _ in range(workers)]
                controller.start_pool(tasks)
                try:
                    await _feed(export.records(), queue, tasks, report=report, stop=stop)
                finally:
                    for _ in tasks:
                        await _put(queue, None, tasks)
                    await asyncio.gather(*tasks, return_exceptions=True)
                if fetcher.output_error is not None:
                    raise fetcher.output_error
    finally:
        controller.hand_over()
    report.interrupted = controller.interrupted
    report.elapsed_s = time.monotonic() - started
    _write_report(report, report_path)
    return report


def _write_report(report: FetchReport, report_path: Path | None) -> None:
    """The report's JSON to ``--report`` (``-``: standard output), if asked."""
    if report_path is not None and str(report_path) == STDOUT_NAME:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    elif report_path is not None:
        write_json_atomic(report.to_dict(), report_path)


async def _feed(
    records: Iterator[SourceRecord],
    queue: asyncio.Queue[UrlAttachment | None],
    tasks: list[asyncio.Task[None]],
    *,
    report: FetchReport,
    stop: asyncio.Event,
) -> None:
    """Every URL attachment of ``records`` on the queue, each URL once, until a stop."""
    seen: set[str] = set()
    for record in records:
        if stop.is_set():
            break
        for item in url_attachments(record):
            if item.url in seen:
                continue
            seen.add(item.url)
            report.attachments += 1
            await _put(queue, item, tasks)
        await asyncio.sleep(0)


async def _put(
    queue: asyncio.Queue[UrlAttachment | None],
    item: UrlAttachment | None,
    tasks: list[asyncio.Task[None]],
) -> None:
    """Put ``item`` on the queue unless no worker is left to take it."""
    while not all(task.done() for task in tasks):
        try:
            queue.put_nowait(item)
            return
        except asyncio.QueueFull:
            await asyncio.sleep(0.05)


class _Fetcher:
    def __init__(
        self,
        folder: Path,
        downloader: AttachmentDownloader,
        report: FetchReport,
        *,
        progress: Progress,
    ) -> None:
        self.folder = folder
        self.downloader = downloader
        self.report = report
        self.progress = progress
        #: a file that could not be written (disk full): the command stops with it (exit 4)
        self.output_error: OutputWriteError | None = None

    async def work(self, queue: asyncio.Queue[UrlAttachment | None]) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            if self.downloader.stop is not None and self.downloader.stop.is_set():
                continue
            try:
                await self.fetch_one(item)
            except StoppedError:
                continue
            except OutputWriteError as exc:  # a full disk: the command's stop (exit 4)
                self.output_error = self.output_error or exc
                if self.downloader.stop is not None:
                    self.downloader.stop.set()
            except Exception as exc:
                self._failed(item, f"unexpected {type(exc).__name__}: {exc}", "internal")

    async def fetch_one(self, item: UrlAttachment) -> None:
        target = fetched_file(self.folder, item.url)
        if target.exists():
            self.report.already_fetched += 1
            self.progress.update("already fetched")
            return
        try:
            data = await self.downloader.fetch(item.url)
        except DownloadError as exc:
            self._failed(item, str(exc), exc.code)
            return
        await asyncio.to_thread(_write_atomically, target, data)
        self.report.fetched += 1
        self.report.bytes += len(data)
        self.progress.update("fetched")

    def _failed(self, item: UrlAttachment, message: str, code: str) -> None:
        self.report.failed += 1
        self.report.errors.append(
            {
                "source_id": item.source_id,
                "stage": "attachment",
                "code": code,
                "file_name": item.file_name,
                "url": public_url(item.url),
                "message": message,
                "location": item.location,
            }
        )
        log.warning("%s: %s: %s", item.location, item.file_name, message)
        self.progress.update("failed")


def _write_atomically(target: Path, data: bytes) -> None:
    make_private_dirs(target.parent)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    write_private(partial, data, name=target)  # 0600; a full disk stops the command (exit 4)
    partial.replace(target)
