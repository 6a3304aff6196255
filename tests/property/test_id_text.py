"""``id_text``'s shortcut for text gives what its general rule gives, for any text."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from importer.readers.common import id_text

_WHOLE_NUMBER_AS_FLOAT = re.compile(r"-?\d+\.0+")


def _general(value: Any) -> str | None:
    """The rule as written before text had a shortcut."""
    if type(value) is int:
        return str(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    text = str(value).strip()
    if _WHOLE_NUMBER_AS_FLOAT.fullmatch(text):
        text = text.split(".", 1)[0]
    return text or None


class _Text(str):
    """Text of a subclass of ``str`` (no JSON parser makes one; the general rule reads it)."""


id_like = st.one_of(
    st.text(),
    st.from_regex(r"\s*-?[0-9]{1,4}(\.[0-9]{0,3})?\s*", fullmatch=True),
    st.sampled_from(["7.0", " 7.00 ", "-3.0", "7.5", "0042", ".0", "7.", "", " ", "\u00a0"]),
)


@given(id_like)
def test_text_reads_as_the_general_rule_reads_it(text: str) -> None:
    assert id_text(text) == _general(text)
    assert id_text(_Text(text)) == _general(_Text(text))
