"""The reader registry: formats listed once, roles recognised by content, unused streams warned.

Two small fake platforms stand in for real readers, so these tests say what the registry and
detection do whatever the platform readers of the day recognise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from importer.errors import FormatError
from importer.readers import base, open_export
from importer.readers.base import (
    ENTRY_POINT_GROUP,
    FORMAT_NAMES,
    READERS,
    Reader,
    ReaderRegistry,
    RoleFile,
    RoutedItems,
)
from importer.readers.canonical.reader import READER as CANONICAL
from importer.readers.csv.reader import READER as CSV
from importer.readers.source import FormatInfo, SourceRecord
from importer.readers.staging import StagingStore

REAL = Path(__file__).resolve().parent.parent / "data" / "real"


class _Desk(Reader):
    """A fake platform: tickets, and messages joined on ``ticket_id``; ``conversations`` is
    the stream name of its messages, as in Freshdesk (the other fake's tickets, as Intercom)."""

    roles = ("tickets", "messages", "people")

    def __init__(self, name: str, ticket_key: str, message_key: str) -> None:
        self.info = FormatInfo(name, f"{name} export", "tickets, messages", True)
        self.ticket_key = ticket_key
        self.message_key = message_key

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        if self.ticket_key in record:
            return "tickets"
        if self.message_key in record:
            return "messages"
        if {"email", "name"} <= record.keys():  # both fakes claim people
            return "people"
        return None

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        routed = RoutedItems(self, files)
        with StagingStore(workdir) as store:
            for role, item in routed:
                assert item.data is not None
                key = item.data.get("ticket_id", item.data.get("id"))
                store.put(role, str(key), item.location, record=item.data)
            pending = routed.take_warnings()
            for ticket in store.of_kind("tickets"):
                messages = [m.record for m in store.by_key("messages", ticket.key)]
                record = SourceRecord(ticket.location, {"messages": messages}, ticket.key)
                record.warnings[:0], pending = pending, []
                yield record


ALPHA = _Desk("alphadesk", "alpha_ticket", "parts")
BETA = _Desk("betadesk", "beta_ticket", "incoming")


@pytest.fixture
def fake_platforms(monkeypatch: pytest.MonkeyPatch) -> None:
    readers: dict[str, Reader] = {"canonical": CANONICAL, "csv": CSV}
    readers.update({ALPHA.info.name: ALPHA, BETA.info.name: BETA})
    monkeypatch.setattr(READERS, "_readers", readers)


def _airbyte(path: Path, records: list[tuple[str, dict[str, Any]]]) -> Path:
    lines = [{"stream": s, "data": d, "emitted_at": 1700000000000} for s, d in records]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_every_format_is_registered_once_in_detection_order() -> None:
    assert tuple(FORMAT_NAMES) == READERS.names
    assert ("canonical", "csv", "zendesk", "freshdesk", "intercom") == READERS.names[:5]
    assert {"front", "gorgias", "mail", "helpscout"} <= set(FORMAT_NAMES)
    infos = READERS.infos()
    assert list(infos) == list(FORMAT_NAMES)
    assert all(info.available for info in infos.values())
    places = [reader.detection_place for reader in READERS]
    assert places == sorted(places)


def _entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name, value, ENTRY_POINT_GROUP)


def test_readers_come_from_the_entry_point_group(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [
        _entry("csv", "importer.readers.csv:READER"),
        _entry("canonical", "importer.readers.canonical:READER"),
    ]
    monkeypatch.setattr(base, "entry_points", lambda group: entries if group == "g" else [])
    registry = ReaderRegistry("g")
    assert ("canonical", "csv") == registry.names  # detection order, not the entry points'
    assert registry.get("canonical") is CANONICAL
    assert registry.get("zendesk") is None
    assert () == ReaderRegistry("nothing").names


def test_a_plug_in_that_cannot_be_used_is_logged_and_left_out(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    entries = [
        _entry("nodesk", "nodesk_not_installed:READER"),  # its module is missing
        _entry("zendesk", "importer.readers.csv:READER"),  # registered under another's name
        _entry("csv", "importer.readers.csv:READER"),
    ]
    monkeypatch.setattr(base, "entry_points", lambda group: entries)
    registry = ReaderRegistry("g")
    assert ("csv",) == registry.names
    assert "nodesk" in caplog.text
    assert "not a Reader named 'zendesk'" in caplog.text


@pytest.mark.usefixtures("fake_platforms")
def test_roles_by_content_through_envelopes_and_the_record_decides(tmp_path: Path) -> None:
    _airbyte(
        tmp_path / "dump.jsonl",
        [
            ("conversations", {"id": "m1", "ticket_id": "7", "incoming": True}),
            ("tickets", {"id": "7", "beta_ticket": True}),
            ("contacts", {"id": "p1", "email": "a@example.com", "name": "A"}),
            ("conversations", {"id": "m2", "ticket_id": "7", "incoming": False}),
        ],
    )
    with open_export([tmp_path]) as export:
        assert "betadesk" == export.format
        assert {"messages", "tickets", "people"} == set(export.files_by_role)
        [record] = list(export.records())
    assert "7" == record.source_id
    assert record.data is not None
    assert ["m1", "m2"] == [m["id"] for m in record.data["messages"]]
    assert [] == record.warnings


@pytest.mark.usefixtures("fake_platforms")
def test_a_file_both_formats_claim_follows_the_rest_of_the_export(tmp_path: Path) -> None:
    (tmp_path / "a_people.json").write_text(
        json.dumps([{"id": "p1", "email": "a@example.com", "name": "A"}])
    )
    (tmp_path / "b_tickets.json").write_text(json.dumps({"tickets": [{"id": "1", "parts": []}]}))
    (tmp_path / "c_tickets.json").write_text(json.dumps([{"id": "2", "alpha_ticket": 1}]))
    with open_export([tmp_path]) as export:
        assert "alphadesk" == export.format
        people = [rf.file.name for rf in export.files_by_role["people"]]
    assert [str(tmp_path / "a_people.json")] == people


@pytest.mark.usefixtures("fake_platforms")
def test_streams_nobody_reads_are_passed_over_with_one_warning_each(tmp_path: Path) -> None:
    _airbyte(
        tmp_path / "tickets.jsonl",
        [
            ("tickets", {"id": "1", "beta_ticket": True}),
            ("macros", {"id": "x1", "actions": []}),
            ("macros", {"id": "x2", "actions": []}),
            ("tickets", {"id": "2", "beta_ticket": True}),
        ],
    )
    _airbyte(tmp_path / "brands.jsonl", [("brands", {"id": "b1"}), ("brands", {"id": "b2"})])
    _airbyte(tmp_path / "brands2.jsonl", [("brands", {"id": "b3"})])
    with open_export([tmp_path]) as export:
        assert ["brands"] == [w.message.split("'")[1] for w in export.warnings]
        records = list(export.records())
    assert ["1", "2"] == [r.source_id for r in records]
    messages = [w.message for w in records[0].warnings]
    assert 2 == len(messages)
    assert messages[0].startswith("records of stream 'brands' are not read by the betadesk reader")
    assert messages[1].startswith("records of stream 'macros' are not read by the betadesk reader")
    assert f"(first at {tmp_path / 'tickets.jsonl'}:2); passed over" in messages[1]
    assert [] == records[1].warnings


@pytest.mark.usefixtures("fake_platforms")
def test_a_wrong_format_is_refused_naming_the_likely_one(tmp_path: Path) -> None:
    path = _airbyte(tmp_path / "t.jsonl", [("tickets", {"id": "1", "beta_ticket": True})])
    with pytest.raises(FormatError) as caught:
        open_export([path], "alphadesk")
    assert str(caught.value) == (
        f"--format alphadesk does not fit {path}: it looks like betadesk; "
        "run with --format betadesk or leave --format out"
    )
    assert 2 == caught.value.exit_code


@pytest.mark.usefixtures("fake_platforms")
def test_mixed_platforms_are_refused(tmp_path: Path) -> None:
    _airbyte(tmp_path / "a.jsonl", [("tickets", {"id": "1", "alpha_ticket": True})])
    _airbyte(tmp_path / "b.jsonl", [("tickets", {"id": "2", "beta_ticket": True})])
    with pytest.raises(FormatError, match="mixes formats"):
        open_export([tmp_path])


@pytest.mark.usefixtures("fake_platforms")
@pytest.mark.parametrize(
    ("sample", "platform"),
    [
        ("zoho_desk_nango_ticket_and_threads.json", "Zoho Desk"),
        ("hubspot_nango_crm_tickets.json", "HubSpot"),
    ],
)
def test_platforms_without_a_reader_are_refused_even_when_a_reader_claims_them(
    monkeypatch: pytest.MonkeyPatch, sample: str, platform: str
) -> None:
    monkeypatch.setattr(ALPHA, "role_of", lambda record, stream: "tickets")  # claims anything
    with pytest.raises(FormatError) as caught:
        open_export([REAL / sample])
    assert str(caught.value).startswith(f"{REAL / sample} looks like a {platform} export")


def test_a_refused_platform_that_gets_a_reader_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    gorgias = _Desk("gorgias", "uri", "body_html")
    readers: dict[str, Reader] = {"canonical": CANONICAL, "gorgias": gorgias}
    monkeypatch.setattr(READERS, "_readers", readers)
    with open_export([REAL / "gorgias_nango_ticket_153006867.json"]) as export:
        assert "gorgias" == export.format
        assert ["tickets"] == list(export.files_by_role)
