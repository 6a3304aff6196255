"""Attachments an export names by URL, fetched from the old help desk: bounded in every way.

One place fetches them, on its own session (never the Help Scout session, so the API token can
never reach another host), with the classifier's rules for downloads
(:data:`RequestKind.DOWNLOAD`). Each try is one bounded GET
(:mod:`importer.helpscout.download_request`: the address policy, on every redirect too, the
timeouts, the redirect and size limits); here, what happens between the tries of one file:

- 408, 429, 5xx, timeouts, resets and disconnects (also mid-body) are tried again with backoff,
  any other answer (401/403 of an expired link, 404) is final for that file;
- at most ``per_file_s`` over all the tries of one file;
- a stop of the run abandons a download at once (nothing of it was sent to Help Scout);
- in ``run``, a host every connection to which is refused or times out, several in a row, is
  down (:mod:`importer.helpscout.download_hosts`): its downloads are not tried while it is, and
  end as :class:`~importer.helpscout.download_hosts.HostDownError` (the conversation waits for
  the host, it does not go without its files).

Every way a file cannot be had ends as :class:`DownloadError`, whose message names the file's URL
without its query string (signed links carry their credentials there) and why.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp

from importer.clock import SYSTEM_CLOCK, Clock
from importer.errors import DownloadError, ImporterError, StoppedError, UsageError
from importer.helpscout.download_hosts import NOT_ABOUT_THE_HOST, UNREACHABLE, HostWatch, host_of
from importer.helpscout.download_request import (
    RetryableDownloadError,
    download_session,
    get_file,
    public_url,
)
from importer.helpscout.outcome import Outcome, backoff_delay
from importer.settings import DownloadLimits

__all__ = [
    "ENV_SOURCE_AUTH",
    "AttachmentDownloader",
    "DownloadError",
    "DownloadLimits",
    "fetched_file",
    "public_url",
    "source_auth_from_env",
]

#: credentials for the old help desk's attachment links: ``HOST=HEADER VALUE``, several joined
#: by ``;`` (e.g. ``acme.zendesk.com=Basic dXNlci90b2tlbjpYWFg=``); sent as ``Authorization``
#: only to that host and its subdomains, never logged
ENV_SOURCE_AUTH = "IMPORTER_SOURCE_AUTH"

T = TypeVar("T")
Sleep = Callable[[float], Coroutine[Any, Any, Any]]


def fetched_file(folder: Path, url: str) -> Path:
    """Where ``importer fetch-attachments`` keeps the file of ``url`` in ``folder`` (and where
    ``run`` and ``plan`` look for it): named by a digest of the whole URL, two levels deep."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return folder / digest[:2] / digest[:40]


def source_auth_from_env(
    environ: Mapping[str, str] | None = None,
) -> Callable[[str], Mapping[str, str]]:
    """``headers_for(url)`` from :data:`ENV_SOURCE_AUTH`: the Authorization of the URL's host.

    :raises UsageError: when the variable is not ``HOST=VALUE[;HOST=VALUE...]``.
    """
    raw = (environ if environ is not None else os.environ).get(ENV_SOURCE_AUTH, "").strip()
    by_host: dict[str, str] = {}
    for entry in filter(None, (item.strip() for item in raw.split(";"))):
        host, sep, value = entry.partition("=")
        if not sep or not host.strip() or not value.strip():
            raise UsageError(
                f"{ENV_SOURCE_AUTH} must be HOST=AUTHORIZATION[;HOST=AUTHORIZATION...] "
                "(e.g. acme.zendesk.com=Basic ...); an entry has no host or no value"
            )
        by_host[host.strip().lower()] = value.strip()

    def headers_for(url: str) -> Mapping[str, str]:
        host = (urlsplit(url).hostname or "").lower()
        for known, value in by_host.items():
            if host == known or host.endswith("." + known):
                return {"Authorization": value}
        return {}

    return headers_for


class AttachmentDownloader:
    """Fetches export attachments by URL; use as ``async with AttachmentDownloader() as d``.

    ``headers_for(url)`` may add headers for the old help desk (its credentials, read from the
    environment by the caller); they are sent only to the URL they were asked for, never logged.
    """

    def __init__(
        self,
        limits: DownloadLimits = DownloadLimits(),
        *,
        stop: asyncio.Event | None = None,
        headers_for: Callable[[str], Mapping[str, str]] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        rand: Callable[[], float] = random.random,
        hosts: HostWatch | None = None,
    ) -> None:
        self.limits = limits
        self.stop = stop
        self._headers_for = headers_for
        self._clock = clock
        self._rand = rand
        self._session: aiohttp.ClientSession | None = None
        self.attempts = 0  # every GET sent, for the tests and the report's curious
        #: which hosts are down (``run``: their conversations wait); None: not watched
        self.hosts = hosts
        #: downloads between two tries now (the progress bar shows it)
        self.retrying = 0

    async def __aenter__(self) -> AttachmentDownloader:
        self._session = download_session(self.limits.addresses)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str) -> bytes:
        """The file at ``url``, or :class:`DownloadError` saying why not (:class:`StoppedError`
        when the run stops meanwhile; :class:`HostDownError` when its host is down, see
        :mod:`importer.helpscout.download_hosts`)."""
        shown = public_url(url)
        if urlsplit(url).scheme not in ("http", "https"):
            raise DownloadError(f"{shown}: only http and https URLs are fetched", code="scheme")
        host = host_of(url)
        started = self._clock.time()
        attempt = 0
        try:
            while True:
                attempt += 1
                if self.hosts is not None and self.hosts.is_down(host):
                    raise self._host_down(host, url)
                remaining = self.limits.per_file_s - (self._clock.time() - started)
                if remaining <= 0:
                    raise DownloadError(
                        f"{shown}: gave up after {self.limits.per_file_s:.0f}s over "
                        f"{attempt - 1} tries",
                        code="time_limit",
                    )
                outcome = await self._try(url, host, remaining)
                if isinstance(outcome, bytes):
                    return outcome
                why = outcome.describe()
                if attempt >= self.limits.max_attempts:
                    self._last_try(url, host, outcome)
                    raise DownloadError(f"{shown}: {why} after {attempt} tries", code=outcome.code)
                delay = backoff_delay(attempt, jitter=self._rand())
                if outcome.retry_after is not None:
                    delay = max(delay, outcome.retry_after)
                left = self.limits.per_file_s - (self._clock.time() - started)
                if delay >= left:
                    self._last_try(url, host, outcome)
                    raise DownloadError(
                        f"{shown}: {why}; no time left for another try within "
                        f"{self.limits.per_file_s:.0f}s",
                        code=outcome.code,
                    )
                if attempt == 1:
                    self.retrying += 1
                await self._unless_stopped(self._clock.sleep(delay))
        finally:
            if attempt > 1:
                self.retrying -= 1

    async def _try(self, url: str, host: str, remaining: float) -> bytes | Outcome:
        """One try: the file, or the outcome worth another try; the host's state follows."""
        try:
            data = await self._unless_stopped(self._attempt(url, remaining))
        except RetryableDownloadError as exc:
            outcome = exc.outcome
        except DownloadError as exc:
            self._heard(host, exc.code)
            raise
        else:
            self._heard(host, "ok")
            return data
        if self.hosts is not None and outcome.code in UNREACHABLE:
            if self.hosts.unreachable(host, url, outcome.code):
                raise self._host_down(host, url)
        else:
            self._heard(host, outcome.code)
        return outcome

    def _host_down(self, host: str, url: str) -> ImporterError:
        """What a download of a host that is down ends with: its conversation waits for the
        host (HostDownError), or, with ``--download-host-wait 0``, the file is left out as any
        other that cannot be had."""
        assert self.hosts is not None
        error = self.hosts.error(host)
        if self.hosts.wait_s > 0:
            return error
        return DownloadError(f"{public_url(url)}: {error}", code="host_down")

    def _heard(self, host: str, code: str) -> None:
        """A try of ``host`` ended with ``code``: unless that says nothing of the host, it
        answered."""
        if self.hosts is not None and code not in NOT_ABOUT_THE_HOST and code not in UNREACHABLE:
            self.hosts.answered(host)

    def _last_try(self, url: str, host: str, outcome: Outcome) -> None:
        """A file's last try found no one at its host: the host is down (its conversation
        waits rather than go without the file)."""
        if self.hosts is not None and outcome.code in UNREACHABLE:
            self.hosts.unreachable(host, url, outcome.code, whole_file=True)
            raise self._host_down(host, url)

    async def probe(self, url: str) -> DownloadError | None:
        """One GET of ``url`` that reads only the answer's status and headers: None when the
        file can be had, else why not (``plan`` samples an export's links with it, and a run
        tries a host that is down with it). The host's state follows what it met."""
        host = host_of(url)
        try:
            await self._unless_stopped(self._attempt(url, self.limits.per_file_s, read_body=False))
        except DownloadError as exc:
            self._heard(host, exc.code)
            return exc
        except RetryableDownloadError as exc:
            self._heard(host, exc.outcome.code)
            return DownloadError(
                f"{public_url(url)}: {exc.outcome.describe()}", code=exc.outcome.code
            )
        self._heard(host, "ok")
        return None

    async def _attempt(self, url: str, remaining: float, *, read_body: bool = True) -> bytes:
        session = self._session
        if session is None:
            raise RuntimeError("AttachmentDownloader used outside 'async with'")
        headers = dict(self._headers_for(url)) if self._headers_for is not None else {}
        self.attempts += 1
        return await get_file(
            session,
            url,
            limits=self.limits,
            headers=headers,
            remaining=remaining,
            read_body=read_body,
        )

    async def _unless_stopped(self, work: Coroutine[Any, Any, T]) -> T:
        """``work``, abandoned at once (StoppedError) when the run stops meanwhile."""
        stop = self.stop
        if stop is None:
            return await work
        if stop.is_set():
            work.close()
            raise StoppedError("attachment download given up: the run is stopping")
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if task.cancelled():
            raise StoppedError("attachment download given up: the run is stopping")
        return task.result()
