"""OAuth2 client credentials and the 401 answers (helpsout-api.md §1)."""

from __future__ import annotations

import asyncio

import pytest
from fake_clock import FakeClock
from sandbox_helpers import Api, MakeApi

pytestmark = pytest.mark.integration


async def test_token_with_a_form_body(api: Api) -> None:
    """A form-encoded client-credentials request gets a Bearer token with expires_in."""
    async with api.session.post(
        "/v2/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox",
            "client_secret": "sandbox",
        },
    ) as resp:
        body = await resp.json()
    assert resp.status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 172800
    assert "refresh_token" not in body
    api.token = body["access_token"]
    assert (await api.get("/v2/mailboxes")).status == 200


async def test_token_with_a_json_body(api: Api) -> None:
    """A JSON body is accepted too."""
    async with api.session.post(
        "/v2/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "sandbox",
            "client_secret": "sandbox",
        },
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["access_token"]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "nope"},
         "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "other", "client_secret": "sandbox"},
         "invalid_client"),
        ({"client_id": "sandbox", "client_secret": "sandbox"}, "invalid_request"),
        ({"grant_type": "password", "client_id": "sandbox", "client_secret": "sandbox"},
         "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "x", "client_id": "sandbox",
          "client_secret": "sandbox"}, "invalid_request"),
    ],
    ids=["wrong secret", "wrong id", "no grant", "unknown grant", "refresh not issued"],
)  # fmt: skip
async def test_token_errors_are_oauth_style(api: Api, fields: dict[str, str], error: str) -> None:
    """Token-endpoint errors are 400 with {"error", "error_description"}, not vnd.error."""
    async with api.session.post("/v2/oauth2/token", data=fields) as resp:
        body = await resp.json()
    assert resp.status == 400
    assert body["error"] == error
    assert body["error_description"]


async def test_missing_token_is_401(api: Api) -> None:
    """A call without Authorization gets 401."""
    async with api.session.get("/v2/mailboxes") as resp:
        assert resp.status == 401


async def test_wrong_token_is_401(api: Api) -> None:
    """A token the sandbox never issued gets 401."""
    reply = await api.call("GET", "/v2/mailboxes", token="made-up")
    assert reply.status == 401
    assert reply.body["message"]


async def test_expired_token_is_401(make_api: MakeApi, wall: FakeClock) -> None:
    """After --token-ttl seconds the token is refused; a new one works."""
    api = await make_api(token_ttl=5, wall_clock=wall)
    await api.fetch_token()
    assert (await api.get("/v2/users/me")).status == 200
    wall.advance(4.9)
    assert (await api.get("/v2/users/me")).status == 200
    wall.advance(0.2)
    assert (await api.get("/v2/users/me")).status == 401
    await api.fetch_token()
    assert (await api.get("/v2/users/me")).status == 200


async def test_token_expires_in_real_time(make_api: MakeApi) -> None:
    """With a 1 s TTL and the real clock the token stops working after a second."""
    api = await make_api(token_ttl=1)
    await api.fetch_token()
    assert (await api.get("/v2/users/me")).status == 200
    await asyncio.sleep(1.1)
    assert (await api.get("/v2/users/me")).status == 401


async def test_custom_app_credentials(make_api: MakeApi) -> None:
    """--app-id/--app-secret replace sandbox/sandbox."""
    api = await make_api(app_id="my-app", app_secret="s3cret")
    async with api.session.post(
        "/v2/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "my-app", "client_secret": "s3cret"},
    ) as resp:
        assert resp.status == 200
    async with api.session.post(
        "/v2/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox",
            "client_secret": "sandbox",
        },
    ) as resp:
        assert resp.status == 400
