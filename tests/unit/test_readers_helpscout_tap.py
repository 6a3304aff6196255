"""Issue 22: what the Singer tap tap-helpscout 1.2.2 writes, read as written.

The records are made from Help Scout API objects by :mod:`tests.helpscout_tap`, as the tap makes
them (its transform, its schemas, singer-python's date-times); the API-shaped sample
(samples/helpscout) is converted both ways and must give the same canonical conversations.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.errors import FormatError
from importer.readers import READERS, open_export
from importer.readers.helpscout.reader import READER, helpscout_role
from importer.readers.signs import other_platform
from importer.readers.source import FormatInfo, SourceRecord
from tests.helpscout_tap import singer_lines, tap_record, tap_streams, target_jsonl

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "helpscout" / "export"
ATTACHMENT_URL = "https://api.helpscout.net/v2/conversations/2000032/attachments/9001/data"
USER = {
    "id": 2,
    "firstName": "Priya",
    "lastName": "",
    "email": "priya@northwind.example",
    "role": "user",
    "timezone": "Europe/London",
    "photoUrl": "https://d33v4339jhl8k0.cloudfront.net/users/2.jpg",
    "createdAt": "2020-01-01T00:00:00Z",
    "updatedAt": "2021-06-01T08:30:00Z",
    "type": "user",
    "mention": "priya",
    "initials": "P",
    "_links": {"self": {"href": "https://api.helpscout.net/v2/users/2"}},
}
CUSTOMER = {
    "id": 3000006,
    "firstName": "Bartholomew-Maximilian",
    "lastName": "Featherstonehaugh-Cholmondeley-Wolfeschl",
    "gender": "unknown",
    "photoType": "gravatar",
    "photoUrl": "https://example.invalid/bart.png",
    "createdAt": "2023-11-17T10:00:00Z",
    "updatedAt": "2023-11-17T10:00:00Z",
    "background": "",
    "_embedded": {
        "emails": [{"id": 1, "value": "bart@example.co.uk", "type": "work"}],
        "phones": [{"id": 2, "value": "+44 20 7946 0000", "type": "work"}],
        "chats": [],
        "social_profiles": [],
        "websites": [],
        "address": {},
        "properties": [],
    },
    "_links": {"self": {"href": "https://api.helpscout.net/v2/customers/3000006"}},
}


def _api_conversations() -> list[dict[str, Any]]:
    """The sample's conversations (one of 100 threads, types customer, message, note, lineitem,
    chat, phone), the first with an attachment on its reply."""
    page = json.loads((SAMPLE / "conversations-page-1.json").read_text(encoding="utf-8"))
    conversations: list[dict[str, Any]] = page["_embedded"]["conversations"]
    reply = conversations[0]["_embedded"]["threads"][0]
    assert (conversations[0]["id"], reply["type"]) == (2000032, "message")
    reply["_embedded"]["attachments"] = [
        {
            "id": 9001,
            "filename": "receipt.pdf",
            "mimeType": "application/pdf",
            "size": 2048,
            "width": 0,
            "height": 0,
            "_links": {
                "data": {"href": ATTACHMENT_URL},
                "web": {"href": "https://secure.helpscout.net/file/9001/receipt.pdf"},
            },
        }
    ]
    return conversations


def _tap_records() -> list[tuple[str, dict[str, Any]]]:
    return list(tap_streams(_api_conversations(), [CUSTOMER], [USER]))


def _convert(tmp_path: Path, name: str, *args: str) -> list[dict[str, Any]]:
    out = tmp_path / f"{name}.jsonl"
    result = CliRunner().invoke(cli, ["convert", *args, "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _api_shaped(tmp_path: Path) -> list[dict[str, Any]]:
    page = tmp_path / "api" / "conversations-page-1.json"
    page.parent.mkdir()
    page.write_text(json.dumps({"_embedded": {"conversations": _api_conversations()}}))
    return _convert(tmp_path, "api", str(page.parent))


def _tap_export(tmp_path: Path, shape: str) -> Path:
    records = _tap_records()
    if shape == "singer":
        out = tmp_path / "tap" / "out.singer"
        out.parent.mkdir()
        out.write_text(singer_lines(records), encoding="utf-8")
        return out
    target_jsonl(records, tmp_path / "tap")
    return tmp_path / "tap"


def test_the_records_are_the_taps_shape() -> None:
    """What the helper writes is what the issue saw the tap write."""
    records = _tap_records()
    streams = [stream for stream, _ in records]
    assert streams.index("conversation_threads") == streams.count("conversations")
    conversation = records[0][1]
    assert {"primary_customer", "mailbox_id", "created_by", "user_updated_at"} <= set(conversation)
    assert conversation["threads"] == 3
    assert "_embedded" not in conversation
    assert conversation["created_at"] == "2023-11-17T10:00:00.000000Z"
    thread = next(r for s, r in records if s == "conversation_threads" and r.get("attachments"))
    assert thread["conversation_id"] == 2000032
    assert thread["attachments"] == [
        {"id": 9001, "filename": "receipt.pdf", "mime_type": "application/pdf", "size": 2048,
         "width": 0, "height": 0}
    ]  # fmt: skip


@pytest.mark.parametrize("shape", ["singer", "target-jsonl"])
@pytest.mark.parametrize("given", [["--format", "helpscout"], []])
def test_tap_output_converts_as_the_api_shape_does(
    shape: str, given: list[str], tmp_path: Path
) -> None:
    """Every conversation, every thread once, oldest first, with its author, time and type, as
    the same conversations dumped in the API's shape give them; the attachment at its API
    address; the users file not taken for Intercom's."""
    expected = _api_shaped(tmp_path)
    found = _convert(tmp_path, "tap", str(_tap_export(tmp_path, shape)), *given)
    assert len(found) == len(expected) == 32
    assert sorted(found, key=lambda c: c["source_id"]) == sorted(
        expected, key=lambda c: c["source_id"]
    )
    by_id = {c["source_id"]: c for c in found}
    longest = max(found, key=lambda c: len(c["messages"]))
    assert len(longest["messages"]) == 100  # a split-size conversation, every thread once
    times = [m["created_at"] for m in longest["messages"]]
    assert times == sorted(times)
    first = by_id["2000032"]  # customer, lineitem (an event, left out), reply with a file
    assert [(m["author_role"], m["created_at"]) for m in first["messages"]] == [
        ("customer", "2023-11-17T10:00:00Z"),
        ("agent", "2023-11-17T12:15:00Z"),
    ]
    reply = first["messages"][1]
    assert reply["author_email"] == "priya@northwind.example"
    assert reply["attachments"][0]["url"] == ATTACHMENT_URL
    assert {m.get("private") for c in found for m in c["messages"]} == {True, False}


def _read(*paths: Path, format_name: str | None = "helpscout") -> list[SourceRecord]:
    with open_export(list(paths), format_name) as export:
        return list(export.records())


def test_each_message_is_placed_at_its_thread_record(tmp_path: Path) -> None:
    export = _tap_export(tmp_path, "singer")
    [record, *_] = _read(export)
    lines = export.read_text(encoding="utf-8").splitlines()
    assert record.source_id == "2000032"
    for where in record.message_locations:
        line = json.loads(lines[int(where.rsplit(":", 1)[1]) - 1])
        assert line["stream"] == "conversation_threads"


def test_a_later_sync_of_the_same_conversation_is_read_once(tmp_path: Path) -> None:
    """Two target-jsonl runs: the conversation and its threads twice; each thread read once,
    from the newer copy, and the conversation once with a warning."""
    api = _api_conversations()[:1]
    target_jsonl(tap_streams(copy.deepcopy(api)), tmp_path / "run1")
    api[0]["userUpdatedAt"] = "2026-12-02T08:00:00Z"
    api[0]["_embedded"]["threads"][0]["body"] = "<p>edited</p>"
    newest = copy.deepcopy(api[0]["_embedded"]["threads"][0])
    newest.update(id=5000399, createdAt="2026-12-02T08:00:00Z", body="<p>Any news?</p>")
    newest["type"] = "customer"
    api[0]["_embedded"]["threads"].insert(0, newest)
    api[0]["threads"] = 4
    target_jsonl(tap_streams(api), tmp_path / "run2")
    [record] = _read(tmp_path)
    assert record.data is not None
    bodies = [m.get("body_html") or m.get("body_text") for m in record.data["messages"]]
    assert bodies[1:] == ["<p>edited</p>", "<p>Any news?</p>"]
    assert [w.code for w in record.warnings].count("duplicate") == 1


def test_threads_without_their_conversation_and_the_reverse(tmp_path: Path) -> None:
    records = list(tap_streams(_api_conversations()[:2]))
    dump = tmp_path / "out.singer"
    kept = [r for r in records if not (r[0] == "conversations" and r[1]["id"] == 2000031)]
    kept = [r for r in kept if r[1].get("conversation_id") != 2000032]
    dump.write_text(singer_lines(kept), encoding="utf-8")
    found = {r.source_id: r for r in _read(dump)}
    missing = found["2000032"].error
    assert missing is not None
    assert "'conversation_threads'" in missing.message
    assert "3 thread(s)" in missing.message
    orphans = found["2000031"].error
    assert orphans is not None
    assert "conversation 2000031" in orphans.message
    assert "add the conversations file" in orphans.message


def test_the_taps_people_are_help_scouts_and_no_one_elses() -> None:
    user = tap_record("users", USER)
    customer = tap_record("customers", CUSTOMER)
    thread = tap_record("conversation_threads", _api_conversations()[0]["_embedded"]["threads"][1])
    thread["conversation_id"] = 2000032
    for record in (user, customer, thread):
        assert READER.owns(record, None)
        for reader in READERS:
            if reader.info.name != "helpscout":
                assert reader.role_of(record, None) is None, reader.info.name
    assert helpscout_role(thread, None) == "conversation_threads"
    assert helpscout_role(user, "users") is None  # known, and passed over with a warning


def test_a_users_file_with_format_helpscout_is_not_refused(tmp_path: Path) -> None:
    files = target_jsonl(_tap_records(), tmp_path)
    users = next(path for path in files if path.name.startswith("users-"))
    [record] = _read(users)
    assert record.error is not None
    assert record.error.code == "no_conversations"
    assert "looks like" not in record.error.message
    assert [w.code for w in record.warnings] == ["unused_records"]


# -- messages that are true ---------------------------------------------------------------------


def test_every_built_in_format_has_the_label_its_platform_spells() -> None:
    labels = {name: READERS.infos()[name].label for name in READERS.names}
    assert {k: v for k, v in labels.items() if k != "nodesk"} == {
        "canonical": "canonical", "csv": "CSV", "zendesk": "Zendesk", "freshdesk": "Freshdesk",
        "intercom": "Intercom", "front": "Front", "gorgias": "Gorgias", "mail": "mail",
        "helpscout": "Help Scout",
    }  # fmt: skip
    assert FormatInfo("nodesk", "NoDesk JSON", "tickets", True).label == "Nodesk"


def test_no_conversations_says_what_is_missing_with_the_platforms_name(tmp_path: Path) -> None:
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"page": {"number": 1, "totalPages": 1}, "_embedded": {}}))
    with pytest.raises(FormatError) as raised:
        _read(page)
    message = str(raised.value)
    assert "the export holds no Help Scout conversations (no record read is one)" in message
    assert "Helpscout" not in message
    assert "(only conversations)" not in message


def test_a_stream_passed_over_is_warned_of_once(tmp_path: Path) -> None:
    """A file given alone with --format whose stream no reader reads: one warning, from the
    reader that read the file (the export warned of it too, before)."""
    workflow = {"id": 7, "mailbox_id": 85, "type": "manual", "status": "active", "name": "VIP"}
    dump = tmp_path / "workflows.singer"
    dump.write_text(json.dumps({"type": "RECORD", "stream": "workflows", "record": workflow}))
    [record] = _read(dump)
    assert record.error is not None
    assert record.error.code == "no_conversations"
    messages = [w.message for w in record.warnings]
    assert len(messages) == 1, messages
    assert messages[0].startswith("records of stream 'workflows' are not read")


#: one record of each of the tap's other streams, keys as its schemas list them
TAP_OTHER_RECORDS = {
    "mailboxes": {"id": 85, "name": "Support", "slug": "8d2a1c", "email": "support@example.com",
                  "created_at": "2019-03-02T10:00:02.000000Z",
                  "updated_at": "2019-03-02T10:00:02.000000Z"},
    "mailbox_folders": {"id": 2, "mailbox_id": 85, "name": "Unassigned", "type": "open",
                        "user_id": 0, "total_count": 1, "active_count": 1,
                        "updated_at": "2019-03-02T10:00:02.000000Z"},
    "mailbox_fields": {"id": 3, "mailbox_id": 85, "name": "Plan", "type": "dropdown",
                       "order": 1, "required": False, "options": []},
    "workflows": {"id": 4, "mailbox_id": 85, "type": "automatic", "status": "active",
                  "order": 1, "name": "Tag refunds",
                  "created_at": "2019-03-02T10:00:02.000000Z",
                  "modified_at": "2019-03-02T10:00:02.000000Z"},
    "teams": {"id": 5, "name": "Billing", "initials": "B", "mention": "billing",
              "photo_url": None, "timezone": "UTC", "created_at": "2019-03-02T10:00:02.000000Z",
              "updated_at": "2019-03-02T10:00:02.000000Z"},
    "team_members": {"team_id": 5, "user_id": 7},
    "happiness_ratings_report": {"conversation_id": 1, "thread_id": 2, "type": "email",
                                 "rating_id": 9, "rating_customer_id": 3,
                                 "rating_customer_name": "Ann", "rating_comments": "",
                                 "rating_created_at": "2019-03-02T10:00:02Z",
                                 "rating_user_id": 7, "rating_user_name": "Priya",
                                 "thread_created_at": "2019-03-02T10:00:02Z"},
}  # fmt: skip


@pytest.mark.parametrize("stream", sorted(TAP_OTHER_RECORDS))
def test_the_taps_other_streams_are_no_other_platforms(stream: str) -> None:
    assert "helpscout" == other_platform(TAP_OTHER_RECORDS[stream], None)


@pytest.mark.parametrize("format_given", [True, False])
def test_every_stream_of_the_tap_in_target_jsonl_files_is_read_as_help_scout(
    tmp_path: Path, format_given: bool
) -> None:
    """A user who selects every stream of the tap: the files of the streams the reader does not
    use are passed over, never taken for Zendesk's (a mailbox looks like a person)."""
    conversations = _api_conversations()
    target_jsonl(tap_streams(conversations), tmp_path)
    for stream, record in TAP_OTHER_RECORDS.items():
        (tmp_path / f"{stream}-20240301T120000.jsonl").write_text(json.dumps(record) + "\n")
    with open_export([tmp_path], "helpscout" if format_given else None) as export:
        assert "helpscout" == export.format
        records = list(export.records())
    assert len(conversations) == len(records)
    assert all(record.error is None for record in records)
