"""A body's format is known, not guessed (issue 23): each reader knows which fields hold HTML and
which plain text, including what an extractor changed (tap-intercom's ``display_as=plaintext``
parts), and ``body_format`` in the mapping overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from importer.errors import MappingError
from importer.mappings import load_mapping
from importer.model import Conversation
from importer.readers import open_export
from importer.readers.front.conversation import conversation_record as front_record
from importer.readers.front.mapping import front_mapping
from importer.readers.gorgias.mapping import gorgias_mapping
from importer.readers.gorgias.ticket import ticket_record
from importer.readers.intercom.conversation import conversation_record
from importer.readers.intercom.mapping import intercom_mapping
from importer.readers.source import SourceRecord
from importer.readers.zendesk.content import comment_body, description_body
from importer.readers.zendesk.mapping import zendesk_mapping
from importer.transform.normalise import NormaliseContext, normalise

#: what a customer typed, as tap-intercom 2.2.5 writes it (``display_as=plaintext``): two
#: paragraphs, a line break, ``<``, ``&`` and a literal ``<b>``
TYPED = "Is 3 < 5 & 7 > 2?\n\nI typed <b>x</b> on purpose,\nnot bold.\n\nThanks & bye"
#: the same text in the HTML the importer sends: escaped, paragraphs and line breaks kept
TYPED_HTML = (
    "Is 3 &lt; 5 &amp; 7 &gt; 2?<br><br>I typed &lt;b&gt;x&lt;/b&gt; on purpose,<br>not bold."
    "<br><br>Thanks &amp; bye"
)
API_HTML = "<p>Is 3 &lt; 5 &amp; <b>bold</b>?</p><p>Second paragraph</p>"


def _sent_bodies(record: SourceRecord) -> list[str]:
    """Each message's body as the canonical stages turn it into the HTML sent to Help Scout."""
    assert record.error is None, record.error
    assert record.data is not None
    conversation = Conversation.model_validate(record.data)
    return [m.body_html for m in normalise(conversation, NormaliseContext()).messages]


# -- Intercom: tap-intercom's parts are plain text ---------------------------------------------


def _tap_conversation() -> dict[str, Any]:
    """A record of tap-intercom's ``conversations`` stream (``POST /conversations/search``,
    without ``display_as``: ``source.body`` is HTML; times made date-time by the tap)."""
    return {
        "type": "conversation",
        "id": "100",
        "created_at": "2024-03-01T09:00:00.000000Z",
        "updated_at": "2024-03-01T10:00:00.000000Z",
        "source": {
            "type": "conversation",
            "id": "900",
            "delivered_as": "customer_initiated",
            "subject": "",
            "body": "<p>My order is late</p>",
            "author": {
                "type": "user",
                "id": "u1",
                "name": "Ada Lovelace",
                "email": "ada@x.example",
            },
            "attachments": [],
            "redacted": False,
        },
        "contacts": [{"type": "contact", "id": "u1"}],
        "state": "closed",
        "open": False,
        "waiting_since": None,
        "snoozed_until": None,
        "statistics": {"count_conversation_parts": 2},
    }


def _tap_part(ident: str, body: str, at: str, author: dict[str, Any]) -> dict[str, Any]:
    """A record of tap-intercom's ``conversation_parts`` stream: ``GET /conversations/{id}``
    with ``display_as=plaintext``, denested by ``transform_conversation_parts``, which adds the
    conversation's id, total parts and times."""
    return {
        "type": "conversation_part",
        "id": ident,
        "part_type": "comment",
        "body": body,
        "created_at": at,
        "updated_at": at,
        "notified_at": at,
        "assigned_to": None,
        "author": author,
        "attachments": [],
        "external_id": None,
        "redacted": False,
        "conversation_id": "100",
        "conversation_total_parts": 2,
        "conversation_created_at": "2024-03-01T09:00:00.000000Z",
        "conversation_updated_at": "2024-03-01T10:00:00.000000Z",
    }


CUSTOMER = {"type": "user", "id": "u1", "name": "Ada Lovelace", "email": "ada@x.example"}
ADMIN = {"type": "admin", "id": "a1", "name": "Sam", "email": "sam@shop.example"}


def _tap_export(folder: Path) -> Path:
    """The tap's records as ``target-jsonl`` writes them, one file per stream."""
    folder.mkdir()
    conversations = folder / "conversations-20240301100000.jsonl"
    conversations.write_text(json.dumps(_tap_conversation()) + "\n", encoding="utf-8")
    parts = [
        _tap_part("1", TYPED, "2024-03-01T09:05:00.000000Z", CUSTOMER),
        _tap_part("2", "Refunded.\nSorry & thanks", "2024-03-01T09:30:00.000000Z", ADMIN),
    ]
    (folder / "conversation_parts-20240301100000.jsonl").write_text(
        "".join(json.dumps(part) + "\n" for part in parts), encoding="utf-8"
    )
    return folder


def _read_all(folder: Path, mapping_file: Path | None = None) -> list[SourceRecord]:
    with open_export([folder], mapping_file=mapping_file) as export:
        assert export.format == "intercom"
        return list(export.records())


def test_a_tap_intercom_part_arrives_as_the_text_typed(tmp_path: Path) -> None:
    (record,) = _read_all(_tap_export(tmp_path / "export"))
    assert record.data is not None
    source, typed, reply = record.data["messages"]
    assert "<p>My order is late</p>" == source["body_html"]  # source.body stays HTML
    assert (TYPED, None) == (typed.get("body_text"), typed.get("body_html"))
    assert "Refunded.\nSorry & thanks" == reply["body_text"]
    assert ["<p>My order is late</p>", TYPED_HTML, "Refunded.<br>Sorry &amp; thanks"] == (
        _sent_bodies(record)
    )


def test_an_api_html_part_is_unchanged() -> None:
    conversation = {
        **_tap_conversation(),
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": [
                {
                    "type": "conversation_part",
                    "id": "1",
                    "part_type": "comment",
                    "body": API_HTML,
                    "created_at": 1709283900,
                    "author": ADMIN,
                    "attachments": [],
                }
            ],
            "total_count": 1,
        },
    }
    record = conversation_record(
        conversation, "c.json:1", intercom_mapping(load_mapping("intercom"))
    )
    assert record.data is not None
    assert API_HTML == record.data["messages"][1]["body_html"]
    assert API_HTML == _sent_bodies(record)[1]


def _with_format(fmt: str) -> Any:
    return intercom_mapping({**load_mapping("intercom"), "body_format": fmt})


def test_body_format_html_and_text_override_intercom() -> None:
    part = _tap_part("1", "<i>kept as HTML</i>", "2024-03-01T09:05:00.000000Z", CUSTOMER)
    conversation = _tap_conversation()
    as_html = conversation_record(
        conversation, "c:1", _with_format("html"), separate_parts=[(part, "p:1")]
    )
    assert as_html.data is not None
    assert "<i>kept as HTML</i>" == as_html.data["messages"][1]["body_html"]
    as_text = conversation_record(
        conversation, "c:1", _with_format("text"), separate_parts=[(part, "p:1")]
    )
    assert as_text.data is not None
    assert ["<p>My order is late</p>", "<i>kept as HTML</i>"] == [
        m["body_text"] for m in as_text.data["messages"]
    ]


def test_body_format_is_read_from_a_mapping_file(tmp_path: Path) -> None:
    mapping_file = tmp_path / "m.toml"
    mapping_file.write_text('body_format = "html"\n', encoding="utf-8")
    (record,) = _read_all(_tap_export(tmp_path / "export"), mapping_file)
    assert record.data is not None
    assert TYPED == record.data["messages"][1]["body_html"]


@pytest.mark.parametrize(
    "check",
    [
        lambda fmt: intercom_mapping({**load_mapping("intercom"), "body_format": fmt}),
        lambda fmt: front_mapping({**load_mapping("front"), "body_format": fmt}),
        lambda fmt: gorgias_mapping({**load_mapping("gorgias"), "body_format": fmt}),
        lambda fmt: zendesk_mapping({**load_mapping("zendesk"), "body_format": fmt}),
    ],
)
def test_a_wrong_body_format_is_refused(check: Any) -> None:
    with pytest.raises(MappingError, match="body_format"):
        check("markdown")


# -- the other readers: each field is what the platform writes ---------------------------------


FRONT_API = "https://x.api.frontapp.com"


def _front_message(ident: str, at: float, body: str, text: str) -> dict[str, Any]:
    """An inbound Front message with both bodies (``_links`` join it to ``cnv_1``)."""
    link = {"conversation": f"{FRONT_API}/conversations/cnv_1"}
    sender = {"handle": "ada@example.com", "role": "from"}
    fields = {"id": ident, "created_at": at, "body": body, "text": text, "recipients": [sender]}
    return {"_links": {"related": link}, "type": "email", "is_inbound": True, **fields}


def test_front_text_and_comments_are_text_and_body_format_picks_the_field() -> None:
    conversation = {"id": "cnv_1", "subject": "Late", "status": "archived"}
    messages = [
        (_front_message("msg_1", 1700000000.0, "", TYPED), "m:1"),
        (_front_message("msg_2", 1700000100.0, "<div>Hi</div>", "Hi <there>"), "m:2"),
    ]
    comment = {
        "id": "com_1",
        "author": {"id": "tea_1"},
        "body": "a <b>typed</b> note",
        "posted_at": 1700000200.0,
    }
    auto = front_record(
        conversation,
        "c:1",
        front_mapping(load_mapping("front")),
        messages=messages,
        comments=[(comment, "k:1")],
    )
    assert auto.data is not None
    assert [
        ("body_text", TYPED),
        ("body_html", "<div>Hi</div>"),
        ("body_text", "a <b>typed</b> note"),
    ] == [
        next((k, m[k]) for k in ("body_html", "body_text") if k in m) for m in auto.data["messages"]
    ]
    as_text = front_record(
        conversation,
        "c:1",
        front_mapping({**load_mapping("front"), "body_format": "text"}),
        messages=messages,
    )
    assert as_text.data is not None
    assert [TYPED, "Hi <there>"] == [m["body_text"] for m in as_text.data["messages"]]


def test_gorgias_body_format_text_prefers_body_text() -> None:
    message = {
        "id": 1,
        "uri": "/api/tickets/7/messages/1/",
        "ticket_id": 7,
        "public": True,
        "channel": "email",
        "from_agent": False,
        "sender": {"id": 1, "email": "ada@example.com", "name": "Ada"},
        "body_text": TYPED,
        "body_html": "<div>Is 3 &lt; 5?</div>",
        "attachments": None,
        "created_datetime": "2024-11-14T13:56:16.494726+00:00",
    }
    ticket = {
        "id": 7,
        "uri": "/api/tickets/7/",
        "status": "closed",
        "customer": {"id": 1, "email": "ada@example.com"},
        "created_datetime": "2024-11-14T13:56:16.494726+00:00",
        "messages": [message],
    }
    auto = ticket_record(ticket, "t:1", gorgias_mapping(load_mapping("gorgias")))
    as_text = ticket_record(
        ticket, "t:1", gorgias_mapping({**load_mapping("gorgias"), "body_format": "text"})
    )
    assert auto.data is not None
    assert as_text.data is not None
    assert "<div>Is 3 &lt; 5?</div>" == auto.data["messages"][0]["body_html"]
    assert TYPED == as_text.data["messages"][0]["body_text"]
    assert [TYPED_HTML] == _sent_bodies(as_text)


def test_zendesk_body_format_text_prefers_plain_body_and_leaves_markdown_unrendered() -> None:
    comment = {
        "html_body": "<div><b>bold</b></div>",
        "plain_body": "bold & more",
        "body": "**bold**",
    }
    assert ("<div><b>bold</b></div>", None) == comment_body(comment)
    assert (None, "bold & more") == comment_body(comment, "text")
    assert (None, "**bold** & <i>") == comment_body({"body": "**bold** & <i>"}, "text")
    assert ("<div>x</div>", None) == comment_body({"html_body": "<div>x</div>"}, "text")
    assert {"body_html": "<p><strong>hi</strong></p>"} == description_body("**hi**")
    assert {"body_text": "line 1\nline 2"} == description_body("line 1\\nline 2", "text")


def _freshdesk_export(folder: Path) -> Path:
    folder.mkdir()
    ticket = {
        "id": 22,
        "subject": "Late",
        "status": 2,
        "source": 1,
        "requester_id": 5,
        "created_at": "2022-11-16T16:03:17Z",
        "description": "<div>Is 3 &lt; 5?</div>",
        "description_text": TYPED,
        "tags": [],
        "custom_fields": {},
        "fr_due_by": "2022-11-17T16:03:17Z",
        "requester": {"id": 5, "name": "Ada", "email": "ada@example.com"},
    }
    (folder / "tickets.json").write_text(json.dumps([ticket]), encoding="utf-8")
    return folder


def test_freshdesk_body_format_text_prefers_the_text_field(tmp_path: Path) -> None:
    folder = _freshdesk_export(tmp_path / "export")
    with open_export([folder]) as export:
        (auto,) = list(export.records())
    mapping_file = tmp_path / "m.toml"
    mapping_file.write_text('body_format = "text"\n', encoding="utf-8")
    with open_export([folder], mapping_file=mapping_file) as export:
        (as_text,) = list(export.records())
    assert auto.data is not None
    assert as_text.data is not None
    assert "<div>Is 3 &lt; 5?</div>" == auto.data["messages"][0]["body_html"]
    assert TYPED == as_text.data["messages"][0]["body_text"]
    assert "body_html" not in as_text.data["messages"][0]
