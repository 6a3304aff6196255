"""The Zendesk reader: real sandbox records message by message, and each rule on small records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from importer.errors import MappingError
from importer.mappings import load_mapping, merge_tables
from importer.model import Conversation
from importer.readers import open_export
from importer.readers.common import id_text
from importer.readers.source import SourceRecord
from importer.readers.zendesk.build import (
    LocatedComment,
    build_conversation,
    comments_of,
    field_summary,
)
from importer.readers.zendesk.content import markdown_to_html
from importer.readers.zendesk.mapping import ZendeskMapping, zendesk_mapping
from importer.readers.zendesk.people import user_summary
from importer.readers.zendesk.roles import zendesk_role

REAL = Path(__file__).resolve().parent.parent / "data" / "real"
TICKETS_FILE = REAL / "zendesk_nango_incremental_tickets.json"
COMMENTS_FILE = REAL / "zendesk_nango_ticket_comments.json"

MAPPING = zendesk_mapping(load_mapping("zendesk"))
AGENT = 46406145565073  # the sandbox's admin: assignee of every real ticket


def _mapping(**tables: Any) -> ZendeskMapping:
    return zendesk_mapping(merge_tables(load_mapping("zendesk"), tables))


def _build(
    ticket: dict[str, Any],
    comments: list[dict[str, Any]] | None = None,
    users: list[dict[str, Any]] | None = None,
    fields: list[dict[str, Any]] | None = None,
    metrics: dict[str, Any] | None = None,
    mapping: ZendeskMapping = MAPPING,
) -> SourceRecord:
    by_id = {id_text(u["id"]): user_summary(u) for u in users or []}
    field_index = {summary["id"]: summary for summary in map(field_summary, fields or [])}
    located = [LocatedComment(f"comments.json:{n}", c) for n, c in enumerate(comments or [], 1)]
    return build_conversation(
        ticket,
        "tickets.json:1",
        located,
        users=by_id.get,
        fields=field_index,
        metrics=metrics,
        mapping=mapping,
    )


def _data(record: SourceRecord) -> dict[str, Any]:
    assert record.data is not None
    Conversation.model_validate(record.data)
    return record.data


def _ticket(**fields: Any) -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "id": 10,
        "subject": "Order help",
        "description": "My order is late",
        "status": "open",
        "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": "2024-03-01T09:00:00Z",
        "requester_id": 1,
        "submitter_id": 1,
        "assignee_id": 2,
        "tags": [],
    }
    ticket.update(fields)
    return ticket


def _comment(comment_id: int, author: int, at: str, text: str, **fields: Any) -> dict[str, Any]:
    comment: dict[str, Any] = {
        "id": comment_id,
        "type": "Comment",
        "author_id": author,
        "body": text,
        "html_body": f'<div class="zd-comment" dir="auto"><p>{text}</p></div>',
        "plain_body": text,
        "public": True,
        "attachments": [],
        "created_at": at,
    }
    comment.update(fields)
    return comment


USERS = [
    {"id": 1, "name": "Ada Lovelace", "email": "ada@example.com", "role": "end-user"},
    {"id": 2, "name": "Bob Agent", "email": "bob@help.example", "role": "agent"},
    {"id": 3, "name": "Cy Admin", "email": "cy@help.example", "role": "admin"},
]


# -- the real sandbox records ---------------------------------------------------------------


def _read(*inputs: Path, format_name: str | None = None) -> list[SourceRecord]:
    with open_export(list(inputs), format_name) as export:
        assert export.format == "zendesk"
        return list(export.records())


def _real_records() -> dict[str, SourceRecord]:
    """The real tickets page and the comment pages keyed by request path, no users file."""
    records = _read(TICKETS_FILE, COMMENTS_FILE)
    return {record.source_id or "": record for record in records}


def _div(text: str) -> str:
    return f'<div class="zd-comment" dir="auto">{text}</div>'


def _p(text: str) -> str:
    return _div(f'<p dir="auto">{text}</p>')


REAL_MESSAGES = {
    # ticket: [(author role, private, body_html, created_at)]
    "1": [
        (
            "customer",
            False,
            _div(
                "Hello, let's see how you or your agents can easily respond to and solve "
                "tickets.<br><br>Feel free to email additional customer test inquiries to "
                "<b>support@nango-1049.zendesk.com</b>.<br><br>But first, let's start by solving "
                "one ticket.<br><br>Your Zendesk Team"
            ),
            "2026-05-06T07:46:23Z",
        ),
        ("agent", False, _p("Test update from Nango action"), "2026-05-06T08:46:03Z"),
        ("agent", False, _p("Test update from Nango action"), "2026-05-06T08:46:36Z"),
        ("agent", False, _p("Test update from Nango action"), "2026-05-06T08:47:45Z"),
    ],
    "2": [("agent", False, _div("Reply to testticket to testUser<br>"), "2026-05-06T08:16:30Z")],
    "3": [
        (
            "agent",
            False,
            _p("This is a test ticket created via Nango action"),
            "2026-05-06T08:45:54Z",
        )
    ],
    "4": [
        (
            "agent",
            False,
            _p("This is a test ticket created via Nango action"),
            "2026-05-06T08:46:13Z",
        ),
        (
            "agent",
            True,
            _div("this is an internal note on a ticket<br>The ticket is not closed<br>"),
            "2026-05-06T09:09:04Z",
        ),
        (
            "agent",
            False,
            _div("Note that this is a Public reply to a ticket<br>"),
            "2026-05-06T09:09:29Z",
        ),
    ],
}


@pytest.mark.parametrize("ticket_id", sorted(REAL_MESSAGES))
def test_real_tickets_message_by_message(ticket_id: str) -> None:
    record = _real_records()[ticket_id]
    data = _data(record)
    got = [
        (m["author_role"], m["private"], m.get("body_html"), m["created_at"])
        for m in data["messages"]
    ]
    assert got == REAL_MESSAGES[ticket_id]
    assert record.warnings == []
    assert record.left_out == []
    assert len(record.message_locations) == len(got)
    assert all(where.startswith(f"{COMMENTS_FILE}:") for where in record.message_locations)


def test_real_tickets_conversation_fields() -> None:
    records = _real_records()
    assert list(records) == ["2", "3", "1", "4"]  # the page's order
    assert records["2"].location == f"{TICKETS_FILE}:3"
    first, second, fourth = (_data(records[i]) for i in ("1", "2", "4"))
    # the sample ticket: requester is Zendesk's sample customer, the first comment is theirs
    assert first["customer"] == {"id": "46406156914577"}
    assert first["subject"] == "SAMPLE: How does Zendesk work"
    assert first["type"] == "email"  # via sample_ticket
    assert first["tags"] == ["zendesk_accelerated_setup"]
    assert "closed_at" not in first
    # intelligent-triage tags and field values are noise; the agent's own tag stays
    assert second["tags"] == ["urgent"]
    assert second["custom_fields"] == {}
    assert second["assignee_id"] == str(AGENT)
    # solved: no metrics in the export, so the last message's time
    assert fourth["status"] == "solved"
    assert fourth["closed_at"] == "2026-05-06T09:09:29Z"


def test_real_description_never_doubles_the_first_comment() -> None:
    for record in _real_records().values():
        bodies = [m.get("body_html", "") for m in _data(record)["messages"]]
        assert not any("**" in body for body in bodies)
        assert all(body.startswith('<div class="zd-comment"') for body in bodies)


def test_real_files_roles_by_content() -> None:
    tickets = json.loads(TICKETS_FILE.read_text())["tickets"]
    pages = json.loads(COMMENTS_FILE.read_text())
    assert {zendesk_role(t, None) for t in tickets} == {"tickets"}
    assert {zendesk_role(t, "tickets") for t in tickets} == {"tickets"}
    comments = [c for page in pages.values() for c in page["comments"]]
    assert len(comments) == 9
    assert {zendesk_role(c, None) for c in comments} == {"comments"}


# -- authors ----------------------------------------------------------------------------------


def test_author_role_from_the_users_role() -> None:
    comments = [
        _comment(101, 1, "2024-03-01T09:00:00Z", "My order is late"),
        _comment(102, 2, "2024-03-01T10:00:00Z", "Looking into it"),
        _comment(103, 3, "2024-03-01T11:00:00Z", "Refunded"),
    ]
    data = _data(_build(_ticket(), comments, USERS))
    assert [(m["author_role"], m["author_email"], m["author_name"]) for m in data["messages"]] == [
        ("customer", "ada@example.com", "Ada Lovelace"),
        ("agent", "bob@help.example", "Bob Agent"),
        ("agent", "cy@help.example", "Cy Admin"),
    ]
    assert data["customer"] == {
        "id": "1",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    assert data["assignee_email"] == "bob@help.example"


def test_without_users_the_requester_is_the_customer_and_others_agents() -> None:
    ticket = _ticket(submitter_id=5, assignee_id=2, follower_ids=[6])
    comments = [
        _comment(101, 5, "2024-03-01T09:00:00Z", "My order is late"),  # submitter (agent)
        _comment(102, 1, "2024-03-01T10:00:00Z", "Any news?"),  # requester
        _comment(103, 2, "2024-03-01T11:00:00Z", "Shipped"),  # assignee
        _comment(104, 6, "2024-03-01T11:30:00Z", "Noted"),  # follower
        _comment(105, 9, "2024-03-01T12:00:00Z", "Hello"),  # nobody the ticket names
    ]
    record = _build(ticket, comments)
    roles = [m["author_role"] for m in _data(record)["messages"]]
    assert roles == ["agent", "customer", "agent", "agent", "agent"]
    assert [(w.code, w.source_id) for w in record.warnings] == [("author_role", "10")]
    assert "author 9 " in record.warnings[0].message


def test_requester_who_is_also_the_assignee_is_an_agent() -> None:
    ticket = _ticket(requester_id=2, submitter_id=2, assignee_id=2)
    comments = [_comment(101, 2, "2024-03-01T09:00:00Z", "My order is late")]
    assert _data(_build(ticket, comments))["messages"][0]["author_role"] == "agent"


def test_deleted_and_anonymised_users() -> None:
    users = [
        {"id": 1, "name": "Anonymous user", "email": None, "role": "end-user", "active": False},
        {"id": 2, "name": "Bob Agent", "email": "bob@help.example", "role": "agent"},
    ]
    comments = [
        _comment(101, 1, "2024-03-01T09:00:00Z", "My order is late"),
        _comment(102, 7, "2024-03-01T10:00:00Z", "Reply from a deleted agent"),
        _comment(103, -1, "2024-03-01T11:00:00Z", "Merged into #11"),
    ]
    record = _build(_ticket(), comments, users)
    data = _data(record)
    assert data["customer"] == {"id": "1", "first_name": "Anonymous", "last_name": "user"}
    messages = data["messages"]
    assert [m["author_role"] for m in messages] == ["customer", "agent", "system"]
    assert "author_email" not in messages[0]
    assert messages[1]["author_id"] == "7"
    assert "author_name" not in messages[1]
    assert [w.code for w in record.warnings] == ["author_role"]


def test_requester_with_only_a_phone() -> None:
    voicemail = _ticket(
        subject="Voicemail from: Caller +1 (555) 010-2030",
        description="Call from: +1 (555) 010-2030\\nTime of call: 2024-03-01 09:00",
        via={"channel": "voice", "source": {"from": {"phone": "+15550102030"}, "rel": "voicemail"}},
        requester_id=40,
        submitter_id=40,
    )
    data = _data(_build(voicemail))
    assert data["type"] == "phone"
    assert data["customer"] == {"id": "40", "phone": "+15550102030"}
    assert data["messages"][0]["body_html"] == (
        "<p>Call from: +1 (555) 010-2030<br>Time of call: 2024-03-01 09:00</p>"
    )
    users = [
        {"id": 40, "name": "Caller +1 (555) 010-2030", "phone": "+15550102030", "role": "end-user"}
    ]
    customer = _data(_build(voicemail, users=users))["customer"]
    assert customer["phone"] == "+15550102030"
    assert "email" not in customer


def test_without_users_the_customer_comes_from_the_email_sender() -> None:
    ticket = _ticket(
        via={
            "channel": "email",
            "source": {"from": {"address": "ada@example.com", "name": "Ada L"}},
        }
    )
    assert _data(_build(ticket))["customer"] == {
        "id": "1",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "L",
    }


# -- messages ---------------------------------------------------------------------------------


def test_private_comment_is_a_private_note_by_an_agent() -> None:
    comments = [
        _comment(101, 1, "2024-03-01T09:00:00Z", "My order is late"),
        _comment(102, 1, "2024-03-01T09:05:00Z", "Internal: check the warehouse", public=False),
    ]
    messages = _data(_build(_ticket(), comments))["messages"]
    assert [(m["author_role"], m["private"]) for m in messages] == [
        ("customer", False),
        ("agent", True),
    ]
    public_notes = _mapping(privacy={"private_when_not_public": False})
    messages = _data(_build(_ticket(), comments, mapping=public_notes))["messages"]
    assert messages[1]["private"] is False


def test_bodies_html_then_plain_then_markdown_rendered() -> None:
    html_comment = _comment(101, 1, "2024-03-01T09:00:00Z", "x")
    html_comment.update(html_body="<p>Hi <b>there</b></p>", body="Hi **there**")
    plain = {
        "id": 102,
        "author_id": 2,
        "created_at": "2024-03-01T10:00:00Z",
        "plain_body": "a < b & c",
        "body": "a < b & c",
    }
    markdown = {
        "id": 103,
        "author_id": 2,
        "created_at": "2024-03-01T11:00:00Z",
        "body": "Hi **Ada**,\n\nSee [the guide](https://help.example/g?a=1&b=2):\n\n- one\n- two",
    }
    empty = {"id": 104, "author_id": 2, "created_at": "2024-03-01T12:00:00Z", "body": ""}
    messages = _data(_build(_ticket(), [html_comment, plain, markdown, empty]))["messages"]
    assert messages[0]["body_html"] == "<p>Hi <b>there</b></p>"
    assert messages[1] == {**messages[1], "body_text": "a < b & c"}
    assert "body_html" not in messages[1]
    assert messages[2]["body_html"] == (
        "<p>Hi <strong>Ada</strong>,</p>"
        '<p>See <a href="https://help.example/g?a=1&amp;b=2">the guide</a>:</p>'
        "<ul><li>one</li><li>two</li></ul>"
    )
    assert messages[3]["body_text"] == ""  # no body: the validator reports it


def test_markdown_escapes_html_and_keeps_code() -> None:
    assert markdown_to_html("<script>x</script> *a* `**b**`\nnext") == (
        "<p>&lt;script&gt;x&lt;/script&gt; <em>a</em> <code>**b**</code><br>next</p>"
    )
    assert markdown_to_html("# Title") == "<p><strong>Title</strong></p>"
    assert markdown_to_html("1. one\n2. two") == "<ol><li>one</li><li>two</li></ol>"
    assert markdown_to_html("snake_case_name stays") == "<p>snake_case_name stays</p>"


def test_description_is_the_first_message_only_when_the_first_comment_is_missing() -> None:
    first = _comment(101, 1, "2024-03-01T09:00:00Z", "My order is late")
    later = _comment(102, 2, "2024-03-01T10:00:00Z", "Looking into it")
    # present: matched by time
    assert len(_data(_build(_ticket(), [first, later]))["messages"]) == 2
    # present: matched by text although its time drifted
    drifted = {**first, "created_at": "2024-03-01T09:02:00Z"}
    assert len(_data(_build(_ticket(), [drifted, later]))["messages"]) == 2
    # missing: an ETL dump of comment events that lacks the first one
    record = _build(_ticket(), [later], USERS)
    messages = _data(record)["messages"]
    assert [(m["author_role"], m["created_at"]) for m in messages] == [
        ("customer", "2024-03-01T09:00:00Z"),
        ("agent", "2024-03-01T10:00:00Z"),
    ]
    assert messages[0]["body_html"] == "<p>My order is late</p>"
    assert messages[0]["author_email"] == "ada@example.com"
    assert record.message_locations == ["tickets.json:1", "comments.json:1"]
    assert [w.code for w in record.warnings] == ["description"]
    # no comments at all (a tickets-only export): the description alone, no warning
    alone = _build(_ticket(description="Hi **there**"))
    assert [m["body_html"] for m in _data(alone)["messages"]] == [
        "<p>Hi <strong>there</strong></p>"
    ]
    assert alone.warnings == []


def test_ticket_without_any_message_is_still_read() -> None:
    record = _build(_ticket(description=None))
    assert record.data is not None
    assert record.data["messages"] == []
    assert record.source_id == "10"


def test_comment_listed_twice_is_read_once() -> None:
    first = _comment(101, 1, "2024-03-01T09:00:00Z", "My order is late")
    ticket = _ticket(comments=[first])
    record = _build(ticket, [first, _comment(102, 2, "2024-03-01T10:00:00Z", "On it")])
    assert [m["source_id"] for m in _data(record)["messages"]] == ["101", "102"]
    assert record.message_locations == ["tickets.json:1", "comments.json:2"]


def test_embedded_comments_null_lists_and_float_ids() -> None:
    ticket = _ticket(
        id=7253394974479.0,
        requester_id=1.0,
        assignee_id=None,
        tags=None,
        custom_fields=None,
        comments=[
            {
                "id": 101.0,
                "author_id": 1.0,
                "plain_body": "My order is late",
                "created_at": "2024-03-01T10:00:00+01:00",
                "attachments": None,
                "public": True,
            }
        ],
    )
    record = _build(ticket)
    data = _data(record)
    assert record.source_id == data["source_id"] == "7253394974479"
    assert data["customer"] == {"id": "1"}
    assert data["tags"] == []
    assert data["custom_fields"] == {}
    assert "assignee_id" not in data
    message = data["messages"][0]
    assert (message["source_id"], message["author_id"], message["author_role"]) == (
        "101",
        "1",
        "customer",
    )
    assert message["created_at"] == "2024-03-01T10:00:00+01:00"  # offsets kept as written
    assert id_text("7253.0") == "7253"
    assert id_text(True) is None


# -- conversation fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("voice", "phone"),
        ("chat", "chat"),
        ("native_messaging", "chat"),
        ("web", "email"),
        ("email", "email"),
        ("api", "email"),
        (None, "email"),
    ],
)
def test_channel_to_type(channel: str | None, expected: str) -> None:
    via = {"channel": channel} if channel else None
    assert _data(_build(_ticket(via=via)))["type"] == expected


def test_status_and_solved_time() -> None:
    comments = [
        _comment(101, 1, "2024-03-01T09:00:00Z", "My order is late"),
        _comment(102, 2, "2024-03-02T08:00:00+02:00", "Refunded"),  # 06:00 UTC
        _comment(103, 1, "2024-03-02T07:00:00Z", "Thanks"),  # later, though written earlier
    ]
    solved = _ticket(status="solved")
    assert _data(_build(solved, comments))["closed_at"] == "2024-03-02T07:00:00Z"
    with_metric_set = _ticket(status="closed", metric_set={"solved_at": "2024-03-03T00:00:00Z"})
    assert _data(_build(with_metric_set, comments))["closed_at"] == "2024-03-03T00:00:00Z"
    metrics = {"ticket_id": 10, "solved_at": "2024-03-04T00:00:00Z"}
    assert _data(_build(solved, comments, metrics=metrics))["closed_at"] == "2024-03-04T00:00:00Z"
    held = _data(_build(_ticket(status="hold"), comments, metrics=metrics))
    assert held["status"] == "hold"
    assert "closed_at" not in held
    remapped = _mapping(status={"hold": "pending"})
    assert _data(_build(_ticket(status="Hold"), comments, mapping=remapped))["status"] == "pending"


def test_tags_without_intelligent_triage_noise() -> None:
    tags = ["vip", "intent__order__status", "sentiment__negative", "language__en", "refund"]
    assert _data(_build(_ticket(tags=tags)))["tags"] == ["vip", "refund"]
    keep_all = _mapping(tags={"drop": []})
    assert _data(_build(_ticket(tags=tags), mapping=keep_all))["tags"] == tags


def test_custom_fields_by_ticket_field_titles() -> None:
    fields = [
        {"id": 501, "type": "text", "title": "Order number", "raw_title": "Order number"},
        {
            "id": 502,
            "type": "tagger",
            "title": "Product",
            "custom_field_options": [{"name": "Blue Widget", "value": "widget_blue"}],
        },
        {"id": 503, "type": "tagger", "title": "Intent"},
    ]
    ticket = _ticket(
        custom_fields=[
            {"id": 501, "value": "A-1042"},
            {"id": 502, "value": "widget_blue"},
            {"id": 503, "value": "intent__order__status"},
            {"id": 504, "value": "unlisted"},
            {"id": 505, "value": None},
        ]
    )
    assert _data(_build(ticket, fields=fields))["custom_fields"] == {
        "Order number": "A-1042",
        "Product": "Blue Widget",
        "Zendesk field 504": "unlisted",
    }
    renamed = _mapping(custom_fields={"names": {"504": "Region"}, "drop": ["order number"]})
    assert _data(_build(ticket, fields=fields, mapping=renamed))["custom_fields"] == {
        "Product": "Blue Widget",
        "Region": "unlisted",
    }


def test_attachments_as_urls_and_inline_images() -> None:
    comment = _comment(101, 1, "2024-03-01T09:00:00Z", "See the photos")
    comment["html_body"] = (
        '<div class="zd-comment"><p>See</p><img src="https://acme.zendesk.com/attachments/token/'
        'abc/?name=photo.png"><img src="https://acme.zendesk.com/attachments/token/def/?name='
        'screen%20shot.jpg"><img src="data:image/png;base64,iVBORw0K"></div>'
    )
    comment["attachments"] = [
        {
            "id": 1,
            "file_name": "invoice.pdf",
            "content_url": "https://acme.zendesk.com/attachments/token/xyz/?name=invoice.pdf",
            "content_type": "application/pdf",
            "size": 2048,
        },
        {
            "id": 2,
            "file_name": "photo.png",
            "content_url": "https://acme.zendesk.com/attachments/token/abc/?name=photo.png",
            "content_type": "image/png",
            "size": 512,
            "inline": True,
        },
        {"id": 3, "file_name": "gone.txt", "content_url": "https://x/y", "deleted": True},
    ]
    record = _build(_ticket(), [comment])
    message = _data(record)["messages"][0]
    assert message["body_html"].endswith("[image: inline-image-1.png]</div>")
    attachments = message["attachments"]
    assert attachments == [
        {
            "file_name": "invoice.pdf",
            "url": "https://acme.zendesk.com/attachments/token/xyz/?name=invoice.pdf",
            "content_type": "application/pdf",
            "size": 2048,
        },
        {
            "file_name": "photo.png",
            "url": "https://acme.zendesk.com/attachments/token/abc/?name=photo.png",
            "content_type": "image/png",
            "size": 512,
        },
        {
            "file_name": "screen shot.jpg",
            "url": "https://acme.zendesk.com/attachments/token/def/?name=screen%20shot.jpg",
        },
        {"file_name": "inline-image-1.png", "content_type": "image/png", "data_base64": "iVBORw0K"},
    ]
    assert [(f.stage, f.code) for f in record.left_out] == [("attachment", "deleted")]
    assert "gone.txt" in record.left_out[0].message


# -- comments of audits and ticket events, roles of records, the mapping ----------------------


def test_comments_of_audits_and_ticket_events() -> None:
    event = {
        "id": 900,
        "ticket_id": 10,
        "created_at": "2024-03-01T10:00:00Z",
        "updater_id": 2,
        "child_events": [
            {
                "id": 901,
                "event_type": "Comment",
                "body": "On it",
                "html_body": "<p>On it</p>",
                "public": True,
            },
            {"id": 902, "event_type": "Change", "field_name": "status", "value": "pending"},
        ],
    }
    audit = {
        "id": 800,
        "ticket_id": 10,
        "author_id": 1,
        "created_at": "2024-03-01T09:00:00Z",
        "events": [{"id": 801, "type": "Comment", "body": "Late order", "public": True}],
    }
    assert comments_of(event) == [
        {
            "id": 901,
            "event_type": "Comment",
            "body": "On it",
            "html_body": "<p>On it</p>",
            "public": True,
            "ticket_id": 10,
            "created_at": "2024-03-01T10:00:00Z",
            "author_id": 2,
        }
    ]
    assert comments_of(audit)[0]["author_id"] == 1
    assert comments_of(audit)[0]["ticket_id"] == 10
    plain = {"id": 1, "body": "x"}
    assert comments_of(plain) == [plain]
    assert zendesk_role(event, None) == "comments"
    assert zendesk_role(audit, "ticket_audits") == "comments"


@pytest.mark.parametrize(
    ("record", "stream", "role"),
    [
        ({"id": 1, "requester_id": 2, "subject": "x"}, None, "tickets"),
        ({"id": 1, "via": {"channel": "email"}, "subject": "x"}, None, "tickets"),
        ({"id": 1, "comments": []}, None, "tickets"),
        ({"id": 1, "subject": "x"}, "tickets", "tickets"),  # empty fields dropped by an ETL
        ({"id": 1, "author_id": 2, "body": "x", "public": True}, None, "comments"),
        ({"id": 1, "html_body": "<p>x</p>"}, None, "comments"),
        ({"id": 1, "name": "Ada", "role": "end-user"}, None, "users"),
        ({"id": 1, "name": "Ada", "email": "a@x.org"}, None, "users"),
        ({"id": 1, "iana_time_zone": "Europe/Paris", "locale": "fr"}, None, "users"),
        ({"id": 1, "title": "Order", "type": "text"}, None, "ticket_fields"),
        ({"id": 1, "custom_field_options": []}, None, "ticket_fields"),
        ({"id": 1, "ticket_id": 2, "solved_at": None, "reopens": 0}, None, "ticket_metrics"),
        ({"id": 1, "ticket_id": 2, "requester_id": 3, "score": "good"}, None, None),
        ({"id": 1, "name": "Support", "domain_names": []}, None, None),
        ({"id": 1, "name": "Brand", "subdomain": "acme"}, "brands", None),
    ],
)
def test_role_of_a_record(record: dict[str, Any], stream: str | None, role: str | None) -> None:
    assert zendesk_role(record, stream) == role


def test_mapping_errors_name_the_key() -> None:
    with pytest.raises(MappingError, match=r"channels\.fax: unknown key"):
        _mapping(channels={"fax": ["fax"]})
    with pytest.raises(MappingError, match="unknown status word"):
        _mapping(status={"hold": "waiting-ish"})
    with pytest.raises(MappingError, match=r"channels\.default"):
        _mapping(channels={"default": "sms"})
    with pytest.raises(MappingError, match=r"\{id\}"):
        _mapping(custom_fields={"unnamed": "field"})


# -- the reader: files in any order, any container --------------------------------------------


def _ndjson(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _two_tickets() -> list[dict[str, Any]]:
    return [_ticket(), _ticket(id=11, requester_id=4, description="Where is my refund?")]


def _comments_with_ticket_ids() -> list[dict[str, Any]]:
    return [
        {**_comment(102, 2, "2024-03-01T10:00:00Z", "Looking into it"), "ticket_id": 10},
        {**_comment(201, 4, "2024-03-01T09:00:00Z", "Where is my refund?"), "ticket_id": 11},
        {**_comment(101, 1, "2024-03-01T09:00:00Z", "My order is late"), "ticket_id": 10},
    ]


def test_comments_users_fields_and_metrics_in_their_own_files(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    # names that sort comments and users before tickets: roles come from content
    _ndjson(export / "a_comments.jsonl", _comments_with_ticket_ids())
    _ndjson(export / "b_users.jsonl", [*USERS, {"id": 4, "name": "Dee", "role": "end-user"}])
    (export / "c_fields.json").write_text(
        json.dumps({"ticket_fields": [{"id": 501, "type": "text", "title": "Order number"}]})
    )
    _ndjson(
        export / "d_metrics.jsonl",
        [{"id": 9, "ticket_id": 10, "solved_at": "2024-03-05T00:00:00Z", "reopens": 0}],
    )
    tickets = _two_tickets()
    tickets[0].update(status="solved", custom_fields=[{"id": 501, "value": "A-1"}])
    _ndjson(export / "z_tickets.jsonl", tickets)
    records = _read(export)
    assert [r.source_id for r in records] == ["10", "11"]
    first, second = (_data(r) for r in records)
    # oldest first, whatever the order of the lines
    assert [(m["source_id"], m["author_role"]) for m in first["messages"]] == [
        ("101", "customer"),
        ("102", "agent"),
    ]
    assert first["customer"]["email"] == "ada@example.com"
    assert first["custom_fields"] == {"Order number": "A-1"}
    assert first["closed_at"] == "2024-03-05T00:00:00Z"
    assert records[0].message_locations == [
        f"{export / 'a_comments.jsonl'}:3",
        f"{export / 'a_comments.jsonl'}:1",
    ]
    assert records[0].location == f"{export / 'z_tickets.jsonl'}:1"
    assert [m["author_name"] for m in second["messages"]] == ["Dee"]


def test_api_pages_with_sideloaded_users_and_comment_pages_by_request_path(tmp_path: Path) -> None:
    pages = tmp_path / "tickets.json"
    pages.write_text(
        json.dumps({"tickets": _two_tickets(), "users": USERS, "next_page": None, "count": 2})
    )
    comments = tmp_path / "comments.json"
    comments.write_text(
        json.dumps(
            {
                "/api/v2/tickets/10/comments.json": {
                    "comments": [_comment(101, 1, "2024-03-01T09:00:00Z", "My order is late")],
                    "next_page": None,
                },
                "/api/v2/tickets/11/comments.json?page=1": {
                    "comments": [_comment(201, 2, "2024-03-01T09:00:00Z", "Refund sent")]
                },
            }
        )
    )
    records = _read(comments, pages)
    first, second = (_data(r) for r in records)
    assert first["messages"][0]["author_email"] == "ada@example.com"
    assert [m["source_id"] for m in second["messages"]] == ["201"]


def test_airbyte_streams_interleaved_with_ticket_events(tmp_path: Path) -> None:
    def line(stream: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"stream": stream, "data": data, "emitted_at": 1700000000000}

    event = {
        "id": 900.0,
        "ticket_id": 10.0,
        "created_at": "2024-03-01T10:00:00Z",
        "updater_id": 2.0,
        "child_events": [
            {"id": 901.0, "event_type": "Comment", "body": "**Shipped** today", "public": True}
        ],
    }
    dump = _ndjson(
        tmp_path / "airbyte.jsonl",
        [
            line("ticket_comments", event),
            line("users", USERS[1]),
            line("tickets", {**_ticket(), "id": 10.0, "requester_id": 1.0}),
            line("satisfaction_ratings", {"id": 5, "ticket_id": 10, "score": "good"}),
            line("users", USERS[0]),
        ],
    )
    (record,) = _read(dump)
    data = _data(record)
    assert record.source_id == "10"
    assert [(m["author_role"], m.get("body_html")) for m in data["messages"]] == [
        ("customer", "<p>My order is late</p>"),  # the description: the dump lacks comment 1
        ("agent", "<p><strong>Shipped</strong> today</p>"),
    ]
    codes = [w.code for w in record.warnings]
    assert "unused_records" in codes
    assert "description" in codes


def test_a_ticket_listed_twice_is_read_once_in_its_latest_version(tmp_path: Path) -> None:
    older = {**_ticket(status="open"), "updated_at": "2024-03-01T09:00:00Z"}
    newer = {**_ticket(status="solved"), "updated_at": "2024-03-02T09:00:00Z"}
    other = _ticket(id=11)
    records = _read(_ndjson(tmp_path / "tickets.jsonl", [older, other, newer]))
    assert [r.source_id for r in records] == ["10", "11"]
    assert _data(records[0])["status"] == "solved"
    assert [w.code for w in records[0].warnings] == ["duplicate"]


def test_broken_lines_orphan_comments_and_odd_bytes(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    tickets = export / "tickets.jsonl"
    tickets.write_bytes(
        json.dumps(_ticket(subject="Caf\u00e9")).encode()[:-1]
        + b', "x": "caf\xe9"}\n{"id": 12, "requester_id": 1, "subject": \n'
    )
    _ndjson(
        export / "comments.jsonl",
        [
            {**_comment(101, 1, "2024-03-01T09:00:00Z", "My order is late"), "ticket_id": 10},
            {**_comment(301, 1, "2024-03-01T09:00:00Z", "Hello?"), "ticket_id": 99},
            _comment(401, 1, "2024-03-01T09:00:00Z", "No ticket named"),
        ],
    )
    records = _read(export, format_name="zendesk")
    broken, good, orphan = records
    assert broken.data is None
    assert broken.error is not None
    assert broken.error.code == "parse"
    assert broken.location == f"{tickets}:2"
    assert good.source_id == "10"
    assert _data(good)["subject"] == "Café"
    assert [w.code for w in good.warnings] == ["encoding"]
    assert orphan.data is None
    assert orphan.error is not None
    assert (orphan.source_id, orphan.error.code) == ("99", "ticket")
    no_ticket = [w for r in records for w in r.warnings if w.code == "ticket_id"]
    assert len(no_ticket) == 1
