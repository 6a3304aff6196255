"""The streaming JSON splitter gives back every item, in order, at any chunk size."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers.scanner import JsonItemScanner, JsonScanError

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _scan(data: bytes, chunk_size: int) -> list[tuple[int, Any]]:
    scanner = JsonItemScanner()
    items = []
    for start in range(0, len(data), chunk_size):
        items.extend(scanner.feed(data[start : start + chunk_size]))
    scanner.finish()
    return [(item.line, json.loads(item.raw)) for item in items]


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(_values, max_size=8),
    indent=st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
    ensure_ascii=st.booleans(),
    chunk_size=st.integers(min_value=1, max_value=64),
)
def test_array_items_come_back_equal_and_in_order(
    values: list[Any], indent: int | None, ensure_ascii: bool, chunk_size: int
) -> None:
    text = json.dumps(values, indent=indent, ensure_ascii=ensure_ascii)
    items = _scan(text.encode(), chunk_size)
    assert [value for _, value in items] == values
    lines = text.splitlines()
    for line, _ in items:
        assert lines[line - 1].strip()  # each item starts on a line that holds text


@settings(max_examples=100, deadline=None)
@given(
    records=st.lists(st.dictionaries(st.sampled_from(["id", "a", "b"]), _values), max_size=5),
    indent=st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    chunk_size=st.integers(min_value=1, max_value=32),
)
def test_objects_one_after_another_come_back_with_their_lines(
    records: list[dict[str, Any]], indent: int | None, chunk_size: int
) -> None:
    wrapped = [{"id": 0, **record} for record in records]  # an id: never a container
    parts = [json.dumps(record, indent=indent) for record in wrapped]
    text = "\n".join(parts)
    expected_lines, line = [], 1
    for part in parts:
        expected_lines.append(line)
        line += part.count("\n") + 1
    assert _scan(text.encode(), chunk_size) == list(zip(expected_lines, wrapped, strict=True))


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'[\n{"a": 1},\n{"a": 2}', 3),
        (b'{"a": "\n\nnot closed', 3),
        (b"[1,,2]", 1),
        (b'{"a": 1}\n, {"b": 2}', 2),
        (b'{"a": 1}\n\nnull', 3),
    ],
)
def test_broken_structure_names_the_line(data: bytes, line: int) -> None:
    with pytest.raises(JsonScanError) as caught:
        _scan(data, 4)
    assert caught.value.line == line


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 8, 13, 1000])
def test_container_split_at_any_chunk_size(chunk_size: int) -> None:
    document = {
        "type": "admin.list",
        "admins": [{"id": 1, "name": 'A \\" [x]'}, {"id": 2, "tags": [{"n": "{"}]}],
        "pages": {"next": None},
        "users": [],
        "teams": [{"id": 3}],
    }
    text = json.dumps(document, indent=2)
    scanner = JsonItemScanner()
    items = []
    data = text.encode()
    for start in range(0, len(data), chunk_size):
        items.extend(scanner.feed(data[start : start + chunk_size]))
    scanner.finish()
    assert [(json.loads(i.raw), i.stream) for i in items] == [
        (document["admins"][0], "admins"),
        (document["admins"][1], "admins"),
        (document["teams"][0], "teams"),
    ]
    lines = text.splitlines()
    assert all(lines[i.line - 1].strip() == "{" for i in items)
