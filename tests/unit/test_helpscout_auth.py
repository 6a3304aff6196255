"""Credentials, token expiry decisions and single-flight refresh, without sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fake_clock import FakeClock

from importer.errors import CredentialsError, UsageError
from importer.helpscout.auth import Credentials, TokenManager, refresh_at
from importer.helpscout.transport import Timeouts, check_api_url, is_loopback_host, make_ssl_context


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (172800, 155520),  # 48 h: 90 % comes first
        (7200, 6480),
        (3000, 2700),  # both rules agree
        (1000, 700),  # 5 min before the end comes first
        (200, 100),  # short-lived: never before half the lifetime
        (0, 0),
    ],
)
def test_refresh_at(expires_in, expected):
    """90 % of the lifetime or 5 minutes before the end, whichever is earlier; not before half."""
    assert expected == pytest.approx(refresh_at(0.0, expires_in))


def test_credentials_from_env_prefers_client_credentials():
    """App id and secret win over a static token."""
    creds = Credentials.from_env(
        {"HELPSCOUT_APP_ID": "a", "HELPSCOUT_APP_SECRET": "b", "HELPSCOUT_ACCESS_TOKEN": "t"}
    )
    assert creds.can_refresh
    assert Credentials.from_env({"HELPSCOUT_ACCESS_TOKEN": "t"}).access_token == "t"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no Help Scout credentials"),
        ({"HELPSCOUT_APP_ID": "a"}, "HELPSCOUT_APP_SECRET is not set"),
        ({"HELPSCOUT_APP_SECRET": "b"}, "HELPSCOUT_APP_ID is not set"),
    ],
)
def test_credentials_missing(env, message):
    """Missing credentials are a CredentialsError naming the variables."""
    with pytest.raises(CredentialsError, match=message):
        Credentials.from_env(env)


def test_credentials_repr_hides_secrets():
    """Neither the secret nor the token shows in repr or str."""
    for creds in (
        Credentials(app_id="a", app_secret="SECRET1"),
        Credentials(access_token="TOKEN1"),
    ):
        assert "SECRET1" not in repr(creds) + str(creds)
        assert "TOKEN1" not in repr(creds) + str(creds)


async def test_token_manager_refreshes_proactively():
    """The token is renewed once its refresh time has come, not before."""
    clock = FakeClock(0.0)
    issued: list[str] = []
    reasons: list[str] = []

    async def fetch() -> tuple[str, float]:
        issued.append(f"t{len(issued) + 1}")
        return issued[-1], 1000.0

    manager = TokenManager(
        Credentials(app_id="a", app_secret="s"),
        fetch,
        clock=clock,
        on_refresh=lambda r, _: reasons.append(r),
    )
    assert await manager.token() == ("t1", 1)
    clock.now = 699.0
    assert await manager.token() == ("t1", 1)
    clock.now = 700.0
    assert await manager.token() == ("t2", 2)
    assert reasons == ["initial", "proactive"]
    assert "t2" not in repr(manager)


async def test_token_manager_single_flight():
    """Concurrent callers share one fetch; a 401 on an old generation does not refetch."""
    calls = 0

    async def fetch() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return f"t{calls}", 7200.0

    manager = TokenManager(Credentials(app_id="a", app_secret="s"), fetch, clock=FakeClock(0.0))
    results = await asyncio.gather(*(manager.token() for _ in range(5)))
    assert {r[1] for r in results} == {1}
    assert calls == 1
    generations = await asyncio.gather(*(manager.refresh_after_401(1) for _ in range(5)))
    assert generations == [2] * 5
    assert calls == 2


async def test_static_token_cannot_refresh():
    """A static token is used as is; a 401 on it is a credentials error."""

    async def fetch() -> tuple[str, float]:  # pragma: no cover
        raise AssertionError("must not fetch")

    manager = TokenManager(Credentials(access_token="static"), fetch, clock=FakeClock(0.0))
    assert await manager.token() == ("static", 0)
    with pytest.raises(CredentialsError):
        await manager.refresh_after_401(0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.helpscout.net/", "https://api.helpscout.net"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.1.2.3:80/", "http://127.1.2.3:80"),
        ("http://localhost:8765", "http://localhost:8765"),
        ("http://[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_check_api_url_accepts(url, expected):
    """https anywhere, http on loopback only."""
    assert expected == check_api_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.helpscout.net", "not a loopback"),
        ("http://10.0.0.1:8765", "not a loopback"),
        ("ftp://x", "http"),
        ("https://", "host"),
        ("https://u:p@api.helpscout.net", "credentials"),
    ],
)
def test_check_api_url_refuses(url, message):
    """Plain http to a remote host, other schemes and embedded credentials are refused."""
    with pytest.raises(UsageError, match=message):
        check_api_url(url)


def test_is_loopback_host():
    """127.0.0.0/8, ::1 and localhost are loopback; others are not."""
    assert is_loopback_host("127.9.9.9")
    assert is_loopback_host("::1")
    assert not is_loopback_host("example.com")


def test_ca_bundle_missing_is_a_usage_error(tmp_path: Path):
    """An unreadable --ca-bundle names the option; verification stays on."""
    with pytest.raises(UsageError, match="--ca-bundle"):
        make_ssl_context(tmp_path / "nope.pem")
    context = make_ssl_context(None)
    assert context.check_hostname


def test_timeouts_map_to_aiohttp():
    """connect and total go to the aiohttp timeout."""
    timeout = Timeouts(connect=3, total=30).to_aiohttp()
    assert (timeout.total, timeout.sock_connect) == (30, 3)
