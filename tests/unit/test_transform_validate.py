"""The importer's own validator: one test per rule of the Create Conversation docs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from importer.transform.validate import check_payload


def valid_payload() -> dict[str, Any]:
    return {
        "subject": "Printer on fire",
        "type": "email",
        "mailboxId": 85,
        "status": "closed",
        "customer": {"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"},
        "imported": True,
        "autoReply": False,
        "createdAt": "2024-01-01T10:00:00Z",
        "closedAt": "2024-01-02T10:00:00Z",
        "tags": ["imported"],
        "fields": [{"id": 7, "value": "4521"}],
        "threads": [
            {
                "type": "customer",
                "customer": {"email": "ada@example.com"},
                "text": "Help",
                "imported": True,
                "createdAt": "2024-01-01T10:00:00Z",
                "attachments": [{"fileName": "a.txt", "mimeType": "text/plain", "data": "aGk="}],
            },
            {
                "type": "reply",
                "customer": {"email": "ada@example.com"},
                "text": "Done",
                "user": 3,
                "imported": True,
                "createdAt": "2024-01-01T11:00:00Z",
            },
            {
                "type": "note",
                "text": "internal",
                "imported": True,
                "createdAt": "2024-01-01T12:00:00Z",
            },
        ],
    }


def codes(payload: dict[str, Any], *, offline: bool = False) -> list[str]:
    return [finding.code for finding in check_payload(payload, offline=offline)]


def test_valid_payload_passes() -> None:
    """A payload following every rule has no finding."""
    assert [] == codes(valid_payload())


def _set(payload: dict[str, Any], path: str, value: Any) -> None:
    keys = path.replace("]", "").replace("[", ".").split(".")
    target: Any = payload
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is _DELETE:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value


_DELETE = object()

RULES = [
    ("missing subject", "subject", _DELETE, "subject"),
    ("empty subject", "subject", "  ", "subject"),
    ("type outside the enum", "type", "fax", "type"),
    ("status outside the enum", "status", "open", "status"),
    ("missing mailbox", "mailboxId", _DELETE, "mailboxId"),
    ("negative mailbox", "mailboxId", -4, "mailboxId"),
    ("missing customer", "customer", _DELETE, "customer"),
    ("customer without id or email", "customer", {"firstName": "Ada"}, "customer"),
    ("malformed email", "customer.email", "ada@", "customer.email"),
    ("first name over 40", "customer.firstName", "A" * 41, "customer.firstName"),
    ("empty first name", "customer.firstName", "", "customer.firstName"),
    ("last name over 40", "customer.lastName", "L" * 41, "customer.lastName"),
    ("job title over 60", "customer.jobTitle", "J" * 61, "customer.jobTitle"),
    ("location over 60", "customer.location", "L" * 61, "customer.location"),
    ("organization over 60", "customer.organization", "O" * 61, "customer.organization"),
    ("photo url over 200", "customer.photoUrl", "h" * 201, "customer.photoUrl"),
    ("background over 200", "customer.background", "b" * 201, "customer.background"),
    ("photo type outside the enum", "customer.photoType", "myspace", "customer.photoType"),
    ("gender outside the enum", "customer.gender", "x", "customer.gender"),
    ("invalid customer id", "customer", {"id": -1}, "customer.id"),
    ("no threads", "threads", [], "threads"),
    ("thread type outside the enum", "threads[0].type", "email", "threads[0].type"),
    ("thread without text", "threads[1].text", _DELETE, "threads[1].text"),
    ("customer thread without customer", "threads[0].customer", _DELETE, "threads[0].customer"),
    ("reply without customer", "threads[1].customer", _DELETE, "threads[1].customer"),
    ("thread user not an id", "threads[1].user", "bob", "threads[1].user"),
    (
        "thread date with fraction",
        "threads[0].createdAt",
        "2024-01-01T10:00:00.000Z",
        "threads[0].createdAt",
    ),
    (
        "thread date with offset",
        "threads[0].createdAt",
        "2024-01-01T10:00:00+00:00",
        "threads[0].createdAt",
    ),
    (
        "thread date with a space",
        "threads[2].createdAt",
        "2024-01-01 10:00:00",
        "threads[2].createdAt",
    ),
    ("thread not imported", "threads[2].imported", False, "threads[2].imported"),
    ("conversation date malformed", "createdAt", "2024-01-01", "createdAt"),
    ("closed date malformed", "closedAt", "2024-01-02T10:00Z", "closedAt"),
    ("closed before created", "closedAt", "2023-12-31T10:00:00Z", "closedAt"),
    ("closed without closedAt", "closedAt", _DELETE, "closedAt"),
    ("not imported", "imported", False, "imported"),
    (
        "attachment without file name",
        "threads[0].attachments[0].fileName",
        _DELETE,
        "threads[0].attachments[0].fileName",
    ),
    (
        "attachment without data",
        "threads[0].attachments[0].data",
        "",
        "threads[0].attachments[0].data",
    ),
    (
        "attachment without mime type",
        "threads[0].attachments[0].mimeType",
        _DELETE,
        "threads[0].attachments[0].mimeType",
    ),
    ("field value not a string", "fields[0].value", 4521, "fields[0].value"),
    ("field id not an id", "fields[0].id", "seven", "fields[0].id"),
    ("tags not names", "tags", ["ok", ""], "tags"),
]


@pytest.mark.parametrize(("rule", "path", "value", "code"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_is_enforced(rule: str, path: str, value: Any, code: str) -> None:
    """Breaking one rule yields a finding whose code is the field's path."""
    payload = copy.deepcopy(valid_payload())
    _set(payload, path, value)
    assert code in codes(payload)


def test_over_100_threads_is_refused() -> None:
    """Help Scout answers 412 past 100 threads; 100 is fine."""
    payload = valid_payload()
    payload["threads"] = [copy.deepcopy(payload["threads"][2]) for _ in range(100)]
    assert [] == codes(payload)
    payload["threads"].append(copy.deepcopy(payload["threads"][0]))
    assert "threads" in codes(payload)


def test_customer_id_makes_other_fields_ignored() -> None:
    """With an id the API ignores the other customer fields, so they are not checked."""
    payload = valid_payload()
    payload["customer"] = {"id": 12, "firstName": "A" * 80}
    assert [] == codes(payload)


def test_offline_skips_the_mailbox() -> None:
    """validate has no mailbox yet; the rest is still checked."""
    payload = valid_payload()
    payload["mailboxId"] = None
    assert [] == codes(payload, offline=True)


def test_every_reason_is_listed_at_once() -> None:
    """Several broken fields give several findings in one pass."""
    payload = valid_payload()
    payload["type"] = "fax"
    payload["customer"]["email"] = "nope"
    payload["threads"][1]["text"] = ""
    assert {"type", "customer.email", "threads[1].text"} <= set(codes(payload))
