"""The depth bound's check reads every text as a bracket-by-bracket scan would.

``json_depth_over`` cuts a text's strings out and sums its brackets in C; the scan it replaced
walked strings and brackets one by one in Python. Both must agree on every text, well formed or
not (unterminated strings, escaped quotes, closing brackets first, brackets inside strings).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers.limits import json_depth_over

_EVENT = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"|[\[\]{}]', re.DOTALL)


def _scanned(data: bytes, limit: int) -> int | None:
    """The bracket-by-bracket scan (the check before it was made fast): the reference."""
    depth = 0
    for event in _EVENT.finditer(data):
        char = event.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return depth
        elif char in (b"]", b"}"):
            depth -= 1
    return None


TEXTS = st.lists(
    st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b"a", b",", b":", b'"[["', b'"\\""']),
    max_size=60,
).map(b"".join)


@settings(max_examples=2_000, deadline=None)
@given(text=TEXTS, limit=st.integers(0, 8))
def test_the_bound_agrees_with_a_bracket_by_bracket_scan(text: bytes, limit: int) -> None:
    assert json_depth_over(text, limit) == _scanned(text, limit)
    assert json_depth_over(text.decode("latin-1"), limit) == _scanned(text, limit)


def test_deep_records_and_brackets_in_strings() -> None:
    deep = b"[" * 600 + b"]" * 600
    assert json_depth_over(deep, 512) == 513
    assert json_depth_over(deep, 600) is None
    quoted = json.dumps({"text": "[" * 900, "list": [[1]]}).encode()
    assert json_depth_over(quoted, 512) is None  # the brackets are text
    thread = {"threads": [{"id": n, "to": ["a@x.io"], "body": "[{"} for n in range(400)]}
    assert json_depth_over(json.dumps(thread), 512) is None  # many brackets, 4 deep
    assert json_depth_over(json.dumps(thread), 3) == 4


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k[": value, "s": "]}"}
    return value


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(
    depth=st.sampled_from([0, 3, 100, 253, 254, 255, 256, 300, 511, 512, 513, 600, 900]),
    leaf=JSON_VALUES,
    limit=st.sampled_from([0, 2, 5, 100, 253, 254, 255, 300, 511, 512, 513, 1_000]),
)
def test_the_parsed_value_answers_as_the_text_does(depth: int, leaf: Any, limit: int) -> None:
    """Given the value orjson read (the reader parses first), the check answers as the scan of
    the text, at every depth and limit: below orjson's own bound of writing and above it."""
    data = json.dumps(_nested(depth, leaf)).encode()
    expected = _scanned(data, limit)
    assert json_depth_over(data, limit) == expected
    assert json_depth_over(data, limit, parsed=orjson.loads(data)) == expected


@settings(max_examples=300, deadline=None)
@given(
    dropped=st.sampled_from([0, 5, 300, 513, 900]),
    kept=st.sampled_from([0, 5, 300]),
    escapes=st.sampled_from(["", "\\u005b", "\\u007B" * 600, "\\\\u005b" * 600, "[" * 3]),
    limit=st.sampled_from([5, 100, 512]),
)
def test_a_key_given_twice_does_not_hide_its_first_value(
    dropped: int, kept: int, escapes: str, limit: int
) -> None:
    """orjson keeps a key's last value: a deep first value is in the text, not in the value,
    and the text still decides. Brackets spelt as escapes are in the value, not the text."""
    text = (
        '{"s": "'
        + escapes
        + '", "x": '
        + json.dumps(_nested(dropped, 1))
        + ', "x": '
        + json.dumps(_nested(kept, 1))
        + "}"
    )
    data = text.encode()
    assert json_depth_over(data, limit, parsed=orjson.loads(data)) == _scanned(data, limit)
