"""Attachments an export names by URL, fetched from the old help desk: bounded in every way.

One place fetches them, on its own session (never the Help Scout session, so the API token can
never reach another host), with the classifier's rules for downloads
(:data:`RequestKind.DOWNLOAD`):

- only the addresses :mod:`importer.addresses` allows (no loopback, private, link-local, ...
  address unless ``--allow-host`` or ``--allow-private-urls`` says so): an IP literal is judged
  before any connection, a name on the addresses it resolves to by the session's own resolver
  (those connected to), and every redirect, followed here one hop at a time up to the limit, the
  same way; a refusal is final at once (no try again, no timeout waited out);
- a connect timeout, a read timeout (``read_s`` without a byte is a timeout), a redirect limit;
- the size limit enforced while streaming: a body past ``max_bytes`` is refused as soon as it
  passes it (or at once when ``Content-Length`` says so), never read whole first;
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
import base64
import binascii
import hashlib
import json
import os
import random
import re
import socket
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from importer import __version__
from importer.addresses import AddressPolicy, AddressRefusedError
from importer.clock import SYSTEM_CLOCK, Clock
from importer.errors import DownloadError, ImporterError, StoppedError, UsageError
from importer.helpscout.download_hosts import NOT_ABOUT_THE_HOST, UNREACHABLE, HostWatch, host_of
from importer.helpscout.outcome import (
    Outcome,
    OutcomeKind,
    RawResponse,
    RequestKind,
    backoff_delay,
    classify,
)
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

#: Help Scout's "Get Attachment Data" endpoint (``_links.data.href`` of a dumped attachment)
_HELPSCOUT_DATA = re.compile(r"/v2/conversations/\d+/attachments/\d+/data$")

#: credentials for the old help desk's attachment links: ``HOST=HEADER VALUE``, several joined
#: by ``;`` (e.g. ``acme.zendesk.com=Basic dXNlci90b2tlbjpYWFg=``); sent as ``Authorization``
#: only to that host and its subdomains, never logged
ENV_SOURCE_AUTH = "IMPORTER_SOURCE_AUTH"

T = TypeVar("T")
Sleep = Callable[[float], Coroutine[Any, Any, Any]]
CHUNK_BYTES = 64 * 1024
#: the answers whose Location is followed (as aiohttp and browsers do for a GET)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


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


def public_url(url: str) -> str:
    """``url`` without its query string and fragment (where signed links keep their secrets)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else url.split("?")[0]


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
        self._session = aiohttp.ClientSession(
            headers={"User-Agent": f"importer/{__version__}"},
            # every name is resolved through the address policy: the addresses it allows are
            # the only ones connected to (no proxy either: trust_env is off)
            connector=aiohttp.TCPConnector(resolver=_PolicyResolver(self.limits.addresses)),
            trust_env=False,
            # never a token or a cookie of another host: each request names its own headers
            cookie_jar=aiohttp.DummyCookieJar(),
        )
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
        except _RetryableError as exc:
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
        except _RetryableError as exc:
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
        limits = self.limits
        loop = asyncio.get_running_loop()
        deadline = loop.time() + remaining
        headers = dict(self._headers_for(url)) if self._headers_for is not None else {}
        self.attempts += 1
        hop: URL | None = None
        redirects = 0
        try:
            hop = URL(url)
            while True:
                limits.addresses.check_host(hop.raw_host or "")  # an IP literal: before connecting
                left = deadline - loop.time()
                if left <= 0:  # (a total of 0 would mean no limit at all)
                    raise TimeoutError
                timeout = aiohttp.ClientTimeout(
                    total=left,
                    connect=limits.connect_s,
                    sock_connect=limits.connect_s,
                    sock_read=limits.read_s,
                )
                async with session.get(
                    hop, timeout=timeout, allow_redirects=False, headers=headers
                ) as response:
                    location = response.headers.get("Location")
                    if response.status not in _REDIRECTS or location is None:
                        outcome = classify(
                            RawResponse(response.status, dict(response.headers)),
                            RequestKind.DOWNLOAD,
                            now=time.time(),
                        )
                        if outcome.kind is OutcomeKind.OK:
                            return await self._body(response, url) if read_body else b""
                        break
                redirects += 1
                if redirects > limits.max_redirects:
                    raise DownloadError(
                        f"{public_url(url)}: more than {limits.max_redirects} redirects",
                        code="redirects",
                    )
                hop, headers = _redirected(url, hop, location, headers)
        except AddressRefusedError as exc:
            via = f" (redirected to {public_url(str(hop))})" if redirects and hop else ""
            raise DownloadError(f"{public_url(url)}{via}: {exc}", code="address_policy") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = classify(exc, RequestKind.DOWNLOAD)
        except ValueError as exc:  # yarl refuses the URL itself
            raise DownloadError(f"{public_url(url)}: not a usable URL ({exc})", code="url") from exc
        if outcome.kind is OutcomeKind.RETRYABLE:
            raise _RetryableError(outcome)
        raise DownloadError(f"{public_url(url)}: {outcome.describe()}", code=outcome.code)

    async def _body(self, response: aiohttp.ClientResponse, url: str) -> bytes:
        if _HELPSCOUT_DATA.search(urlsplit(url).path) and "json" in response.content_type:
            return await self._helpscout_data(response, url)
        limit = self.limits.max_bytes
        declared = response.content_length
        too_big = f"{public_url(url)}: larger than the {limit:,}-byte attachment limit"
        if declared is not None and declared > limit:
            raise DownloadError(f"{too_big} ({declared:,} bytes)", code="too_large")
        body = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                raise DownloadError(too_big, code="too_large")
        return bytes(body)

    async def _helpscout_data(self, response: aiohttp.ClientResponse, url: str) -> bytes:
        """Help Scout's "Get Attachment Data" answers ``{"data": "<base64>"}``, not the file
        (a Help Scout dump names its attachments so): the file is the decoded ``data``."""
        limit = self.limits.max_bytes * 4 // 3 + 4096  # the base64 of a file within the limit
        body = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                raise DownloadError(
                    f"{public_url(url)}: larger than the {self.limits.max_bytes:,}-byte "
                    "attachment limit",
                    code="too_large",
                )
        try:
            data = json.loads(bytes(body)).get("data")
            return base64.b64decode(str(data), validate=True)
        except (ValueError, AttributeError, binascii.Error) as exc:
            raise DownloadError(
                f"{public_url(url)}: the attachment data answer is not the expected "
                f'{{"data": base64}} ({exc})',
                code="bad_data",
            ) from exc

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


def _redirected(
    url: str, hop: URL, location: str, headers: dict[str, str]
) -> tuple[URL, dict[str, str]]:
    """The next hop of a redirect from ``hop`` to ``location``, and the headers to send it: the
    old help desk's credentials only while the hops stay on the first one's origin (as aiohttp
    does: once dropped, never sent again).

    :raises DownloadError: when ``location`` is not an http or https URL.
    """
    try:
        following = hop.join(URL(location))
        if following.scheme not in ("http", "https"):
            raise DownloadError(
                f"{public_url(url)}: redirected to a {following.scheme} URL; only http and https "
                "URLs are fetched",
                code="scheme",
            )
        origin = following.origin()
    except ValueError as exc:
        raise DownloadError(
            f"{public_url(url)}: redirected to a location that is not a usable URL ({exc})",
            code="invalid_url",
        ) from exc
    return following, (headers if origin == hop.origin() else {})


class _PolicyResolver(AbstractResolver):
    """The session's resolver: a name resolves only to addresses the policy allows (those the
    connector then connects to), else :class:`AddressRefusedError` (final, not a DNS failure)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self._policy.check_host(host)
        results = await self._inner.resolve(host, port, family)
        self._policy.check_resolved(host, [result["host"] for result in results])
        return results

    async def close(self) -> None:
        await self._inner.close()


class _RetryableError(ImporterError):
    """One try failed in a way worth another (internal to :class:`AttachmentDownloader`)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.describe())
        self.outcome = outcome
