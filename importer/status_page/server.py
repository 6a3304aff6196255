"""The live status page's server: ``/`` (the page), ``/status.json`` (the figures), and the
page's script and style, on 127.0.0.1 only, inside the run's own event loop.

Why in the run's loop: the collector is called there, so the figures are read without a lock
and the server costs the run nothing while nobody looks. Who may look is the guard's decision
(:mod:`importer.sandbox.web.guard`): a request must name ``127.0.0.1:PORT`` (or
``localhost:PORT``) as its Host, so no web site reaches the page through DNS rebinding.
After the run has ended the page is served a little longer (:data:`LINGER_S`), so that a
browser watching it sees the end and the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web

from importer.errors import UsageError
from importer.pipeline.run_events import RunListener
from importer.sandbox.web import static_handler
from importer.sandbox.web.guard import Handler, guarded
from importer.status_page.collector import StatusCollector
from importer.status_page.page import render_live_page

#: the only address the page is served on
STATUS_HOST = "127.0.0.1"
#: seconds the page is still served after the run ended (the page asks every second)
LINGER_S = 3.0
STATIC_FILES = {"status.css": "text/css", "status.js": "text/javascript"}
COLLECTOR_KEY = web.AppKey("collector", StatusCollector)
#: the line ``run`` prints on stderr before it starts; scripts find the page's address with it
ADDRESS_LINE = re.compile(r"^status page on (http://127\.0\.0\.1:\d+/)$")
T = TypeVar("T")


@dataclass
class StatusServer:
    """The page being served: its address, and how to stop it."""

    url: str
    port: int
    runner: web.AppRunner

    async def stop(self) -> None:
        """Stop serving."""
        await self.runner.cleanup()


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await guarded(request, handler, None)


async def _page(request: web.Request) -> web.StreamResponse:
    snapshot = request.app[COLLECTOR_KEY].snapshot()
    return web.Response(text=render_live_page(snapshot), content_type="text/html")


async def _status(request: web.Request) -> web.StreamResponse:
    snapshot = request.app[COLLECTOR_KEY].snapshot()
    return web.Response(text=json.dumps(snapshot), content_type="application/json")


def status_app(collector: StatusCollector) -> web.Application:
    """The page's application, serving ``collector``'s figures."""
    app = web.Application(middlewares=[_guard])
    app[COLLECTOR_KEY] = collector
    app.router.add_get("/", _page)
    app.router.add_get("/status.json", _status)
    app.router.add_get("/static/{name}", static_handler(__package__ or __name__, STATIC_FILES))
    return app


async def start_status_server(collector: StatusCollector, port: int) -> StatusServer:
    """Serve the page on ``127.0.0.1:port`` (0: a free port).

    :raises UsageError: when the port cannot be had (in use, or not allowed).
    """
    runner = web.AppRunner(status_app(collector), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, STATUS_HOST, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        raise UsageError(
            f"--status-port {port}: port {port} on {STATUS_HOST} {why}; pick another, or 0 for"
            " a free one"
        ) from exc
    bound = int(runner.addresses[0][1])
    return StatusServer(f"http://{STATUS_HOST}:{bound}/", bound, runner)


async def run_watched(
    start: Callable[[Sequence[RunListener]], Awaitable[T]],
    port: int,
    *,
    linger_s: float = LINGER_S,
) -> T:
    """``await start([collector])`` (the run, given its listeners) while its status page is
    served on ``port``, and ``linger_s`` more; the page's address is printed on stderr first.
    A stop signal during the linger ends it; the run's outcome is returned all the same."""
    collector = StatusCollector()
    server = await start_status_server(collector, port)
    print(f"status page on {server.url}", file=sys.stderr, flush=True)  # see ADDRESS_LINE
    try:
        result = await start([collector])
        # a signal during the linger only shortens it: the run's outcome stands
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(linger_s)
        return result
    finally:
        await server.stop()


def status_address(lines: Iterable[str], *, within: int = 50) -> str | None:
    """The page's address from the first ``within`` lines a run wrote on stderr (a warning
    may come before it), or None when it is not among them."""
    for number, line in enumerate(lines):
        if (found := ADDRESS_LINE.match(line.strip())) is not None:
            return found[1]
        if number + 1 >= within:
            break
    return None
