"""``importer sandbox``: options (:mod:`importer.sandbox.options`) -> SandboxConfig -> serve until
SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from importer.errors import SandboxError
from importer.sandbox.options import sandbox_config, sandbox_options


@click.command()
@sandbox_options
def sandbox_command(**options: Any) -> None:
    """Serve the local Help Scout emulator (Mailbox API 2.0) until Ctrl-C or SIGTERM."""
    # imported here: aiohttp's server is a quarter of a second no other command needs
    from importer.sandbox.server import serve_until_signal

    try:
        asyncio.run(serve_until_signal(sandbox_config(options)))
    except SandboxError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
