"""One try of an attachment file named by URL: one GET, its redirects, its body, all bounded.

- only the addresses :mod:`importer.addresses` allows: an IP literal is judged before any
  connection, a name on the addresses it resolves to by the session's own resolver (those
  connected to), and every redirect, followed here one hop at a time up to the limit, the same
  way; a refusal is final at once (no try again, no timeout waited out);
- a connect timeout, a read timeout (``read_s`` without a byte is a timeout), a redirect limit;
- the size limit enforced while streaming: a body past ``max_bytes`` is refused as soon as it
  passes it (or at once when ``Content-Length`` says so), never read whole first.

What a try ends with is the classifier's (:data:`RequestKind.DOWNLOAD`): the file, a
:class:`RetryableDownloadError` worth another try, or a final :class:`DownloadError`. Apart from
the tries, the time limit, the hosts that are down and the stop
(:mod:`importer.helpscout.downloads`), so that one request can be read on its own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import socket
import time
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from importer import __version__
from importer.addresses import AddressPolicy, AddressRefusedError
from importer.errors import DownloadError, ImporterError
from importer.helpscout.outcome import Outcome, OutcomeKind, RawResponse, RequestKind, classify
from importer.settings import DownloadLimits

#: Help Scout's "Get Attachment Data" endpoint (``_links.data.href`` of a dumped attachment)
_HELPSCOUT_DATA = re.compile(r"/v2/conversations/\d+/attachments/\d+/data$")

CHUNK_BYTES = 64 * 1024
#: the answers whose Location is followed (as aiohttp and browsers do for a GET)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def public_url(url: str) -> str:
    """``url`` without its query string and fragment (where signed links keep their secrets)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else url.split("?")[0]


def download_session(addresses: AddressPolicy) -> aiohttp.ClientSession:
    """The downloads' own session (never the Help Scout session: the API token can never reach
    another host): every name resolved through the address policy, no proxy, no cookies."""
    return aiohttp.ClientSession(
        headers={"User-Agent": f"importer/{__version__}"},
        # every name is resolved through the address policy: the addresses it allows are
        # the only ones connected to (no proxy either: trust_env is off)
        connector=aiohttp.TCPConnector(resolver=_PolicyResolver(addresses)),
        trust_env=False,
        # never a token or a cookie of another host: each request names its own headers
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def get_file(
    session: aiohttp.ClientSession,
    url: str,
    *,
    limits: DownloadLimits,
    headers: dict[str, str],
    remaining: float,
    read_body: bool = True,
) -> bytes:
    """One try of the file at ``url`` within ``remaining`` seconds, each redirect followed here
    (``read_body`` False: only the answer's status and headers are read, ``b""`` returned).

    :raises RetryableDownloadError: when the try failed in a way worth another.
    :raises DownloadError: when the file cannot be had (final).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + remaining
    hop: URL | None = None
    redirects = 0
    try:
        hop = URL(url)
        while True:
            limits.addresses.check_host(hop.raw_host or "")  # an IP literal: before connecting
            left = deadline - loop.time()
            if left <= 0:  # (a total of 0 would mean no limit at all)
                raise TimeoutError
            async with session.get(
                hop, timeout=_timeout(limits, left), allow_redirects=False, headers=headers
            ) as response:
                location = response.headers.get("Location")
                if response.status not in _REDIRECTS or location is None:
                    outcome = classify(
                        RawResponse(response.status, dict(response.headers)),
                        RequestKind.DOWNLOAD,
                        now=time.time(),
                    )
                    if outcome.kind is OutcomeKind.OK:
                        return await _body(response, url, limits.max_bytes) if read_body else b""
                    break
            redirects += 1
            if redirects > limits.max_redirects:
                raise DownloadError(
                    f"{public_url(url)}: more than {limits.max_redirects} redirects",
                    code="redirects",
                )
            hop, headers = _redirected(url, hop, location, headers=headers)
    except AddressRefusedError as exc:
        via = f" (redirected to {public_url(str(hop))})" if redirects and hop else ""
        raise DownloadError(f"{public_url(url)}{via}: {exc}", code="address_policy") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        outcome = classify(exc, RequestKind.DOWNLOAD)
    except ValueError as exc:  # yarl refuses the URL itself
        raise DownloadError(f"{public_url(url)}: not a usable URL ({exc})", code="url") from exc
    if outcome.kind is OutcomeKind.RETRYABLE:
        raise RetryableDownloadError(outcome)
    raise DownloadError(f"{public_url(url)}: {outcome.describe()}", code=outcome.code)


def _timeout(limits: DownloadLimits, left: float) -> aiohttp.ClientTimeout:
    """The bounds of one hop: what is left of the try's time, the connect and read timeouts."""
    return aiohttp.ClientTimeout(
        total=left,
        connect=limits.connect_s,
        sock_connect=limits.connect_s,
        sock_read=limits.read_s,
    )


async def _body(response: aiohttp.ClientResponse, url: str, limit: int) -> bytes:
    """The file, read while it stays within ``limit`` bytes."""
    if _HELPSCOUT_DATA.search(urlsplit(url).path) and "json" in response.content_type:
        return await _helpscout_data(response, url, limit)
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


async def _helpscout_data(response: aiohttp.ClientResponse, url: str, max_bytes: int) -> bytes:
    """Help Scout's "Get Attachment Data" answers ``{"data": "<base64>"}``, not the file
    (a Help Scout dump names its attachments so): the file is the decoded ``data``."""
    limit = max_bytes * 4 // 3 + 4096  # the base64 of a file within the limit
    body = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        body += chunk
        if len(body) > limit:
            raise DownloadError(
                f"{public_url(url)}: larger than the {max_bytes:,}-byte attachment limit",
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


def _redirected(
    url: str, hop: URL, location: str, *, headers: dict[str, str]
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


class RetryableDownloadError(ImporterError):
    """One try failed in a way worth another (the downloader tries again, within its bounds)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.describe())
        self.outcome = outcome
