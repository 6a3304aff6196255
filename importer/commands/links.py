"""``plan``'s look at an export's attachment links: a few are tried before the run relies on them.

Links of the old help desk expire (Freshdesk's and Intercom's within hours) or need its login
(Zendesk's private attachments). ``plan`` tries up to :data:`SAMPLE_SIZE` of them, spread over
the export (GET, headers only, one try each, credentials from ``IMPORTER_SOURCE_AUTH``), and
warns when some are refused, with the way forward: ``importer fetch-attachments`` while they
work, then ``run --attachments-dir``. Files already in ``--attachments-dir`` are not tried.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from importer.findings import Finding
from importer.helpscout.downloads import (
    AttachmentDownloader,
    fetched_file,
    source_auth_from_env,
)
from importer.settings import DownloadLimits
from importer.transform.plan import ConversationPlan

SAMPLE_SIZE = 5
#: keep every SPREAD-th link until the sample is full, so it is not all from one ticket
SPREAD = 7


class LinkSample:
    """The export's URL attachments, counted, and a few kept to be tried."""

    def __init__(self, attachments_dir: Path | None) -> None:
        self.attachments_dir = attachments_dir
        self.total = 0
        self.kept_in_dir = 0
        self.sample: list[tuple[str, str, str]] = []  # (url, file name, location)

    def add(self, planned: ConversationPlan) -> None:
        for part in planned.parts:
            for _, attachment in part.deferred:
                url = attachment.source.url
                if not url or attachment.source.data_base64 or attachment.source.path:
                    continue
                self.total += 1
                if (
                    self.attachments_dir is not None
                    and fetched_file(self.attachments_dir, url).is_file()
                ):
                    self.kept_in_dir += 1
                    continue
                if len(self.sample) < SAMPLE_SIZE and (self.total - 1) % SPREAD == 0:
                    where = attachment.location or planned.location
                    self.sample.append((url, attachment.file_name, where))

    async def check(self, limits: DownloadLimits) -> list[Finding]:
        """Try the sample; one warning when some links are refused or unreachable."""
        if not self.sample:
            return []
        quick = dataclasses.replace(limits, max_attempts=1, per_file_s=min(limits.per_file_s, 20))
        async with AttachmentDownloader(quick, headers_for=source_auth_from_env()) as downloader:
            results = await asyncio.gather(*(downloader.probe(url) for url, _, _ in self.sample))
        failed = [
            (name, where, error)
            for (_, name, where), error in zip(self.sample, results, strict=True)
            if error is not None
        ]
        if not failed:
            return []
        examples = "; ".join(f"{name}: {error}" for name, _, error in failed[:3])
        message = (
            f"{len(failed)} of {len(self.sample)} attachment links tried could not be fetched "
            f"({examples}). Of the export's {self.total} attachment links, as many may be lost: "
            "links of the old help desk expire or need its login. Run `importer "
            "fetch-attachments INPUT --to DIR` while they work (IMPORTER_SOURCE_AUTH gives the "
            "login), then run with --attachments-dir DIR"
        )
        return [Finding("attachment", "links", message, failed[0][1])]
