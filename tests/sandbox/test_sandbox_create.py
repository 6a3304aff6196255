"""POST /v2/conversations: the rules of helpscout-api.md §2-§3 over real HTTP."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from sandbox_helpers import Api, MakeApi, conversation

pytestmark = pytest.mark.integration

Body = dict[str, Any]


async def test_valid_conversation_is_created(api: Api) -> None:
    """A valid body gets 201, an empty body, Resource-ID, Location and Web-Location."""
    reply = await api.create(conversation())
    assert reply.status == 201
    assert reply.body is None
    conversation_id = reply.headers["Resource-ID"]
    assert reply.headers["Location"] == f"{api.running.url}/v2/conversations/{conversation_id}"
    assert "Web-Location" in reply.headers
    stored = api.running.store.conversations(mailbox=85)
    assert [c["id"] for c in stored] == [int(conversation_id)]
    assert stored[0]["created_at"] == "2019-06-20T10:00:00Z"
    assert stored[0]["imported"] == 1


def _set(path: str, value: Any) -> Callable[[Body], None]:
    """Set (or with value ``...`` delete) a dotted path like ``threads.0.text``."""

    def apply(body: Body) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is ...:
            del target[last]
        else:
            target[last] = value

    return apply


INVALID: list[tuple[str, Callable[[Body], None], str]] = [
    ("missing subject", _set("subject", ...), "subject"),
    ("empty subject", _set("subject", ""), "subject"),
    ("bad type", _set("type", "sms"), "type"),
    ("bad status", _set("status", "open"), "status"),
    ("missing status", _set("status", ...), "status"),
    ("missing mailboxId", _set("mailboxId", ...), "mailboxId"),
    ("mailboxId not a number", _set("mailboxId", "85"), "mailboxId"),
    ("missing customer", _set("customer", ...), "customer"),
    ("customer without id or email", _set("customer", {"firstName": "Ann"}), "customer.email"),
    ("bad email", _set("customer.email", "ann@"), "customer.email"),
    ("email with space", _set("customer.email", "ann lee@example.com"), "customer.email"),
    ("firstName 41 chars", _set("customer.firstName", "A" * 41), "customer.firstName"),
    ("empty firstName", _set("customer.firstName", ""), "customer.firstName"),
    ("lastName 41 chars", _set("customer.lastName", "L" * 41), "customer.lastName"),
    ("jobTitle 61 chars", _set("customer.jobTitle", "J" * 61), "customer.jobTitle"),
    ("location 61 chars", _set("customer.location", "L" * 61), "customer.location"),
    ("organization 61", _set("customer.organization", "O" * 61), "customer.organization"),
    ("photoUrl 201 chars", _set("customer.photoUrl", "h" * 201), "customer.photoUrl"),
    ("background 201", _set("customer.background", "b" * 201), "customer.background"),
    ("bad photoType", _set("customer.photoType", "myspace"), "customer.photoType"),
    ("bad gender", _set("customer.gender", "other"), "customer.gender"),
    ("no threads", _set("threads", []), "threads"),
    ("missing threads", _set("threads", ...), "threads"),
    ("bad thread type", _set("threads.0.type", "message"), "threads[0].type"),
    ("thread without text", _set("threads.0.text", ...), "threads[0].text"),
    ("thread with empty text", _set("threads.1.text", ""), "threads[1].text"),
    ("customer thread without customer", _set("threads.0.customer", ...), "threads[0].customer"),
    ("reply without customer", _set("threads.1.customer", ...), "threads[1].customer"),
    ("thread customer bad email", _set("threads.0.customer.email", "x"),
     "threads[0].customer.email"),
    ("createdAt with fraction", _set("createdAt", "2019-06-20T10:00:00.000Z"), "createdAt"),
    ("createdAt with offset", _set("createdAt", "2019-06-20T10:00:00+02:00"), "createdAt"),
    ("createdAt with space", _set("createdAt", "2019-06-20 10:00:00"), "createdAt"),
    ("createdAt not a date", _set("createdAt", "2019-02-30T10:00:00Z"), "createdAt"),
    ("bad closedAt", _set("closedAt", "2019-06-21"), "closedAt"),
    ("bad thread createdAt", _set("threads.2.createdAt", "2019-06-20T12:00Z"),
     "threads[2].createdAt"),
    ("attachment without fileName",
     _set("threads.0.attachments", [{"mimeType": "text/plain", "data": "aGk="}]),
     "threads[0].attachments[0].fileName"),
    ("attachment without data",
     _set("threads.0.attachments", [{"fileName": "a.txt", "mimeType": "text/plain"}]),
     "threads[0].attachments[0].data"),
    ("attachment data not base64",
     _set("threads.0.attachments", [{"fileName": "a", "mimeType": "text/plain", "data": "%%"}]),
     "threads[0].attachments[0].data"),
    ("field value not a string", _set("fields", [{"id": 1, "value": 4521}]), "fields[0].value"),
    ("unknown field id", _set("fields", [{"id": 99, "value": "x"}]), "fields[0].id"),
    ("dropdown value not an option id", _set("fields", [{"id": 2, "value": "High"}]),
     "fields[0].value"),
    ("imported not a boolean", _set("imported", "true"), "imported"),
    ("tags not strings", _set("tags", [1]), "tags[0]"),
    ("unknown user", _set("threads.2.user", 999), "threads[2].user"),
    ("unknown assignTo", _set("assignTo", 999), "assignTo"),
    ("unknown customer id", _set("customer", {"id": 42}), "customer.id"),
    ("unknown mailbox", _set("mailboxId", 4242), "mailboxId"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "path"), [(m, p) for _, m, p in INVALID],
                         ids=[name for name, _, _ in INVALID])  # fmt: skip
async def test_invalid_field_is_rejected_with_its_path(
    api: Api, mutate: Callable[[Body], None], path: str
) -> None:
    """Each broken rule gives 400, vnd.error, and an error entry naming the field."""
    body = conversation()
    mutate(body)
    reply = await api.create(body)
    assert reply.status == 400, reply.body
    assert reply.headers["Content-Type"].startswith("application/vnd.error+json")
    assert reply.body["logRef"]
    assert reply.body["message"]
    errors = reply.body["_embedded"]["errors"]
    assert path in [e["path"] for e in errors]
    assert all({"path", "message", "rejectedValue"} <= set(e) for e in errors)
    assert api.running.store.count_conversations() == 0


async def test_every_error_of_a_body_is_reported_at_once(api: Api) -> None:
    """Two bad fields give two entries with their rejected values."""
    body = conversation(status="uknown")
    body["customer"]["firstName"] = "A" * 45
    reply = await api.create(body)
    by_path = {e["path"]: e for e in reply.body["_embedded"]["errors"]}
    assert set(by_path) == {"status", "customer.firstName"}
    assert by_path["status"]["rejectedValue"] == "uknown"
    assert by_path["customer.firstName"]["rejectedValue"] == "A" * 45


async def test_body_that_is_not_json_is_a_400(api: Api) -> None:
    """An unparsable body gets the documented message and no field errors."""
    reply = await api.call(
        "POST", "/v2/conversations", headers={"Content-Type": "application/json"}, json=None
    )
    assert reply.status == 400
    assert reply.body["message"].startswith("Error parsing request body into JSON")
    assert reply.body["_embedded"]["errors"] == []


def _threads(n: int) -> list[dict[str, Any]]:
    thread = conversation()["threads"][0]
    return [dict(copy.deepcopy(thread), createdAt=f"2019-06-20T10:{i // 60:02d}:{i % 60:02d}Z")
            for i in range(n)]  # fmt: skip


async def test_100_threads_are_accepted_101_get_412(api: Api) -> None:
    """The 100-thread limit: 100 is fine, 101 is 412 Precondition Failed."""
    assert (await api.create(conversation(threads=_threads(100)))).status == 201
    reply = await api.create(conversation(threads=_threads(101)))
    assert reply.status == 412
    assert reply.body["_embedded"]["errors"][0]["path"] == "threads"
    assert api.running.store.count_conversations() == 1


async def test_body_over_max_body_bytes_gets_413(make_api: MakeApi) -> None:
    """A create body larger than --max-body-bytes gets 413 and is not stored."""
    api = await make_api(mailboxes=[85], max_body_bytes=4000)
    small = conversation()
    assert (await api.create(small)).status == 201
    big = conversation()
    big["threads"][0]["text"] = "x" * 5000
    reply = await api.create(big)
    assert reply.status == 413
    assert api.running.store.count_conversations() == 1


async def test_unknown_mailbox_can_be_a_404(make_api: MakeApi) -> None:
    """SandboxConfig.unknown_mailbox_status=404 switches the unknown-mailbox answer."""
    api = await make_api(unknown_mailbox_status=404)
    reply = await api.create(conversation(mailboxId=85))
    assert reply.status == 404


async def test_customer_is_matched_by_email_and_keeps_its_profile(api: Api) -> None:
    """A second conversation for the same email reuses the customer; its new name is ignored."""
    first = await api.create_id(conversation())
    body = conversation()
    body["customer"] = {"email": "ANN@example.com", "firstName": "Annie", "lastName": "Other"}
    second = await api.create_id(body)
    a = (await api.get(f"/v2/conversations/{first}")).body["primaryCustomer"]
    b = (await api.get(f"/v2/conversations/{second}")).body["primaryCustomer"]
    assert a["id"] == b["id"]
    assert b["first"] == "Ann"
    assert len(api.running.store.customers()) == 1


async def test_customer_by_id_ignores_other_fields(api: Api) -> None:
    """A customer given by id is used as is, whatever else the object says."""
    first = await api.create_id(conversation())
    customer_id = (await api.get(f"/v2/conversations/{first}")).body["primaryCustomer"]["id"]
    body = conversation(customer={"id": customer_id, "email": "not-an-email", "firstName": ""})
    body["threads"] = [dict(t, customer={"id": customer_id}) for t in body["threads"][:2]]
    second = await api.create_id(body)
    got = (await api.get(f"/v2/conversations/{second}")).body["primaryCustomer"]
    assert got["id"] == customer_id
