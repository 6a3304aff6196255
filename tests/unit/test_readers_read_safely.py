"""Every reader builds each conversation through ``read_safely``: an unexpected exception while
building one conversation makes that one invalid, with its location, and the others still come
out unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import importer.readers.csv.stage as generic_csv
import importer.readers.freshdesk.reader as freshdesk
import importer.readers.intercom.reader as intercom
import importer.readers.zendesk.reader as zendesk
from importer.readers import SourceRecord, open_export

SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"


def _read(platform: str) -> list[SourceRecord]:
    with open_export([SAMPLES / platform / "export"]) as export:
        assert export.format == platform
        return list(export.records())


def _raising_for(
    build: Callable[..., SourceRecord], source_id: str, id_of: Callable[..., Any]
) -> Callable[..., SourceRecord]:
    def failing(*args: Any, **kwargs: Any) -> SourceRecord:
        if str(id_of(*args)) == source_id:
            raise KeyError("'surprise'")
        return build(*args, **kwargs)

    return failing


def _check(before: list[SourceRecord], after: list[SourceRecord], source_id: str) -> None:
    assert [r.source_id for r in after] == [r.source_id for r in before]
    [failed] = [r for r in after if r.source_id == source_id]
    [original] = [r for r in before if r.source_id == source_id]
    assert failed.data is None
    assert failed.error is not None
    assert (failed.error.stage, failed.error.code) == ("read", "internal")
    assert failed.error.message == ("unexpected KeyError while reading this record: \"'surprise'\"")
    assert failed.location == original.location
    assert failed.error.location == original.location
    others = [(r.location, r.data, r.error) for r in after if r.source_id != source_id]
    expected = [(r.location, r.data, r.error) for r in before if r.source_id != source_id]
    assert others == expected
    assert all(data is not None for _, data, _ in others)


def _second_id(records: list[SourceRecord]) -> str:
    source_id = records[1].source_id
    assert source_id is not None
    return source_id


def test_zendesk_ticket_that_raises_is_invalid_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _read("zendesk")
    target = _second_id(before)
    failing = _raising_for(zendesk.build_conversation, target, lambda ticket, *_: ticket["id"])
    monkeypatch.setattr(zendesk, "build_conversation", failing)
    _check(before, _read("zendesk"), target)


def test_freshdesk_ticket_that_raises_is_invalid_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _read("freshdesk")
    target = _second_id(before)
    failing = _raising_for(freshdesk.ticket_record, target, lambda ticket, *_: ticket["id"])
    monkeypatch.setattr(freshdesk, "ticket_record", failing)
    _check(before, _read("freshdesk"), target)


def test_intercom_conversation_that_raises_is_invalid_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _read("intercom")
    target = _second_id(before)
    failing = _raising_for(intercom.conversation_record, target, lambda conv, *_: conv["id"])
    monkeypatch.setattr(intercom, "conversation_record", failing)
    _check(before, _read("intercom"), target)


def test_csv_conversation_that_raises_is_invalid_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _read("csv")
    target = _second_id(before)
    build = generic_csv.CsvStage._conversation
    failing = _raising_for(build, target, lambda _stage, cid, _row: cid)
    monkeypatch.setattr(generic_csv.CsvStage, "_conversation", failing)
    _check(before, _read("csv"), target)
