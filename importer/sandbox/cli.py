"""``importer sandbox``: options -> SandboxConfig -> serve until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import sys

import click

from importer.errors import SandboxError
from importer.sandbox import config as c
from importer.sandbox.server import serve_until_signal


@click.command()
@click.option("--host", default=c.DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=int,
    default=c.DEFAULT_PORT,
    show_default=True,
    help="Port to listen on; 0 picks a free one (the listening line shows it).",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite file for the state (kept for inspection); in memory if left out.",
)
@click.option(
    "--mailbox",
    "mailboxes",
    type=int,
    multiple=True,
    help="Mailbox id besides mailbox 1; repeatable.",
)
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="EMAIL",
    help="User besides user 1 owner@sandbox.test (ids 2, 3, ...); repeatable; "
    "EMAIL,ALT,... adds alternate emails.",
)
@click.option("--app-id", default=c.DEFAULT_APP_ID, show_default=True, help="OAuth2 client id.")
@click.option(
    "--app-secret", default=c.DEFAULT_APP_SECRET, show_default=True, help="OAuth2 client secret."
)
@click.option(
    "--authorization-code",
    default=c.DEFAULT_AUTHORIZATION_CODE,
    show_default=True,
    help="The OAuth2 authorization code the token endpoint exchanges (printed on start).",
)
@click.option(
    "--rate-limit",
    type=int,
    default=None,
    metavar="UNITS",
    help="Units per window (write 2, read 1); unlimited if left out.",
)
@click.option(
    "--window-s",
    type=float,
    default=c.DEFAULT_WINDOW_S,
    show_default=True,
    help="Length of a rate-limit window in seconds, counted from the start.",
)
@click.option(
    "--token-ttl",
    type=float,
    default=c.DEFAULT_TOKEN_TTL,
    show_default=True,
    help="Seconds an access token lives.",
)
@click.option(
    "--max-body-bytes",
    type=int,
    default=c.DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    help="Larger create bodies get 413.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="KIND=RATE",
    help="Inject error500, drop, reset, slow or throttle into that share (0..1) of "
    "the writes; repeatable.",
)
@click.option(
    "--slow-s",
    type=float,
    default=c.DEFAULT_SLOW_S,
    show_default=True,
    help="Delay of a 'slow' fault's answer.",
)
@click.option(
    "--search-lag",
    type=float,
    default=c.DEFAULT_SEARCH_LAG,
    show_default=True,
    help="Seconds before a new conversation shows in lists and search.",
)
@click.option(
    "--search-created-at",
    type=click.Choice(c.SEARCH_CREATED_AT_MODES),
    default=c.DEFAULT_SEARCH_CREATED_AT,
    show_default=True,
    help="What search's createdAt sees: the historical createdAt or the API moment.",
)
@click.option(
    "--latency-ms",
    default=None,
    metavar="MIN-MAX",
    help="Extra latency of every answer, drawn between MIN and MAX milliseconds.",
)
@click.option("--seed", type=int, default=None, help="Seed of the fault and latency draws.")
def sandbox_command(
    host: str, port: int, db: str | None, mailboxes: tuple[int, ...], users: tuple[str, ...],
    app_id: str, app_secret: str, authorization_code: str, rate_limit: int | None,
    window_s: float, token_ttl: float, max_body_bytes: int, faults: tuple[str, ...],
    slow_s: float, search_lag: float, search_created_at: str, latency_ms: str | None,
    seed: int | None,
) -> None:  # fmt: skip
    """Serve the local Help Scout emulator (Mailbox API 2.0) until Ctrl-C or SIGTERM."""
    try:
        config = c.SandboxConfig(
            host=host, port=port, db=db, mailboxes=list(mailboxes),
            users=[c.parse_user(u) for u in users], app_id=app_id, app_secret=app_secret,
            authorization_code=authorization_code, rate_limit=rate_limit, window_s=window_s,
            token_ttl=token_ttl, max_body_bytes=max_body_bytes,
            faults=dict(c.parse_fault(f) for f in faults),
            slow_s=slow_s, search_lag=search_lag, search_created_at=search_created_at,
            latency_ms=c.parse_latency(latency_ms) if latency_ms else None, seed=seed,
        )  # fmt: skip
        asyncio.run(serve_until_signal(config))
    except SandboxError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
