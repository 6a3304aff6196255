"""The authorization-code grant with the fixed code the listening line prints, and refresh tokens
rotated on each refresh (helpscout-api.md §1.2, §8.14), as tap-helpscout uses them."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from typing import Any

import pytest
from fake_clock import FakeClock
from sandbox_helpers import Api, MakeApi

from importer.sandbox.config import DEFAULT_AUTHORIZATION_CODE, SandboxConfig
from importer.sandbox.server import listening_line
from importer.sandbox.testing import running_sandbox, sandbox_process

pytestmark = pytest.mark.integration

CLIENT = {"client_id": "sandbox", "client_secret": "sandbox"}


async def _token(api: Api, **fields: str) -> tuple[int, dict[str, Any]]:
    async with api.session.post("/v2/oauth2/token", data={**CLIENT, **fields}) as resp:
        return resp.status, await resp.json()


async def _exchange_code(api: Api, code: str = DEFAULT_AUTHORIZATION_CODE) -> dict[str, Any]:
    status, body = await _token(api, grant_type="authorization_code", code=code)
    assert status == 200, body
    return body


async def test_the_code_gets_an_access_and_a_refresh_token(api: Api) -> None:
    """The fixed code (redirect_uri accepted and ignored) gets a Bearer token that works and a
    refresh token."""
    body = await _exchange_code(api)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 172800
    assert body["refresh_token"]
    assert body["refresh_token"] != body["access_token"]
    reply = await api.call("GET", "/v2/users/me", token=body["access_token"])
    assert reply.status == 200
    again = await _exchange_code(api)  # the fixed code is good any number of times
    assert again["refresh_token"] != body["refresh_token"]
    status, _ = await _token(
        api, grant_type="authorization_code", code=DEFAULT_AUTHORIZATION_CODE,
        redirect_uri="https://example.com/callback",
    )  # fmt: skip
    assert status == 200


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"grant_type": "authorization_code", "code": "not-the-code"}, "invalid_grant"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
    ],
    ids=["wrong code", "no code"],
)
async def test_a_wrong_or_missing_code_is_refused(
    api: Api, fields: dict[str, str], error: str
) -> None:
    status, body = await _token(api, **fields)
    assert (status, body["error"]) == (400, error)
    assert body["error_description"]


async def test_the_code_needs_the_app_credentials(api: Api) -> None:
    async with api.session.post(
        "/v2/oauth2/token",
        data={"grant_type": "authorization_code", "code": DEFAULT_AUTHORIZATION_CODE,
              "client_id": "sandbox", "client_secret": "wrong"},
    ) as resp:  # fmt: skip
        assert (resp.status, (await resp.json())["error"]) == (400, "invalid_client")


async def test_a_refresh_rotates_the_refresh_token(api: Api) -> None:
    """Each refresh answers a new access token and a new refresh token; the old refresh token
    used again gets 400 invalid_request with the API's description; the new one works."""
    first = (await _exchange_code(api))["refresh_token"]
    status, second = await _token(api, grant_type="refresh_token", refresh_token=first)
    assert status == 200, second
    assert second["token_type"] == "Bearer"
    assert second["refresh_token"] not in (first, second["access_token"])
    assert (await api.call("GET", "/v2/mailboxes", token=second["access_token"])).status == 200

    status, reused = await _token(api, grant_type="refresh_token", refresh_token=first)
    assert (status, reused) == (
        400,
        {"error": "invalid_request", "error_description": "Invalid refresh_token"},
    )
    status, third = await _token(
        api, grant_type="refresh_token", refresh_token=second["refresh_token"]
    )
    assert status == 200
    assert third["refresh_token"] != second["refresh_token"]


async def test_a_refresh_token_of_another_sandbox_or_none_is_refused(make_api: MakeApi) -> None:
    one, other = await make_api(), await make_api()
    stranger = (await _exchange_code(other))["refresh_token"]
    for fields in ({"refresh_token": stranger}, {}):
        status, body = await _token(one, grant_type="refresh_token", **fields)
        assert (status, body["error"]) == (400, "invalid_request")


async def test_a_refresh_needs_the_app_credentials(api: Api) -> None:
    """A wrong secret is invalid_client and does not use the refresh token up."""
    token = (await _exchange_code(api))["refresh_token"]
    async with api.session.post(
        "/v2/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": "sandbox",
              "client_secret": "wrong"},
    ) as resp:  # fmt: skip
        assert (resp.status, (await resp.json())["error"]) == (400, "invalid_client")
    status, _ = await _token(api, grant_type="refresh_token", refresh_token=token)
    assert status == 200


async def test_an_old_access_token_lives_on_after_a_refresh_until_it_expires(
    make_api: MakeApi, wall: FakeClock
) -> None:
    api = await make_api(token_ttl=10, wall_clock=wall)
    first = await _exchange_code(api)
    wall.advance(5)
    status, second = await _token(api, grant_type="refresh_token",
                                  refresh_token=first["refresh_token"])  # fmt: skip
    assert status == 200
    assert (await api.call("GET", "/v2/users/me", token=first["access_token"])).status == 200
    wall.advance(5.1)
    assert (await api.call("GET", "/v2/users/me", token=first["access_token"])).status == 401
    assert (await api.call("GET", "/v2/users/me", token=second["access_token"])).status == 200


async def test_client_credentials_still_get_no_refresh_token(api: Api) -> None:
    status, body = await _token(api, grant_type="client_credentials")
    assert status == 200
    assert "refresh_token" not in body


async def test_a_custom_code(make_api: MakeApi) -> None:
    api = await make_api(authorization_code="let-me-in")
    assert (await _exchange_code(api, "let-me-in"))["refresh_token"]
    status, _ = await _token(api, grant_type="authorization_code", code=DEFAULT_AUTHORIZATION_CODE)
    assert status == 400


def test_a_code_with_spaces_is_refused() -> None:
    with pytest.raises(Exception, match="--authorization-code"):
        SandboxConfig(authorization_code="two words")


@pytest.mark.parametrize(
    ("code", "expected"), [(None, DEFAULT_AUTHORIZATION_CODE), ("xyz-123", "xyz-123")],
    ids=["default", "given"],
)  # fmt: skip
def test_the_listening_line_prints_the_code(code: str | None, expected: str) -> None:
    """The line still starts with the URL and ends with the mailboxes and the app id."""
    config = SandboxConfig() if code is None else SandboxConfig(authorization_code=code)
    with running_sandbox(config) as running:
        line = listening_line(running)
    assert re.fullmatch(
        r"sandbox listening on http://127\.0\.0\.1:\d+ with authorization code (\S+)"
        r" \(mailboxes 1; app id sandbox\)",
        line,
    ), line
    match = re.search(r"authorization code (\S+)", line)
    assert match is not None
    assert match.group(1) == expected


def test_the_code_given_on_the_command_line_is_exchanged() -> None:
    with sandbox_process(["--authorization-code", "from-the-cli"]) as (_, url):
        form = {"grant_type": "authorization_code", "code": "from-the-cli", **CLIENT}
        data = urllib.parse.urlencode(form).encode()
        with urllib.request.urlopen(f"{url}/v2/oauth2/token", data=data, timeout=5) as answer:
            assert json.load(answer)["refresh_token"]
