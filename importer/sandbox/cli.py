"""``importer sandbox``: placeholder until the emulator lands (issue 3)."""

from __future__ import annotations

import click


@click.command()
def sandbox_command() -> None:
    """Serve the local Help Scout emulator."""
    raise click.ClickException("the sandbox is not built yet")
