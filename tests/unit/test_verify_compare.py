"""verify's pure comparison: what the importer changes on purpose is no mismatch; a change made
in Help Scout is exactly one."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from importer.commands.verify_compare import (
    compare_conversation,
    expected_threads,
    normal_text,
    normal_time,
    pair_threads,
    thread_rows,
)
from importer.commands.verify_frames import Summary, compare_threads, per_field

SENT: dict[str, Any] = {
    "subject": "Order 12 (part 1/2)",
    "type": "email",
    "status": "closed",
    "customer": {"email": "Ann@Example.com"},
    "createdAt": "2022-01-01T10:00:00Z",
    "closedAt": "2022-01-01T12:00:00Z",
    "tags": ["Coffee", "migrated"],
    "fields": [{"id": 7, "value": "S1"}],
    "threads": [
        {"type": "customer", "customer": {"email": "ann@example.com"},
         "createdAt": "2022-01-01T10:00:00Z", "text": "Hello &amp; <b>help</b><br>please",
         "attachments": [{"fileName": "a.txt", "mimeType": "text/plain", "data": "aGVsbG8="}]},
        {"type": "reply", "user": 3, "customer": {"email": "ann@example.com"},
         "createdAt": "2022-01-01T11:00:00Z", "text": "<p>Done.</p>"},
        {"type": "note", "user": 4, "createdAt": "2022-01-01T11:00:00Z", "text": "internal"},
    ],
}  # fmt: skip


def _found() -> dict[str, Any]:
    """The conversation as the API returns it: newest first, ``message`` for a reply."""
    threads = [
        {
            "id": 3,
            "type": "note",
            "body": "internal",
            "createdAt": "2022-01-01T11:00:00Z",
            "createdBy": {"id": 4, "type": "user"},
            "_embedded": {"attachments": []},
        },
        {
            "id": 2,
            "type": "message",
            "createdAt": "2022-01-01T11:00:00+00:00",
            "body": '<p>Done.</p>\n<p><em>Attachment "x.pdf" was not imported: 404</em></p>',
            "createdBy": {"id": 3, "type": "user"},
            "_embedded": {"attachments": []},
        },
        {
            "id": 1,
            "type": "customer",
            "body": "Hello &amp; <b>help</b><br/>\nplease",
            "createdAt": "2022-01-01T10:00:00Z",
            "customer": {"id": 9, "email": "ann@example.com"},
            "createdBy": {"id": 9, "type": "customer", "email": "ann@example.com"},
            "_embedded": {"attachments": [{"filename": "a.txt", "size": 5}]},
        },
    ]
    return {
        "subject": "Order 12 (part 1/2)", "type": "email", "status": "closed",
        "createdAt": "2022-01-01T10:00:00Z", "closedAt": "2022-01-01T12:00:00Z",
        "primaryCustomer": {"id": 9, "email": "ann@example.com"},
        "tags": [{"id": 1, "tag": "coffee"}, {"id": 2, "tag": "migrated"}],
        "customFields": [{"id": 7, "name": "Source", "value": "S1", "text": "S1"}],
        "threads": 3, "_embedded": {"threads": threads},
    }  # fmt: skip


def _mismatches(found: dict[str, Any]) -> list[tuple[Any, ...]]:
    out = compare_conversation("S1", 1, SENT, found=found)
    threads = found["_embedded"]["threads"][::-1]
    wanted, got, order = thread_rows("S1", 1, expected_threads(SENT), found=threads)
    more, _ = compare_threads(wanted, got)
    return [(m.part, m.thread, m.field, m.expected, m.found) for m in [*out, *order, *more]]


def test_what_the_importer_changes_on_purpose_is_no_mismatch() -> None:
    assert [] == _mismatches(_found())


def test_text_is_compared_as_text() -> None:
    assert "Hello & help please" == normal_text("Hello &amp; <b>help</b><br>please")
    assert "a b" == normal_text("<p>a</p>\n\n<p>b</p>")
    assert "2022-01-01T10:00:00Z" == normal_time("2022-01-01T11:00:00+01:00")


@pytest.mark.parametrize(
    ("change", "wanted"),
    [
        (
            lambda f: f["_embedded"]["threads"].pop(1),
            (1, 2, "thread", "2022-01-01T11:00:00Z reply: Done.", ""),
        ),
        (
            lambda f: f["_embedded"]["threads"][2].update(createdAt="2022-01-01T10:30:00Z"),
            (1, 1, "createdAt", "2022-01-01T10:00:00Z", "2022-01-01T10:30:00Z"),
        ),
        (
            lambda f: f["_embedded"]["threads"][1]["createdBy"].update(id=8),
            (1, 2, "author", "user#3", "user#8"),
        ),
        (
            lambda f: f["_embedded"]["threads"][0].update(type="message"),
            (1, 3, "type", "note", "reply"),
        ),
        (
            lambda f: f["_embedded"]["threads"][2].update(body="Hello"),
            (1, 1, "text", "Hello & help please", "Hello"),
        ),
        (
            lambda f: f["_embedded"]["threads"][2]["_embedded"]["attachments"][0].update(size=9),
            (1, 1, "attachment sizes", "a.txt: 5", "a.txt: 9"),
        ),
        (
            lambda f: f["_embedded"]["threads"][2]["_embedded"].update(attachments=[]),
            (1, 1, "attachments", "a.txt", ""),
        ),
        (lambda f: f.update(status="active"), (1, None, "status", "closed", "active")),
        (
            lambda f: f.update(closedAt="2022-02-01T00:00:00Z"),
            (1, None, "closedAt", "2022-01-01T12:00:00Z", "2022-02-01T00:00:00Z"),
        ),
        (lambda f: f["tags"].pop(), (1, None, "tags", "coffee, migrated", "coffee")),
        (
            lambda f: f.update(subject="Order 12"),
            (1, None, "subject", "Order 12 (part 1/2)", "Order 12"),
        ),
        (
            lambda f: f["primaryCustomer"].update(email="bob@example.com"),
            (1, None, "customer", "customer:ann@example.com", "customer:bob@example.com"),
        ),
        (
            lambda f: f["customFields"][0].update(value="S2"),
            (1, None, "customFields", "7=S1", "7=S2"),
        ),
    ],
)
def test_each_change_in_help_scout_is_exactly_one_mismatch(
    change: Any, wanted: tuple[Any, ...]
) -> None:
    found = _found()
    change(found)
    assert [wanted] == _mismatches(found)


def test_a_field_the_api_does_not_return_is_not_checked() -> None:
    found = _found()
    for key in ("status", "closedAt", "tags", "customFields", "primaryCustomer", "subject"):
        del found[key]
    for thread in found["_embedded"]["threads"]:
        del thread["createdBy"], thread["_embedded"]
    assert [] == _mismatches(found)


def test_an_unexpected_thread_and_reversed_equal_times() -> None:
    found = _found()
    extra = copy.deepcopy(found["_embedded"]["threads"][0])
    extra.update(id=4, body="added later", createdAt="2022-01-02T00:00:00Z")
    found["_embedded"]["threads"].insert(0, extra)
    assert [(1, 4, "thread", "", "2022-01-02T00:00:00Z note: added later")] == _mismatches(found)
    swapped = _found()
    threads = swapped["_embedded"]["threads"]
    threads[0], threads[1] = threads[1], threads[0]
    assert [(1, None, "order", "1, 2, 3", "1, 3, 2")] == _mismatches(swapped)


def test_threads_pair_by_time_and_text_then_text_then_time() -> None:
    expected = expected_threads(SENT)
    found = [{"createdAt": "2022-01-01T11:00:00Z", "body": "<p>Done.</p>"}]
    assert {(0, None), (1, 0), (2, None)} == set(pair_threads(expected, found))


def test_summaries_per_month_and_per_field() -> None:
    summary = Summary()
    summary.add_months([{"source": "2022-01-03T00:00:00+00:00", "found": "2022-01-03T00:00:00Z"}])
    summary.add_months([{"source": "2022-02-01T00:00:00+00:00", "found": None}])
    assert [
        {"month": "2022-01", "source": 1, "helpscout": 1},
        {"month": "2022-02", "source": 1, "helpscout": 0},
    ] == summary.per_month()
    found = _found()
    found.update(status="active")
    found["tags"].pop()
    mismatches = compare_conversation("S1", 1, SENT, found=found)
    assert {"status", "tags"} == {entry["field"] for entry in per_field(mismatches)}
