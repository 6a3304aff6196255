"""The options of ``importer sandbox``, each spelled once, in the order ``--help`` shows them.

Apart from the command (:mod:`importer.sandbox.cli`) so that the command reads as what it does:
options -> :class:`~importer.sandbox.config.SandboxConfig` -> serve. The sandbox imports nothing
of the importer but its error base, so this list does not share the importer's option helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from importer.sandbox import config as c

F = TypeVar("F", bound=Callable[..., Any])

SANDBOX_OPTIONS = [
    click.option("--host", default=c.DEFAULT_HOST, show_default=True, help="Address to listen on."),
    click.option(
        "--port",
        type=int,
        default=c.DEFAULT_PORT,
        show_default=True,
        help="Port to listen on; 0 picks a free one (the listening line shows it).",
    ),
    click.option(
        "--db",
        type=click.Path(dir_okay=False),
        default=None,
        help="SQLite file for the state (kept for inspection); in memory if left out.",
    ),
    click.option(
        "--mailbox",
        "mailboxes",
        type=int,
        multiple=True,
        help="Mailbox id besides mailbox 1; repeatable.",
    ),
    click.option(
        "--user",
        "users",
        multiple=True,
        metavar="EMAIL",
        help="User besides user 1 owner@sandbox.test (ids 2, 3, ...); repeatable; "
        "EMAIL,ALT,... adds alternate emails.",
    ),
    click.option("--app-id", default=c.DEFAULT_APP_ID, show_default=True, help="OAuth2 client id."),
    click.option(
        "--app-secret",
        default=c.DEFAULT_APP_SECRET,
        show_default=True,
        help="OAuth2 client secret.",
    ),
    click.option(
        "--authorization-code",
        default=c.DEFAULT_AUTHORIZATION_CODE,
        show_default=True,
        help="The OAuth2 authorization code the token endpoint exchanges (printed on start).",
    ),
    click.option(
        "--rate-limit",
        type=int,
        default=None,
        metavar="UNITS",
        help="Units per window (write 2, read 1); unlimited if left out.",
    ),
    click.option(
        "--window-s",
        type=float,
        default=c.DEFAULT_WINDOW_S,
        show_default=True,
        help="Length of a rate-limit window in seconds, counted from the start.",
    ),
    click.option(
        "--token-ttl",
        type=float,
        default=c.DEFAULT_TOKEN_TTL,
        show_default=True,
        help="Seconds an access token lives.",
    ),
    click.option(
        "--max-body-bytes",
        type=int,
        default=c.DEFAULT_MAX_BODY_BYTES,
        show_default=True,
        help="Larger create bodies get 413.",
    ),
    click.option(
        "--fault",
        "faults",
        multiple=True,
        metavar="KIND=RATE",
        help="Inject error500, drop, reset, slow or throttle into that share (0..1) of "
        "the writes; repeatable.",
    ),
    click.option(
        "--slow-s",
        type=float,
        default=c.DEFAULT_SLOW_S,
        show_default=True,
        help="Delay of a 'slow' fault's answer.",
    ),
    click.option(
        "--search-lag",
        type=float,
        default=c.DEFAULT_SEARCH_LAG,
        show_default=True,
        help="Seconds before a new conversation shows in lists and search.",
    ),
    click.option(
        "--search-created-at",
        type=click.Choice(c.SEARCH_CREATED_AT_MODES),
        default=c.DEFAULT_SEARCH_CREATED_AT,
        show_default=True,
        help="What search's createdAt sees: the historical createdAt or the API moment.",
    ),
    click.option(
        "--deleted-get",
        type=click.Choice(c.DELETED_GET_MODES),
        default=c.DEFAULT_DELETED_GET,
        show_default=True,
        help="What a GET of a deleted conversation answers: 404, or it with state: deleted.",
    ),
    click.option(
        "--latency-ms",
        default=None,
        metavar="MIN-MAX",
        help="Extra latency of every answer, drawn between MIN and MAX milliseconds.",
    ),
    click.option("--seed", type=int, default=None, help="Seed of the fault and latency draws."),
]


def sandbox_options(function: F) -> F:
    """``function`` with every option of :data:`SANDBOX_OPTIONS`, the first one shown first."""
    for option in reversed(SANDBOX_OPTIONS):
        function = option(function)
    return function


def sandbox_config(options: dict[str, Any]) -> c.SandboxConfig:
    """The sandbox's configuration from the command's options.

    :raises SandboxError: when an option's value cannot be read (a fault, a user, a latency).
    """
    latency_ms = options["latency_ms"]
    return c.SandboxConfig(
        host=options["host"],
        port=options["port"],
        db=options["db"],
        mailboxes=list(options["mailboxes"]),
        users=[c.parse_user(u) for u in options["users"]],
        app_id=options["app_id"],
        app_secret=options["app_secret"],
        authorization_code=options["authorization_code"],
        rate_limit=options["rate_limit"],
        window_s=options["window_s"],
        token_ttl=options["token_ttl"],
        max_body_bytes=options["max_body_bytes"],
        faults=dict(c.parse_fault(f) for f in options["faults"]),
        slow_s=options["slow_s"],
        search_lag=options["search_lag"],
        search_created_at=options["search_created_at"],
        deleted_get=options["deleted_get"],
        latency_ms=c.parse_latency(latency_ms) if latency_ms else None,
        seed=options["seed"],
    )
