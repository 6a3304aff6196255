"""ISO 8601 times as programs write them are read by ``fromisoformat``: exactly as the general
reading reads them (the fraction dropped, the zone applied), and refused with its words."""

from __future__ import annotations

from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.transform.times import TimestampError, _parse_text, parse_timestamp

_NEAR = st.sampled_from([*"0123456789-T:Z+.z ", "٣", "\u00a0"])
_SHAPES = [
    "2024-03-04T09:00:00+01:00",
    "1999-12-31T23:59:59.123456-05:30",
    "2024-02-29T00:00:00.123Z",
    "2023-02-28T24:00:00+00:00",
    "2024-03-04T09:00:60-11:59",
    "0000-01-01T00:00:00+23:59",
    "2024-13-04T09:00:00+24:00",
]


@st.composite
def _times(draw: st.DrawFn) -> str:
    """A time in a shape ``fromisoformat`` reads, with digits drawn, and a few characters
    changed now and then."""
    text = [
        draw(st.sampled_from("0123456789")) if char.isdigit() and draw(st.booleans()) else char
        for char in draw(st.sampled_from(_SHAPES))
    ]
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.integers(0, len(text) - 1))
        text[where] = draw(_NEAR)
    return "".join(text)


def _general(value: str) -> object:
    try:
        return _parse_text(value, UTC).isoformat()
    except (TimestampError, ValueError, OverflowError) as exc:
        return type(exc), str(exc)


@settings(max_examples=3000, deadline=None)
@given(_times())
def test_the_fast_reading_reads_as_the_general_one(value: str) -> None:
    try:
        fast: object = parse_timestamp(value).isoformat()
    except (TimestampError, ValueError, OverflowError) as exc:
        fast = type(exc), str(exc)
    if value.endswith("Z") and len(value) == 20:
        return  # Help Scout's own format: read by its own fast path, tested on its own
    assert fast == _general(value)
