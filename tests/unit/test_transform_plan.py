"""Normalising and mapping one conversation: what changes to fit, what is refused, how roles map."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from importer.transform.fields import fields_by_name
from importer.transform.payload import PENDING_CUSTOMER_ID, PayloadContext
from importer.transform.plan import (
    ConversationPlan,
    InvalidConversation,
    PlanContext,
    plan_conversation,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def context(**payload: Any) -> PlanContext:
    return PlanContext(
        payload=PayloadContext(**payload),
        read_attachment=lambda ref: b"file bytes",
        max_request_bytes=262_144,
        now=NOW,
    )


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "source_id": "c1",
        "subject": "Order 42",
        "customer": {"email": "ada@example.com", "first_name": "Ada"},
        "messages": [
            {
                "created_at": "2024-01-01T10:00:00Z",
                "author_role": "customer",
                "body_text": "Hi\n<there>",
            },
            {
                "created_at": "2024-01-01T11:00:00Z",
                "author_role": "agent",
                "body_html": "<p>Hello</p>",
                "author_email": "agent@example.com",
            },
            {
                "created_at": "2024-01-01T12:00:00Z",
                "author_role": "agent",
                "body_text": "memo",
                "private": True,
            },
        ],
    }
    base.update(overrides)
    return base


def plan(data: dict[str, Any], ctx: PlanContext | None = None) -> ConversationPlan:
    result = plan_conversation(data, ctx or context(), location="x.jsonl:1")
    assert isinstance(result, ConversationPlan), getattr(result, "findings", None)
    return result


def invalid(data: dict[str, Any], ctx: PlanContext | None = None) -> InvalidConversation:
    result = plan_conversation(data, ctx or context(), location="x.jsonl:1")
    assert isinstance(result, InvalidConversation)
    return result


def test_roles_and_privacy_map_to_thread_types() -> None:
    """Customer -> customer, public agent -> reply with the customer, private -> note."""
    threads = plan(record()).parts[0].payload["threads"]
    assert ["customer", "reply", "note"] == [t["type"] for t in threads]
    assert {"email": "ada@example.com"} == threads[1]["customer"]
    assert "customer" not in threads[2]
    assert all(t["imported"] is True for t in threads)


def test_a_customer_message_by_someone_else_keeps_its_author() -> None:
    """A colleague in copy writes: the thread's customer is that person, by email and name; the
    customer's own messages (any case) and messages without a usable address stay the
    conversation's customer."""
    data = record()
    data["messages"] = [
        {"created_at": "2024-01-01T10:00:00Z", "author_role": "customer", "body_text": "a",
         "author_email": "ADA@example.com"},
        {"created_at": "2024-01-01T10:01:00Z", "author_role": "customer", "body_text": "b",
         "author_email": "cc.person@example.com", "author_name": " CC  Person "},
        {"created_at": "2024-01-01T10:02:00Z", "author_role": "customer", "body_text": "c",
         "author_email": "not an address"},
    ]  # fmt: skip
    threads = plan(data).parts[0].payload["threads"]
    assert [
        {"email": "ada@example.com"},
        {"email": "cc.person@example.com", "firstName": "CC", "lastName": "Person"},
        {"email": "ada@example.com"},
    ] == [t["customer"] for t in threads]


def test_plain_text_is_escaped_with_line_breaks_kept() -> None:
    """body_text becomes HTML; body_html is kept as it is."""
    threads = plan(record()).parts[0].payload["threads"]
    assert "Hi<br>&lt;there&gt;" == threads[0]["text"]
    assert "<p>Hello</p>" == threads[1]["text"]


def test_history_is_closed_with_closed_at_by_default() -> None:
    """--status-policy closed: closed, closedAt = last message, imported, no auto reply."""
    payload = plan(record(status="open")).parts[0].payload
    assert ("closed", "2024-01-01T12:00:00Z") == (payload["status"], payload["closedAt"])
    assert (True, False) == (payload["imported"], payload["autoReply"])
    assert "2024-01-01T10:00:00Z" == payload["createdAt"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("open", "active"),
        ("hold", "active"),
        ("snoozed", "pending"),
        ("Solved", "closed"),
        ("archived", "closed"),
    ],
)
def test_source_status_policy_maps_status_words(status: str, expected: str) -> None:
    """--status-policy source follows the contract's open-, pending- and closed-like words."""
    payload = plan(record(status=status), context(status_policy="source")).parts[0].payload
    assert expected == payload["status"]
    assert ("closedAt" in payload) == (expected == "closed")


def test_source_closed_time_is_used_but_never_before_creation() -> None:
    """closedAt is the source's closed time, clamped to createdAt."""
    assert (
        "2024-02-01T00:00:00Z"
        == plan(record(closed_at="2024-02-01T00:00:00Z")).parts[0].payload["closedAt"]
    )
    result = plan(record(closed_at="2023-01-01T00:00:00Z"))
    assert "2024-01-01T10:00:00Z" == result.parts[0].payload["closedAt"]
    assert "closedAt" in [w.code for w in result.warnings]


@pytest.mark.parametrize(
    ("kind", "thread_type"), [("chat", "chat"), ("phone", "phone"), ("email", "customer")]
)
def test_customer_messages_follow_the_conversation_type(kind: str, thread_type: str) -> None:
    """In chat and phone conversations the customer's messages are chat and phone threads."""
    payload = plan(record(type=kind)).parts[0].payload
    assert kind == payload["type"]
    assert thread_type == payload["threads"][0]["type"]


def test_long_names_are_trimmed_with_a_warning() -> None:
    """A first name over 40 characters is cut, never sent to fail with a 400."""
    result = plan(
        record(customer={"email": "a@example.com", "first_name": "Bartholomew-Maximilian " * 3})
    )
    assert 40 >= len(result.parts[0].payload["customer"]["firstName"])
    assert "customer.firstName" in [w.code for w in result.warnings]


def test_empty_subject_is_derived_from_the_first_message() -> None:
    """The first line of the first message becomes the subject, with a warning."""
    result = plan(record(subject=""))
    assert "Hi" == result.parts[0].payload["subject"]
    assert "subject" in [w.code for w in result.warnings]


def test_system_messages_are_dropped_with_a_warning() -> None:
    """System events are not threads; the drop is a warning."""
    data = record()
    data["messages"].append(
        {"created_at": "2024-01-01T13:00:00Z", "author_role": "system", "body_text": "x"}
    )
    result = plan(data)
    assert 3 == result.threads
    assert "message.system" in [w.code for w in result.warnings]


def test_empty_message_is_left_out_as_an_error_entry() -> None:
    """A message without a body is left out; the conversation goes on."""
    data = record()
    data["messages"].append(
        {"created_at": "2024-01-01T13:00:00Z", "author_role": "agent", "body_text": "  "}
    )
    result = plan(data)
    assert 3 == result.threads
    assert ["message.body"] == [f.code for f in result.left_out]


def test_messages_are_sorted_by_time() -> None:
    """Threads go in time order whatever the source's order."""
    data = record()
    data["messages"].reverse()
    times = [t["createdAt"] for t in plan(data).parts[0].payload["threads"]]
    assert sorted(times) == times


def test_tags_are_merged_and_deduplicated() -> None:
    """--tag adds to every conversation; duplicates (any case) are dropped."""
    ctx = PlanContext(
        payload=PayloadContext(),
        read_attachment=lambda r: b"",
        max_request_bytes=262_144,
        extra_tags=("migrated", "VIP"),
        now=NOW,
    )
    assert ["vip", "billing", "migrated"] == plan(
        record(tags=["vip", "billing", "vip"]), ctx
    ).parts[0].payload["tags"]


def test_placeholder_policy_makes_a_stable_address() -> None:
    """--no-email-policy placeholder: <source>-<customer id>@<domain>."""
    data = record(source="Zendesk", customer={"id": "991", "phone": "+1 555 0100"})
    payload = plan(data, context(no_email_policy="placeholder")).parts[0].payload
    assert {"email": "zendesk-991@imported.invalid", "phone": "+1 555 0100"} == payload["customer"]


def test_create_policy_asks_for_the_customer_first() -> None:
    """--no-email-policy create: the customer is created once and referenced by id."""
    result = plan(record(customer={"id": "991", "first_name": "Bo", "phone": "+1 555 0100"}))
    assert {"id": PENDING_CUSTOMER_ID} == result.parts[0].payload["customer"]
    assert {
        "firstName": "Bo",
        "phones": [{"type": "work", "value": "+1 555 0100"}],
        "background": "Imported by importer; source customer id:991",
    } == result.customer_to_create
    assert "id:991" == result.customer_key


def test_source_id_field_and_known_custom_fields_are_sent() -> None:
    """Custom fields go by mailbox field id; the source id goes to --source-id-field."""
    ctx = context(mailbox_fields=fields_by_name([{"id": 4, "name": "plan"}]), source_id_field=9)
    payload = plan(record(custom_fields={"plan": "gold", "unknown": "x"}), ctx).parts[0].payload
    assert [{"id": 4, "value": "gold"}, {"id": 9, "value": "c1"}] == payload["fields"]


MAILBOX_FIELDS = fields_by_name(
    [
        {
            "id": 2,
            "name": "Priority",
            "type": "DROPDOWN",
            "options": [{"id": 21, "label": "Low"}, {"id": 23, "label": "High"}],
        },
        {"id": 3, "name": "Seats", "type": "number"},
        {"id": 5, "name": "Renewal", "type": "date"},
        {"id": 6, "name": "Note", "type": "single_line"},
    ]
)


@pytest.mark.parametrize(
    ("name", "value", "sent", "note"),
    [
        ("Priority", "high", "23", None),  # a dropdown takes the option's id, label any case
        ("priority", " High ", "23", None),  # field names case-insensitive too
        ("Priority", "21", "21", None),  # already an option id
        ("Priority", "Urgent", None, "is not an option of dropdown 'Priority' (high, low)"),
        ("Seats", "12", "12", None),
        ("Seats", "twelve", None, "is not a number"),
        ("Renewal", "2024-05-10", "2024-05-10", None),
        ("Renewal", "2024-05-10T22:00:00Z", "2024-05-10", None),
        ("Renewal", "soon", None, "is not a date"),
        ("Renewal", "2024-05-10T00:30:00+02:00", "2024-05-10", None),  # the day as written
        ("Renewal", "2024-13-45", None, "is not a date"),
        ("Renewal", "20240510", None, "is not a date"),  # not guessed as epoch seconds
        ("Renewal", "2024-05-10junk", None, "is not a date"),
        ("Note", "x" * 300, "x" * 255, "trimmed from 300 to 255 characters"),
    ],
)
def test_custom_field_values_take_the_form_of_their_field(
    name: str, value: str, sent: str | None, note: str | None
) -> None:
    """A value that cannot fit its field is left out with a warning, never sent to fail the
    conversation with a 400 (helpscout-api.md 5.5)."""
    result = plan(record(custom_fields={name: value}), context(mailbox_fields=MAILBOX_FIELDS))
    payload = result.parts[0].payload
    assert ([{"id": MAILBOX_FIELDS[name].id, "value": sent}] if sent else []) == payload.get(
        "fields", []
    )
    notes = [f.message for f in result.warnings if f.code == "custom_fields"]
    if note is None:
        assert [] == notes
    else:
        (only,) = notes
        assert note in only


def test_agents_are_authors_when_resolved() -> None:
    """A matched agent is the thread's user; unmatched ones fall back to --default-user."""
    ctx = context(
        resolve_user=lambda email, _id: 17 if email == "agent@example.com" else None, default_user=2
    )
    threads = plan(record(), ctx).parts[0].payload["threads"]
    assert [17, 2] == [threads[1]["user"], threads[2]["user"]]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (record(messages=[]), "threads"),
        (record(customer={"first_name": "Nobody"}), "customer"),
        (record(customer={"email": "not-an-address"}), "customer.email"),
        ({"customer": {"email": "a@example.com"}, "messages": []}, "source_id"),
        (
            record(
                messages=[
                    {"created_at": "2024-01-01T10:00:00Z", "author_role": "agent", "body_text": ""}
                ]
            ),
            "threads",
        ),
        (
            record(messages=[{"created_at": "soon", "author_role": "agent", "body_text": "x"}]),
            "messages[0].created_at",
        ),
        (
            record(
                messages=[
                    {"created_at": "2024-01-01T10:00:00Z", "author_role": "bot", "body_text": "x"}
                ]
            ),
            "messages[0].author_role",
        ),
        (record(type="fax"), "type"),
    ],
)
def test_unfixable_conversations_are_invalid_with_their_reason(
    data: dict[str, Any], code: str
) -> None:
    """Each unfixable problem makes the conversation invalid, naming the field."""
    assert code in [f.code for f in invalid(data).findings]


def test_invalid_conversation_lists_every_reason_at_once() -> None:
    """Bad email and bad time are reported together."""
    data = record(customer={"email": "bad"}, created_at="someday")
    assert {"customer.email", "created_at"} <= {f.code for f in invalid(data).findings}


def test_future_times_are_clamped_with_a_warning() -> None:
    """A time after now becomes now."""
    data = record()
    data["messages"][2]["created_at"] = "2030-01-01T00:00:00Z"
    result = plan(data)
    assert "2026-01-01T00:00:00Z" == result.parts[0].payload["threads"][2]["createdAt"]
    assert any("future" in w.message for w in result.warnings)


def test_inline_attachment_is_base64_and_counted() -> None:
    """A path attachment goes inline as base64 while it fits."""
    data = record()
    data["messages"][0]["attachments"] = [
        {"file_name": "a.txt", "content_type": "text/plain", "size": 10, "path": "/tmp/a.txt"}
    ]
    result = plan(data)
    assert [{"fileName": "a.txt", "mimeType": "text/plain", "data": "ZmlsZSBieXRlcw=="}] == (
        result.parts[0].payload["threads"][0]["attachments"]
    )
    assert 1 == result.attachments


def test_large_attachment_waits_for_upload_after_creation() -> None:
    """An attachment that would break the byte budget is deferred, not split over."""
    ctx = PlanContext(
        payload=PayloadContext(),
        read_attachment=lambda r: b"x" * 5000,
        max_request_bytes=4096,
        now=NOW,
    )
    data = record()
    data["messages"][0]["attachments"] = [
        {"file_name": "big.bin", "size": 5000, "path": "/tmp/big.bin"}
    ]
    result = plan(data, ctx)
    assert 1 == len(result.parts)
    assert "attachments" not in result.parts[0].payload["threads"][0]
    assert [(0, "big.bin")] == [(i, a.file_name) for i, a in result.parts[0].deferred]


@pytest.mark.parametrize("policy", ["inline", "upload"])
def test_bad_base64_is_left_out_under_every_policy(policy: str) -> None:
    """Inline data that is not base64 is found offline, whether it would go inline or later."""
    data = record()
    data["messages"][0]["attachments"] = [
        {"file_name": "a.txt", "content_type": "text/plain", "data_base64": "not base64!"},
        {"file_name": "b.txt", "content_type": "text/plain", "data_base64": "aGk="},
    ]
    result = plan(data, context(attachment_policy=policy))
    assert ["a.txt: cannot be read"] == [f.message.split(" (")[0] for f in result.left_out]
    assert 1 == result.attachments


def test_skipped_attachment_is_an_error_entry_and_a_linked_one_a_warning() -> None:
    """--attachments skip: left out, one error entry each (not a warning); link: a warning."""
    data = record()
    data["messages"][0]["attachments"] = [
        {"file_name": "a.txt", "content_type": "text/plain", "size": 10, "url": "https://x/a"}
    ]
    skipped = plan(data, context(attachment_policy="skip"))
    assert ["attachment.skipped"] == [f.code for f in skipped.left_out]
    assert "attachment.skipped" not in [f.code for f in skipped.warnings]
    assert "attachments" not in skipped.parts[0].payload["threads"][0]
    linked = plan(data, context(attachment_policy="link"))
    assert [] == linked.left_out
    assert "attachment.listed" in [f.code for f in linked.warnings]
    assert 'href="https://x/a"' in linked.parts[0].payload["threads"][0]["text"]


def test_placeholder_addresses_of_ids_that_differ_only_in_punctuation_stay_apart() -> None:
    """Ids made fit for an address carry a hash of the original, so they never merge."""
    context_ = context(no_email_policy="placeholder")
    emails = [
        plan(record(source="zd", customer={"id": who}), context_).parts[0].payload["customer"]
        for who in ("A.b", "a-B", "a-b")
    ]
    addresses = [e["email"] for e in emails]
    assert 3 == len(set(addresses))
    assert "zd-a-b@imported.invalid" == addresses[2]  # a clean id keeps the contract's form
    assert all(a.startswith("zd-a-b-") for a in addresses[:2])


def test_convert_output_gives_every_attachment_its_size_and_type() -> None:
    """convert: a base64 attachment without size or type gets both (from the bytes, the name)."""
    from importer.planning.records import canonical_output

    data = record()
    data["messages"][0]["attachments"] = [{"file_name": "note.txt", "data_base64": "aGk="}]
    out = canonical_output(data, UTC, "csv")
    assert {
        "file_name": "note.txt",
        "data_base64": "aGk=",
        "size": 2,
        "content_type": "text/plain",
    } == (out["messages"][0]["attachments"][0])
    assert "csv" == out["source"]
