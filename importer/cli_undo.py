"""``importer undo``: its options, and the call of :func:`importer.commands.undo.undo_import`.

Why its own module: ``undo`` shares no input options with the commands that read an export;
what it needs is the checkpoint, the selection and the pacing of ``run``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from importer.cli_output import (
    check_outputs,
    command_signals,
    fail,
    progress_wanted,
    setup_logging,
    show_table,
)
from importer.errors import ImporterError
from importer.settings import DEFAULT_RATE_LIMIT, ENV_API_URL

UNDO_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--checkpoint",
        type=click.Path(path_type=Path, dir_okay=False),
        required=True,
        help="The checkpoint of the runs to undo: only what it records as created is deleted.",
    ),
    click.option("--yes", is_flag=True, help="Delete. Without it: a dry run (GET requests only)."),
    click.option(
        "--include-changed",
        is_flag=True,
        help="Delete conversations changed in Help Scout since their import too (kept by default).",
    ),
    click.option("--since", help="Only conversations created at or after DATE."),
    click.option("--until", help="Only conversations created up to DATE (a date: that whole day)."),
    click.option(
        "--source-id", "source_ids", multiple=True, help="Only this conversation (repeatable)."
    ),
    click.option(
        "--source-id-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Only the conversations of this file, one source id a line.",
    ),
    click.option("--run", "run_number", help="Only what run N created (latest: the latest run)."),
    click.option("--tag", help="Only what the runs given --tag TAG created."),
    click.option(
        "--api-url",
        envvar=ENV_API_URL,
        help=f"API base URL (env {ENV_API_URL}); default: the one the checkpoint records.",
    ),
    click.option(
        "--rate-limit",
        type=click.IntRange(min=2),
        default=DEFAULT_RATE_LIMIT,
        show_default=True,
        help="Units per minute (a DELETE costs 2, a GET 1); the API's headers may lower it.",
    ),
    click.option(
        "--workers",
        type=click.IntRange(min=1, max=64),
        default=8,
        show_default=True,
        help="Concurrent requests.",
    ),
    click.option(
        "--report",
        "report_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Write the report JSON here.",
    ),
    click.option(
        "--log-json", type=click.Path(path_type=Path, dir_okay=False), help="One JSON event a line."
    ),
    click.option(
        "--no-progress", is_flag=True, help="No progress bar; periodic log lines instead."
    ),
    click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors on stderr."),
    click.option("--verbose", "-v", is_flag=True, help="More detail on stderr."),
]


def undo_options(function: Any) -> Any:
    """Apply :data:`UNDO_OPTIONS` (in the order ``--help`` lists them)."""
    for option in reversed(UNDO_OPTIONS):
        function = option(function)
    return function


@click.command("undo")
@undo_options
def undo(**options: Any) -> None:
    """Delete exactly the conversations --checkpoint records as created, every part of each.

    Never a conversation it did not create, never a customer or user. Without --yes it is a
    dry run: GET requests only, it says what it would delete and keep and how long it would
    take. A conversation changed in Help Scout since its import (updated after it, threads
    added, status, assignee or mailbox changed, merged) is kept and listed unless
    --include-changed. Resumable after any stop; a second undo sends nothing; a later run
    imports the undone conversations again. Exit 0 when every selected part is deleted or
    already gone, 1 when some were kept or failed, 2 when nothing could start, 3 when a fatal
    answer stopped it, 130 when interrupted.
    """
    setup_logging(options["quiet"], options["verbose"])
    check_outputs({"report_path": options["report_path"], "log_json": options["log_json"]})
    with command_signals():
        _undo(options)


def _undo(options: dict[str, Any]) -> None:
    from importer.commands.undo import UndoJob, undo_import
    from importer.commands.undo_rules import Selection, read_source_ids
    from importer.planning.selection import parse_date_range
    from importer.transform.times import load_zone

    try:
        selection = Selection(
            dates=parse_date_range(options["since"], options["until"], load_zone("UTC")),
            source_ids=read_source_ids(options["source_ids"], options["source_id_file"]),
            tag=options["tag"],
        )
        job = UndoJob(
            selection=selection,
            yes=options["yes"],
            include_changed=options["include_changed"],
            api_url=options["api_url"],
            rate_limit=options["rate_limit"],
            workers=options["workers"],
            run=options["run_number"],
        )
        outcome = asyncio.run(
            undo_import(
                options["checkpoint"],
                job,
                report_path=options["report_path"],
                log_json=options["log_json"],
                show_progress=progress_wanted(options),
            )
        )
    except ImporterError as exc:
        fail(exc)
    except KeyboardInterrupt:
        click.echo("Interrupted before anything was deleted: rerun the same command.", err=True)
        sys.exit(130)
    show_table(outcome.report.render_text(), options)
    if outcome.exit_code == 130:
        click.echo("Interrupted: rerun the same command to resume.", err=True)
    sys.exit(outcome.exit_code)
