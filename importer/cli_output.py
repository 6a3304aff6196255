"""The command line's edges: logging on stderr, output files checked before any work, report
tables printed, ``ImporterError`` turned into a message and its exit code.

Also the one process-wide fact the commands need: whether the process ends with the command
(the console script), so ``run`` blocks its stop signals at the end instead of restoring an
in-process caller's handlers.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NoReturn

import click

from importer.commands.stopping import signals_before_the_loop
from importer.errors import ImporterError, UsageError
from importer.report import STDOUT_NAME, Report, render_text

# Set by the console script (``importer.cli.main``) through :func:`exits_after_command`.
_exits_after_command = False


def exits_after_command() -> None:
    """The process ends with the command (the console script says so before running it)."""
    global _exits_after_command
    _exits_after_command = True


def command_signals() -> AbstractContextManager[None]:
    """Stop signals of a command that runs the event loop (see ``signals_before_the_loop``)."""
    return signals_before_the_loop(exits_after=_exits_after_command)


def setup_logging(quiet: bool, verbose: bool) -> None:
    """Messages on stderr: warnings only with --quiet, debug with -v."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("importer: %(message)s"))
    root = logging.getLogger("importer")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def fail(exc: ImporterError) -> NoReturn:
    """End the command with the error's message and exit code."""
    click.echo(f"Error: {exc}", err=True)
    sys.exit(exc.exit_code)


OUTPUT_OPTIONS = {
    "report_path": "--report",
    "dead_letter_path": "--dead-letter",
    "log_json": "--log-json",
    "output": "-o",
    "checkpoint": "--checkpoint",
    "csv_path": "--csv",
    "html_path": "--html",
}


def check_outputs(options: dict[str, Any]) -> None:
    """Refuse, before any work, an output file whose folder is missing or not writable."""
    for key, flag in OUTPUT_OPTIONS.items():
        path = options.get(key)
        if path is None:
            continue
        if key == "report_path" and str(path) == STDOUT_NAME:
            continue
        if Path(path).exists() and not Path(path).is_file() and os.access(path, os.W_OK):
            continue  # a pipe or device such as /dev/stdout, written in place
        folder = Path(path).parent
        if not folder.is_dir():
            fail(UsageError(f"{flag} {path}: folder {folder} does not exist; create it first"))
        if not os.access(folder, os.W_OK):
            fail(UsageError(f"{flag} {path}: folder {folder} is not writable; choose another"))


def show_table(text: str, options: dict[str, Any]) -> None:
    """Print a report table, on standard error when the report JSON goes to standard output."""
    if not options["quiet"]:
        click.echo(text, err=str(options.get("report_path")) == STDOUT_NAME)


def finish(report: Report, options: dict[str, Any]) -> None:
    """Print the report table and exit with its code."""
    show_table(render_text(report), options)
    if not report.balanced():  # pragma: no cover - a defect, never an input problem
        click.echo("Error: the accounting does not add up; please report this", err=True)
        sys.exit(1)
    sys.exit(report.exit_code())


def progress_wanted(options: dict[str, Any]) -> bool:
    from importer.progress import Progress

    return Progress.wanted(options["no_progress"], options["quiet"])
