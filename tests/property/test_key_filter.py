"""The staging store's filter never says "never put" of a pair that was put."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers.key_filter import KeyFilter

PAIRS = st.tuples(st.sampled_from(["tickets", "nodes", "duplicates"]), st.none() | st.text())


@settings(max_examples=200, deadline=None)
@given(st.lists(PAIRS, max_size=300), st.lists(PAIRS, max_size=300))
def test_a_pair_added_may_be_held_and_the_filter_rarely_errs(
    added: list[tuple[str, str | None]], others: list[tuple[str, str | None]]
) -> None:
    seen = KeyFilter()
    for kind, key in added:
        seen.add(kind, key)
    assert all(seen.may_hold(kind, key) for kind, key in added)
    wrong = [pair for pair in others if pair not in added and seen.may_hold(*pair)]
    assert len(wrong) <= 2  # 600 bits of 16 million set: an error is rare
