"""The client against a real in-process aiohttp app that replays scripted answers.

The app records every request it gets, so tests can assert that a write was sent exactly once
when it must not be resent. Waits (Retry-After, backoff) go through a fake clock.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from fake_clock import FakeClock

from importer.errors import CredentialsError, FatalApiError, RejectedApiError, UsageError
from importer.helpscout import Credentials, HelpScoutClient, OutcomeKind, Pacer, Timeouts

SECRET = "s3cr3t-app-secret"


@dataclass
class Script:
    """What the fake API answers, in order, and what it received."""

    conversation_answers: list[Any] = field(default_factory=list)
    token_answers: list[Any] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    get_answers: dict[str, list[Any]] = field(default_factory=dict)


def make_app(script: Script) -> web.Application:
    async def token(request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())
        script.received.append({"path": "/v2/oauth2/token", "form": form})
        if script.token_answers:
            status, body = script.token_answers.pop(0)
            return web.json_response(body, status=status)
        script.tokens_issued += 1
        return web.json_response(
            {
                "access_token": f"tok-{script.tokens_issued}",
                "token_type": "Bearer",
                "expires_in": 7200,
            }
        )

    async def write(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        script.received.append(
            {
                "path": request.path,
                "method": "POST",
                "body": body,
                "auth": request.headers.get("Authorization"),
            }
        )
        answer = script.conversation_answers.pop(0) if script.conversation_answers else 201
        if answer == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=201)
        if answer == "slow":
            await asyncio.sleep(0.3)
            return web.Response(status=201, headers={"Resource-ID": "1"})
        if isinstance(answer, int):
            answer = (answer, {}, None)
        status, headers, payload = answer
        if status == 201 and not headers:
            headers = {"Resource-ID": str(100 + len(script.received))}
        if payload is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(
            payload, status=status, headers=headers, content_type="application/vnd.error+json"
        )

    async def read(request: web.Request) -> web.StreamResponse:
        script.received.append(
            {
                "path": request.path,
                "method": "GET",
                "query": dict(request.query),
                "auth": request.headers.get("Authorization"),
            }
        )
        answers = script.get_answers.get(request.path, [])
        status, body = answers.pop(0) if answers else (200, {})
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/v2/oauth2/token", token)
    app.router.add_post("/v2/conversations", write)
    app.router.add_post("/v2/customers", write)
    app.router.add_post("/v2/conversations/{cid}/threads/{tid}/attachments", write)
    app.router.add_get("/{tail:.*}", read)
    return app


@pytest.fixture
def fake_time() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def events() -> list[tuple[str, dict[str, Any]]]:
    return []


@pytest.fixture
async def api(aiohttp_server):
    script = Script()
    server = await aiohttp_server(make_app(script))
    return script, str(server.make_url("")).rstrip("/")


def client_for(
    url: str, fake_time: FakeClock, events: list, rate: int = 600, **kwargs: Any
) -> HelpScoutClient:
    creds = kwargs.pop("credentials", None) or Credentials(app_id="app", app_secret=SECRET)
    pacer = Pacer(rate, clock=fake_time, on_event=lambda n, f: events.append((n, f)))
    return HelpScoutClient(
        url,
        creds,
        pacer=pacer,
        clock=fake_time,
        on_event=lambda n, f: events.append((n, f)),
        rand=lambda: 0.5,
        **kwargs,
    )


def posts(script: Script, path: str = "/v2/conversations") -> list[dict[str, Any]]:
    return [r for r in script.received if r.get("method") == "POST" and r["path"] == path]


def assert_no_secret(events: list) -> None:
    text = json.dumps(events, default=str)
    assert SECRET not in text
    assert "Bearer" not in text
    assert "tok-" not in text


async def test_create_201_returns_resource_id(api, fake_time, events):
    """A 201 gives CREATED with the Resource-ID; the token is fetched once, form-encoded."""
    script, url = api
    script.conversation_answers = [(201, {"Resource-ID": "777"}, None)]
    async with client_for(url, fake_time, events) as client:
        outcome = await client.create_conversation({"subject": "s"})
    assert (OutcomeKind.CREATED, 777) == (outcome.kind, outcome.resource_id)
    token_calls = [r for r in script.received if r["path"] == "/v2/oauth2/token"]
    assert token_calls[0]["form"] == {
        "grant_type": "client_credentials",
        "client_id": "app",
        "client_secret": SECRET,
    }
    assert posts(script)[0]["auth"] == "Bearer tok-1"
    assert client.stats.requests == 1
    assert client.stats.refreshes == 1
    names = [n for n, _ in events]
    assert names == ["auth.token_refreshed", "request.outcome"]
    assert_no_secret(events)


async def test_429_waits_retry_after_then_creates(api, fake_time, events):
    """429 with X-RateLimit-Retry-After: one shared pause of that length, then the resend."""
    script, url = api
    script.conversation_answers = [(429, {"X-RateLimit-Retry-After": "7"}, None), 201]
    async with client_for(url, fake_time, events) as client:
        outcome = await client.create_conversation({"subject": "s"})
    assert outcome.kind is OutcomeKind.CREATED
    assert len(posts(script)) == 2
    assert sum(fake_time.slept) == pytest.approx(7.1)
    assert (client.stats.throttled, client.stats.retries) == (1, 1)
    assert "rate.throttled" in [n for n, _ in events]
    assert_no_secret(events)


async def test_401_refreshes_once_then_creates(api, fake_time, events):
    """A 401 triggers one refresh; the resend carries the new token."""
    script, url = api
    script.conversation_answers = [401, 201]
    async with client_for(url, fake_time, events) as client:
        outcome = await client.create_conversation({"subject": "s"})
    assert outcome.kind is OutcomeKind.CREATED
    assert [p["auth"] for p in posts(script)] == ["Bearer tok-1", "Bearer tok-2"]
    assert client.stats.refreshes == 2
    reasons = [f["reason"] for n, f in events if n == "auth.token_refreshed"]
    assert reasons == ["initial", "reactive"]
    assert_no_secret(events)


async def test_second_401_after_refresh_is_fatal(api, fake_time, events):
    """401, refresh, 401 again: FatalApiError, no loop."""
    script, url = api
    script.conversation_answers = [401, 401, 201]
    async with client_for(url, fake_time, events) as client:
        with pytest.raises(FatalApiError) as info:
            await client.create_conversation({"subject": "s"})
    assert info.value.exit_code == 3
    assert len(posts(script)) == 2


async def test_concurrent_401s_share_one_refresh(api, fake_time, events):
    """Several workers hitting 401 on the same token cause a single token fetch."""
    script, url = api
    script.conversation_answers = [401, 401, 401, 201, 201, 201]
    # a budget whose bucket lets the three writes go at once (at 600 it holds two)
    async with client_for(url, fake_time, events, rate=6000) as client:
        await client.me()  # fetch the first token before the burst
        outcomes = await asyncio.gather(
            *(client.create_conversation({"subject": str(i)}) for i in range(3))
        )
    assert all(o.kind is OutcomeKind.CREATED for o in outcomes)
    assert script.tokens_issued == 2


async def test_500_is_in_doubt_and_not_resent(api, fake_time, events):
    """A 5xx after sending may have stored the conversation: IN_DOUBT, sent once."""
    script, url = api
    script.conversation_answers = [500, 201]
    async with client_for(url, fake_time, events) as client:
        outcome = await client.create_conversation({"subject": "s"})
    assert (outcome.kind, outcome.code) == (OutcomeKind.IN_DOUBT, "server_error")
    assert len(posts(script)) == 1
    assert client.stats.in_doubt == 1


async def test_dropped_connection_is_in_doubt_and_not_resent(api, fake_time, events):
    """The server stores then closes the connection: IN_DOUBT, sent once."""
    script, url = api
    script.conversation_answers = ["drop", 201]
    async with client_for(url, fake_time, events) as client:
        outcome = await client.create_conversation({"subject": "s"})
    assert outcome.kind is OutcomeKind.IN_DOUBT
    assert outcome.code in {"disconnected", "reset"}
    assert len(posts(script)) == 1


async def test_timeout_is_in_doubt_and_not_resent(api, fake_time, events):
    """No answer within the total timeout: IN_DOUBT, sent once."""
    script, url = api
    script.conversation_answers = ["slow", 201]
    async with client_for(
        url, fake_time, events, timeouts=Timeouts(connect=1, total=0.1)
    ) as client:
        outcome = await client.create_conversation({"subject": "s"})
    assert (outcome.kind, outcome.code) == (OutcomeKind.IN_DOUBT, "timeout")
    assert len(posts(script)) == 1


async def test_403_is_fatal(api, fake_time, events):
    """403: FatalApiError naming what to check, sent once."""
    script, url = api
    script.conversation_answers = [(403, {}, {"message": "API access not enabled"})]
    async with client_for(url, fake_time, events) as client:
        with pytest.raises(FatalApiError, match="access denied"):
            await client.create_conversation({"subject": "s"})
    assert len(posts(script)) == 1


async def test_404_on_create_is_fatal_but_on_upload_rejected(api, fake_time, events):
    """An unknown mailbox stops the run; a missing thread only fails its upload."""
    script, url = api
    script.conversation_answers = [404, 404]
    async with client_for(url, fake_time, events) as client:
        with pytest.raises(FatalApiError, match="--mailbox"):
            await client.create_conversation({"subject": "s"})
        outcome = await client.upload_attachment(
            5, 6, "a.txt", mime_type="text/plain", data_b64="aGk="
        )
    assert (outcome.kind, outcome.code) == (OutcomeKind.REJECTED, "not_found")


async def test_400_is_rejected_with_field_errors(api, fake_time, events):
    """A 400 vnd.error is REJECTED with its paths and logRef; not resent."""
    script, url = api
    body = {
        "logRef": "abc#1",
        "message": "Bad request",
        "_embedded": {
            "errors": [{"path": "status", "message": "Expected one of these", "rejectedValue": "x"}]
        },
    }
    script.conversation_answers = [(400, {}, body)]
    async with client_for(url, fake_time, events) as client:
        outcome = await client.create_conversation({"subject": "s"})
    assert outcome.kind is OutcomeKind.REJECTED
    assert outcome.errors[0]["path"] == "status"
    assert outcome.log_ref == "abc#1"
    assert len(posts(script)) == 1


async def test_token_refused_is_credentials_error(api, fake_time, events):
    """The token endpoint refusing the app: CredentialsError without the secret."""
    script, url = api
    script.token_answers = [
        (401, {"error": "invalid_client", "error_description": "Invalid client credentials"})
    ]
    async with client_for(url, fake_time, events) as client:
        with pytest.raises(CredentialsError) as info:
            await client.create_conversation({"subject": "s"})
    assert SECRET not in str(info.value)
    assert "Invalid client credentials" in str(info.value)
    assert posts(script) == []


async def test_static_token_refused_is_credentials_error(api, fake_time, events):
    """A static token cannot be refreshed: its 401 is a credentials error, sent once."""
    script, url = api
    script.conversation_answers = [401]
    creds = Credentials(access_token="static-token-xyz")
    async with client_for(url, fake_time, events, credentials=creds) as client:
        with pytest.raises(CredentialsError, match="HELPSCOUT_ACCESS_TOKEN"):
            await client.create_conversation({"subject": "s"})
    assert posts(script)[0]["auth"] == "Bearer static-token-xyz"
    assert "static-token-xyz" not in json.dumps(events) + repr(client) + repr(creds)


async def test_refused_connection_is_retried_then_raises(fake_time, events, unused_tcp_port):
    """Nothing listens: refused before sending, retried with backoff, then RetryableApiError."""
    from importer.errors import RetryableApiError

    url = f"http://127.0.0.1:{unused_tcp_port}"
    creds = Credentials(access_token="t")
    async with client_for(url, fake_time, events, credentials=creds, max_attempts=3) as client:
        with pytest.raises(RetryableApiError):
            await client.create_conversation({"subject": "s"})
    assert client.stats.requests == 3
    assert fake_time.slept == pytest.approx([1.0, 2.0])


async def test_token_endpoint_unreachable_names_the_url_not_the_credentials(
    fake_time, events, unused_tcp_port
):
    """Nothing listens at the token endpoint: the error says where and to check --api-url."""
    url = f"http://127.0.0.1:{unused_tcp_port}"
    async with client_for(url, fake_time, events, max_attempts=2) as client:
        with pytest.raises(CredentialsError) as info:
            await client.create_conversation({"subject": "s"})
    message = str(info.value)
    assert f"cannot reach {url}/v2/oauth2/token" in message
    assert "--api-url" in message
    assert "refused the credentials" not in message
    assert SECRET not in message


async def test_reads_retry_server_errors(api, fake_time, events):
    """A GET answered 503 then 200 is retried and returns the body."""
    script, url = api
    script.get_answers["/v2/users/me"] = [(503, {}), (200, {"id": 1, "email": "a@b.c"})]
    async with client_for(url, fake_time, events) as client:
        me = await client.me()
    assert me["id"] == 1
    assert client.stats.retries == 1


async def test_get_404_raises_rejected(api, fake_time, events):
    """A missing conversation on GET raises RejectedApiError."""
    script, url = api
    script.get_answers["/v2/conversations/9"] = [(404, {"message": "Not found"})]
    async with client_for(url, fake_time, events) as client:
        with pytest.raises(RejectedApiError):
            await client.get_conversation(9)


async def test_mailbox_fields_404_is_fatal(api, fake_time, events):
    """An unknown mailbox on the fields endpoint stops the run."""
    script, url = api
    script.get_answers["/v2/mailboxes/5/fields"] = [(404, {})]
    async with client_for(url, fake_time, events) as client:
        with pytest.raises(FatalApiError):
            await client.mailbox_fields(5)


async def test_list_threads_follows_pages(api, fake_time, events):
    """Pages are followed until totalPages."""
    script, url = api
    script.get_answers["/v2/conversations/3/threads"] = [
        (200, {"_embedded": {"threads": [{"id": 1}]}, "page": {"number": 1, "totalPages": 2}}),
        (200, {"_embedded": {"threads": [{"id": 2}]}, "page": {"number": 2, "totalPages": 2}}),
    ]
    async with client_for(url, fake_time, events) as client:
        threads = await client.list_threads(3)
    assert [t["id"] for t in threads] == [1, 2]
    pages = [r["query"]["page"] for r in script.received if r.get("method") == "GET"]
    assert pages == ["1", "2"]


async def test_iter_conversations_sends_status_all(api, fake_time, events):
    """iter_conversations always says status=all unless told otherwise."""
    script, url = api
    async with client_for(url, fake_time, events) as client:
        async for _ in client.iter_conversations(
            1, modified_since="2026-01-01T00:00:00Z", custom_fields_by_ids="7:abc"
        ):
            pass
    query = next(r for r in script.received if r.get("method") == "GET")["query"]
    assert query == {
        "mailbox": "1",
        "status": "all",
        "page": "1",
        "modifiedSince": "2026-01-01T00:00:00Z",
        "customFieldsByIds": "7:abc",
    }


async def test_find_customer_by_email_checks_exactly(api, fake_time, events):
    """The fuzzy customer search is re-checked case-insensitively on every email."""
    script, url = api
    script.get_answers["/v2/customers"] = [
        (
            200,
            {
                "_embedded": {
                    "customers": [
                        {"id": 1, "_embedded": {"emails": [{"value": "xann@b.c"}]}},
                        {"id": 2, "_embedded": {"emails": [{"value": "Ann@B.c"}]}},
                    ]
                },
                "page": {"totalPages": 1},
            },
        )
    ]
    async with client_for(url, fake_time, events) as client:
        found = await client.find_customer_by_email("ann@b.c")
    assert found is not None
    assert found["id"] == 2
    query = next(r for r in script.received if r.get("method") == "GET")["query"]
    assert query["query"] == '(email:"ann@b.c")'


async def test_find_user_by_email_matches_alternates(api, fake_time, events):
    """Users match by email or alternate email; none gives None."""
    script, url = api
    script.get_answers["/v2/users"] = [
        (
            200,
            {
                "_embedded": {
                    "users": [{"id": 4, "email": "x@y.z", "alternateEmails": ["Agent@Y.z"]}]
                }
            },
        ),
        (200, {"_embedded": {"users": []}}),
    ]
    async with client_for(url, fake_time, events) as client:
        assert (await client.find_user_by_email("agent@y.z"))["id"] == 4
        assert await client.find_user_by_email("nobody@y.z") is None


async def test_create_customer_returns_id(api, fake_time, events):
    """POST /v2/customers gives CREATED with the customer id."""
    script, url = api
    script.conversation_answers = [(201, {"Resource-ID": "55"}, None)]
    async with client_for(url, fake_time, events) as client:
        outcome = await client.create_customer({"firstName": "A"})
    assert outcome.resource_id == 55
    assert len(posts(script, "/v2/customers")) == 1


async def test_client_outside_context_is_a_usage_error(fake_time, events):
    """Calling without 'async with' says so."""
    client = client_for("http://127.0.0.1:9", fake_time, events)
    with pytest.raises(UsageError, match="async with"):
        await client.me()


async def test_token_is_refreshed_before_it_expires(api, fake_time, events):
    """Past 90 % of expires_in (7200 s) the next request first fetches a new token."""
    script, url = api
    async with client_for(url, fake_time, events) as client:
        await client.create_conversation({"subject": "a"})
        fake_time.now += 6481
        await client.create_conversation({"subject": "b"})
    assert [p["auth"] for p in posts(script)] == ["Bearer tok-1", "Bearer tok-2"]
    reasons = [f["reason"] for n, f in events if n == "auth.token_refreshed"]
    assert reasons == ["initial", "proactive"]
