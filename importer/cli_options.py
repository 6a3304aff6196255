"""The command line's shared options and what they become: settings, logging, output checks.

Each group of options (``input_options``, ``output_options``, ``api_options``,
``download_options``, ``address_options``) is spelled once here and applied to every command it
belongs to, so an option has one spelling, one default and one help text wherever it appears.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from importer.addresses import AddressPolicy, normal_allowed_host
from importer.errors import ImporterError, UsageError
from importer.readers.base import FORMAT_NAMES
from importer.readers.limits import (
    DEFAULT_MAX_MEMBER_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_MAX_ZIP_RATIO,
    ReadLimits,
)
from importer.report import STDOUT_NAME, Report, render_text
from importer.settings import (
    DEFAULT_API_URL,
    DEFAULT_DOWNLOAD_HOST_WAIT_S,
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


def _apply(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


FORMAT_OPTIONS = [
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
    click.option(
        "--max-record-bytes",
        type=click.IntRange(min=1024),
        default=DEFAULT_MAX_RECORD_BYTES,
        show_default=True,
        help="Largest record, line, CSV field or mail read; a larger one is one invalid record.",
    ),
    click.option(
        "--max-member-bytes",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_MEMBER_BYTES,
        show_default=True,
        help="Largest inflated size of a zip archive member; a larger one is reported and skipped.",
    ),
    click.option(
        "--max-zip-ratio",
        type=click.FloatRange(min=1),
        default=DEFAULT_MAX_ZIP_RATIO,
        show_default=True,
        help="Largest inflation ratio of a zip member of 1 MiB or more; above it the member is "
        "reported and skipped (a zip bomb).",
    ),
]
#: ``--format`` and ``--mapping`` alone (commands that read an export but plan nothing)
format_options = _apply(FORMAT_OPTIONS)

input_options = _apply(
    [
        *FORMAT_OPTIONS,
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
        max_record_bytes=options.get("max_record_bytes", DEFAULT_MAX_RECORD_BYTES),
        max_member_bytes=options.get("max_member_bytes", DEFAULT_MAX_MEMBER_BYTES),
        max_zip_ratio=options.get("max_zip_ratio", DEFAULT_MAX_ZIP_RATIO),
        **extra,
    )


def read_limits(options: dict[str, Any]) -> ReadLimits:
    """The read layer's bounds from a command's options."""
    return ReadLimits(
        options.get("max_record_bytes", DEFAULT_MAX_RECORD_BYTES),
        options.get("max_member_bytes", DEFAULT_MAX_MEMBER_BYTES),
        options.get("max_zip_ratio", DEFAULT_MAX_ZIP_RATIO),
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


def _api_options(mailbox_required: bool) -> list[Callable[[F], F]]:
    return [
        click.option(
            "--mailbox",
            type=click.IntRange(min=1),
            required=mailbox_required,
            help="Target mailbox id.",
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


api_options = _apply(_api_options(mailbox_required=True))
#: ``verify``'s: the mailbox (like every option) defaults to what the checkpoint recorded
verify_api_options = _apply(_api_options(mailbox_required=False))


JOBS_OPTION = click.option(
    "--jobs",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="Processes that read and plan conversations (default: one per core, at most 4; 1: this "
    "process alone). The report, dead-letter file and output are the same whatever the number.",
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


#: ``run`` alone: how long conversations wait for a download host that is down
DOWNLOAD_HOST_WAIT_OPTION = click.option(
    "--download-host-wait",
    type=click.FloatRange(min=0),
    default=DEFAULT_DOWNLOAD_HOST_WAIT_S,
    show_default=True,
    metavar="S",
    help="Seconds a download host may stay down (every connection refused or timed out, several "
    "in a row) while the conversations that need its files wait (the others go on; it is tried "
    "again now and then); after that they fail, not imported without their files, and a rerun "
    "tries them again. 0: nothing waits, their files are left out as any file that cannot be "
    "had (for an old help desk gone for good).",
)


def _allowed_hosts(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    try:
        return tuple(dict.fromkeys(normal_allowed_host(value) for value in values))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


#: ``run``, ``fetch-attachments`` and ``plan`` (its link check): which addresses an export's
#: URLs may make the importer connect to (see :mod:`importer.addresses`)
address_options = _apply(
    [
        click.option(
            "--allow-host",
            "allow_hosts",
            metavar="HOST",
            multiple=True,
            callback=_allowed_hosts,
            help="Fetch attachment URLs of HOST (a name or an IP address; at any port, with its "
            "subdomains) whatever its address, loopback and private ones included (repeatable). "
            "Without it, URLs whose address is loopback, private, link-local, shared, multicast, "
            "reserved or unspecified are refused.",
        ),
        click.option(
            "--allow-private-urls",
            is_flag=True,
            help="Fetch attachment URLs of any address, loopback and private ones included "
            "(an export's URLs could then reach this machine's and its network's services).",
        ),
    ]
)


def download_limits(options: dict[str, Any]) -> DownloadLimits:
    """The ``--download-*`` and address options (their defaults where a command has none)."""
    return DownloadLimits(
        read_s=options.get("download_read_timeout") or DEFAULT_DOWNLOAD_READ_TIMEOUT_S,
        per_file_s=options.get("download_time_limit") or DEFAULT_DOWNLOAD_TIME_LIMIT_S,
        max_attempts=options.get("download_tries") or DEFAULT_DOWNLOAD_TRIES,
        max_bytes=options.get("download_max_bytes") or DEFAULT_DOWNLOAD_MAX_BYTES,
        addresses=AddressPolicy(
            allow_hosts=tuple(options.get("allow_hosts") or ()),
            allow_private=bool(options.get("allow_private_urls")),
        ),
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
        download_host_wait_s=_or_default(
            options.get("download_host_wait"), DEFAULT_DOWNLOAD_HOST_WAIT_S
        ),
    )


def _or_default(value: float | None, default: float) -> float:
    """``value`` unless the command has no such option (0 is a value)."""
    return default if value is None else value
