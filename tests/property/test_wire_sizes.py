"""A body's size counted without encoding its long strings is the size it is sent at."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.wire import LARGE_TEXT, json_bytes, json_size, string_size

_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"), st.sampled_from(['"', "\\", "\n", "\x00", "\x1f", "\x7f"])
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(text=_TEXT)
def test_string_size_is_the_encoded_size(text: str) -> None:
    assert string_size(text) == len(orjson.dumps(text))


@settings(max_examples=20, deadline=None)
@given(piece=_TEXT.filter(bool), other=_TEXT)
def test_a_body_with_a_long_text_is_measured_exactly(piece: str, other: str) -> None:
    long = piece * (LARGE_TEXT // len(piece) + 1)
    body = {"type": "customer", "text": long, "other": other, "imported": True}
    assert json_size(body) == len(json_bytes(body))
