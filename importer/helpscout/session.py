"""The requests under the Help Scout client: one aiohttp session, auth, pacing, retries.

Retry policy, by outcome (see :mod:`importer.helpscout.outcome`):

* RETRYABLE is retried here: a 429 after the shared pause (bounded by ``max_throttle_s`` of
  total waiting), a first 401 after one single-flight token refresh, a refused connection or a
  transient read failure after exponential backoff (bounded by ``max_attempts`` and
  ``max_retry_s``). When the bounds are spent, :class:`RetryableApiError` is raised: nothing
  was stored, the caller may queue the work again.
* IN_DOUBT, CREATED and REJECTED of a write are returned, never resent here.
* FATAL raises :class:`FatalApiError` (or :class:`CredentialsError` when the token endpoint
  refuses the credentials).

The token endpoint goes through the same send and classifier
(:mod:`importer.helpscout.token_request`); list endpoints through one pager.
The endpoints themselves are :class:`importer.helpscout.client.HelpScoutClient`'s.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp

from importer import __version__
from importer.clock import SYSTEM_CLOCK, Clock
from importer.errors import (
    FatalApiError,
    RejectedApiError,
    RetryableApiError,
    UsageError,
)
from importer.helpscout.auth import Credentials, TokenManager
from importer.helpscout.exchange import acquire_unless_stopped, exchange
from importer.helpscout.outcome import (
    Outcome,
    OutcomeKind,
    RequestKind,
    backoff_delay,
    classify,
    fatal_message,
)
from importer.helpscout.pacing import Pacer
from importer.helpscout.token_request import TOKEN_PATH, request_token
from importer.helpscout.transport import Timeouts, check_api_url, make_ssl_context
from importer.settings import DEFAULT_RATE_LIMIT, READ_COST, WRITE_COST
from importer.wire import json_bytes

__all__ = ["MAX_PAGES", "TOKEN_PATH", "ApiSession", "ClientStats"]

EventSink = Callable[[str, dict[str, Any]], None]

MAX_PAGES = 1000


@dataclass
class ClientStats:
    """Counters for the report."""

    requests: int = 0
    throttled: int = 0
    retries: int = 0
    refreshes: int = 0
    in_doubt: int = 0
    #: rate-limit units spent (a write 2, a read 1), each try counted
    units: float = 0.0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


class ApiSession:
    """Requests to the Mailbox API 2.0 (see the module's docstring); the endpoints are the
    subclass's. Use as ``async with HelpScoutClient(...) as c``."""

    def __init__(
        self,
        api_url: str,
        credentials: Credentials,
        *,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        ca_bundle: Path | None = None,
        timeouts: Timeouts = Timeouts(),
        on_event: EventSink | None = None,
        pacer: Pacer | None = None,
        clock: Clock = SYSTEM_CLOCK,
        rand: Callable[[], float] = random.random,
        max_attempts: int = 6,
        max_retry_s: float = 300.0,
        max_throttle_s: float = 1800.0,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.api_url = check_api_url(api_url)
        self._ssl = make_ssl_context(ca_bundle) if self.api_url.startswith("https:") else None
        self._timeouts = timeouts
        self._on_event = on_event
        self._clock = clock
        self._rand = rand
        self.max_attempts = max_attempts
        self.max_retry_s = max_retry_s
        self.max_throttle_s = max_throttle_s
        #: set when the run is stopping: no request is sent (or retried) after that
        self.stop = stop
        self.stats = ClientStats()
        #: requests waiting for the pacer right now (budget, or a 429's pause)
        self.waiting_on_rate = 0
        self._credentials = credentials
        self.pacer = pacer or Pacer(rate_limit, on_event=on_event)
        self._tokens = TokenManager(
            credentials, self._fetch_token, clock=clock, on_refresh=self._token_refreshed
        )
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"<HelpScoutClient {self.api_url} {self.stats}>"

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeouts.to_aiohttp(),
            headers={"User-Agent": f"importer/{__version__}"},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open session; using the client outside ``async with`` is an error."""
        if self._session is None:
            raise UsageError("HelpScoutClient used outside 'async with' (session not open)")
        return self._session

    # --- plumbing ----------------------------------------------------------------------------

    async def _get_json(
        self, path: str, params: dict[str, str] | None = None, *, not_found_fatal: bool = False
    ) -> dict[str, Any]:
        outcome = await self._call(
            "GET", path, RequestKind.READ, params=params, not_found_fatal=not_found_fatal
        )
        if outcome.kind is not OutcomeKind.OK:
            raise RejectedApiError(
                f"GET {path}: {outcome.describe()}", status=outcome.status, log_ref=outcome.log_ref
            )
        return outcome.body if isinstance(outcome.body, dict) else {}

    async def _iter_pages(
        self,
        path: str,
        key: str,
        params: dict[str, str] | None = None,
        *,
        max_pages: int = MAX_PAGES,
        not_found_fatal: bool = False,
    ) -> AsyncIterator[dict[str, Any]]:
        page = 1
        while page <= max_pages:
            body = await self._get_json(
                path, {**(params or {}), "page": str(page)}, not_found_fatal=not_found_fatal
            )
            for item in _embedded(body, key):
                yield item
            info = body.get("page")
            total = info.get("totalPages") if isinstance(info, dict) else None
            if not isinstance(total, int) or page >= total:
                return
            page += 1

    async def _paged(
        self, path: str, key: str, *, not_found_fatal: bool = False
    ) -> list[dict[str, Any]]:
        return [item async for item in self._iter_pages(path, key, not_found_fatal=not_found_fatal)]

    async def _call(
        self,
        method: str,
        path: str,
        kind: RequestKind,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        not_found_fatal: bool = False,
        require_id: bool = True,
    ) -> Outcome:
        """One request, tried again as its outcome says (see the module's docstring)."""
        cost = WRITE_COST if kind is RequestKind.WRITE else READ_COST
        started = self._clock.time()
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            await self._acquire(cost, f"{method} {path}")
            self.stats.units += cost
            token, generation = await self._tokens.token()
            outcome = await self._send(
                method,
                path,
                kind,
                token=token,
                params=params,
                json_body=json_body,
                not_found_fatal=not_found_fatal,
                after_refresh=refreshed,
                require_id=require_id,
            )
            if self._final(method, path, outcome, attempt=attempt):
                return outcome
            elapsed = self._clock.time() - started
            refreshed = refreshed or outcome.code == "unauthorized"
            await self._before_retry(
                outcome,
                method=method,
                path=path,
                attempt=attempt,
                elapsed=elapsed,
                generation=generation,
            )

    def _final(self, method: str, path: str, outcome: Outcome, *, attempt: int) -> bool:
        """Record the outcome; True when it is the request's last (raises when fatal)."""
        self._emit(
            "request.outcome",
            method=method,
            path=path,
            status=outcome.status,
            kind=outcome.kind.value,
            code=outcome.code,
            attempt=attempt,
            resource_id=outcome.resource_id,
            log_ref=outcome.log_ref,
        )
        if outcome.kind is OutcomeKind.FATAL:
            raise FatalApiError(
                fatal_message(method, path, outcome),
                status=outcome.status,
                log_ref=outcome.log_ref,
            )
        if outcome.kind is OutcomeKind.IN_DOUBT:
            self.stats.in_doubt += 1
        if outcome.kind is not OutcomeKind.RETRYABLE:
            self.pacer.succeeded()
            return True
        return False

    async def _before_retry(
        self,
        outcome: Outcome,
        *,
        method: str,
        path: str,
        attempt: int,
        elapsed: float,
        generation: int,
    ) -> None:
        """A fresh token after a 401, the pacer's pause after a 429, our own backoff after the
        rest; raises when the request has tried long enough."""
        delay = 0.0  # our own sleep; a 429's pause is held by the pacer for every worker
        if outcome.code == "unauthorized":
            await self._tokens.refresh_after_401(generation)
            wait = 0.0
        elif outcome.code == "throttled":
            self.stats.throttled += 1
            wait = self.pacer.throttled(outcome.retry_after)
            if elapsed + wait > self.max_throttle_s:
                raise RetryableApiError(
                    f"{method} {path}: still throttled after {elapsed:.0f}s; rerun later",
                    status=429,
                )
        else:
            if attempt >= self.max_attempts or elapsed >= self.max_retry_s:
                raise RetryableApiError(
                    f"{method} {path}: {outcome.describe()} after {attempt} attempts",
                    status=outcome.status,
                )
            delay = wait = backoff_delay(attempt, jitter=self._rand())  # 5xx: our own pace
        self.stats.retries += 1
        self._emit(
            "request.retry",
            method=method,
            path=path,
            code=outcome.code,
            attempt=attempt,
            delay_s=round(wait, 3),
        )
        if delay > 0:
            await self._clock.sleep(delay)

    async def _acquire(self, cost: float, what: str) -> None:
        """Wait for the pacer; give up (nothing sent) if the run starts stopping meanwhile."""
        self.waiting_on_rate += 1
        try:
            await acquire_unless_stopped(self.pacer, cost, stop=self.stop, what=what)
        finally:
            self.waiting_on_rate -= 1

    async def _send(
        self,
        method: str,
        path: str,
        kind: RequestKind,
        *,
        token: str | None,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        not_found_fatal: bool = False,
        after_refresh: bool = False,
        require_id: bool = True,
    ) -> Outcome:
        """One request and what it means (:func:`classify`); never raises for an answer."""
        data: bytes | dict[str, str] | None = form
        if json_body is not None:
            data = json_bytes(json_body)  # byte for byte what the splitter measured
        if kind is not RequestKind.TOKEN:  # the token endpoint is not the API's budget
            self.stats.requests += 1
        try:
            raw = await exchange(
                self.session, method, self.api_url + path, token=token, params=params, data=data
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            return classify(exc, kind)
        if kind is not RequestKind.TOKEN:
            self.pacer.observe(raw.headers)
        return classify(
            raw,
            kind,
            not_found_fatal=not_found_fatal,
            after_refresh=after_refresh,
            require_id=require_id,
            now=time.time(),
        )

    async def _fetch_token(self) -> tuple[str, float]:
        """A token from the token endpoint (:mod:`importer.helpscout.token_request`)."""
        return await request_token(
            lambda form: self._send("POST", TOKEN_PATH, RequestKind.TOKEN, token=None, form=form),
            self._credentials,
            token_url=f"{self.api_url}{TOKEN_PATH}",
            max_attempts=self.max_attempts,
            rand=self._rand,
            clock=self._clock,
            emit=self._emit,
        )

    def _token_refreshed(self, reason: str, expires_in: float) -> None:
        self.stats.refreshes += 1
        self._emit("auth.token_refreshed", reason=reason, expires_in=expires_in)

    def _emit(self, name: str, **fields: Any) -> None:
        if self._on_event is not None:
            self._on_event(name, fields)


def _embedded(body: Any, key: str) -> list[dict[str, Any]]:
    embedded = body.get("_embedded") if isinstance(body, dict) else None
    items = embedded.get(key) if isinstance(embedded, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
