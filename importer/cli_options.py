"""The command line's shared options, each spelled once (settings: ``cli_settings``).

Each group of options (``input_options``, ``output_options``, ``api_options``,
``download_options``, ``address_options``) is spelled once here and applied to every command it
belongs to, so an option has one spelling, one default and one help text wherever it appears.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from importer.addresses import normal_allowed_host
from importer.readers.base import FORMAT_NAMES
from importer.readers.limits import (
    DEFAULT_MAX_MEMBER_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_MAX_ZIP_RATIO,
)
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
    DEFAULT_SOURCE_TZ,
    ENV_API_URL,
)

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("importer")


def _apply(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


class FormatChoice(click.Choice):  # type: ignore[type-arg]
    """``--format``'s choices, the registered formats, looked up when ``--format`` is parsed or
    its help shown: ``click.Choice`` takes its choices when the option is made, which imported
    every reader for every command (a fifth of a second ``importer sandbox`` does not need)."""

    def __init__(self) -> None:  # not Choice's: it would read the choices now
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(FORMAT_NAMES)


FORMAT_OPTIONS = [
    click.option(
        "--format",
        "format_name",
        type=FormatChoice(),
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
