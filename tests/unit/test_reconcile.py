"""Reconciling parts in doubt: a fake search client and a fake clock, no sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fake_clock import FakeClock

from importer.pipeline.reconcile import PartRef, format_api_time, matches, reconcile_part

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def part(**kw: Any) -> PartRef:
    base = {
        "source_id": "z-1",
        "part": 1,
        "part_count": 1,
        "subject": "Refund please",
        "customer_email": "Ann@Example.com",
        "first_sent_at": T0,
    }
    return PartRef(**{**base, **kw})


def conv(
    cid: int, subject: str = "Refund please", email: str = "ann@example.com"
) -> dict[str, Any]:
    return {"id": cid, "subject": subject, "primaryCustomer": {"id": 5, "email": email}}


async def walk_pages(fake: Any, mailbox: int, **kw: Any) -> AsyncIterator[dict[str, Any]]:
    """The client's paging over a fake's ``search_conversations`` pages (one page per call)."""
    page = 1
    while True:
        body = await fake.search_conversations(mailbox, page=page, **kw)
        for item in body["_embedded"]["conversations"]:
            yield item
        total = body["page"]["totalPages"]
        if not isinstance(total, int) or page >= total:
            return
        page += 1


class FakeSearch:
    """Answers search calls from a list of page sets, one set per lookup; records the calls."""

    def __init__(self, lookups: list[list[list[dict[str, Any]]]]) -> None:
        self.lookups = lookups
        self.calls: list[dict[str, Any]] = []
        self._lookup = -1

    def iter_conversations(self, mailbox: int, **kw: Any) -> AsyncIterator[dict[str, Any]]:
        return walk_pages(self, mailbox, **kw)

    async def search_conversations(self, mailbox: int, **kw: Any) -> dict[str, Any]:
        self.calls.append({"mailbox": mailbox, **kw})
        if kw["page"] == 1:
            self._lookup = min(self._lookup + 1, len(self.lookups) - 1)
        pages = self.lookups[self._lookup]
        items = pages[kw["page"] - 1] if pages else []
        return {
            "_embedded": {"conversations": items},
            "page": {"number": kw["page"], "totalPages": max(len(pages), 1)},
        }


def test_format_api_time():
    """UTC, no fraction, Z."""
    assert format_api_time(T0 + 0.9) == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("candidate", "by_field", "ref", "expected"),
    [
        (conv(1), False, part(), True),
        (conv(1, subject="Refund  please "), False, part(), True),  # whitespace runs
        (conv(1, subject="Refund please!"), False, part(), False),
        (conv(1, email="other@example.com"), False, part(), False),
        (conv(1, email="other@example.com"), False, part(customer_email=None), True),
        (conv(1, subject="x"), True, part(), True),  # field match, single part
        (conv(1, subject="x"), True, part(part_count=2), False),  # split: subject needed
        (conv(1), True, part(part_count=2), True),
    ],
)
def test_matches(candidate, by_field, ref, expected):
    """Exact subject and case-insensitive email; by field, subject only for split parts."""
    assert expected == matches(candidate, ref, by_field=by_field)


async def test_found_on_first_lookup_by_subject_and_email():
    """The part is found on the second page; modifiedSince is 2 minutes before the first send."""
    search = FakeSearch([[[conv(1, subject="Other")], [conv(2)]]])
    clock = FakeClock(T0 + 1)
    found = await reconcile_part(search, 3, part(), wait_s=10, clock=clock)
    assert found == 2
    assert search.calls[0] == {
        "mailbox": 3,
        "page": 1,
        "status": "all",
        "modified_since": "2025-12-31T23:58:00Z",
    }
    assert [c["page"] for c in search.calls] == [1, 2]
    assert clock.slept == []


async def test_lag_then_found():
    """The index lags: the lookup is repeated until the part shows up."""
    search = FakeSearch([[], [], [[conv(9)]]])
    clock = FakeClock(T0 + 1)
    found = await reconcile_part(search, 3, part(), wait_s=10, clock=clock, poll_s=2)
    assert found == 9
    assert clock.slept == [2, 2]


async def test_absent_only_after_wait_since_the_answer_was_lost():
    """Not found is concluded only once wait_s has passed since the answer was lost."""
    search = FakeSearch([[]])
    clock = FakeClock(T0 + 3)
    events: list[tuple[str, dict]] = []
    found = await reconcile_part(
        search,
        3,
        part(),
        wait_s=10,
        clock=clock,
        poll_s=2,
        on_event=lambda n, f: events.append((n, f)),
        lost_at=T0 + 1,  # sent at T0, answer lost at T0 + 1, reconciling from T0 + 3
    )
    assert found is None
    assert clock.now >= T0 + 11
    assert sum(clock.slept) == pytest.approx(8)
    assert events == [
        (
            "reconcile.result",
            {"source_id": "z-1", "part": 1, "found": False, "conversation_id": None, "lookups": 5},
        )
    ]


async def test_a_request_that_waited_in_the_pacer_still_gets_the_whole_wait():
    """Intent long before the send (a 429 pause): the index still gets wait_s from the loss."""
    search = FakeSearch([[]])
    clock = FakeClock(T0 + 3600)
    assert await reconcile_part(search, 3, part(), wait_s=10, clock=clock) is None
    assert clock.now >= T0 + 3610
    assert len(search.calls) > 1


async def test_by_source_id_field():
    """With a source-id field, search by customFieldsByIds; duplicates resolve to the oldest."""
    search = FakeSearch([[[conv(30, subject="Renamed"), conv(20, subject="Renamed")]]])
    clock = FakeClock(T0 + 1)
    found = await reconcile_part(search, 3, part(), wait_s=10, source_id_field=44, clock=clock)
    assert found == 20
    assert search.calls[0]["custom_fields_by_ids"] == "44:z-1"
    assert "modified_since" not in search.calls[0]


async def test_by_source_id_field_split_parts_need_subject():
    """Split parts share the source id; the subject tells them apart."""
    candidates = [
        conv(1, subject="Refund please (part 1/2)"),
        conv(2, subject="Refund please (part 2/2)"),
    ]
    search = FakeSearch([[candidates]])
    clock = FakeClock(T0 + 1)
    ref = part(part=2, part_count=2, subject="Refund please (part 2/2)")
    assert await reconcile_part(search, 3, ref, wait_s=10, source_id_field=44, clock=clock) == 2


class SlowListing:
    """A live listing, newest ``createdAt`` first: each page read takes ``page_s`` seconds of
    the fake clock, and the part becomes visible at ``visible_at``, at the head of page 1."""

    def __init__(self, clock: FakeClock, *, visible_at: float, page_s: float) -> None:
        self.clock = clock
        self.visible_at = visible_at
        self.page_s = page_s
        self.others = [conv(100 + n, subject=f"Other {n}") for n in range(60)]

    def iter_conversations(self, mailbox: int, **kw: Any) -> AsyncIterator[dict[str, Any]]:
        return walk_pages(self, mailbox, **kw)

    async def search_conversations(self, mailbox: int, **kw: Any) -> dict[str, Any]:
        visible = [conv(7)] if self.clock.now >= self.visible_at else []
        listing = visible + self.others
        page = kw["page"]
        self.clock.now += self.page_s
        return {
            "_embedded": {"conversations": listing[(page - 1) * 50 : page * 50]},
            "page": {"number": page, "totalPages": -(-len(listing) // 50)},
        }


async def test_a_walk_begun_before_the_deadline_cannot_prove_absence():
    """The part shows up on page 1 just after page 1 was read, and the walk ends past the
    deadline: that walk saw a listing older than the deadline, so the lookup is repeated."""
    clock = FakeClock(T0 + 1)
    listing = SlowListing(clock, visible_at=T0 + 2, page_s=3)
    found = await reconcile_part(listing, 3, part(), wait_s=4, clock=clock, lost_at=T0 + 1)
    assert found == 7


class FakeSearchWithThreads(FakeSearch):
    """Also answers ``list_threads`` (newest first, as the API lists them)."""

    def __init__(
        self, lookups: list[list[list[dict[str, Any]]]], threads: dict[int, list[str]]
    ) -> None:
        super().__init__(lookups)
        self.threads = threads
        self.thread_calls: list[int] = []

    async def list_threads(self, conversation_id: int) -> list[dict[str, Any]]:
        self.thread_calls.append(conversation_id)
        times = sorted(self.threads[conversation_id], reverse=True)
        return [{"id": n, "type": "customer", "createdAt": t} for n, t in enumerate(times)]


SENT = ("2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z")


async def test_same_subject_and_email_is_not_enough_the_threads_must_match():
    """A customer's many "Refund please" conversations: a candidate another part already holds
    is passed over, one with other thread times too; the one with the part's threads is it."""
    search = FakeSearchWithThreads(
        [[[conv(1), conv(2), conv(3), conv(4)]]],
        {
            1: list(SENT),  # the same times, but part z-0 holds it already
            2: ["2024-01-01T10:00:00Z"],  # fewer threads
            3: ["2024-01-01T10:00:00.000Z", "2024-01-01T11:00:00+00:00"],  # it, spelled otherwise
            4: list(SENT),
        },
    )
    clock = FakeClock(T0 + 1)
    found = await reconcile_part(
        search,
        3,
        part(thread_times=SENT),
        wait_s=10,
        clock=clock,
        claimed=lambda cid: cid == 1,
    )
    assert 3 == found
    assert [2, 3] == search.thread_calls


async def test_a_failed_send_is_not_mistaken_for_an_earlier_conversation_of_the_customer():
    """The part never reached Help Scout; the customer's only "Refund please" conversation is
    another source conversation's: absent after the wait, so it is sent (not lost)."""
    search = FakeSearchWithThreads(
        [[[conv(1)]]], {1: ["2023-05-01T09:00:00Z", "2023-05-01T09:30:00Z"]}
    )
    clock = FakeClock(T0 + 1)
    found = await reconcile_part(
        search, 3, part(thread_times=SENT), wait_s=4, clock=clock, poll_s=2
    )
    assert found is None
    assert clock.now >= T0 + 1 + 4


async def test_by_source_id_field_the_key_is_exact_and_threads_are_not_read():
    search = FakeSearchWithThreads([[[conv(7, subject="x")]]], {})
    clock = FakeClock(T0 + 1)
    found = await reconcile_part(
        search,
        3,
        part(thread_times=SENT),
        wait_s=10,
        source_id_field=4,
        clock=clock,
    )
    assert 7 == found
    assert [] == search.thread_calls


async def test_a_customer_without_email_is_told_apart_by_the_id_the_importer_created():
    """Eighty "Welcome" conversations of customers without email, at one time: a candidate of
    another customer is never taken, though subject and thread times agree."""
    others = [
        {"id": n, "subject": "Refund please", "primaryCustomer": {"id": 3_000_000 + n}}
        for n in (1, 2, 3)
    ]
    search = FakeSearchWithThreads([[others]], {n: list(SENT) for n in (1, 2, 3)})
    clock = FakeClock(T0 + 1)
    ref = part(customer_email=None, customer_id=3_000_002, thread_times=SENT)
    found = await reconcile_part(search, 3, ref, wait_s=10, clock=clock)
    assert 2 == found
    assert [2] == search.thread_calls
