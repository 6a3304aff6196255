"""Read endpoints in the HAL shapes of helpscout-api.md §5-§6."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from fake_clock import FakeClock
from sandbox_helpers import Api, MakeApi, conversation

pytestmark = pytest.mark.integration


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ids(body: dict) -> list[int]:
    return [c["id"] for c in body.get("_embedded", {}).get("conversations", [])]


async def test_get_conversation_with_embedded_threads(api: Api) -> None:
    """GET by id: §6 fields, threads newest first, reply shown as message, createdBy objects."""
    conversation_id = await api.create_id(conversation())
    body = (await api.get(f"/v2/conversations/{conversation_id}", embed="threads")).body
    assert body["id"] == conversation_id
    assert body["number"] == 1
    assert body["threads"] == 3
    assert body["status"] == "closed"
    assert body["closedAt"] == "2019-06-21T09:00:00Z"
    assert body["createdAt"] == "2019-06-20T10:00:00Z"
    assert body["mailboxId"] == 85
    assert body["createdBy"]["type"] == "customer"
    assert body["primaryCustomer"]["email"] == "ann@example.com"
    assert [t["tag"] for t in body["tags"]] == ["imported", "zendesk"]
    assert all({"id", "color", "tag"} <= set(t) for t in body["tags"])
    assert body["customFields"] == [
        {"id": 1, "name": "Source ID", "value": "ZD-4521", "text": "ZD-4521"}
    ]
    threads = body["_embedded"]["threads"]
    assert [t["type"] for t in threads] == ["note", "message", "customer"]
    assert [t["createdAt"] for t in threads] == [
        "2019-06-20T12:00:00Z", "2019-06-20T11:00:00Z", "2019-06-20T10:00:00Z"
    ]  # fmt: skip
    assert threads[0]["createdBy"] == {
        "id": 1, "type": "user", "first": "Sandbox", "last": "Owner", "email": "owner@sandbox.test"
    }  # fmt: skip
    assert threads[2]["createdBy"]["type"] == "customer"
    assert threads[1]["body"] == "Unplug it."


async def test_get_without_embed_has_no_threads_and_unknown_is_404(api: Api) -> None:
    """Without embed=threads only the count is there; an unknown id is a vnd.error 404."""
    conversation_id = await api.create_id(conversation())
    body = (await api.get(f"/v2/conversations/{conversation_id}")).body
    assert "_embedded" not in body
    reply = await api.get("/v2/conversations/999")
    assert reply.status == 404
    assert reply.headers["Content-Type"].startswith("application/vnd.error+json")


async def test_thread_createdat_needs_imported(api: Api) -> None:
    """A thread's createdAt is honoured only with imported=true on that thread."""
    body = conversation()
    body["threads"][2]["imported"] = False
    conversation_id = await api.create_id(body)
    rows = api.running.store.threads(conversation_id)
    assert rows[0]["created_at"] == "2019-06-20T10:00:00Z"
    assert rows[2]["created_at"] != "2019-06-20T12:00:00Z"


async def test_threads_endpoint_and_attachment_upload(api: Api) -> None:
    """Threads list newest first with ids; an upload to a thread shows in its attachments."""
    conversation_id = await api.create_id(conversation())
    page = (await api.get(f"/v2/conversations/{conversation_id}/threads")).body
    assert page["page"] == {"size": 50, "totalElements": 3, "totalPages": 1, "number": 1}
    threads = page["_embedded"]["threads"]
    customer_thread = threads[-1]["id"]
    data = base64.b64encode(b"hello world").decode()
    reply = await api.call(
        "POST", f"/v2/conversations/{conversation_id}/threads/{customer_thread}/attachments",
        json={"fileName": "hello.txt", "mimeType": "text/plain", "data": data},
    )  # fmt: skip
    assert reply.status == 201
    attachment_id = int(reply.headers["Resource-ID"])
    page = (await api.get(f"/v2/conversations/{conversation_id}/threads")).body
    attachments = page["_embedded"]["threads"][-1]["_embedded"]["attachments"]
    assert attachments[0]["id"] == attachment_id
    assert attachments[0]["filename"] == "hello.txt"
    assert attachments[0]["mimeType"] == "text/plain"
    assert attachments[0]["size"] == 11
    assert api.running.store.attachment_data(attachment_id) == b"hello world"


async def test_attachment_upload_errors(api: Api) -> None:
    """Missing fileName is a 400 naming it; a thread of another conversation is a 404."""
    conversation_id = await api.create_id(conversation())
    thread_id = api.running.store.threads(conversation_id)[0]["id"]
    url = f"/v2/conversations/{conversation_id}/threads/{thread_id}/attachments"
    reply = await api.call("POST", url, json={"mimeType": "text/plain", "data": "aGk="})
    assert reply.status == 400
    assert [e["path"] for e in reply.body["_embedded"]["errors"]] == ["fileName"]
    other = await api.create_id(conversation())
    reply = await api.call(
        "POST", f"/v2/conversations/{other}/threads/{thread_id}/attachments",
        json={"fileName": "a", "mimeType": "text/plain", "data": "aGk="},
    )  # fmt: skip
    assert reply.status == 404


async def test_inline_attachment_is_listed(api: Api) -> None:
    """An attachment sent inline in the create body is stored with its size."""
    body = conversation()
    body["threads"][0]["attachments"] = [
        {"fileName": "log.txt", "mimeType": "text/plain", "data": "aGVsbG8="}
    ]
    conversation_id = await api.create_id(body)
    got = (await api.get(f"/v2/conversations/{conversation_id}", embed="threads")).body
    customer_thread = got["_embedded"]["threads"][-1]
    assert customer_thread["_embedded"]["attachments"][0]["filename"] == "log.txt"
    assert customer_thread["_embedded"]["attachments"][0]["size"] == 5


async def test_status_defaults_to_active(api: Api) -> None:
    """A closed conversation is listed only with status=all (or closed)."""
    closed = await api.create_id(conversation())
    active = await api.create_id(conversation(status="active", closedAt=None))
    assert _ids((await api.get("/v2/conversations")).body) == [active]
    assert sorted(_ids((await api.get("/v2/conversations", status="all")).body)) == [
        closed, active
    ]  # fmt: skip
    assert _ids((await api.get("/v2/conversations", status="closed")).body) == [closed]


async def test_list_paging_by_50(api: Api) -> None:
    """51 conversations: two pages, next/previous links, _embedded left out past the end."""
    for i in range(51):
        await api.create_id(conversation(createdAt=f"2019-06-20T10:00:{i:02d}Z"))
    first = (await api.get("/v2/conversations", status="all")).body
    assert first["page"] == {"size": 50, "totalElements": 51, "totalPages": 2, "number": 1}
    assert "next" in first["_links"]
    assert "status=all" in first["_links"]["next"]["href"]
    second = (await api.get("/v2/conversations", status="all", page="2")).body
    assert len(second["_embedded"]["conversations"]) == 1
    assert "previous" in second["_links"]
    third = (await api.get("/v2/conversations", status="all", page="3")).body
    assert "_embedded" not in third


async def test_search_lag_hides_new_conversations(make_api: MakeApi, wall: FakeClock) -> None:
    """Lists and search miss a conversation for --search-lag seconds; GET by id does not."""
    api = await make_api(mailboxes=[85], search_lag=10.0, wall_clock=wall)
    conversation_id = await api.create_id(conversation())
    assert _ids((await api.get("/v2/conversations", status="all")).body) == []
    assert (await api.get(f"/v2/conversations/{conversation_id}")).status == 200
    wall.advance(9.5)
    query = 'email:"ann@example.com"'
    assert _ids((await api.get("/v2/conversations", status="all", query=query)).body) == []
    wall.advance(0.6)
    assert _ids((await api.get("/v2/conversations", status="all", query=query)).body) == [
        conversation_id
    ]  # fmt: skip


@pytest.mark.parametrize("mode", ["historical", "api"])
async def test_search_created_at_modes(make_api: MakeApi, wall: FakeClock, mode: str) -> None:
    """createdAt ranges see the historical createdAt, or the moment of the API call."""
    api = await make_api(mailboxes=[85], search_created_at=mode, wall_clock=wall)
    conversation_id = await api.create_id(conversation())
    historical = "(createdAt:[2019-06-20T00:00:00Z TO 2019-06-20T23:59:59Z])"
    now = f"createdAt:[{_iso(wall.now - 60)} TO {_iso(wall.now + 60)}]"
    found_historical = _ids((await api.get("/v2/conversations", status="all",
                                           query=historical)).body)  # fmt: skip
    found_now = _ids((await api.get("/v2/conversations", status="all", query=now)).body)
    if mode == "historical":
        assert (found_historical, found_now) == ([conversation_id], [])
    else:
        assert (found_historical, found_now) == ([], [conversation_id])
    got = (await api.get(f"/v2/conversations/{conversation_id}")).body
    assert got["createdAt"] == "2019-06-20T10:00:00Z"


async def test_modified_since_sees_the_moment_of_creation(
    make_api: MakeApi, wall: FakeClock
) -> None:
    """modifiedSince compares with when the conversation was created through the API."""
    api = await make_api(mailboxes=[85], wall_clock=wall)
    start = wall.now
    older = await api.create_id(conversation())
    wall.advance(100)
    newer = await api.create_id(conversation(createdAt="2010-01-01T00:00:00Z"))
    since = _iso(start + 50)
    assert _ids((await api.get("/v2/conversations", status="all", modifiedSince=since)).body) == [
        newer
    ]  # fmt: skip
    since = _iso(start - 1)
    both = _ids((await api.get("/v2/conversations", status="all", modifiedSince=since)).body)
    assert sorted(both) == [older, newer]
    reply = await api.get("/v2/conversations", modifiedSince="2019-06-20T10:00:00.000Z")
    assert reply.status == 400
    assert reply.body["_embedded"]["errors"][0]["path"] == "modifiedSince"


async def test_custom_fields_by_ids(api: Api) -> None:
    """customFieldsByIds=1:VALUE finds exactly the conversation holding that source id."""
    a = await api.create_id(conversation(fields=[{"id": 1, "value": "ZD-1"}]))
    await api.create_id(conversation(fields=[{"id": 1, "value": "ZD-2"}]))
    got = await api.get("/v2/conversations", mailbox="85", status="all", customFieldsByIds="1:ZD-1")
    assert _ids(got.body) == [a]


async def test_query_terms(api: Api) -> None:
    """email:, subject:, tag: and createdAt ranges, ANDed, with parentheses and quotes."""
    a = await api.create_id(conversation(subject="Refund please", tags=["billing"]))
    body = conversation(subject="Login broken", tags=["auth"])
    body["customer"] = {"email": "bob@example.com"}
    for thread in body["threads"][:2]:
        thread["customer"] = {"email": "bob@example.com"}
    b = await api.create_id(body)

    async def search(query: str) -> list[int]:
        return sorted(_ids((await api.get("/v2/conversations", status="all", query=query)).body))

    assert await search('(email:"bob@example.com")') == [b]
    assert await search('subject:"refund"') == [a]
    assert await search("tag:billing") == [a]
    assert await search('(tag:"auth" AND email:"bob@example.com")') == [b]
    assert await search('(tag:"auth" AND email:"ann@example.com")') == []
    assert await search("createdAt:[2019-06-20T00:00:00Z TO *]") == [a, b]
    assert await search('(subject:"Login" OR subject:"Refund")') == [a, b]
    assert await search('NOT email:"ann@example.com"') == [b]
    reply = await api.get("/v2/conversations", query="createdAt:[yesterday TO today]")
    assert reply.status == 400
    assert reply.body["_embedded"]["errors"][0]["path"] == "query"


async def test_tag_and_mailbox_params(api: Api) -> None:
    """tag= takes a comma list (any of them); mailbox= restricts to those mailboxes."""
    a = await api.create_id(conversation(tags=["one"]))
    b = await api.create_id(conversation(tags=["two"], mailboxId=1))
    assert sorted(_ids((await api.get("/v2/conversations", status="all", tag="one,two")).body)) == [
        a, b
    ]  # fmt: skip
    assert _ids((await api.get("/v2/conversations", status="all", mailbox="1")).body) == [b]


async def test_mailboxes_and_fields(api: Api) -> None:
    """Mailbox 1 plus --mailbox; each has a single-line Source ID field usable for reconcile."""
    body = (await api.get("/v2/mailboxes")).body
    assert [m["id"] for m in body["_embedded"]["mailboxes"]] == [1, 85]
    fields = (await api.get("/v2/mailboxes/85/fields")).body["_embedded"]["fields"]
    assert fields[0] == {
        "id": 1, "name": "Source ID", "type": "singleline", "order": 1, "required": False,
        "options": [],
    }  # fmt: skip
    assert (await api.get("/v2/mailboxes/4242/fields")).status == 404


async def test_users_by_email_and_me(make_api: MakeApi) -> None:
    """users?email= matches exactly (alternates too); /users/me is user 1."""
    api = await make_api(users=["jo.smith@acme.test,jo@old.test", "kim@acme.test"])
    me = (await api.get("/v2/users/me")).body
    assert (me["id"], me["email"]) == (1, "owner@sandbox.test")
    everyone = (await api.get("/v2/users")).body["_embedded"]["users"]
    assert [u["id"] for u in everyone] == [1, 2, 3]
    found = (await api.get("/v2/users", email="jo@old.test")).body["_embedded"]["users"]
    assert [u["id"] for u in found] == [2]
    found = (await api.get("/v2/users", email="KIM@acme.test")).body["_embedded"]["users"]
    assert [u["id"] for u in found] == [3]
    assert "_embedded" not in (await api.get("/v2/users", email="jo@acme.test")).body


async def test_customers_create_and_query(api: Api) -> None:
    """POST /v2/customers gives 201 + Resource-ID; query=email:"..." finds it."""
    reply = await api.call(
        "POST", "/v2/customers",
        json={"firstName": "Pat", "phones": [{"type": "mobile", "value": "+15550100"}],
              "emails": [{"type": "work", "value": "pat@example.com"}]},
    )  # fmt: skip
    assert reply.status == 201
    customer_id = int(reply.headers["Resource-ID"])
    assert reply.headers["Location"].endswith(f"/v2/customers/{customer_id}")
    found = (await api.get("/v2/customers", query='(email:"pat@example.com")')).body
    customers = found["_embedded"]["customers"]
    assert [c["id"] for c in customers] == [customer_id]
    assert customers[0]["_embedded"]["phones"][0]["value"] == "+15550100"
    body = conversation(customer={"id": customer_id})
    body["threads"] = [dict(t, customer={"id": customer_id}) for t in body["threads"]]
    conversation_id = await api.create_id(body)
    got = (await api.get(f"/v2/conversations/{conversation_id}")).body
    assert got["primaryCustomer"]["id"] == customer_id


@pytest.mark.parametrize(
    ("body", "path"),
    [({"emails": ["pat@example.com"]}, "emails[0]"),
     ({"phones": [{"type": "work"}]}, "phones[0].value"),
     ({"firstName": "P" * 41}, "firstName"),
     ({"emails": [{"type": "work", "value": "nope"}]}, "emails[0].value")],
)  # fmt: skip
async def test_customer_create_rules(api: Api, body: dict, path: str) -> None:
    """Entries must be objects; names and emails follow the same rules as in conversations."""
    reply = await api.call("POST", "/v2/customers", json=body)
    assert reply.status == 400
    assert path in [e["path"] for e in reply.body["_embedded"]["errors"]]


async def test_customer_lists_lag_and_duplicates_conflict(
    make_api: MakeApi, wall: FakeClock
) -> None:
    """Customer lists honour --search-lag; a second customer with the same email is a 409."""
    api = await make_api(search_lag=5.0, wall_clock=wall)
    body = {"firstName": "Pat", "emails": [{"type": "work", "value": "pat@example.com"}]}
    assert (await api.call("POST", "/v2/customers", json=body)).status == 201
    assert "_embedded" not in (await api.get("/v2/customers")).body
    wall.advance(5.0)
    assert len((await api.get("/v2/customers")).body["_embedded"]["customers"]) == 1
    assert (await api.call("POST", "/v2/customers", json=body)).status == 409


async def test_write_without_json_content_type_is_415(api: Api) -> None:
    """A create sent as text/plain is refused with 415."""
    await api.fetch_token()
    async with api.session.post(
        "/v2/conversations", data="{}", headers={"Authorization": f"Bearer {api.token}",
                                                  "Content-Type": "text/plain"},
    ) as resp:  # fmt: skip
        assert resp.status == 415


async def test_customers_modified_since_lists_only_newer_ones(
    make_api: MakeApi, wall: FakeClock
) -> None:
    """GET /v2/customers?modifiedSince= lists customers created since then, with background."""
    api = await make_api(wall_clock=wall)
    old = await api.call("POST", "/v2/customers", json={"firstName": "Old", "background": "a"})
    wall.advance(3600)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall.now - 60))
    new = await api.call(
        "POST", "/v2/customers", json={"firstName": "New", "background": "marker-1"}
    )
    assert (201, 201) == (old.status, new.status)
    listed = (await api.get("/v2/customers", modifiedSince=since)).body["_embedded"]["customers"]
    assert [("New", "marker-1")] == [(c["firstName"], c["background"]) for c in listed]
    bad = await api.call("GET", "/v2/customers", params={"modifiedSince": "yesterday"})
    assert 400 == bad.status
