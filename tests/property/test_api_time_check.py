"""The fast checks of Help Scout's date format say what its pattern says, for any text."""

from __future__ import annotations

import contextlib
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.transform.times import API_TIME_PATTERN, _ascii_api_moment, is_api_time

#: characters an API time is made of, and near misses: other scripts' digits, other separators
_NEAR = st.sampled_from([*"0123456789-T:Z\n ztx.+", "٣", "２", "߀", "¹", "\u00a0"])


@st.composite
def _times(draw: st.DrawFn) -> str:
    """A valid time, mostly with a few characters changed, dropped or added."""
    text = list(draw(st.sampled_from(["2024-05-10T10:30:00Z", "1999-12-31T23:59:59Z"])))
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        if action == "insert" or where == len(text):
            text.insert(where, draw(_NEAR))
        elif action == "replace":
            text[where] = draw(_NEAR)
        else:
            del text[where]
    return "".join(text)


_TEXTS = st.one_of(_times(), st.text(max_size=25), st.text(alphabet=_NEAR, max_size=22))


@settings(max_examples=3000, deadline=None)
@given(text=_TEXTS)
def test_is_api_time_is_the_pattern(text: str) -> None:
    assert bool(API_TIME_PATTERN.match(text)) == is_api_time(text)


@settings(max_examples=3000, deadline=None)
@given(text=_TEXTS)
def test_the_fast_moment_is_that_of_the_pattern_and_fromisoformat(text: str) -> None:
    expected = None
    if len(text) == 20 and API_TIME_PATTERN.match(text):
        with contextlib.suppress(ValueError):
            expected = datetime.fromisoformat(text)
    assert expected == _ascii_api_moment(text)


def test_is_api_time_takes_what_the_pattern_takes() -> None:
    assert is_api_time("2024-05-10T10:30:00Z")
    assert is_api_time("2024-05-10T10:30:00Z\n")  # ``$`` matches before a last newline
    assert is_api_time("２０２４-05-10T10:30:00Z")  # ``\d`` takes other scripts' digits
    assert not is_api_time("2024-05-10T10:30:00Z\n\n")
    assert not is_api_time(20240510)
