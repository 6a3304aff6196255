"""Start and stop the sandbox on a socket: in the current loop, or until a signal (the CLI)."""

from __future__ import annotations

import asyncio
import errno
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from importer.errors import SandboxError
from importer.sandbox.app import build_app
from importer.sandbox.config import SandboxConfig
from importer.sandbox.limits import Stats
from importer.sandbox.state import SANDBOX_KEY, Sandbox
from importer.sandbox.store import Store

#: seconds the runner waits for handlers in flight (a ``slow`` fault) when stopping
SHUTDOWN_TIMEOUT = 1.0


@dataclass
class RunningSandbox:
    """A sandbox serving on a socket."""

    url: str
    port: int
    store: Store
    stats: Stats
    sandbox: Sandbox
    config: SandboxConfig


async def start_site(config: SandboxConfig) -> tuple[web.AppRunner, RunningSandbox]:
    """Bind ``config.host:config.port`` (0 = a free port) and start serving."""
    app = build_app(config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        app[SANDBOX_KEY].store.close()
        if exc.errno == errno.EADDRINUSE:
            raise SandboxError(
                f"port {config.port} on {config.host} is in use: stop what holds it, pick"
                " another with --port, or use --port 0 for a free one"
            ) from exc
        raise SandboxError(f"cannot listen on {config.host}:{config.port}: {exc}") from exc
    port = int(runner.addresses[0][1])
    host = config.host if ":" not in config.host else f"[{config.host}]"
    sb = app[SANDBOX_KEY]
    running = RunningSandbox(f"http://{host}:{port}", port, sb.store, sb.stats, sb, config)
    return runner, running


async def stop_site(runner: web.AppRunner, running: RunningSandbox) -> None:
    """Stop serving and close the store."""
    await runner.cleanup()
    running.store.close()


@asynccontextmanager
async def serve_sandbox(config: SandboxConfig) -> AsyncIterator[RunningSandbox]:
    """Serve in the current event loop for the duration of the block (pytest-aiohttp friendly).

    ``config.port`` is used as given; pass ``port=0`` for a free port.
    """
    runner, running = await start_site(config)
    try:
        yield running
    finally:
        await stop_site(runner, running)


def listening_line(running: RunningSandbox) -> str:
    """The one line ``importer sandbox`` prints on start; tests and Makefiles parse it (the URL
    with ``sandbox listening on (http://\\S+)``, the code with ``authorization code (\\S+)``)."""
    config = running.config
    mailboxes = ", ".join(str(m) for m in config.mailbox_ids)
    return (
        f"sandbox listening on {running.url} with authorization code {config.authorization_code}"
        f" (mailboxes {mailboxes}; app id {config.app_id})"
    )


async def serve_until_signal(config: SandboxConfig) -> None:
    """Serve until SIGINT or SIGTERM, printing the listening line to stderr first."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner, running = await start_site(config)
    print(listening_line(running), file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await stop_site(runner, running)
