"""The I/O under one API request: the pacer's budget waited for unless the run stops, then the
HTTP exchange itself.

Apart from :mod:`importer.helpscout.session`, which decides what happens around them (retries,
tokens, counters, events): these two only wait and send, so the request loop reads as its
policy. Each is one plain call on the request's path, no layer of its own.
"""

from __future__ import annotations

import asyncio

import aiohttp

from importer.errors import StoppedError
from importer.helpscout.outcome import RawResponse
from importer.helpscout.pacing import Pacer

ACCEPT = "application/hal+json, application/json"
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"


async def acquire_unless_stopped(
    pacer: Pacer, cost: float, *, stop: asyncio.Event | None, what: str
) -> None:
    """Wait for ``cost`` of the pacer's budget; give up (nothing sent) with
    :class:`StoppedError` if the run is stopping or starts stopping meanwhile."""
    if stop is None:
        await pacer.acquire(cost)
        return
    if not stop.is_set():
        acquiring = asyncio.ensure_future(pacer.acquire(cost))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({acquiring, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not acquiring.done():
                acquiring.cancel()
        if acquiring.done() and not acquiring.cancelled() and not stop.is_set():
            acquiring.result()
            return
    raise StoppedError(f"{what}: not sent, the run is stopping")


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None,
    params: dict[str, str] | None,
    data: bytes | dict[str, str] | None,
) -> RawResponse:
    """Send one request (``data``: JSON bytes, or a form) and read its whole answer; redirects
    are not followed.

    :raises aiohttp.ClientError: or :class:`TimeoutError` when no whole answer came.
    """
    headers = {"Accept": ACCEPT}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(data, bytes):
        headers["Content-Type"] = JSON_CONTENT_TYPE
    async with session.request(
        method, url, params=params, data=data, headers=headers, allow_redirects=False
    ) as resp:
        return RawResponse(resp.status, dict(resp.headers), await resp.read())
