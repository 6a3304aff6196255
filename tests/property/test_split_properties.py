"""Splitting keeps every message exactly once and in order, in the fewest valid parts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.transform.payload import PayloadContext
from importer.transform.plan import ConversationPlan, PlanContext, plan_conversation
from importer.transform.validate import check_payload
from importer.wire import json_size

START = datetime(2023, 5, 1, tzinfo=UTC)


def conversation(lengths: list[int], roles: list[str], status: str) -> dict[str, Any]:
    messages = []
    for index, length in enumerate(lengths):
        role = roles[index % len(roles)]
        messages.append(
            {
                "created_at": (START + timedelta(minutes=index)).isoformat(),
                "author_role": "agent" if role == "note" else role,
                "private": role == "note",
                "body_text": f"m{index}:" + "x" * length,
            }
        )
    return {
        "source_id": "p",
        "subject": "Property",
        "status": status,
        "customer": {"email": "p@example.com"},
        "messages": messages,
    }


def planned(data: dict[str, Any], max_bytes: int, policy: str = "closed") -> ConversationPlan:
    ctx = PlanContext(
        payload=PayloadContext(mailbox_id=1, status_policy=policy),
        read_attachment=lambda ref: b"",
        max_request_bytes=max_bytes,
        now=datetime(2030, 1, 1, tzinfo=UTC),
    )
    result = plan_conversation(data, ctx, location="p.jsonl:1")
    assert isinstance(result, ConversationPlan), result
    return result


def message_ids(result: ConversationPlan) -> list[int]:
    return [
        int(thread["text"].split(":")[0][1:])
        for part in result.parts
        for thread in part.payload["threads"]
    ]


roles = st.lists(st.sampled_from(["customer", "agent", "note"]), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=450),
    roles=roles,
    status=st.sampled_from(["open", "closed"]),
)
def test_thread_limit_split_keeps_every_message_once_in_order_in_fewest_parts(
    count: int, roles: list[str], status: str
) -> None:
    """Only the 100-thread rule applies: ceil(n/100) parts, each valid, order kept."""
    result = planned(conversation([5] * count, roles, status), 262_144, "source")
    assert list(range(count)) == message_ids(result)
    assert math.ceil(count / 100) == len(result.parts)
    for part in result.parts:
        assert [] == check_payload(part.payload)
        assert 100 >= len(part.payload["threads"])


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=160),
    roles=roles,
    max_bytes=st.integers(min_value=4000, max_value=40_000),
)
def test_byte_budget_split_keeps_every_part_within_budget(
    lengths: list[int], roles: list[str], max_bytes: int
) -> None:
    """With a byte budget every part fits it, stays valid, and no message is lost or doubled."""
    result = planned(conversation(lengths, roles, "closed"), max_bytes)
    assert list(range(len(lengths))) == message_ids(result)
    for part in result.parts:
        assert max_bytes >= json_size(part.payload)
        assert [] == check_payload(part.payload)


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(min_value=101, max_value=400),
    status=st.sampled_from(["open", "pending", "closed"]),
)
def test_part_rules_for_subject_and_times(count: int, status: str) -> None:
    """Part subjects, later parts' createdAt and earlier parts' closedAt follow the contract."""
    data = conversation([1] * count, ["customer", "agent"], status)
    data["closed_at"] = (START + timedelta(days=30)).isoformat()
    result = planned(data, 262_144, "source")
    parts = result.parts
    total = len(parts)
    assert "2023-05-01T00:00:00Z" == parts[0].payload["createdAt"]
    for number, part in enumerate(parts, start=1):
        payload = part.payload
        threads = payload["threads"]
        assert f"Property (part {number}/{total})" == payload["subject"]
        assert {"email": "p@example.com"} == payload["customer"]
        if number > 1:
            assert threads[0]["createdAt"] == payload["createdAt"]
        if number < total:
            assert ("closed", threads[-1]["createdAt"]) == (payload["status"], payload["closedAt"])
    last = parts[-1].payload
    if status == "closed":
        assert "2023-05-31T00:00:00Z" == last["closedAt"]
    else:
        assert "closedAt" not in last


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(min_value=101, max_value=300),
    created_shift=st.integers(min_value=-600, max_value=400),
)
def test_parts_never_close_before_they_were_created(count: int, created_shift: int) -> None:
    """A conversation created after some of its messages (exports do this) still splits into
    valid parts: no part closes before its createdAt."""
    data = conversation([1] * count, ["customer", "agent"], "closed")
    data["created_at"] = (START + timedelta(minutes=created_shift)).isoformat()
    result = planned(data, 262_144)
    for part in result.parts:
        assert [] == check_payload(part.payload)
        assert part.payload["closedAt"] >= part.payload["createdAt"]
