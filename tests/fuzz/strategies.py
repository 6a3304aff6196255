"""Hypothesis strategies: cases for one reader."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fuzz.harness import Case
from tests.fuzz.model import SEEDS
from tests.fuzz.mutations import FILE_OPS, UNIT_OPS, WRAPS

_INT = st.integers(min_value=0, max_value=1 << 20)


def mutation() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "op": st.sampled_from(UNIT_OPS + FILE_OPS),
            "file": st.integers(0, 7),
            "unit": _INT,
            "a": _INT,
            "b": _INT,
        }
    )


def cases(reader: str) -> st.SearchStrategy[Case]:
    return st.builds(
        Case,
        reader=st.just(reader),
        seed=st.sampled_from(sorted(SEEDS[reader])),
        mutations=st.lists(mutation(), min_size=1, max_size=3),
        wrap=st.sampled_from(["none", "none", "none", *WRAPS[1:]]),
        format_given=st.sampled_from([True, True, True, False]),
        command=st.sampled_from(["convert", "convert", "convert", "validate"]),
        jobs=st.sampled_from([1, 1, 1, 2]),
    )
