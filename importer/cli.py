"""The ``importer`` command line: options become settings, a stage runs, errors become exit codes.

Only this module (and ``progress``) writes to the terminal. Every ``ImporterError`` ends here as
one message naming the file, line or option and the fix, and the exit code of its class.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from importer import __version__
from importer.cli_options import (
    ATTACHMENTS_DIR_OPTION,
    DOWNLOAD_HOST_WAIT_OPTION,
    JOBS_OPTION,
    address_options,
    api_options,
    check_outputs,
    download_limits,
    download_options,
    fail,
    finish,
    format_options,
    input_options,
    output_options,
    progress_wanted,
    read_limits,
    run_settings,
    setup_logging,
    show_table,
    transform_settings,
    verify_api_options,
)
from importer.commands.stopping import signals_before_the_loop
from importer.errors import ImporterError
from importer.model import conversation_json_schema
from importer.outputs import keep_private, write_private
from importer.report import render_text, write_json_atomic
from importer.sandbox.cli import sandbox_command
from importer.settings import DEFAULT_RECONCILE_WAIT_S, DEFAULT_WORKERS

# Set by the console script: the process ends with the command, so ``run`` blocks its stop
# signals at the end instead of restoring the handlers of an in-process caller.
_exits_after_command = False


def run_offline_command(command: str, options: dict[str, Any], output: Path | None = None) -> None:
    """Run validate or convert with a command's options, then print and exit."""
    from importer.commands.planning_pool import default_jobs
    from importer.commands.validate import run_offline

    setup_logging(options["quiet"], options["verbose"])
    check_outputs({**options, "output": output})
    with signals_before_the_loop(exits_after=_exits_after_command):
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
def plan(**options: Any) -> None:
    """Check INPUT and the target read-only, and say what the run will cost and take.

    Plans every conversation as run would, checks the credentials, the mailbox, the
    --source-id-field and the agents against Help Scout (GET requests only; nothing is written),
    and estimates requests, rate-limit units and time. Exit 0 when ready, 1 when some
    conversations would be invalid (nothing blocks the rest), 2 when something blocks the run
    (each blocker is named; the report is still written).
    """
    from importer.commands.plan import plan_import, render_plan, write_plan

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
            )
        )
        if options["report_path"] is not None:
            write_plan(report, options["report_path"])
    except ImporterError as exc:
        fail(exc)
    show_table(render_plan(report), options)
    sys.exit(report.exit_code())


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@api_options
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The resumable state (default: <first input>.checkpoint.sqlite).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Concurrent requests.",
)
@click.option(
    "--reconcile-wait",
    type=click.FloatRange(min=0),
    default=DEFAULT_RECONCILE_WAIT_S,
    show_default=True,
    help="Seconds the search index is given before a part in doubt is declared absent.",
)
@ATTACHMENTS_DIR_OPTION
@download_options
@DOWNLOAD_HOST_WAIT_OPTION
@address_options
@input_options
@output_options
def run(**options: Any) -> None:
    """Import INPUT into Help Scout: every conversation exactly once, resumable after any stop.

    Credentials come from HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET (or HELPSCOUT_ACCESS_TOKEN).
    Exit 0 when everything is imported or already imported, 1 when some conversations are
    invalid or failed, 2 when nothing could start (also when another run is using the
    checkpoint), 3 when a fatal answer stopped the run, 130 when interrupted; rerunning with the
    same --checkpoint resumes.
    """
    from importer.commands.run import run_import

    setup_logging(options["quiet"], options["verbose"])
    check_outputs(options)
    with signals_before_the_loop(exits_after=_exits_after_command):
        try:
            outcome = asyncio.run(
                run_import(
                    [Path(name) for name in options["inputs"]],
                    run_settings(options),
                    report_path=options["report_path"],
                    dead_letter_path=options["dead_letter_path"],
                    log_json=options["log_json"],
                    show_progress=progress_wanted(options),
                    input_names=list(options["inputs"]),
                )
            )
        except ImporterError as exc:
            fail(exc)
        except KeyboardInterrupt:
            click.echo("Interrupted before anything was sent: rerun the same command.", err=True)
            sys.exit(130)
        show_table(render_text(outcome.report), options)
        if outcome.exit_code == 130:
            click.echo("Interrupted: rerun the same command to resume.", err=True)
        sys.exit(outcome.exit_code)


@cli.command("fetch-attachments")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--to",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder to keep the files in (created if missing); give it to run --attachments-dir.",
)
@format_options
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=32),
    default=4,
    show_default=True,
    help="Files downloaded at once.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report JSON here (counts, and one error per file that failed).",
)
@download_options
@address_options
@click.option("--no-progress", is_flag=True, help="No progress bar; periodic log lines instead.")
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors on stderr.")
@click.option("--verbose", "-v", is_flag=True, help="More detail on stderr.")
def fetch_attachments_command(**options: Any) -> None:
    """Fetch every attachment INPUT names by URL into a folder (--to DIR), before the run.

    Links of the old help desk expire or need its login, and a migration runs for days: fetch
    them while they work, then `importer run ... --attachments-dir DIR`. Resumable (files already
    in DIR are kept), --workers at a time, each download bounded as in run. Credentials for the
    old help desk come from IMPORTER_SOURCE_AUTH (HOST=AUTHORIZATION[;...], sent only to that
    host; never logged). Exit 0 when every file is in DIR, 1 when some could not be fetched
    (each named in the report), 130 when interrupted (rerun to resume).
    """
    from importer.commands.fetch_attachments import fetch_attachments

    setup_logging(options["quiet"], options["verbose"])
    check_outputs({"report_path": options["report_path"]})
    with signals_before_the_loop(exits_after=_exits_after_command):
        try:
            report = asyncio.run(
                fetch_attachments(
                    [Path(name) for name in options["inputs"]],
                    options["folder"],
                    format_name=options["format_name"],
                    mapping_file=options["mapping"],
                    read_limits=read_limits(options),
                    workers=options["workers"],
                    limits=download_limits(options),
                    report_path=options["report_path"],
                    show_progress=progress_wanted(options),
                    input_names=list(options["inputs"]),
                )
            )
        except ImporterError as exc:
            fail(exc)
        except KeyboardInterrupt:
            click.echo("Interrupted: rerun the same command to fetch the rest.", err=True)
            sys.exit(130)
        if not options["quiet"]:
            click.echo(report.render(), err=options["report_path"] == Path("-"))
        sys.exit(report.exit_code())


#: ``verify``'s options that override what the run recorded, by their recorded names
_RECORDED_NAMES = {
    "format_name": "format",
    "mapping": "mapping",
    "users_file": "users",
    "status_policy": "status_policy",
    "source_tz": "source_tz",
    "tags": "tags",
    "no_email_policy": "no_email_policy",
    "placeholder_domain": "placeholder_domain",
    "attachment_policy": "attachments",
    "max_request_bytes": "max_request_bytes",
    "max_record_bytes": "max_record_bytes",
    "max_member_bytes": "max_member_bytes",
    "max_zip_ratio": "max_zip_ratio",
    "source_id_field": "source_id_field",
    "default_user": "default_user",
    "api_url": "api_url",
    "mailbox": "mailbox",
    "rate_limit": "rate_limit",
    "ca_bundle": "ca_bundle",
}


def _given_on_command_line() -> set[str]:
    """The recorded names of the options given on the command line (not defaults, nor
    environment variables: the checkpoint's record comes before those)."""
    ctx = click.get_current_context()
    return {
        recorded
        for name, recorded in _RECORDED_NAMES.items()
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The checkpoint of the run(s) to verify.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    help="Read back only N conversations, drawn at random among those created (see --seed).",
)
@click.option(
    "--seed",
    type=int,
    help="Seed of the --sample draw (default: a new one, printed in the report); the same "
    "seed draws the same conversations.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report JSON here ('-': standard output, the rows then go to standard error).",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the mismatch rows as CSV here.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a self-contained page for people here (totals, a chart, the mismatches).",
)
@verify_api_options
@input_options
@click.option("--quiet", "-q", is_flag=True, help="No mismatch rows and no summary.")
@click.option("--verbose", "-v", is_flag=True, help="More detail on stderr.")
@click.option(
    "--log-json",
    type=click.Path(path_type=Path, dir_okay=False),
    help="One JSON object per event (each request), with a stable 'event' name.",
)
def verify(**options: Any) -> None:
    """Read back what --checkpoint records as created and compare it with the source.

    Needs nothing but --checkpoint and the credentials: INPUT, the format, the API URL, the
    mailbox, --rate-limit and every option that shapes what is sent default to what the latest
    run recorded in the checkpoint (an option given here overrides it; the defaults shown apply
    to a checkpoint written before verify existed, which also needs INPUT). The export is read
    exactly as run reads it; every part the checkpoint records as done (or those of --sample N
    conversations) is read back with GET requests only, within the rate budget, and compared,
    allowing for what the importer changes on purpose. Prints one row per mismatch (source id,
    part, thread, field, expected, found) and a summary. Exit 0 when nothing differs, 1 when
    something does, 2 on a usage or credentials problem, 3 when a fatal answer stopped it.
    """
    from importer.commands.verify import verify_import
    from importer.commands.verify_frames import write_csv
    from importer.commands.verify_html import render_html
    from importer.commands.verify_report import render_rows

    setup_logging(options["quiet"], options["verbose"])
    check_outputs({k: options[k] for k in ("report_path", "log_json", "csv_path", "html_path")})
    given = run_settings(options)
    try:
        report = asyncio.run(
            verify_import(
                options["checkpoint"],
                [Path(name) for name in options["inputs"]],
                given,
                _given_on_command_line(),
                sample=options["sample"],
                seed=options["seed"],
                log_json=options["log_json"],
            )
        )
    except ImporterError as exc:
        fail(exc)
    except KeyboardInterrupt:
        click.echo("Interrupted: nothing was written; rerun to verify.", err=True)
        sys.exit(130)
    body = report.as_dict()
    try:
        if options["report_path"] is not None:
            write_json_atomic(body, options["report_path"])
        if options["csv_path"] is not None:
            write_csv(report.mismatches, options["csv_path"])
        if options["html_path"] is not None:
            write_private(options["html_path"], render_html(body).encode("utf-8"))
    except ImporterError as exc:
        fail(exc)
    show_table(render_rows(report), options)
    sys.exit(report.exit_code())


@cli.command()
@click.option(
    "--checkpoint", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(checkpoint: Path, as_json: bool) -> None:
    """Show a checkpoint: counts per state, conversations complete, uploads per state, last 20
    errors, run header."""
    from importer.commands.status import read_status, render_status

    try:
        body = read_status(checkpoint)
    except ImporterError as exc:
        fail(exc)
    click.echo(json.dumps(body, indent=2) if as_json else render_status(body))


cli.add_command(sandbox_command, "sandbox")


def main() -> None:
    """Console-script entry point (``python -m importer`` too). Every file and folder the
    process creates is its owner's alone (umask 0o077; see :mod:`importer.outputs`): set here,
    not in ``cli``, so that the importer used in-process leaves its caller's umask alone."""
    global _exits_after_command
    _exits_after_command = True
    keep_private()
    cli.main(prog_name="importer")
