"""A report's spooled entries behave as the list they replace, and its JSON is json.dumps's."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from importer import spooled as spooled_module
from importer.report import json_text
from importer.spooled import SpooledEntries

ENTRY = st.fixed_dictionaries(
    {"source_id": st.one_of(st.none(), st.text(max_size=4)), "message": st.text(max_size=12)},
    optional={
        "part": st.integers(-(2**63), 2**63 - 1),
        "reasons": st.lists(st.just({"a": "é"}), max_size=2),
        "size": st.floats(allow_nan=False, allow_infinity=False),
        "known": st.booleans(),
        "where": st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
    },
)


@settings(max_examples=300, deadline=None)
@given(
    entries=st.lists(ENTRY, max_size=40),
    in_memory=st.integers(0, 8),
    start=st.integers(-45, 45),
    stop=st.integers(-45, 45),
)
def test_spooled_entries_read_back_as_a_list(
    entries: list[dict[str, Any]], in_memory: int, start: int, stop: int
) -> None:
    spooled = SpooledEntries(in_memory=in_memory)
    for entry in entries:
        spooled.append(entry)
        assert spooled[-1] == entry  # the latest, as settling reads it
    assert len(spooled) == len(entries)
    assert bool(spooled) == bool(entries)
    assert list(spooled) == entries
    assert spooled == entries
    assert spooled[start:stop] == entries[start:stop]
    assert spooled[start:] == entries[start:]
    if -len(entries) <= start < len(entries):
        assert spooled[start] == entries[start]
    assert list(spooled) == entries  # reading twice reads the same
    spooled.close()


@settings(max_examples=200, deadline=None)
@given(entries=st.lists(ENTRY, max_size=12), in_memory=st.integers(0, 4))
def test_a_report_body_is_written_as_json_dumps_writes_it(
    entries: list[dict[str, Any]], in_memory: int
) -> None:
    body: dict[str, Any] = {
        "command": "validate",
        "inputs": ["a.json", "ß.csv"],
        "valid": None,
        "errors": SpooledEntries(entries, in_memory=in_memory),
        "warnings": SpooledEntries(in_memory=in_memory),
        "elapsed_s": 1.5,
    }
    plain = {**body, "errors": entries, "warnings": []}
    assert "".join(json_text(body)) == json.dumps(plain, indent=2, ensure_ascii=False) + "\n"
    assert "".join(json_text({})) == json.dumps({}) + "\n"


@settings(max_examples=300, deadline=None)
@given(
    operations=st.lists(
        st.one_of(
            st.tuples(st.just("append"), ENTRY),
            st.tuples(st.just("read"), st.integers(0, 30)),  # read that many, then append
            st.tuples(st.just("index"), st.integers(-40, 40)),
        ),
        max_size=60,
    ),
    in_memory=st.integers(0, 4),
)
def test_appends_after_reads_go_to_the_end(operations: list[Any], in_memory: int) -> None:
    """Reading the entries on disk moves the file's position; an entry appended after a read,
    or in the middle of one, still goes after the others (blocks of 64 bytes: a read stops
    short of the end)."""
    with patch.object(spooled_module, "READ_BLOCK", 64):
        _appends_after_reads(operations, in_memory)


def _appends_after_reads(operations: list[Any], in_memory: int) -> None:
    spooled = SpooledEntries(in_memory=in_memory)
    model: list[dict[str, Any]] = []
    for kind, value in operations:
        if kind == "append":
            spooled.append(value)
            model.append(value)
        elif kind == "read":
            reading = iter(spooled)
            seen = [entry for _, entry in zip(range(value), reading, strict=False)]
            assert seen == model[:value]
            appended = {"source_id": None, "message": f"during {len(model)}"}
            spooled.append(appended)
            model.append(appended)
            rest = list(reading)  # the read goes on: the entries in order, the new one or not
            assert seen + rest == model[: len(seen) + len(rest)]
        elif -len(model) <= value < len(model):
            assert spooled[value] == model[value]
    assert list(spooled) == model
