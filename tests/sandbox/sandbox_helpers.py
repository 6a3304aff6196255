"""Helpers of the sandbox tests: a client wrapper, a fake clock, a valid create body."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from importer.sandbox.server import RunningSandbox


@dataclass
class Reply:
    """What the client saw."""

    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Api:
    """A running sandbox and a client session bound to it."""

    running: RunningSandbox
    session: aiohttp.ClientSession
    token: str | None = None

    async def fetch_token(self, secret: str = "sandbox") -> str:
        async with self.session.post(
            "/v2/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "sandbox",
                  "client_secret": secret},
        ) as resp:  # fmt: skip
            assert resp.status == 200, await resp.text()
            self.token = str((await resp.json())["access_token"])
            return self.token

    async def call(
        self, method: str, path: str, *, json: Any = None, params: Any = None,
        token: str | None = None, headers: dict[str, str] | None = None,
    ) -> Reply:  # fmt: skip
        if self.token is None and token is None:
            await self.fetch_token()
        all_headers = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        async with self.session.request(
            method, path, json=json, params=params, headers=all_headers
        ) as resp:
            text = await resp.text()
            body = None
            if text:
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = text
            return Reply(resp.status, dict(resp.headers), body)

    async def get(self, path: str, **params: Any) -> Reply:
        return await self.call("GET", path, params=params or None)

    async def create(self, body: dict[str, Any]) -> Reply:
        return await self.call("POST", "/v2/conversations", json=body)

    async def create_id(self, body: dict[str, Any]) -> int:
        reply = await self.create(body)
        assert reply.status == 201, reply.body
        return int(reply.headers["Resource-ID"])


MakeApi = Callable[..., Awaitable[Api]]


VALID_CONVERSATION: dict[str, Any] = {
    "subject": "Printer on fire",
    "type": "email",
    "mailboxId": 85,
    "status": "closed",
    "imported": True,
    "autoReply": False,
    "createdAt": "2019-06-20T10:00:00Z",
    "closedAt": "2019-06-21T09:00:00Z",
    "customer": {"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"},
    "tags": ["imported", "zendesk"],
    "fields": [{"id": 1, "value": "ZD-4521"}],
    "threads": [
        {"type": "customer", "text": "It burns.", "imported": True,
         "createdAt": "2019-06-20T10:00:00Z", "customer": {"email": "ann@example.com"}},
        {"type": "reply", "text": "Unplug it.", "imported": True, "user": 1,
         "createdAt": "2019-06-20T11:00:00Z", "customer": {"email": "ann@example.com"}},
        {"type": "note", "text": "Escalated.", "imported": True, "user": 1,
         "createdAt": "2019-06-20T12:00:00Z"},
    ],
}  # fmt: skip


def conversation(**overrides: Any) -> dict[str, Any]:
    """A valid create body with top-level fields replaced."""
    body = copy.deepcopy(VALID_CONVERSATION)
    body.update(overrides)
    return body
