"""Rate limiting: fixed windows from the start, writes 2 units, reads 1 (helpscout-api.md §4)."""

from __future__ import annotations

import asyncio

import pytest
from fake_clock import FakeClock
from sandbox_helpers import Api, MakeApi, conversation

pytestmark = pytest.mark.integration


async def test_reads_cost_1_and_writes_cost_2(make_api: MakeApi) -> None:
    """The Remaining header drops by 1 for a GET and by 2 for a POST."""
    api = await make_api(mailboxes=[85], rate_limit=10, clock=FakeClock(0.0))
    reply = await api.get("/v2/mailboxes")
    assert reply.headers["X-RateLimit-Limit-Minute"] == "10"
    assert reply.headers["X-RateLimit-Remaining-Minute"] == "9"
    reply = await api.create(conversation())
    assert reply.status == 201
    assert reply.headers["X-RateLimit-Remaining-Minute"] == "7"
    assert api.running.stats.units_per_window == [3]


async def test_token_endpoint_is_not_rate_limited(make_api: MakeApi) -> None:
    """Tokens can be fetched with the budget spent; fetching one costs nothing."""
    api = await make_api(rate_limit=1, clock=FakeClock(0.0))
    await api.fetch_token()
    assert (await api.get("/v2/mailboxes")).status == 200
    await api.fetch_token()
    assert api.running.stats.units_per_window == [1]


async def test_429_when_spent_and_recovery_in_the_next_window(make_api: MakeApi) -> None:
    """Over budget: 429 with both retry headers and the documented body; next window is fresh."""
    clock = FakeClock(1000.0)
    api = await make_api(rate_limit=3, window_s=60, clock=clock)
    for remaining in ("2", "1", "0"):
        assert (await api.get("/v2/users")).headers["X-RateLimit-Remaining-Minute"] == remaining
    clock.advance(15.5)
    reply = await api.get("/v2/users")
    assert reply.status == 429
    assert reply.body == {"message": "API rate limit exceeded"}
    assert reply.headers["X-RateLimit-Retry-After"] == "45"
    assert reply.headers["Retry-After"] == "45"
    assert reply.headers["X-RateLimit-Remaining-Minute"] == "0"
    clock.advance(44.5)
    reply = await api.get("/v2/users")
    assert reply.status == 200
    assert reply.headers["X-RateLimit-Remaining-Minute"] == "2"
    assert api.running.stats.throttled == 1
    assert api.running.stats.units_per_window == [3, 1]


async def test_a_write_needs_two_units_left(make_api: MakeApi) -> None:
    """With one unit left a write is refused, the refusal spends nothing, a read still fits."""
    api = await make_api(mailboxes=[85], rate_limit=3, clock=FakeClock(0.0))
    assert (await api.create(conversation())).status == 201
    reply = await api.create(conversation())
    assert reply.status == 429
    assert reply.headers["X-RateLimit-Remaining-Minute"] == "1"
    assert (await api.get("/v2/mailboxes")).status == 200
    assert api.running.store.count_conversations() == 1


async def test_real_short_window_recovers(make_api: MakeApi) -> None:
    """With --window-s 1 and the real clock: spending the budget gives a 429 with a Retry-After
    of a second at most (a sandbox that never limits fails here), and it clears after that."""
    api = await make_api(rate_limit=2, window_s=1)
    await api.fetch_token()
    replies = [await api.get("/v2/users/me") for _ in range(8)]  # 8 reads, in well under 1 s
    throttled = [reply for reply in replies if reply.status == 429]
    assert throttled, [reply.status for reply in replies]
    assert throttled[0].headers["X-RateLimit-Retry-After"] == "1"
    await asyncio.sleep(1.0)
    assert (await api.get("/v2/users/me")).status == 200


async def test_no_rate_limit_by_default(api: Api) -> None:
    """Unlimited by default: no 429 and no rate-limit headers."""
    for _ in range(20):
        reply = await api.get("/v2/users/me")
        assert reply.status == 200
    assert "X-RateLimit-Limit-Minute" not in reply.headers


async def test_token_endpoint_answers_carry_the_headers(make_api: MakeApi) -> None:
    """With a limit set, even the token endpoint's answer shows the budget."""
    api = await make_api(rate_limit=7, clock=FakeClock(0.0))
    async with api.session.post(
        "/v2/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox",
            "client_secret": "sandbox",
        },
    ) as resp:
        assert resp.headers["X-RateLimit-Remaining-Minute"] == "7"
