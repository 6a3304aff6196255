"""Fixtures for the sandbox's contract tests: a real sandbox on loopback and an aiohttp client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from fake_clock import FakeClock
from sandbox_helpers import Api, MakeApi

from importer.sandbox.config import SandboxConfig
from importer.sandbox.testing import serve_sandbox


@pytest.fixture
async def make_api() -> AsyncIterator[MakeApi]:
    """``await make_api(rate_limit=10, ...)``: a fresh sandbox with those options and a client."""
    async with AsyncExitStack() as stack:

        async def make(**options: Any) -> Api:
            config = SandboxConfig(host="127.0.0.1", port=0, **options)
            running = await stack.enter_async_context(serve_sandbox(config))
            session = await stack.enter_async_context(aiohttp.ClientSession(running.url))
            return Api(running, session)

        yield make


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    """A default sandbox with mailbox 85 besides mailbox 1."""
    return await make_api(mailboxes=[85])


@pytest.fixture
def wall() -> FakeClock:
    """A wall clock starting now."""
    return FakeClock(time.time())
