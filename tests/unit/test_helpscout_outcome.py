"""The one classifier, table-tested with hand-built responses and exceptions (no server)."""

from __future__ import annotations

import json
import socket

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from importer.helpscout.outcome import (
    Outcome,
    OutcomeKind,
    RawResponse,
    RequestKind,
    backoff_delay,
    classify,
    parse_resource_id,
    parse_retry_after,
    parse_vnd_error,
)

W, R, T = RequestKind.WRITE, RequestKind.READ, RequestKind.TOKEN
K = OutcomeKind

VND_400 = {
    "logRef": "0f3c9a6e#4412",
    "message": "Bad request",
    "_embedded": {
        "errors": [
            {
                "path": "customer.firstName",
                "message": "size must be between 1 and 40",
                "rejectedValue": "A" * 45,
                "source": "JSON",
                "_links": {"about": {"href": "http://x/errors#Size"}},
            },
            {
                "path": "threads[0].createdAt",
                "message": "malformed date",
                "rejectedValue": "2019-01-02 10:00",
                "links": [{"rel": "about", "href": "http://x/errors#MalformedDate"}],
            },
        ]
    },
    "_links": {"about": {"href": "http://x/errors"}},
}


def resp(status: int, headers: dict[str, str] | None = None, body: object = None) -> RawResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    return RawResponse(status, headers or {}, raw)


def _key() -> ConnectionKey:
    return ConnectionKey("h", 443, True, True, None, None, None)


def connector_error(exc: type[aiohttp.ClientConnectorError]) -> aiohttp.ClientConnectorError:
    return exc(_key(), OSError(111, "Connection refused"))


def dns_error() -> aiohttp.ClientConnectorError:
    return aiohttp.ClientConnectorDNSError(_key(), socket.gaierror(-2, "Name or service not known"))


def cert_error() -> aiohttp.ClientConnectorCertificateError:
    return aiohttp.ClientConnectorCertificateError(_key(), ValueError("bad cert"))


CASES = [
    # (id, result, request kind, options, kind, code)
    ("201 resource-id", resp(201, {"Resource-ID": "123"}), W, {}, K.CREATED, "created"),
    (
        "201 location only",
        resp(201, {"Location": "https://api.helpscout.net/v2/conversations/456"}),
        W,
        {},
        K.CREATED,
        "created",
    ),
    ("201 without id", resp(201), W, {}, K.IN_DOUBT, "created_without_id"),
    ("201 upload without id", resp(201), W, {"require_id": False}, K.CREATED, "created"),
    ("204 write", resp(204), W, {}, K.CREATED, "created"),
    ("200 read", resp(200, body={"a": 1}), R, {}, K.OK, "ok"),
    ("400 vnd.error", resp(400, body=VND_400), W, {}, K.REJECTED, "validation"),
    (
        "400 unparsable",
        resp(400, body={"message": "Error parsing"}),
        W,
        {},
        K.REJECTED,
        "validation",
    ),
    ("412 threads", resp(412), W, {}, K.REJECTED, "too_many_threads"),
    ("413 too large", resp(413), W, {}, K.REJECTED, "too_large"),
    ("409 conflict", resp(409), W, {}, K.REJECTED, "conflict"),
    ("404 thread", resp(404), W, {}, K.REJECTED, "not_found"),
    ("404 mailbox", resp(404), W, {"not_found_fatal": True}, K.FATAL, "not_found"),
    ("404 read", resp(404), R, {}, K.REJECTED, "not_found"),
    ("418 other 4xx", resp(418), W, {}, K.REJECTED, "http_418"),
    ("301 merged", resp(301, {"Location": "/v2/conversations/9"}), R, {}, K.REJECTED, "redirect"),
    ("429 x-header", resp(429, {"X-RateLimit-Retry-After": "7"}), W, {}, K.RETRYABLE, "throttled"),
    ("429 read", resp(429), R, {}, K.RETRYABLE, "throttled"),
    ("401 first", resp(401), W, {}, K.RETRYABLE, "unauthorized"),
    ("401 after refresh", resp(401), W, {"after_refresh": True}, K.FATAL, "unauthorized"),
    ("403", resp(403, body={"message": "API not enabled"}), W, {}, K.FATAL, "forbidden"),
    ("402", resp(402), R, {}, K.FATAL, "payment_required"),
    ("500 write", resp(500), W, {}, K.IN_DOUBT, "server_error"),
    ("503 write", resp(503), W, {}, K.IN_DOUBT, "server_error"),
    ("500 read", resp(500), R, {}, K.RETRYABLE, "server_error"),
    ("refused write", connector_error(aiohttp.ClientConnectorError), W, {}, K.RETRYABLE, "refused"),
    ("dns write", dns_error(), W, {}, K.RETRYABLE, "dns"),
    ("connect timeout", aiohttp.ConnectionTimeoutError(), W, {}, K.RETRYABLE, "connect_timeout"),
    ("tls", cert_error(), W, {}, K.FATAL, "tls"),
    ("timeout write", TimeoutError(), W, {}, K.IN_DOUBT, "timeout"),
    ("read timeout write", aiohttp.SocketTimeoutError(), W, {}, K.IN_DOUBT, "timeout"),
    ("timeout read", TimeoutError(), R, {}, K.RETRYABLE, "timeout"),
    ("disconnected", aiohttp.ServerDisconnectedError(), W, {}, K.IN_DOUBT, "disconnected"),
    ("reset", aiohttp.ClientOSError(104, "Connection reset by peer"), W, {}, K.IN_DOUBT, "reset"),
    ("payload", aiohttp.ClientPayloadError("cut"), W, {}, K.IN_DOUBT, "reset"),
    ("reset read", aiohttp.ClientOSError(104, "reset"), R, {}, K.RETRYABLE, "reset"),
    ("token ok", resp(200, body={"access_token": "t", "expires_in": 7200}), T, {}, K.OK, "ok"),
    (
        "token refused",
        resp(400, body={"error": "invalid_client", "error_description": "bad client"}),
        T,
        {},
        K.FATAL,
        "credentials",
    ),
    ("token 401", resp(401), T, {}, K.FATAL, "credentials"),
    ("token 503", resp(503), T, {}, K.RETRYABLE, "server_error"),
    ("token timeout", TimeoutError(), T, {}, K.RETRYABLE, "timeout"),
]


@pytest.mark.parametrize(
    ("result", "kind", "options", "expected_kind", "expected_code"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_classify_table(result, kind, options, expected_kind, expected_code):
    """Every branch of the classifier maps to the documented kind and code."""
    outcome = classify(result, kind, **options)
    assert (expected_kind, expected_code) == (outcome.kind, outcome.code)


def test_classify_created_ids():
    """Resource-ID wins; Location is the fallback."""
    both = resp(201, {"Resource-ID": "7", "Location": "https://h/v2/conversations/8"})
    assert classify(both, W).resource_id == 7
    location = resp(201, {"location": "https://h/v2/conversations/8"})
    assert classify(location, W).resource_id == 8


def test_classify_400_keeps_errors_and_log_ref():
    """A 400 carries every field error, rejectedValue and the logRef."""
    outcome = classify(resp(400, body=VND_400), W)
    assert outcome.log_ref == "0f3c9a6e#4412"
    assert [e["path"] for e in outcome.errors] == ["customer.firstName", "threads[0].createdAt"]
    assert outcome.errors[0]["rejectedValue"] == "A" * 45
    assert outcome.errors[0]["about"] == "http://x/errors#Size"
    assert outcome.errors[1]["about"] == "http://x/errors#MalformedDate"
    text = outcome.describe()
    assert "customer.firstName: size must be between 1 and 40" in text
    assert "logRef 0f3c9a6e#4412" in text


def test_classify_429_reads_retry_after():
    """X-RateLimit-Retry-After wins over Retry-After."""
    both = resp(429, {"Retry-After": "30", "X-RateLimit-Retry-After": "12"})
    assert classify(both, W).retry_after == 12.0
    assert classify(resp(429, {"Retry-After": "3"}), W).retry_after == 3.0
    assert classify(resp(429), W).retry_after is None


def test_classify_token_message_never_holds_the_secret():
    """The token refusal message is the OAuth description, not the request."""
    outcome = classify(resp(400, body={"error": "invalid_client"}), T)
    assert outcome.message == "invalid_client"


def test_classify_unknown_exception_is_raised():
    """A bug (not a transport failure) is not turned into an outcome."""
    with pytest.raises(KeyError):
        classify(KeyError("x"), W)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"X-RateLimit-Retry-After": "5"}, 5.0),
        ({"x-ratelimit-retry-after": "2.5"}, 2.5),
        ({"Retry-After": "10"}, 10.0),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"X-RateLimit-Retry-After": "", "Retry-After": "4"}, 4.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
    ],
)
def test_parse_retry_after(headers, expected):
    """Seconds from either header; an HTTP date is read against ``now``."""
    assert expected == parse_retry_after(headers, now=1445412480.0)


def test_parse_resource_id_rejects_junk():
    """Only digits make an id."""
    assert parse_resource_id("abc", None) is None
    assert parse_resource_id(None, "https://h/v2/conversations/") is None
    assert parse_resource_id(None, "/v2/customers/55?x=1") == 55


def test_parse_vnd_error_tolerates_other_shapes():
    """Non-dict bodies and missing parts give empty results."""
    assert parse_vnd_error(None) == ("", None, [])
    assert parse_vnd_error({"_embedded": {"errors": "x"}}) == ("", None, [])
    assert parse_vnd_error({"message": "m", "logRef": 5}) == ("m", "5", [])


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [(0, 0.5, 0.0), (1, 0.5, 1.0), (2, 0.5, 2.0), (3, 0.0, 3.2), (3, 1.0, 4.8), (10, 0.5, 60.0)],
)
def test_backoff_delay(attempt, jitter, expected):
    """Exponential, spread by ±20 % with the given jitter, capped."""
    assert expected == pytest.approx(backoff_delay(attempt, jitter=jitter))


def test_backoff_delay_never_exceeds_cap_or_overflows():
    """Huge attempt numbers stay at the cap."""
    assert backoff_delay(10_000, cap=30.0, jitter=1.0) == 30.0


def test_outcome_ok_property():
    """CREATED and OK are successes."""
    assert Outcome(K.CREATED).ok
    assert Outcome(K.OK).ok
    assert not Outcome(K.IN_DOUBT).ok
