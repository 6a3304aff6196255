"""Faults on the writes, observed from the client side."""

from __future__ import annotations

import time

import aiohttp
import pytest
from sandbox_helpers import Api, MakeApi, conversation

pytestmark = pytest.mark.integration


async def _raw_create(api: Api) -> aiohttp.ClientResponse:
    if api.token is None:
        await api.fetch_token()
    return await api.session.post(
        "/v2/conversations", json=conversation(),
        headers={"Authorization": f"Bearer {api.token}"},
    )  # fmt: skip


async def test_drop_stores_then_closes_without_answer(make_api: MakeApi) -> None:
    """drop: the client sees a disconnect, yet the conversation exists."""
    api = await make_api(mailboxes=[85], faults={"drop": 1.0})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await _raw_create(api)
    assert api.running.store.count_conversations() == 1
    assert api.running.stats.faults == {"drop": 1}
    assert (await api.get("/v2/mailboxes")).status == 200  # reads stay healthy


async def test_reset_closes_before_storing(make_api: MakeApi) -> None:
    """reset: the client sees the connection die and nothing is stored."""
    api = await make_api(mailboxes=[85], faults={"reset": 1.0})
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await _raw_create(api)
    assert api.running.store.count_conversations() == 0
    assert api.running.stats.faults == {"reset": 1}


async def test_error500_fails_before_storing(make_api: MakeApi) -> None:
    """error500: a 500 answer and nothing stored."""
    api = await make_api(mailboxes=[85], faults={"error500": 1.0})
    reply = await api.create(conversation())
    assert reply.status == 500
    assert api.running.store.count_conversations() == 0


async def test_slow_stores_and_answers_late(make_api: MakeApi) -> None:
    """slow: the 201 arrives after --slow-s, and the conversation was stored before that."""
    api = await make_api(mailboxes=[85], faults={"slow": 1.0}, slow_s=0.4)
    await api.fetch_token()
    started = time.monotonic()
    reply = await api.create(conversation())
    assert reply.status == 201
    assert time.monotonic() - started >= 0.4
    assert api.running.store.count_conversations() == 1


async def test_throttle_is_a_429_with_budget_left(make_api: MakeApi) -> None:
    """throttle: 429 with retry headers although the Remaining header shows budget."""
    api = await make_api(mailboxes=[85], faults={"throttle": 1.0}, rate_limit=100)
    reply = await api.create(conversation())
    assert reply.status == 429
    assert int(reply.headers["X-RateLimit-Remaining-Minute"]) == 100
    assert int(reply.headers["X-RateLimit-Retry-After"]) >= 1
    assert api.running.store.count_conversations() == 0


async def test_faults_hit_customer_creation_and_uploads_but_not_reads(make_api: MakeApi) -> None:
    """POST /v2/customers is a fault target; GETs and the token endpoint are not."""
    api = await make_api(faults={"error500": 1.0})
    await api.fetch_token()
    assert (await api.get("/v2/conversations")).status == 200
    reply = await api.call("POST", "/v2/customers", json={"firstName": "Bo"})
    assert reply.status == 500
    assert api.running.store.customers() == []


async def _statuses(make_api: MakeApi, seed: int) -> list[int]:
    api = await make_api(mailboxes=[85], faults={"error500": 0.3, "throttle": 0.3}, seed=seed)
    return [(await api.create(conversation())).status for _ in range(20)]


async def test_seed_replays_the_same_fault_sequence(make_api: MakeApi) -> None:
    """Two sandboxes with the same seed inject the same faults into the same requests."""
    first = await _statuses(make_api, seed=7)
    assert first == await _statuses(make_api, seed=7)
    assert {201, 429, 500} <= set(first)
    assert first != await _statuses(make_api, seed=8)


async def test_latency_is_added_to_every_answer(make_api: MakeApi) -> None:
    """--latency-ms MIN-MAX delays reads, writes and the token endpoint alike."""
    api = await make_api(latency_ms=(150, 200), seed=3)
    started = time.monotonic()
    await api.fetch_token()
    await api.get("/v2/mailboxes")
    assert time.monotonic() - started >= 0.3
