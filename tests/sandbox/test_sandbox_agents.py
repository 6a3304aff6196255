"""The sandbox plays the agent for ``importer undo``'s tests: DELETE (204, then 404; a GET
after it answers 404 or ``state: deleted``, by ``--deleted-get``), replies, notes and PATCH of
status and assignee, each moving ``userUpdatedAt``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from importer.sandbox.agents import delete_requests
from importer.sandbox.testing import SandboxConfig, running_sandbox

STAMPS = iter(float(n) for n in range(1_700_000_000, 1_800_000_000, 100))


def call(url: str, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


def token_of(url: str) -> str:
    status, body = call(
        url,
        "POST",
        "/v2/oauth2/token",
        {"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox"},
    )
    assert 200 == status
    return str(body["access_token"])


def create(url: str, token: str) -> int:
    body = {
        "subject": "s", "type": "email", "mailboxId": 1, "status": "closed", "imported": True,
        "customer": {"email": "c@example.com"}, "createdAt": "2022-01-01T00:00:00Z",
        "threads": [{"type": "customer", "text": "hi", "customer": {"email": "c@example.com"},
                     "imported": True, "createdAt": "2022-01-01T00:00:00Z"}],
    }  # fmt: skip
    request = urllib.request.Request(
        url + "/v2/conversations", json.dumps(body).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as answer:
        return int(answer.headers["Resource-ID"])


@pytest.mark.parametrize(("mode", "after"), [("404", 404), ("state", 200)])
def test_delete_answers_204_then_404_and_a_get_as_configured(mode: str, after: int) -> None:
    clock = iter(STAMPS)
    config = SandboxConfig(deleted_get=mode, wall_clock=lambda: next(clock))
    with running_sandbox(config) as sandbox:
        token = token_of(sandbox.url)
        kept, gone = create(sandbox.url, token), create(sandbox.url, token)
        assert (204, None) == call(sandbox.url, "DELETE", f"/v2/conversations/{gone}", token=token)
        assert 404 == call(sandbox.url, "DELETE", f"/v2/conversations/{gone}", token=token)[0]
        status, body = call(sandbox.url, "GET", f"/v2/conversations/{gone}", token=token)
        assert after == status
        if mode == "state":
            assert "deleted" == body["state"]
        assert [(gone, 204), (gone, 404)] == delete_requests(sandbox.store)
        assert 1 == sandbox.store.count_conversations()
        _, listed = call(sandbox.url, "GET", "/v2/conversations?mailbox=1&status=all", token=token)
        assert [kept] == [c["id"] for c in listed["_embedded"]["conversations"]]


def test_replies_notes_and_patches_move_user_updated_at() -> None:
    clock = iter(STAMPS)
    with running_sandbox(SandboxConfig(wall_clock=lambda: next(clock))) as sandbox:
        url, token = sandbox.url, token_of(sandbox.url)
        conversation = create(url, token)
        path = f"/v2/conversations/{conversation}"

        def stamp() -> str:
            return str(call(url, "GET", path, token=token)[1]["userUpdatedAt"])

        seen = [stamp()]
        assert 201 == call(url, "POST", f"{path}/reply", {"text": "thanks", "user": 1}, token)[0]
        seen.append(stamp())
        assert 201 == call(url, "POST", f"{path}/notes", {"text": "note"}, token)[0]
        seen.append(stamp())
        patch = {"op": "replace", "path": "/status", "value": "active"}
        assert 204 == call(url, "PATCH", path, patch, token)[0]
        seen.append(stamp())
        assign = {"op": "replace", "path": "/assignTo", "value": 1}
        assert 204 == call(url, "PATCH", path, assign, token)[0]
        seen.append(stamp())
        assert seen == sorted(set(seen))  # every write moved it on
        _, body = call(url, "GET", path, token=token)
        assert (3, "active", 1) == (body["threads"], body["status"], body["assignee"]["id"])
        bad = {"op": "replace", "path": "/subject", "value": "x"}
        assert 400 == call(url, "PATCH", path, bad, token)[0]
