"""Run the real sandbox for tests and benchmarks.

::

    with running_sandbox(SandboxConfig(mailboxes=[85], rate_limit=600, window_s=2)) as sb:
        sb.url                       # "http://127.0.0.1:PORT"
        sb.store.count_conversations()
        sb.stats.by_status

``running_sandbox`` serves from a background thread with its own event loop, on 127.0.0.1 and a
free port. ``serve_sandbox`` does the same inside the caller's loop (``async with``).
``sandbox_process`` starts ``python -m importer sandbox`` as a child process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager

from importer.errors import SandboxError
from importer.sandbox.config import SandboxConfig
from importer.sandbox.server import RunningSandbox, serve_sandbox, start_site, stop_site

__all__ = ["RunningSandbox", "SandboxConfig", "running_sandbox", "sandbox_process", "serve_sandbox"]

_LISTENING = re.compile(r"sandbox listening on (http://\S+)")


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None, *, port: int = 0
) -> Iterator[RunningSandbox]:
    """Serve ``config`` on ``127.0.0.1:port`` (free port by default) from a background thread."""
    config = dataclasses.replace(config or SandboxConfig(), host="127.0.0.1", port=port)
    loop = asyncio.new_event_loop()
    started: Future[RunningSandbox] = Future()
    stop = threading.Event()

    async def main() -> None:
        try:
            runner, running = await start_site(config)
        except BaseException as exc:
            started.set_exception(exc)
            return
        started.set_result(running)
        try:
            while not stop.is_set():
                await asyncio.sleep(0.02)
        finally:
            await stop_site(runner, running)

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name="sandbox", daemon=True)
    thread.start()
    try:
        running = started.result(timeout=10)
    except BaseException:
        thread.join(timeout=5)
        raise
    try:
        yield running
    finally:
        stop.set()
        thread.join(timeout=10)


@contextmanager
def sandbox_process(
    args: Sequence[str] = (), *, python: str | None = None, timeout: float = 15.0
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m importer sandbox --port 0 ARGS`` as a child; yields ``(process, url)``.

    On exit the child gets SIGTERM and is waited for; its exit code is ``process.returncode``.
    """
    cmd = [python or sys.executable, "-m", "importer", "sandbox", "--port", "0", *args]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=dict(os.environ)
    )
    try:
        assert proc.stderr is not None
        url = None
        lines: list[str] = []
        while url is None:
            line = proc.stderr.readline()
            if not line:
                raise SandboxError(f"the sandbox did not start: {''.join(lines).strip()}")
            lines.append(line)
            if match := _LISTENING.search(line):
                url = match.group(1)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
