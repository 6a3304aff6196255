"""The ``importer`` command line: options become settings, a stage runs, errors exit codes."""

from __future__ import annotations

import sys

import click

from importer import __version__
from importer.errors import ImporterError
from importer.sandbox.cli import sandbox_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="importer")
def cli() -> None:
    """Move help-desk history into Help Scout through the Mailbox API 2.0."""


cli.add_command(sandbox_command, "sandbox")


def main() -> None:
    """Console-script entry point: run the group, turning an ImporterError into its exit code."""
    try:
        cli.main(standalone_mode=True)
    except ImporterError as exc:  # pragma: no cover - commands translate their own errors
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
