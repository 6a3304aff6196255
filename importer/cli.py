"""The ``importer`` command line: options become settings, a stage runs, errors become exit codes.

Only this module (and ``progress``) writes to the terminal. Every ``ImporterError`` ends here as
one message naming the file, line or option and the fix, and the exit code of its class.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from importer import __version__
from importer.errors import ImporterError, UsageError
from importer.model import conversation_json_schema
from importer.readers.base import FORMAT_NAMES
from importer.report import STDOUT_NAME, Report, render_text
from importer.sandbox.cli import sandbox_command
from importer.settings import (
    DEFAULT_API_URL,
    DEFAULT_DOWNLOAD_MAX_BYTES,
    DEFAULT_DOWNLOAD_READ_TIMEOUT_S,
    DEFAULT_DOWNLOAD_TIME_LIMIT_S,
    DEFAULT_DOWNLOAD_TRIES,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_PLACEHOLDER_DOMAIN,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RECONCILE_WAIT_S,
    DEFAULT_SOURCE_TZ,
    DEFAULT_WORKERS,
    ENV_API_URL,
    DownloadLimits,
    RunSettings,
    TransformSettings,
)

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("importer")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Set by the console script: the process ends with the command, so ``run`` blocks its stop
# signals at the end instead of restoring the handlers of an in-process caller.
_exits_after_command = False


def _apply(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


input_options = _apply(
    [
        click.option(
            "--format",
            "format_name",
            type=click.Choice(FORMAT_NAMES),
            help="Input format; recognised from the content when left out.",
        ),
        click.option(
            "--mapping",
            type=click.Path(path_type=Path, dir_okay=False),
            help="TOML file merged over the format's file in mappings/ (tables key by key).",
        ),
        click.option("--limit", type=click.IntRange(min=1), help="Only the first N conversations."),
        click.option("--since", help="Only conversations created at or after DATE."),
        click.option(
            "--until",
            help="Only conversations created before DATE (a bare date: that day included).",
        ),
        click.option(
            "--status-policy",
            type=click.Choice(["closed", "source"]),
            default="closed",
            show_default=True,
            help="closed: all history closed with closedAt; source: open-like -> active, "
            "pending-like -> pending, closed-like -> closed.",
        ),
        click.option(
            "--source-tz",
            default=DEFAULT_SOURCE_TZ,
            show_default=True,
            help="Zone of timestamps that carry none (IANA name).",
        ),
        click.option(
            "--max-request-bytes",
            type=click.IntRange(min=1024),
            default=DEFAULT_MAX_REQUEST_BYTES,
            show_default=True,
            help="Byte budget of one create request; larger conversations are split.",
        ),
        click.option(
            "--no-email-policy",
            type=click.Choice(["create", "placeholder"]),
            default="create",
            show_default=True,
            help="Customers without email: created once and referenced by id, "
            "or given a placeholder address.",
        ),
        click.option(
            "--placeholder-domain",
            default=DEFAULT_PLACEHOLDER_DOMAIN,
            show_default=True,
            help="Domain of placeholder addresses.",
        ),
        click.option(
            "--attachments",
            "attachment_policy",
            type=click.Choice(["inline", "upload", "link", "skip"]),
            default="inline",
            show_default=True,
            help="inline: base64 while the request stays within budget, the rest uploaded after; "
            "upload: always after; link: listed in the message; skip: left out.",
        ),
        click.option(
            "--tag", "tags", multiple=True, help="Tag added to every conversation (repeatable)."
        ),
    ]
)

output_options = _apply(
    [
        click.option(
            "--report",
            "report_path",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Write the report JSON here ('-': standard output, the table then goes to "
            "standard error).",
        ),
        click.option(
            "--dead-letter",
            "dead_letter_path",
            type=click.Path(path_type=Path, dir_okay=False),
            help="JSONL of every invalid or failed conversation: reason and canonical record.",
        ),
        click.option(
            "--no-progress", is_flag=True, help="No progress bar; periodic log lines instead."
        ),
        click.option(
            "--quiet",
            "-q",
            is_flag=True,
            help="Less output: only warnings and errors on stderr, no report table.",
        ),
        click.option("--verbose", "-v", is_flag=True, help="More detail on stderr."),
        click.option(
            "--log-json",
            type=click.Path(path_type=Path, dir_okay=False),
            help="One JSON object per event, with a stable 'event' name.",
        ),
    ]
)


def transform_settings(options: dict[str, Any], **extra: Any) -> TransformSettings:
    """Build the transform settings from a command's options."""
    return TransformSettings(
        format=options.get("format_name"),
        mapping_file=options.get("mapping"),
        status_policy=options["status_policy"],
        source_tz=options["source_tz"],
        max_request_bytes=options["max_request_bytes"],
        no_email_policy=options["no_email_policy"],
        placeholder_domain=options["placeholder_domain"],
        attachments=options["attachment_policy"],
        tags=tuple(options.get("tags") or ()),
        limit=options.get("limit"),
        since=options.get("since"),
        until=options.get("until"),
        **extra,
    )


def setup_logging(quiet: bool, verbose: bool) -> None:
    """Messages on stderr: warnings only with --quiet, debug with -v."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("importer: %(message)s"))
    root = logging.getLogger("importer")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def fail(exc: ImporterError) -> None:
    """End the command with the error's message and exit code."""
    click.echo(f"Error: {exc}", err=True)
    sys.exit(exc.exit_code)


OUTPUT_OPTIONS = {
    "report_path": "--report",
    "dead_letter_path": "--dead-letter",
    "log_json": "--log-json",
    "output": "-o",
    "checkpoint": "--checkpoint",
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


def run_offline_command(command: str, options: dict[str, Any], output: Path | None = None) -> None:
    """Run validate or convert with a command's options, then print and exit."""
    from importer.commands.validate import run_offline

    setup_logging(options["quiet"], options["verbose"])
    check_outputs({**options, "output": output})
    try:
        report = run_offline(
            command,
            [Path(name) for name in options["inputs"]],
            transform_settings(options),
            output=output,
            report_path=options["report_path"],
            dead_letter_path=options["dead_letter_path"],
            show_progress=_progress_wanted(options),
            log_json=options["log_json"],
            input_names=list(options["inputs"]),
        )
    except ImporterError as exc:
        fail(exc)
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
def validate(**options: Any) -> None:
    """Offline dry run: read, map, normalise, validate and split every conversation; send nothing.

    Exit 0 when every conversation is valid, 1 when some are invalid (each in the report and the
    dead-letter file), 2 when an input or option cannot be used.
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


def _progress_wanted(options: dict[str, Any]) -> bool:
    from importer.progress import Progress

    return Progress.wanted(options["no_progress"], options["quiet"])


api_options = _apply(
    [
        click.option(
            "--mailbox", type=click.IntRange(min=1), required=True, help="Target mailbox id."
        ),
        click.option(
            "--api-url",
            envvar=ENV_API_URL,
            default=DEFAULT_API_URL,
            show_default=True,
            help=f"API base URL (env {ENV_API_URL}); plain http only for loopback addresses.",
        ),
        click.option(
            "--ca-bundle",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="Extra CA certificates (PEM). TLS verification cannot be turned off.",
        ),
        click.option(
            "--rate-limit",
            type=click.IntRange(min=2),
            default=DEFAULT_RATE_LIMIT,
            show_default=True,
            help="Units per minute (a write costs 2, a read 1); the API's headers may lower it.",
        ),
        click.option(
            "--users",
            "users_file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Agents -> user ids: CSV 'source,user_id' or TOML [users]; "
            "others are matched by email.",
        ),
        click.option(
            "--default-user",
            type=click.IntRange(min=1),
            help="Author of replies and notes whose agent cannot be matched "
            "(default: the token's own user).",
        ),
        click.option(
            "--source-id-field",
            type=click.IntRange(min=1),
            help="Single-line custom field that receives each conversation's source id.",
        ),
    ]
)


ATTACHMENTS_DIR_OPTION = click.option(
    "--attachments-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Folder filled by `importer fetch-attachments`: URL attachments are read from it "
    "(a file not there is fetched from its URL).",
)

download_options = _apply(
    [
        click.option(
            "--download-read-timeout",
            type=click.FloatRange(min=0.1),
            default=DEFAULT_DOWNLOAD_READ_TIMEOUT_S,
            show_default=True,
            help="Seconds without a byte before an attachment URL's download is tried again.",
        ),
        click.option(
            "--download-time-limit",
            type=click.FloatRange(min=1),
            default=DEFAULT_DOWNLOAD_TIME_LIMIT_S,
            show_default=True,
            help="Seconds spent on one attachment URL over all its tries.",
        ),
        click.option(
            "--download-tries",
            type=click.IntRange(min=1, max=20),
            default=DEFAULT_DOWNLOAD_TRIES,
            show_default=True,
            help="Tries of one attachment URL (5xx, timeouts, resets; a 4xx is final).",
        ),
        click.option(
            "--download-max-bytes",
            type=click.IntRange(min=1),
            default=DEFAULT_DOWNLOAD_MAX_BYTES,
            show_default=True,
            help="Largest attachment fetched from a URL (Help Scout's limit is 10 MB).",
        ),
    ]
)


def download_limits(options: dict[str, Any]) -> DownloadLimits:
    """The ``--download-*`` options (their defaults where a command has none)."""
    return DownloadLimits(
        read_s=options.get("download_read_timeout") or DEFAULT_DOWNLOAD_READ_TIMEOUT_S,
        per_file_s=options.get("download_time_limit") or DEFAULT_DOWNLOAD_TIME_LIMIT_S,
        max_attempts=options.get("download_tries") or DEFAULT_DOWNLOAD_TRIES,
        max_bytes=options.get("download_max_bytes") or DEFAULT_DOWNLOAD_MAX_BYTES,
    )


def run_settings(options: dict[str, Any]) -> RunSettings:
    """Build the run settings from a command's options."""
    return RunSettings(
        transform=transform_settings(options, source_id_field=options.get("source_id_field")),
        mailbox=options["mailbox"],
        api_url=options["api_url"],
        ca_bundle=options.get("ca_bundle"),
        checkpoint=options.get("checkpoint"),
        rate_limit=options["rate_limit"],
        workers=options.get("workers") or DEFAULT_WORKERS,
        users_file=options.get("users_file"),
        default_user=options.get("default_user"),
        reconcile_wait_s=options.get("reconcile_wait") or DEFAULT_RECONCILE_WAIT_S,
        downloads=download_limits(options),
        attachments_dir=options.get("attachments_dir"),
    )


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@api_options
@ATTACHMENTS_DIR_OPTION
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
    except ImporterError as exc:
        fail(exc)
    if options["report_path"] is not None:
        write_plan(report, options["report_path"])
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
    with _run_signals():
        try:
            outcome = asyncio.run(
                run_import(
                    [Path(name) for name in options["inputs"]],
                    run_settings(options),
                    report_path=options["report_path"],
                    dead_letter_path=options["dead_letter_path"],
                    log_json=options["log_json"],
                    show_progress=_progress_wanted(options),
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


@contextmanager
def _run_signals() -> Iterator[None]:
    """SIGINT and SIGTERM around ``run``: until the run's stop controller takes them over
    (importer.commands.stopping), both raise KeyboardInterrupt (nothing has been sent yet). At
    the end the console script blocks them (interpreter shutdown restores the default handlers,
    and a signal then would kill the process after the report was written; blocked, it is
    dropped at exit), an in-process caller gets its handlers back."""
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    # both, explicitly: a SIGINT ignored by the parent (a job a shell started in the background
    # inherits SIG_IGN) would otherwise be ignored during set-up, and the import would go ahead
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        if _exits_after_command:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        else:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


@cli.command("fetch-attachments")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--to",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder to keep the files in (created if missing); give it to run --attachments-dir.",
)
@click.option(
    "--format",
    "format_name",
    type=click.Choice(FORMAT_NAMES),
    help="Input format; recognised from the content when left out.",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML file merged over the format's file in mappings/ (tables key by key).",
)
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
    with _run_signals():
        try:
            report = asyncio.run(
                fetch_attachments(
                    [Path(name) for name in options["inputs"]],
                    options["folder"],
                    format_name=options["format_name"],
                    mapping_file=options["mapping"],
                    workers=options["workers"],
                    limits=download_limits(options),
                    report_path=options["report_path"],
                    show_progress=_progress_wanted(options),
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
    """Console-script entry point."""
    global _exits_after_command
    _exits_after_command = True
    cli.main(prog_name="importer")
