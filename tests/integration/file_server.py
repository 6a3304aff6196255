"""A loopback file server that misbehaves on purpose, as old help desks' attachment links do.

::

    with serving_files() as files:
        files.url("good/invoice.pdf?size=2048")   # 2048 bytes of ``content(name, size)``
        files.hits["flaky/a.txt"]                 # how many GETs a path received

Paths (the first segment decides, the rest is the file's name):

- ``good/NAME?size=N``: N bytes, with Content-Length;
- ``v2/conversations/1/attachments/NAME/data``: Help Scout's attachment data answer,
  ``{"data": base64 of content("conversations/1/attachments/NAME/data", 1500)}``;
- ``truncated/NAME``: Content-Length 4096, 100 bytes, then the connection closes;
- ``reset/NAME``: the connection closes before any answer;
- ``missing/NAME``: 404; ``broken/NAME``: always 500; ``flaky/NAME``: 500 once, then the file;
- ``hang/NAME``: never answers; ``trickle/NAME``: one byte every 0.2 s, for ever;
- ``big/NAME``: 11 MB announced and sent; ``bigchunked/NAME``: 11 MB streamed without a length;
- ``loop/NAME``: a redirect to itself; ``secret/NAME``: 401 unless ``Authorization`` is
  :data:`SECRET_AUTH` (every Authorization header received is kept in ``authorizations``);
- ``redirect/NAME?to=URL``: a redirect (302) to URL.

It listens on 127.0.0.1, which the importer refuses by default: give it
``--allow-host 127.0.0.1`` (:data:`ALLOW_LOOPBACK` for the downloader).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web

from importer.addresses import AddressPolicy

BIG_BYTES = 11 * 1024 * 1024
SECRET_AUTH = "Bearer letmein"
#: the address policy that lets the downloader reach this server (``--allow-host 127.0.0.1``)
ALLOW_LOOPBACK = AddressPolicy(allow_hosts=("127.0.0.1",))


def content(name: str, size: int) -> bytes:
    """The bytes ``good/NAME?size=N`` serves: deterministic, so a test can compare them."""
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@dataclass
class FileServer:
    base: str
    hits: Counter[str] = field(default_factory=Counter)
    authorizations: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"


def _app(server: FileServer) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        kind, _, name = request.match_info["path"].partition("/")
        server.hits[request.match_info["path"]] += 1
        if "Authorization" in request.headers:
            server.authorizations.append(request.headers["Authorization"])
        if kind == "v2":  # Help Scout's Get Attachment Data: {"data": base64}
            data = base64.b64encode(content(name, 1500)).decode("ascii")
            return web.json_response({"data": data}, content_type="application/hal+json")
        if kind == "good":
            return web.Response(body=content(name, int(request.query.get("size", "1000"))))
        if kind == "flaky":
            if server.hits[request.match_info["path"]] == 1:
                return web.Response(status=500, text="try again")
            return web.Response(body=content(name, 1000))
        if kind == "missing":
            return web.Response(status=404, text="no such file")
        if kind == "broken":
            return web.Response(status=500, text="server error")
        if kind == "secret":
            if request.headers.get("Authorization") == SECRET_AUTH:
                return web.Response(body=content(name, 1000))
            return web.Response(status=401, text="log in first")
        if kind == "loop":
            raise web.HTTPFound(location=str(request.rel_url))
        if kind == "redirect":
            raise web.HTTPFound(location=request.query["to"])
        if kind == "reset":
            assert request.transport is not None
            request.transport.close()
            await asyncio.sleep(0.5)
            return web.Response(status=500)
        if kind == "hang":
            await asyncio.sleep(3600)
        response = web.StreamResponse()
        if kind == "truncated":
            response.content_length = 4096
            await response.prepare(request)
            await response.write(b"x" * 100)
            assert request.transport is not None
            request.transport.close()
            return response
        if kind == "big":
            response.content_length = BIG_BYTES
        await response.prepare(request)
        if kind in ("big", "bigchunked"):
            block = b"b" * (1024 * 1024)
            for _ in range(BIG_BYTES // len(block)):
                await response.write(block)
            return response
        if kind == "trickle":
            while True:
                await response.write(b"t")
                await asyncio.sleep(0.2)
        return web.Response(status=400, text=f"unknown kind {kind}")

    app = web.Application()
    app.router.add_get("/{path:.*}", handle)
    return app


@contextmanager
def serving_files(port: int = 0) -> Iterator[FileServer]:
    """Serve the misbehaving files on 127.0.0.1 and ``port`` (0: a free one) from a background
    thread."""
    loop = asyncio.new_event_loop()
    started: Future[FileServer] = Future()
    stop = threading.Event()

    async def main() -> None:
        server = FileServer("")
        runner = web.AppRunner(_app(server), shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        server.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        started.set_result(server)
        try:
            while not stop.is_set():
                await asyncio.sleep(0.02)
        finally:
            await runner.cleanup()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="file-server", daemon=True)
    thread.start()
    try:
        yield started.result(timeout=10)
    finally:
        stop.set()
        thread.join(timeout=10)
