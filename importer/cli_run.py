"""``importer run`` and ``importer fetch-attachments``: the commands that send or fetch.

Each turns its options into settings, runs its command under the stop signals and prints the
report; what they do lives in :mod:`importer.commands.run` and
:mod:`importer.commands.fetch_attachments`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from importer.cli_options import (
    ATTACHMENTS_DIR_OPTION,
    DOWNLOAD_HOST_WAIT_OPTION,
    address_options,
    api_options,
    download_options,
    format_options,
    input_options,
    output_options,
)
from importer.cli_output import (
    check_outputs,
    command_signals,
    fail,
    progress_wanted,
    setup_logging,
    show_table,
)
from importer.cli_settings import download_limits, read_limits, run_settings
from importer.errors import ImporterError
from importer.report import render_text
from importer.settings import DEFAULT_RECONCILE_WAIT_S, DEFAULT_WORKERS

if TYPE_CHECKING:
    from importer.pipeline.run_events import RunListener


@click.command()
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
@click.option(
    "--status-port",
    type=click.IntRange(min=0, max=65535),
    default=None,
    metavar="PORT",
    help="Serve a live status page on 127.0.0.1:PORT while the run lasts (0: a free port);"
    " its address is printed on stderr.",
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
    setup_logging(options["quiet"], options["verbose"])
    check_outputs(options)
    with command_signals():
        _run(options)


def _run(options: dict[str, Any]) -> None:
    from importer.commands.run import RunOutcome, run_import
    from importer.status_page.server import run_watched

    def start(listeners: Sequence[RunListener] = ()) -> Coroutine[Any, Any, RunOutcome]:
        return run_import(
            [Path(name) for name in options["inputs"]],
            run_settings(options),
            report_path=options["report_path"],
            dead_letter_path=options["dead_letter_path"],
            log_json=options["log_json"],
            show_progress=progress_wanted(options),
            input_names=list(options["inputs"]),
            listeners=listeners,
        )

    port = options["status_port"]
    try:
        outcome = asyncio.run(start() if port is None else run_watched(start, port))
    except ImporterError as exc:
        fail(exc)
    except KeyboardInterrupt:
        click.echo("Interrupted before anything was sent: rerun the same command.", err=True)
        sys.exit(130)
    show_table(render_text(outcome.report), options)
    if outcome.exit_code == 130:
        click.echo("Interrupted: rerun the same command to resume.", err=True)
    sys.exit(outcome.exit_code)


@click.command("fetch-attachments")
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
    setup_logging(options["quiet"], options["verbose"])
    check_outputs({"report_path": options["report_path"]})
    with command_signals():
        _fetch_attachments(options)


def _fetch_attachments(options: dict[str, Any]) -> None:
    from importer.commands.fetch_attachments import fetch_attachments

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
