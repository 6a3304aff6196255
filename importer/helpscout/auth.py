"""Credentials and the access token: when to refresh, and one refresh at a time.

Secrets live in objects whose ``repr`` hides them; nothing here logs. The token manager does not
speak HTTP itself: the client gives it a ``fetch`` coroutine that returns ``(token, expires_in)``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from importer.clock import SYSTEM_CLOCK, Clock
from importer.errors import CredentialsError
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.settings import ENV_ACCESS_TOKEN, ENV_APP_ID, ENV_APP_SECRET

__all__ = ["Credentials", "TokenManager", "refresh_at"]

#: Refresh this long before the token runs out at the latest.
REFRESH_MARGIN_S = 300.0
#: ... or once this share of the lifetime has passed, whichever comes first.
REFRESH_SHARE = 0.9


@dataclass(frozen=True)
class Credentials:
    """OAuth2 client credentials, or a static access token. ``repr`` never shows a secret."""

    app_id: str | None = None
    app_secret: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.access_token:
            return
        if not (self.app_id and self.app_secret):
            raise CredentialsError(
                f"no Help Scout credentials: set {ENV_APP_ID} and {ENV_APP_SECRET} "
                f"(client credentials of a My Apps app), or {ENV_ACCESS_TOKEN}"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
        """Read the credentials from the environment; client credentials win over a token."""
        env = os.environ if env is None else env
        app_id, secret = env.get(ENV_APP_ID) or None, env.get(ENV_APP_SECRET) or None
        if app_id or secret:
            if not (app_id and secret):
                missing = ENV_APP_SECRET if app_id else ENV_APP_ID
                raise CredentialsError(
                    f"{missing} is not set: client credentials need both "
                    f"{ENV_APP_ID} and {ENV_APP_SECRET}"
                )
            return cls(app_id=app_id, app_secret=secret)
        return cls(access_token=env.get(ENV_ACCESS_TOKEN) or None)

    @property
    def can_refresh(self) -> bool:
        """True when a new token can be asked for (client credentials)."""
        return bool(self.app_id and self.app_secret)

    def __repr__(self) -> str:
        kind = "client_credentials" if self.can_refresh else "access_token"
        return f"Credentials(kind={kind!r}, app_id={self.app_id!r})"


def refresh_at(issued_at: float, expires_in: float) -> float:
    """When to fetch a new token: at 90 % of its lifetime or 5 minutes before it ends,
    whichever is earlier, but not before half its lifetime (short-lived tokens)."""
    by_share = issued_at + REFRESH_SHARE * expires_in
    by_margin = issued_at + expires_in - REFRESH_MARGIN_S
    return max(issued_at + 0.5 * max(expires_in, 0.0), min(by_share, by_margin))


class _Secret(str):
    """A str that does not show itself in reprs or tracebacks' locals."""

    def __repr__(self) -> str:
        return "'***'"


class TokenManager:
    """Holds the current token; fetches and refreshes it, one fetch in flight at a time."""

    def __init__(
        self,
        credentials: Credentials,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        *,
        clock: Clock = SYSTEM_CLOCK,
        on_refresh: Callable[[str, float], None] | None = None,
    ) -> None:
        self._credentials = credentials
        self._fetch = fetch
        self._clock = clock
        self._on_refresh = on_refresh
        self._lock = asyncio.Lock()
        self._token: _Secret | None = None
        self._refresh_at = float("inf")
        self.generation = 0  #: increases with every new token
        if credentials.access_token:
            self._token = _Secret(credentials.access_token)

    def __repr__(self) -> str:
        return f"<TokenManager generation={self.generation} credentials={self._credentials!r}>"

    @property
    def can_refresh(self) -> bool:
        """True when a 401 may be answered by asking for a new token."""
        return self._credentials.can_refresh

    def needs_refresh(self) -> bool:
        """True when there is no token yet, or the proactive refresh time has come."""
        if self._token is None:
            return True
        return self.can_refresh and self._clock.time() >= self._refresh_at

    async def token(self) -> tuple[str, int]:
        """The current token and its generation, fetched or refreshed first when due."""
        if self.needs_refresh():
            async with self._lock:
                if self.needs_refresh():
                    reason = "initial" if self._token is None else "proactive"
                    await self._renew(reason)
        assert self._token is not None
        return self._token, self.generation

    async def refresh_after_401(self, stale_generation: int) -> int:
        """Renew the token after a 401 unless another worker already did; returns the new
        generation. Several workers that got a 401 on the same token cause one fetch."""
        async with self._lock:
            if self.generation == stale_generation:
                await self._renew("reactive")
            return self.generation

    async def _renew(self, reason: str) -> None:
        if not self.can_refresh:
            raise CredentialsError(
                "the access token was refused and cannot be refreshed: set a fresh "
                f"{ENV_ACCESS_TOKEN}, or use {ENV_APP_ID}/{ENV_APP_SECRET}"
            )
        issued = self._clock.time()
        value, expires_in = await self._fetch()
        self._token = _Secret(value)
        self._refresh_at = refresh_at(issued, expires_in)
        self.generation += 1
        if self._on_refresh is not None:
            self._on_refresh(reason, expires_in)


def token_of(outcome: Outcome) -> tuple[str, float]:
    """The access token and its lifetime (seconds) of the token endpoint's OK answer."""
    body = outcome.body if isinstance(outcome.body, dict) else {}
    token, expires_in = body.get("access_token"), body.get("expires_in", 7200)
    if not isinstance(token, str) or not token:
        raise CredentialsError("the token endpoint answered without an access_token")
    return token, float(expires_in) if isinstance(expires_in, int | float) else 7200.0


def token_refused(outcome: Outcome, attempt: int, url: str) -> CredentialsError:
    """Why no token came after the last try (no answer at all: the address or the network)."""
    if outcome.kind is not OutcomeKind.FATAL and outcome.status is None:
        return CredentialsError(
            f"cannot reach {url} ({outcome.code}: "
            f"{outcome.message or 'no answer'}) after {attempt} attempts; check "
            "--api-url (or HELPSCOUT_API_URL) and the network"
        )
    status = f"HTTP {outcome.status}" if outcome.status else outcome.code
    return CredentialsError(
        f"the token endpoint refused the credentials ({status}: "
        f"{outcome.message or 'no message'}); check {ENV_APP_ID} and "
        f"{ENV_APP_SECRET}, and that the app's user is active"
    )
