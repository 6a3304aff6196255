"""``importer verify``: read back what a checkpoint records as created and compare it.

The options a run recorded in its checkpoint are the defaults here; only those given on the
command line override them (:func:`_given_on_command_line`). What verify does lives in
:mod:`importer.commands.verify`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from importer.cli_options import input_options, verify_api_options
from importer.cli_output import check_outputs, fail, setup_logging, show_table
from importer.cli_settings import run_settings
from importer.errors import ImporterError
from importer.outputs import write_private
from importer.report import write_json_atomic

if TYPE_CHECKING:
    from importer.commands.verify_report import VerifyReport


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


@click.command()
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
    _finish(_verify(options), options)


def _verify(options: dict[str, Any]) -> VerifyReport:
    from importer.commands.verify import verify_import

    setup_logging(options["quiet"], options["verbose"])
    check_outputs({k: options[k] for k in ("report_path", "log_json", "csv_path", "html_path")})
    given = run_settings(options)
    try:
        return asyncio.run(
            verify_import(
                options["checkpoint"],
                [Path(name) for name in options["inputs"]],
                given,
                explicit=_given_on_command_line(),
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


def _finish(report: VerifyReport, options: dict[str, Any]) -> None:
    """Write the report JSON, the mismatch CSV and the HTML page, each where asked; print the
    rows and exit with the report's code."""
    from importer.commands.verify_frames import write_csv
    from importer.commands.verify_html import render_html
    from importer.commands.verify_report import render_rows

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
