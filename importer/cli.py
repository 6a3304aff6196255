"""The ``importer`` command line: options become settings, a stage runs, errors become exit codes.

Only this module and its ``cli_*`` siblings (and ``progress``) write to the terminal: the
commands that send or fetch are in ``cli_run``, ``verify`` in ``cli_verify``, the shared options
in ``cli_options``, what they become in ``cli_settings``, the edges in ``cli_output``. Every
``ImporterError`` ends there as one message naming the file, line or option and the fix, and the
exit code of its class.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from importer import __version__
from importer.cli_options import (
    ATTACHMENTS_DIR_OPTION,
    JOBS_OPTION,
    address_options,
    api_options,
    input_options,
    output_options,
)
from importer.cli_output import (
    check_outputs,
    command_signals,
    exits_after_command,
    fail,
    finish,
    progress_wanted,
    setup_logging,
    show_table,
)
from importer.cli_run import fetch_attachments_command, run
from importer.cli_settings import run_settings, transform_settings
from importer.cli_undo import undo
from importer.cli_verify import verify
from importer.errors import ImporterError
from importer.model import conversation_json_schema
from importer.outputs import keep_private
from importer.sandbox.cli import sandbox_command
from importer.status_page.static_page import write_status_page


def run_offline_command(command: str, options: dict[str, Any], output: Path | None = None) -> None:
    """Run validate or convert with a command's options, then print and exit."""
    from importer.commands.validate import run_offline
    from importer.planning.pool import default_jobs

    setup_logging(options["quiet"], options["verbose"])
    check_outputs({**options, "output": output})
    with command_signals():
        try:
            report = run_offline(
                command,
                [Path(name) for name in options["inputs"]],
                transform_settings(options),
                output=output,
                report_path=options["report_path"],
                dead_letter_path=options["dead_letter_path"],
                show_progress=progress_wanted(options),
                log_json=options["log_json"],
                input_names=list(options["inputs"]),
                jobs=options["jobs"] or default_jobs(),
            )
        except ImporterError as exc:
            fail(exc)
        except KeyboardInterrupt:
            click.echo(f"Interrupted: no report was written; rerun {command}.", err=True)
            sys.exit(130)
    finish(report, options)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="importer")
def cli() -> None:
    """Move help-desk history into Help Scout through the Mailbox API 2.0.

    Start with `importer validate EXPORT` (offline), then `importer plan` and `importer run`.
    Rehearse against `importer sandbox` before the real account.
    """


@cli.command()
def formats() -> None:
    """List the input formats: name, what export it reads, which files it expects."""
    from importer.readers.base import READERS

    for info in READERS.infos().values():
        state = "" if info.available else " (not yet available)"
        click.echo(f"{info.name:<10} {info.description}{state}; files: {info.expected_files}")


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@input_options
@output_options
@JOBS_OPTION
def validate(**options: Any) -> None:
    """Offline dry run: read, map, normalise, validate and split every conversation; send nothing.

    Exit 0 when every conversation is valid, 1 when some are invalid (each in the report and the
    dead-letter file), 2 when an input or option cannot be used, 130 when interrupted.
    """
    run_offline_command("validate", options)


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Canonical JSONL to write.",
)
@click.option(
    "--schema", is_flag=True, help="Print the JSON schema of one canonical line and exit."
)
@input_options
@output_options
@JOBS_OPTION
def convert(**options: Any) -> None:
    """Write every valid conversation of INPUT as canonical JSONL (-o OUT.jsonl).

    Timestamps become UTC ISO 8601 and attachment files are inlined as base64, so OUT stands on
    its own. Invalid conversations go to the report and the dead-letter file, not to OUT.
    """
    if options["schema"]:
        click.echo(json.dumps(conversation_json_schema(), indent=2))
        return
    if not options["inputs"] or options["output"] is None:
        raise click.UsageError("convert needs INPUT... and -o OUT.jsonl (or --schema)")
    run_offline_command("convert", options, output=options["output"])


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@api_options
@ATTACHMENTS_DIR_OPTION
@address_options
@input_options
@output_options
@JOBS_OPTION
def plan(**options: Any) -> None:
    """Check INPUT and the target read-only, and say what the run will cost and take.

    Plans every conversation as run would, checks the credentials, the mailbox, the
    --source-id-field and the agents against Help Scout (GET requests only; nothing is written),
    and estimates requests, rate-limit units and time. Exit 0 when ready, 1 when some
    conversations would be invalid (nothing blocks the rest), 2 when something blocks the run
    (each blocker is named; the report is still written).
    """
    from importer.commands.plan import plan_import, render_plan, write_plan
    from importer.planning.pool import default_jobs

    setup_logging(options["quiet"], options["verbose"])
    check_outputs(options)
    try:
        report = asyncio.run(
            plan_import(
                [Path(name) for name in options["inputs"]],
                run_settings(options),
                dead_letter_path=options["dead_letter_path"],
                log_json=options["log_json"],
                input_names=list(options["inputs"]),
                jobs=options["jobs"] or default_jobs(),
            )
        )
        if options["report_path"] is not None:
            write_plan(report, options["report_path"])
    except ImporterError as exc:
        fail(exc)
    show_table(render_plan(report), options)
    sys.exit(report.exit_code())


@cli.command()
@click.option(
    "--checkpoint", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the counts, last errors and run header as one self-contained page.",
)
def status(checkpoint: Path, as_json: bool, html_path: Path | None) -> None:
    """Show a checkpoint: counts per state, conversations complete, uploads per state, last 20
    errors, run header."""
    from importer.commands.status import read_status, render_status

    check_outputs({"html_path": html_path})
    try:
        body = read_status(checkpoint)
        if html_path is not None:
            write_status_page(body, html_path)
    except ImporterError as exc:
        fail(exc)
    click.echo(json.dumps(body, indent=2) if as_json else render_status(body))


cli.add_command(run)
cli.add_command(fetch_attachments_command)
cli.add_command(verify)
cli.add_command(undo)
cli.add_command(sandbox_command, "sandbox")


def main() -> None:
    """Console-script entry point (``python -m importer`` too). Every file and folder the
    process creates is its owner's alone (umask 0o077; see :mod:`importer.outputs`): set here,
    not in ``cli``, so that the importer used in-process leaves its caller's umask alone."""
    exits_after_command()
    keep_private()
    cli.main(prog_name="importer")
