"""The streaming JSON splitter gives back every item, in order, at any chunk size."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers.scanner import JsonItemScanner, ScannedItem

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


def _scan_all(data: bytes, chunk_size: int, bound: int = 1 << 20) -> list[ScannedItem]:
    scanner = JsonItemScanner(max_item_bytes=bound)
    items = []
    for start in range(0, len(data), chunk_size):
        items.extend(scanner.feed(data[start : start + chunk_size]))
    items.extend(scanner.finish())
    return items


@pytest.mark.parametrize(
    ("data", "line", "good"),
    [
        (b'[\n{"a": 1},\n{"a": 2}', 3, 2),  # the last record is whole: only "]" is cut
        (b'{"a": "\n\nnot closed', 1, 0),
        (b'{"a": 1}\n, {"b": 2}', 2, 1),
        (b'{"a": 1}\n\nnull', 3, 1),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 4, 1000])
def test_broken_structure_is_one_error_item_naming_its_line(
    data: bytes, line: int, good: int, chunk_size: int
) -> None:
    items = _scan_all(data, chunk_size)
    errors = [item for item in items if item.error is not None]
    assert [item.line for item in errors] == [line]
    assert "are not read" in (errors[0].error or "")
    assert len(items) - len(errors) == good


@pytest.mark.parametrize(
    "data",
    [
        b'[\n  {"id": 1},\n  ,\n  {"id": 2}\n]',
        # the first element missing, in a container's list (fuzzer find front/a58e5073719b)
        b'{"_pagination": {"next": null},\n "_results": [\n    ,\n'
        b'    {"id": 1},\n    {"id": 2}\n]}',
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 4, 1000])
def test_a_missing_array_element_is_one_error_item_and_the_rest_is_read(
    data: bytes, chunk_size: int
) -> None:
    items = _scan_all(data, chunk_size)
    errors = [item for item in items if item.error is not None]
    assert [item.line for item in errors] == [3]  # the line of the lone comma
    assert "element is missing" in (errors[0].error or "")
    assert [item.raw for item in items if item.error is None] == [b'{"id": 1}', b'{"id": 2}']


def _line_of(text: str, marker: str) -> int:
    """The number of the first line of ``text`` that holds ``marker``."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if marker in line)


def _pretty_records(count: int, indent: int = 2) -> list[dict[str, Any]]:
    return [
        {"id": n, "subject": f"ticket {n}", "comments": [{"id": n * 10, "body": "a {b} [c]"}]}
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("wrapped", [False, True])
def test_a_quote_left_open_costs_its_record_only(chunk_size: int, wrapped: bool) -> None:
    records = _pretty_records(6)
    text = json.dumps({"tickets": records} if wrapped else records, indent=2)
    broken = text.replace('"ticket 3"', '"ticket 3', 1)  # the string swallows what follows
    items = _scan_all(broken.encode(), chunk_size)
    good = [json.loads(item.raw)["id"] for item in items if item.error is None]
    assert good == [1, 2, 4, 5, 6]
    [error] = [item for item in items if item.error is not None]
    assert error.line == _line_of(broken, '"id": 3') - 1  # the damaged record's "{"
    assert "reading goes on at line" in (error.error or "")


@pytest.mark.parametrize("chunk_size", [3, 1 << 20])
def test_damage_between_top_level_objects_resumes_at_the_next_object(chunk_size: int) -> None:
    parts = [json.dumps({"id": n, "body": "x"}, indent=2) for n in range(1, 5)]
    parts[1] = parts[1].replace('"body": "x"', '"body": x"')  # not JSON inside record 2
    items = _scan_all("\n".join(parts).encode(), chunk_size)
    good = [json.loads(item.raw)["id"] for item in items if item.error is None]
    assert good == [1, 3, 4]
    assert len([item for item in items if item.error is not None]) == 1


def test_damage_without_known_indentation_names_the_bytes_not_read() -> None:
    data = b'[{"id": 1}, {"id": 2, "a": [}, {"id": 3}]'  # minified: no line to resume at
    items = _scan_all(data, 5)
    assert [json.loads(i.raw)["id"] for i in items if i.error is None] == [1]
    [error] = [item for item in items if item.error is not None]
    assert "to the end of the file" in (error.error or "")
    assert f"-{len(data) - 1}" in (error.error or "")


@pytest.mark.parametrize("chunk_size", [5, 1 << 20])
def test_an_item_over_the_bound_comes_as_its_size(chunk_size: int) -> None:
    records = [{"id": 1}, {"id": 2, "body": "x" * 5000}, {"id": 3}]
    data = json.dumps(records, indent=1).encode()
    items = _scan_all(data, chunk_size, bound=1000)
    assert [i.oversize > 5000 for i in items] == [False, True, False]
    assert items[1].raw == b""
    assert [json.loads(i.raw)["id"] for i in (items[0], items[2])] == [1, 3]


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


def _hal_page(number: int, first_id: int, links_first: bool, tricky: bool = True) -> dict[str, Any]:
    links = {"self": {"href": f"https://api.helpscout.net/v2/conversations?page={number}"}}
    conversations = [
        {
            "id": n,
            "subject": f"a [page] {{{number}}}",
            "_embedded": {"threads": [{"id": n * 10, "body": 'say "}"' if tricky else "x"}]},
            "_links": links,
        }
        for n in range(first_id, first_id + 3)
    ]
    embedded = {"conversations": conversations, "tags": [{"id": first_id * 100}], "notes": []}
    page = {"size": 3, "totalElements": 9, "totalPages": 3, "number": number}
    if links_first:
        return {"_links": links, "page": page, "_embedded": embedded}
    return {"_embedded": embedded, "page": page, "_links": links}


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("indent", [2, None])
def test_hal_pages_split_into_their_embedded_records(chunk_size: int, indent: int | None) -> None:
    pages = [_hal_page(1, 1, False), _hal_page(2, 4, True), _hal_page(3, 7, False)]
    parts = [json.dumps(page, indent=indent) for page in pages]
    text = "\n".join(parts)
    items = _scan_all(text.encode(), chunk_size)
    assert all(item.error is None for item in items)
    page_lines, line = [], 1
    for part in parts:
        page_lines.append(line)
        line += part.count("\n") + 1
    expected = [
        (record, key, page_line)
        for page, page_line in zip(pages, page_lines, strict=True)
        for key in ("conversations", "tags")
        for record in page["_embedded"][key]
    ]
    assert [(json.loads(i.raw), i.stream, i.page_line) for i in items] == expected
    lines = text.splitlines()
    for item in items:
        if indent is None:
            assert item.line == item.page_line  # a page on one line
        else:  # the record's own line: its "{", its id on the next line
            assert lines[item.line - 1].strip() == "{"
            assert lines[item.line].strip().rstrip(",") == f'"id": {json.loads(item.raw)["id"]}'


@pytest.mark.parametrize("chunk_size", [1, 7, 1 << 20])
def test_hal_pages_without_records_are_whole_items(chunk_size: int) -> None:
    page = {"page": {"number": 3, "totalElements": 0}, "_links": {"self": {"href": "x"}}}
    documents = [
        page,  # the empty last page: no _embedded
        {"_embedded": {}, **page},
        {"_embedded": {"conversations": []}, **page},
        {"_embedded": {"threads": [{"id": 1}]}, "id": 5},  # a record whose _embedded is first
        {"id": 5, "_embedded": {"conversations": [{"id": 1}]}},  # a record: its id came first
    ]
    text = "\n".join(json.dumps(document, indent=2) for document in documents)
    items = _scan_all(text.encode(), chunk_size)
    assert [(json.loads(item.raw), item.stream, item.page_line) for item in items] == [
        (document, None, 0) for document in documents
    ]


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("damage", ["value", "key"])
def test_a_damaged_record_of_a_hal_page_costs_that_record_only(
    chunk_size: int, damage: str
) -> None:
    # (a string holding a quote or a bracket after the damage could hide it for longer)
    pages = [_hal_page(1, 1, True, tricky=False), _hal_page(2, 4, False, tricky=False)]
    text = "\n".join(json.dumps(page, indent=2) for page in pages)
    # a quote lost: the string swallows what follows (the fuzzer's flipped byte)
    if damage == "value":
        broken = text.replace('"subject": "a [page] {2}"', '"subject": "a [page] {2}', 1)
    else:
        broken = text.replace('"subject": "a [page] {2}"', 'subject": "a [page] {2}"', 1)
    assert broken != text
    items = _scan_all(broken.encode(), chunk_size)
    good = [(json.loads(item.raw)["id"], item.stream) for item in items if item.error is None]
    assert good == [
        *[(n, "conversations") for n in (1, 2, 3)],
        (100, "tags"),
        *[(n, "conversations") for n in (5, 6)],
        (400, "tags"),
    ]
    [error] = [item for item in items if item.error is not None]
    assert error.line == _line_of(broken, '"id": 4,') - 1  # the damaged record's "{"
    assert "reading goes on at line" in (error.error or "")


@pytest.mark.parametrize("chunk_size", [5, 1 << 20])
@pytest.mark.parametrize("wrapped", [False, True])
def test_a_damaged_first_record_costs_itself_alone(chunk_size: int, wrapped: bool) -> None:
    """No well-formed record came before to learn the indentation from: the damaged first
    record's own line gives it (a fuzzer find: a cut first ticket lost every other)."""
    records = _pretty_records(4)
    text = json.dumps({"tickets": records} if wrapped else records, indent=2)
    broken = text.replace('"ticket 1"', '"ticket 1', 1)
    items = _scan_all(broken.encode(), chunk_size)
    assert [json.loads(item.raw)["id"] for item in items if item.error is None] == [2, 3, 4]
    assert len([item for item in items if item.error is not None]) == 1


@pytest.mark.parametrize(
    "data",
    [
        b'[\n  {"id": 1},\n  {"id": 2}\n',
        b'{"_embedded": {"conversations": [\n  {"id": 1},\n  {"id": 2, "x": {"y": []}}\n',
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 4, 1000])
def test_a_list_cut_after_a_whole_record_gives_that_record_and_one_error(
    data: bytes, chunk_size: int
) -> None:
    """Fuzzer case helpscout/b74f811f7c43: a page cut after its last record lost the record."""
    items = _scan_all(data, chunk_size)
    errors = [item for item in items if item.error is not None]
    assert 1 == len(errors)
    assert "not closed before the end of the file" in (errors[0].error or "")
    assert [1, 2] == [json.loads(item.raw)["id"] for item in items if item.error is None]
