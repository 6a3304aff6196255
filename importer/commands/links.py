"""``plan``'s look at an export's attachment links: a few are tried before the run relies on them.

Links of the old help desk expire (Freshdesk's and Intercom's within hours) or need its login
(Zendesk's private attachments). ``plan`` tries up to :data:`SAMPLE_SIZE` of them, spread over
the export (GET, headers only, one try each, credentials from ``IMPORTER_SOURCE_AUTH``), and
warns when some are refused, with the way forward: ``importer fetch-attachments`` while they
work, then ``run --attachments-dir``. Files already in ``--attachments-dir`` are not tried.

Every host the export's links name is tried at least once (up to :data:`MAX_HOSTS` of them): a
host that cannot be reached at all (refused, timed out, no such name) is named in a warning of
its own with how many conversations need its files, since ``run`` makes those wait for it
(``--download-host-wait``) and then fails them rather than import them without their files.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from importer.errors import DownloadError
from importer.findings import Finding
from importer.helpscout.download_hosts import UNREACHABLE, host_of
from importer.helpscout.downloads import (
    AttachmentDownloader,
    fetched_file,
    source_auth_from_env,
)
from importer.planning.summary import LinkRef
from importer.settings import DownloadLimits

SAMPLE_SIZE = 5
#: keep every SPREAD-th link until the sample is full, so it is not all from one ticket
SPREAD = 7
#: hosts tried at least once each (beyond the sample)
MAX_HOSTS = 20
#: what a try meets when the host itself cannot be reached (no answer of any kind)
NO_HOST = frozenset({*UNREACHABLE, "dns"})


class LinkSample:
    """The export's URL attachments, counted, and a few kept to be tried."""

    def __init__(self, attachments_dir: Path | None) -> None:
        self.attachments_dir = attachments_dir
        self.total = 0
        self.kept_in_dir = 0
        self.sample: list[tuple[str, str, str]] = []  # (url, file name, location)
        #: conversations that need a file of each host (not yet in ``--attachments-dir``)
        self.conversations_by_host: Counter[str] = Counter()
        self.unreachable: dict[str, tuple[str, str]] = {}

    def add(self, links: Sequence[LinkRef]) -> None:
        """Count one conversation's URL attachments (:func:`~importer.planning.summary.links_of`)
        and keep some of them to try."""
        hosts: set[str] = set()
        for url, file_name, where in links:
            self.total += 1
            if (
                self.attachments_dir is not None
                and fetched_file(self.attachments_dir, url).is_file()
            ):
                self.kept_in_dir += 1
                continue
            host = host_of(url)
            first_of_host = host not in self.conversations_by_host and host not in hosts
            hosts.add(host)
            spread = len(self.sample) < SAMPLE_SIZE and (self.total - 1) % SPREAD == 0
            if spread or (first_of_host and len(self.conversations_by_host) < MAX_HOSTS):
                self.sample.append((url, file_name, where))
        self.conversations_by_host.update(hosts)

    async def check(self, limits: DownloadLimits) -> list[Finding]:
        """Try the sample; a warning naming the hosts that cannot be reached (with the
        conversations that need them), and one when other links are refused."""
        if not self.sample:
            return []
        quick = dataclasses.replace(limits, max_attempts=1, per_file_s=min(limits.per_file_s, 20))
        async with AttachmentDownloader(quick, headers_for=source_auth_from_env()) as downloader:
            results = await asyncio.gather(*(downloader.probe(url) for url, _, _ in self.sample))
        answered: set[str] = set()
        failed = []
        for (url, name, where), error in zip(self.sample, results, strict=True):
            host = host_of(url)
            if error is not None and error.code in NO_HOST:
                self.unreachable.setdefault(host, (str(error), where))
                continue
            answered.add(host)
            if error is not None:
                failed.append((name, where, error))
        for host in answered:  # one answer is enough: the host is there
            self.unreachable.pop(host, None)
        findings = []
        if self.unreachable:
            findings.append(self._hosts_finding())
        if failed:
            findings.append(self._links_finding(failed))
        return findings

    def unreachable_hosts(self) -> list[dict[str, object]]:
        """The hosts that could not be reached, for the report: host, conversations, why."""
        return [
            {"host": host, "conversations": self.conversations_by_host[host], "why": why}
            for host, (why, _) in sorted(self.unreachable.items())
        ]

    def _hosts_finding(self) -> Finding:
        named = "; ".join(
            f"{entry['host']} ({entry['why']}): {entry['conversations']} conversation(s) need "
            "its files"
            for entry in self.unreachable_hosts()
        )
        message = (
            f"attachment hosts that cannot be reached: {named}. `importer run` makes those "
            "conversations wait for their host (--download-host-wait, 10 minutes by default) and "
            "then fails them rather than import them without their files; check that the host "
            "is up and reachable from here (or the link's address), then run"
        )
        first_where = next(iter(self.unreachable.values()))[1]
        return Finding("attachment", "link_hosts", message, first_where)

    def _links_finding(self, failed: list[tuple[str, str, DownloadError]]) -> Finding:
        examples = "; ".join(f"{name}: {error}" for name, _, error in failed[:3])
        message = (
            f"{len(failed)} of {len(self.sample)} attachment links tried could not be fetched "
            f"({examples}). Of the export's {self.total} attachment links, as many may be lost: "
            "links of the old help desk expire or need its login. Run `importer "
            "fetch-attachments INPUT --to DIR` while they work (IMPORTER_SOURCE_AUTH gives the "
            "login), then run with --attachments-dir DIR"
        )
        return Finding("attachment", "links", message, failed[0][1])
