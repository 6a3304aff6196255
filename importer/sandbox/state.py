"""What one running sandbox holds: config, store, limiter, fault draws, tokens, counters."""

from __future__ import annotations

import json
import random
import secrets
from typing import Any

from aiohttp import web

from importer.sandbox.config import SandboxConfig
from importer.sandbox.hal import iso, vnd_error
from importer.sandbox.limits import FaultDrawer, RateLimiter, Stats
from importer.sandbox.store import Store

#: the user every token belongs to
OWNER_USER_ID = 1


class Sandbox:
    """The state behind one ``aiohttp.web.Application``."""

    def __init__(self, config: SandboxConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store or Store(config.db)
        self.store.seed(config, iso(config.wall_clock()))
        self.rng = random.Random(config.seed)
        self.limiter = RateLimiter(config.rate_limit, config.window_s, config.clock)
        self.faults = FaultDrawer(config.faults, self.rng)
        self.stats = Stats(self.limiter)
        self._tokens: dict[str, float] = {}
        #: refresh tokens issued and not used yet; each is good for one refresh
        self._refresh_tokens: set[str] = set()

    def now(self) -> float:
        """Wall-clock epoch seconds."""
        return self.config.wall_clock()

    def issue_token(self) -> tuple[str, int]:
        """A new bearer token and its lifetime in whole seconds."""
        token = secrets.token_urlsafe(24)
        self._tokens[token] = self.now() + self.config.token_ttl
        return token, int(self.config.token_ttl)

    def issue_refresh_token(self) -> str:
        """A new refresh token, good for one ``refresh_token`` grant."""
        token = secrets.token_urlsafe(24)
        self._refresh_tokens.add(token)
        return token

    def redeem_refresh_token(self, token: str) -> bool:
        """Whether ``token`` was issued and not used yet; it cannot be used again (rotation)."""
        if token not in self._refresh_tokens:
            return False
        self._refresh_tokens.discard(token)
        return True

    def token_valid(self, token: str) -> bool:
        """Issued by this sandbox and not expired."""
        expires = self._tokens.get(token)
        return expires is not None and self.now() < expires

    def visible(self, created_via_api_at: float) -> bool:
        """Whether search and lists see something created at that moment (``--search-lag``)."""
        return created_via_api_at + self.config.search_lag <= self.now()


SANDBOX_KEY = web.AppKey("sandbox", Sandbox)


def sandbox_of(request: web.Request) -> Sandbox:
    """The sandbox serving ``request``."""
    return request.app[SANDBOX_KEY]


def origin_of(request: web.Request) -> str:
    """``http://host:port`` of the request, for ``Location`` and ``_links``."""
    return str(request.url.origin())


async def read_json(request: web.Request, limit: int) -> dict[str, Any] | web.Response:
    """The JSON object of a write, or the error answer (413, 415, 400) to send instead."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return vnd_error(413, "Payload Too Large")
    if len(raw) > limit:
        return vnd_error(413, f"Payload Too Large: {len(raw)} bytes, at most {limit}")
    ctype = request.content_type
    if ctype != "application/json" and not ctype.endswith("+json"):
        return vnd_error(415, f"Unsupported Media Type {ctype!r}: send application/json")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return vnd_error(400, "Error parsing request body into JSON")
    if not isinstance(body, dict):
        return vnd_error(400, "Error parsing request body into JSON: expected an object")
    return body


class ParamError(ValueError):
    """A query parameter cannot be used; ``args[0]`` is its name."""


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    """A positive integer query parameter; raises ParamError naming the parameter."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(name) from None
    if value < 1:
        raise ParamError(name)
    return value
