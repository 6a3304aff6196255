"""The one place that decides what an answer of the API (or its absence) means.

Every response and every transport exception goes through :func:`classify`, which returns an
:class:`Outcome`. The caller acts on ``Outcome.kind`` only:

=============  ==================================================================================
kind           what the caller does
=============  ==================================================================================
CREATED        2xx on a write: keep ``resource_id`` (``Resource-ID``, else parsed from ``Location``)
OK             2xx on a read: use the body
REJECTED       400/409/412/413/415/422 or a 404 about this one request: record as failed, go on
RETRYABLE      429, a first 401 (refresh the token), refused/DNS before sending, or a transient
               failure of an idempotent read: wait and send again
IN_DOUBT       a write was sent and its answer lost (timeout, reset, disconnect, 5xx, 2xx without
               an id): the resource may exist, reconcile before sending again
FATAL          403, 401 after a refresh, 404 on the mailbox, token endpoint refusing credentials,
               TLS verification failure: stop the run
=============  ==================================================================================

Pure functions only: no I/O, no clock (``now`` is a parameter), no randomness (``jitter`` is a
parameter). Messages never carry a token, a secret or a URL with its query string.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import aiohttp

from importer.helpscout.backoff import backoff_delay

__all__ = [
    "Outcome",
    "OutcomeKind",
    "RawResponse",
    "RequestKind",
    "backoff_delay",
    "classify",
    "parse_resource_id",
    "parse_retry_after",
    "parse_vnd_error",
]


class OutcomeKind(StrEnum):
    """What the caller should do with an answer."""

    CREATED = "created"
    OK = "ok"
    REJECTED = "rejected"
    RETRYABLE = "retryable"
    IN_DOUBT = "in_doubt"
    FATAL = "fatal"


class RequestKind(StrEnum):
    """What was asked: decides how 5xx, timeouts and 404 are read."""

    WRITE = "write"  # POST that creates (or DELETE that removes) something: never resent blindly
    READ = "read"  # idempotent GET: transient failures are retryable
    TOKEN = "token"  # POST /v2/oauth2/token: idempotent, refusals are credentials errors
    DOWNLOAD = "download"  # GET of an export's attachment URL: any refusal is this file's alone


@dataclass(frozen=True)
class RawResponse:
    """The parts of an HTTP answer the classifier reads; tests build it by hand."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Outcome:
    """What one request ended as. ``code`` is a short stable word for logs and checkpoints."""

    kind: OutcomeKind
    status: int | None = None
    code: str = ""
    resource_id: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    log_ref: str | None = None
    retry_after: float | None = None
    body: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True for CREATED and OK."""
        return self.kind in (OutcomeKind.CREATED, OutcomeKind.OK)

    def describe(self) -> str:
        """One line for a person: status, message, field errors and log reference."""
        parts = [f"HTTP {self.status}" if self.status else self.code]
        if self.message:
            parts.append(self.message)
        for err in self.errors:
            path = err.get("path") or "?"
            parts.append(f"{path}: {err.get('message') or 'invalid'}")
        text = "; ".join(parts)
        if self.log_ref:
            text += f" (logRef {self.log_ref})"
        return text


_FATAL_STATUSES = {402: "payment_required", 403: "forbidden", 405: "method_not_allowed"}
_REJECTED_STATUSES = {
    400: "validation",
    409: "conflict",
    412: "too_many_threads",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation",
}


def classify(
    result: RawResponse | BaseException,
    kind: RequestKind,
    *,
    not_found_fatal: bool = False,
    after_refresh: bool = False,
    require_id: bool = True,
    now: float | None = None,
) -> Outcome:
    """Decide what a response or a transport exception means.

    :param result: the answer, or the exception raised while sending or reading it.
    :param kind: what was asked (write, read, token).
    :param not_found_fatal: a 404 means the run cannot go on (the mailbox is gone) rather than
        this one request being wrong (a thread on a merged conversation).
    :param after_refresh: the token was refreshed for this request already; another 401 is fatal.
    :param require_id: a 201 without ``Resource-ID``/``Location`` is in doubt (the resource
        exists but we cannot tell which); False for uploads, where the id does not matter.
    :param now: epoch seconds, only to read a ``Retry-After`` given as an HTTP date.
    """
    if isinstance(result, BaseException):
        return _classify_exception(result, kind)
    return _classify_response(
        result, kind, not_found_fatal, after_refresh=after_refresh, require_id=require_id, now=now
    )


def _classify_response(
    resp: RawResponse,
    kind: RequestKind,
    not_found_fatal: bool,
    *,
    after_refresh: bool,
    require_id: bool,
    now: float | None,
) -> Outcome:
    status = resp.status
    message, log_ref, errors = parse_vnd_error(resp.json())
    base: dict[str, Any] = {"status": status, "message": message, "log_ref": log_ref}

    if kind is RequestKind.TOKEN:
        return _classify_token(resp, base)
    if kind is RequestKind.DOWNLOAD:
        return _classify_download(resp, base, now)
    if 200 <= status < 300:
        if kind is RequestKind.READ:
            return Outcome(OutcomeKind.OK, status, "ok", body=resp.json())
        resource_id = parse_resource_id(resp.header("Resource-ID"), resp.header("Location"))
        if resource_id is None and status == 201 and require_id:
            # Something was created but we cannot tell what: find it like a lost answer.
            return Outcome(
                OutcomeKind.IN_DOUBT,
                status,
                "created_without_id",
                message="201 without Resource-ID or Location",
            )
        return Outcome(
            OutcomeKind.CREATED, status, "created", resource_id=resource_id, body=resp.json()
        )
    if status == 429:
        return Outcome(
            OutcomeKind.RETRYABLE,
            code="throttled",
            retry_after=parse_retry_after(resp.headers, now=now),
            **base,
        )
    if status == 401:
        if after_refresh:
            return Outcome(OutcomeKind.FATAL, code="unauthorized", **base)
        return Outcome(OutcomeKind.RETRYABLE, code="unauthorized", **base)
    if status in _FATAL_STATUSES:
        return Outcome(OutcomeKind.FATAL, code=_FATAL_STATUSES[status], **base)
    if status in (404, 410):
        if not_found_fatal:
            return Outcome(OutcomeKind.FATAL, code="not_found", **base)
        return Outcome(OutcomeKind.REJECTED, code="not_found", errors=errors, **base)
    if status in _REJECTED_STATUSES:
        return Outcome(OutcomeKind.REJECTED, code=_REJECTED_STATUSES[status], errors=errors, **base)
    if 300 <= status < 400:
        # Redirects are not followed on writes; on reads a 301 is a merged conversation.
        return Outcome(OutcomeKind.REJECTED, code="redirect", **base)
    if status >= 500:
        if kind is RequestKind.WRITE:
            return Outcome(OutcomeKind.IN_DOUBT, code="server_error", **base)
        return Outcome(OutcomeKind.RETRYABLE, code="server_error", **base)
    # Any other 4xx is about this request.
    return Outcome(OutcomeKind.REJECTED, code=f"http_{status}", errors=errors, **base)


def _classify_download(resp: RawResponse, base: dict[str, Any], now: float | None) -> Outcome:
    """A file of the old help desk: 2xx is the file; 408, 429 and 5xx are worth another try;
    anything else (401/403 of an expired or private link, 404, a redirect past the limit) is
    this file's refusal, never the run's."""
    status = resp.status
    if 200 <= status < 300:
        return Outcome(OutcomeKind.OK, status, "ok")
    if status in (408, 429) or status >= 500:
        code = "throttled" if status == 429 else "server_error"
        return Outcome(
            OutcomeKind.RETRYABLE,
            code=code,
            retry_after=parse_retry_after(resp.headers, now=now),
            **{**base, "message": ""},
        )
    return Outcome(OutcomeKind.REJECTED, code=f"http_{status}", **{**base, "message": ""})


def _classify_token(resp: RawResponse, base: dict[str, Any]) -> Outcome:
    status = resp.status
    if status == 200:
        return Outcome(OutcomeKind.OK, status, "ok", body=resp.json())
    if status == 429:
        return Outcome(
            OutcomeKind.RETRYABLE,
            code="throttled",
            retry_after=parse_retry_after(resp.headers),
            **base,
        )
    if status >= 500:
        return Outcome(OutcomeKind.RETRYABLE, code="server_error", **base)
    body = resp.json()
    message = base["message"]
    if isinstance(body, dict) and body.get("error"):
        # OAuth-style error; error_description never contains the secret itself.
        message = str(body.get("error_description") or body["error"])
    base = {**base, "message": message}
    return Outcome(OutcomeKind.FATAL, code="credentials", **base)


def _classify_exception(exc: BaseException, kind: RequestKind) -> Outcome:
    name = type(exc).__name__
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch):
        if kind is RequestKind.DOWNLOAD:  # one file's host: not a reason to stop the run
            return Outcome(OutcomeKind.REJECTED, code="tls", message=f"TLS failed ({name})")
        return Outcome(
            OutcomeKind.FATAL,
            code="tls",
            message=f"TLS verification failed ({name}); see --ca-bundle",
        )
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        # Refused, DNS failure, or no connection within the connect timeout: nothing was sent.
        code = "dns" if isinstance(exc, aiohttp.ClientConnectorDNSError) else "refused"
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            code = "connect_timeout"
        return Outcome(OutcomeKind.RETRYABLE, code=code, message=name)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        code = "timeout"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        code = "disconnected"
    elif isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientOSError | ConnectionError):
        code = "reset"
    elif isinstance(exc, aiohttp.TooManyRedirects | aiohttp.InvalidURL):
        if kind is RequestKind.DOWNLOAD:
            code = "redirects" if isinstance(exc, aiohttp.TooManyRedirects) else "invalid_url"
            return Outcome(OutcomeKind.REJECTED, code=code, message=name)
        code = "transport"
    elif isinstance(exc, aiohttp.ClientError):
        code = "transport"
    else:
        raise exc  # a bug, not an answer: let it surface
    if kind is RequestKind.WRITE:
        return Outcome(OutcomeKind.IN_DOUBT, code=code, message=name)
    return Outcome(OutcomeKind.RETRYABLE, code=code, message=name)


_ID_IN_LOCATION = re.compile(r"/(\d+)/?(?:[?#].*)?$")


def parse_resource_id(resource_id: str | None, location: str | None) -> int | None:
    """The new resource's id from ``Resource-ID``, else the last path segment of ``Location``."""
    if resource_id and resource_id.strip().isdigit():
        return int(resource_id.strip())
    if location:
        match = _ID_IN_LOCATION.search(location.strip())
        if match:
            return int(match.group(1))
    return None


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``X-RateLimit-Retry-After``, else ``Retry-After`` (seconds or date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("x-ratelimit-retry-after", "retry-after"):
        raw = lowered.get(name)
        if raw is None or not raw.strip():
            continue
        try:
            value = float(raw.strip())
        except ValueError:
            if now is None:
                continue
            try:
                value = parsedate_to_datetime(raw).timestamp() - now
            except (TypeError, ValueError):
                continue
        if value == value and value != float("inf"):  # not NaN, finite
            return max(0.0, value)
    return None


def parse_vnd_error(body: Any) -> tuple[str, str | None, list[dict[str, Any]]]:
    """``(message, logRef, errors)`` from a vnd.error body; each error has path, message,
    rejectedValue and (when linked, in ``_links`` or list-style ``links``) about."""
    if not isinstance(body, dict):
        return "", None, []
    message = str(body.get("message") or "")
    log_ref = body.get("logRef")
    embedded = body.get("_embedded")
    raw_errors = embedded.get("errors") if isinstance(embedded, dict) else None
    errors: list[dict[str, Any]] = []
    for raw in raw_errors if isinstance(raw_errors, list) else []:
        if not isinstance(raw, dict):
            continue
        entry: dict[str, Any] = {
            "path": raw.get("path"),
            "message": raw.get("message"),
            "rejectedValue": raw.get("rejectedValue"),
        }
        about = _about_link(raw)
        if about:
            entry["about"] = about
        errors.append(entry)
    return message, str(log_ref) if log_ref is not None else None, errors


def _about_link(raw: dict[str, Any]) -> str | None:
    links = raw.get("_links")
    if isinstance(links, dict):
        about = links.get("about")
        if isinstance(about, dict) and about.get("href"):
            return str(about["href"])
    listed = raw.get("links")
    if isinstance(listed, list):
        for link in listed:
            if isinstance(link, dict) and link.get("rel") == "about" and link.get("href"):
                return str(link["href"])
    return None


def fatal_message(method: str, path: str, outcome: Outcome) -> str:
    """The message of a fatal answer, with what to check."""
    hint = {
        "unauthorized": "the credentials were refused again after a fresh token: check the app "
        "and that its user is still active",
        "forbidden": "access denied: check the user's permissions, the plan and API access",
        "not_found": "not found: check --mailbox (does the mailbox still exist?)",
        "tls": "check --ca-bundle",
    }.get(outcome.code, "stop; the checkpoint is consistent, rerun to resume")
    return f"{method} {path}: {outcome.describe()}; {hint}"
