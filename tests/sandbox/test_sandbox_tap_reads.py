"""What tap-helpscout reads besides conversations and threads: ``customerWaitingSince`` and
``closedByUser`` as objects, never null (the tap calls ``.get`` on them); the attachment data
endpoint; mailbox folders, teams, workflows and the happiness ratings report, every one answered
200 so that a tap with every stream selected runs through."""

from __future__ import annotations

import base64

import pytest
from fake_clock import FakeClock
from sandbox_helpers import Api, MakeApi, conversation

pytestmark = pytest.mark.integration

NOBODY = {"id": 0, "type": "user", "first": "unknown", "last": "unknown", "email": "unknown"}


async def test_a_closed_conversation_names_its_closer_and_the_latest_reply(
    make_api: MakeApi, wall: FakeClock
) -> None:
    """closedByUser is the closedBy user's object; customerWaitingSince is the time of the
    newest thread that is not a note, who wrote it, and how long ago in words."""
    api = await make_api(mailboxes=[85], wall_clock=wall)
    wall.now = 1_561_111_200.0  # 2019-06-21T10:00:00Z: 23 hours after the reply
    conversation_id = await api.create_id(conversation(user=1))
    body = (await api.get(f"/v2/conversations/{conversation_id}")).body
    assert body["closedBy"] == 1
    assert body["closedByUser"] == {
        "id": 1, "type": "user", "first": "Sandbox", "last": "Owner", "email": "owner@sandbox.test"
    }  # fmt: skip
    assert body["customerWaitingSince"] == {
        "time": "2019-06-20T11:00:00Z",  # the reply: the note at 12:00 is no reply
        "friendly": "23 hours ago",
        "latestReplyFrom": "user",
    }


async def test_an_open_conversation_has_objects_too(api: Api) -> None:
    """Nobody closed it: closedBy stays null, closedByUser is the API's 'unknown' user (an
    object, not null); the customer wrote last."""
    threads = [
        {"type": "customer", "text": "Still broken.", "imported": True,
         "createdAt": "2019-06-20T10:00:00Z", "customer": {"email": "ann@example.com"}},
    ]  # fmt: skip
    conversation_id = await api.create_id(
        conversation(status="active", closedAt=None, threads=threads)
    )
    page = (await api.get("/v2/conversations", mailbox=85, status="all")).body
    (listed,) = page["_embedded"]["conversations"]
    single = (await api.get(f"/v2/conversations/{conversation_id}")).body
    for body in (listed, single):
        assert body["closedBy"] is None
        assert body["closedByUser"] == NOBODY
        waiting = body["customerWaitingSince"]
        assert (waiting["time"], waiting["latestReplyFrom"]) == ("2019-06-20T10:00:00Z", "customer")
        assert waiting["friendly"].endswith(" ago")


async def test_a_conversation_of_notes_alone_waits_since_its_start(api: Api) -> None:
    threads = [{"type": "note", "text": "Internal.", "imported": True, "user": 1,
                "createdAt": "2019-06-20T12:00:00Z"}]  # fmt: skip
    conversation_id = await api.create_id(
        conversation(createdAt="2019-06-20T09:00:00Z", threads=threads)
    )
    body = (await api.get(f"/v2/conversations/{conversation_id}")).body
    assert body["customerWaitingSince"]["time"] == "2019-06-20T09:00:00Z"


async def test_attachment_data_by_conversation_and_attachment_id(api: Api) -> None:
    """GET /v2/conversations/{cid}/attachments/{aid}/data answers the bytes in base64; another
    conversation's id, or an unknown attachment, is 404."""
    conversation_id = await api.create_id(conversation())
    other_id = await api.create_id(conversation(subject="Other"))
    threads = (await api.get(f"/v2/conversations/{conversation_id}/threads")).body
    thread_id = threads["_embedded"]["threads"][-1]["id"]
    reply = await api.call(
        "POST", f"/v2/conversations/{conversation_id}/threads/{thread_id}/attachments",
        json={"fileName": "a.bin", "mimeType": "application/octet-stream",
              "data": base64.b64encode(b"\x00\x01bytes").decode()},
    )  # fmt: skip
    attachment_id = int(reply.headers["Resource-ID"])
    threads = (await api.get(f"/v2/conversations/{conversation_id}/threads")).body
    link = threads["_embedded"]["threads"][-1]["_embedded"]["attachments"][0]["_links"]["data"]
    path = f"/v2/conversations/{conversation_id}/attachments/{attachment_id}/data"
    assert link["href"].endswith(path)
    data = await api.get(path)
    assert data.status == 200
    assert base64.b64decode(data.body["data"]) == b"\x00\x01bytes"
    elsewhere = f"/v2/conversations/{other_id}/attachments/{attachment_id}/data"
    assert (await api.get(elsewhere)).status == 404
    assert (await api.get(f"/v2/conversations/{conversation_id}/attachments/1/data")).status == 404
    assert (await api.call("GET", path, token="made-up")).status == 401


async def test_mailbox_folders(api: Api) -> None:
    """One folder per mailbox, the folderId its conversations carry, with their counts."""
    conversation_id = await api.create_id(conversation())
    folder_id = (await api.get(f"/v2/conversations/{conversation_id}")).body["folderId"]
    body = (await api.get("/v2/mailboxes/85/folders")).body
    (folder,) = body["_embedded"]["folders"]
    assert folder["id"] == folder_id
    assert (folder["totalCount"], folder["activeCount"]) == (1, 0)
    assert {"name", "type", "userId", "updatedAt"} <= set(folder)
    empty = (await api.get("/v2/mailboxes/1/folders")).body["_embedded"]["folders"]
    assert empty[0]["totalCount"] == 0
    assert (await api.get("/v2/mailboxes/999/folders")).status == 404


@pytest.mark.parametrize("path", ["/v2/teams", "/v2/workflows"])
async def test_teams_and_workflows_are_empty_pages(api: Api, path: str) -> None:
    reply = await api.get(path, page=1)
    assert reply.status == 200
    assert "_embedded" not in reply.body
    assert reply.body["page"] == {"size": 50, "totalElements": 0, "totalPages": 1, "number": 1}


async def test_team_members_of_no_team_and_the_empty_ratings_report(api: Api) -> None:
    assert (await api.get("/v2/teams/1/members")).status == 404
    report = await api.get(
        "/v2/reports/happiness/ratings", start="2019-01-01T00:00:00Z", end="2030-01-01T00:00:00Z"
    )
    assert report.status == 200
    assert report.body == {"results": [], "page": 1, "pages": 1, "count": 0}
