"""Front's messages and comments in one sort give the order three sorts gave.

:func:`~importer.readers.front.conversation.messages_and_notes` orders a conversation's nested
and separate messages and comments with one sort; the reference below is what the reader did
before (sort the messages, sort the comments, sort the two lists one after the other, each id
once at every step). Hypothesis draws ids from a small pool (repeated, blank, numbers written
as text or as floats) and times of every kind a file may hold (numbers, text, blank, missing,
unreadable) and compares the items, their places and which are comments. A NaN time, which the
three sorts placed by chance, now sorts last like any unreadable time (its own case below).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers.common import id_text
from importer.readers.front.conversation import messages_and_notes, moment, results

Located = tuple[Mapping[str, Any], str]

IDS = [None, "", "msg_1", "msg_2", " msg_1 ", 7, 7.0, "7", "7.0", True, "com_1"]
TIMES = [None, "", 1, 2, 2.0, "2", "1.5", 1e9, "abc", True, [], {}]


def _sort_key(item: tuple[Any, int]) -> tuple[float, int]:
    value, order = item
    try:
        return float(value), order
    except (TypeError, ValueError):
        return float("inf"), order


def _ordered(conversation: Mapping[str, Any], location: str, messages: Iterable[Located]) -> list:
    seen: set[str] = set()
    found: list[Located] = []
    for item, where in [*((m, location) for m in results(conversation.get("messages"))), *messages]:
        ident = id_text(item.get("id"))
        if ident is not None and ident in seen:
            continue
        if ident is not None:
            seen.add(ident)
        found.append((item, where))
    keyed = sorted(
        ((moment(item, "created_at", "posted_at"), n) for n, (item, _) in enumerate(found)),
        key=_sort_key,
    )
    return [found[n] for _, n in keyed]


def _three_sorts(conversation: dict, location: str, messages: list, comments: list) -> tuple:
    everything = _ordered(conversation, location, messages)
    nested_comments = [(c, location) for c in results(conversation.get("comments"))]
    notes = _ordered({}, location, [*nested_comments, *comments])
    merged = _ordered({}, location, [*everything, *notes])
    return merged, {id(item) for item, _ in notes}


item = st.builds(
    lambda ident, created, posted: {
        k: v
        for k, v in (("id", ident), ("created_at", created), ("posted_at", posted))
        if v != "absent"
    },
    st.sampled_from([*IDS, "absent"]),
    st.sampled_from([*TIMES, "absent"]),
    st.sampled_from([*TIMES, "absent"]),
)
located = st.tuples(item, st.sampled_from(["m.jsonl:1", "m.jsonl:2", "c.jsonl:9"]))


@settings(max_examples=400, deadline=None)
@given(
    st.lists(item, max_size=5),
    st.lists(item, max_size=4),
    st.lists(located, max_size=6),
    st.lists(located, max_size=6),
    st.booleans(),
)
def test_one_sort_orders_as_three_did(
    nested: list, nested_comments: list, messages: list, comments: list, paged: bool
) -> None:
    conversation: dict[str, Any] = {"id": "cnv_1", "messages": nested}
    conversation["comments"] = {"_results": nested_comments} if paged else nested_comments
    merged, is_comment = messages_and_notes(conversation, "c.jsonl:1", messages, comments=comments)
    expected, expected_comments = _three_sorts(conversation, "c.jsonl:1", messages, comments)
    assert [(id(i), w) for i, w in merged] == [(id(i), w) for i, w in expected]
    assert [id(i) in is_comment for i, _ in merged] == [
        id(i) in expected_comments for i, _ in expected
    ]


def test_a_nan_time_sorts_last_as_unreadable_ones_do() -> None:
    first, nan, unreadable, later = (
        {"id": "msg_1", "created_at": 5},
        {"id": "msg_2", "created_at": "nan"},
        {"id": "msg_3", "created_at": "x"},
        {"id": "com_1", "posted_at": 6},
    )
    messages = [(nan, "m:1"), (unreadable, "m:2"), (first, "m:3")]
    merged, is_comment = messages_and_notes(
        {"id": "cnv_1"}, "c:1", messages, comments=[(later, "c:2")]
    )
    assert [item["id"] for item, _ in merged] == ["msg_1", "com_1", "msg_2", "msg_3"]
    assert is_comment == {id(later)}
