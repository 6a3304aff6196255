"""``verify``'s tables, with pandas: the source and Help Scout sides as two frames of threads
merged on (source id, part, thread), and the summaries grouped from them.

Frames are built one chunk of conversations at a time (:class:`Summary` keeps only counts), so
memory stays bounded whatever the size of the export.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from importer.commands.verify_compare import THREAD_FIELDS, Mismatch, shown
from importer.outputs import write_private

KEYS = ["source_id", "part", "thread"]
_COLUMNS = [*KEYS, *THREAD_FIELDS]


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=_COLUMNS).astype(object)


def compare_threads(
    expected: list[dict[str, Any]], found: list[dict[str, Any]]
) -> tuple[list[Mismatch], int]:
    """Mismatches between the two sides' thread rows (a thread missing, one not expected, each
    field that differs where Help Scout returned it), and the number of expected threads."""
    left, right = _frame(expected), _frame(found)
    merged = left.merge(right, on=KEYS, how="outer", suffixes=("", "_found"), indicator=True)
    mismatches: list[Mismatch] = []

    def add(row: dict[Any, Any], name: str, expected: Any, *, found: Any) -> None:
        where = (str(row["source_id"]), int(row["part"]), int(row["thread"]))
        mismatches.append(Mismatch(*where, name, shown(expected), shown(found)))

    for row in merged[merged["_merge"] == "left_only"].to_dict("records"):
        add(row, "thread", f"{row['createdAt']} {row['type']}: {row['text']}", found="")
    for row in merged[merged["_merge"] == "right_only"].to_dict("records"):
        what = f"{row['createdAt_found']} {row['type_found']}: {row['text_found']}"
        add(row, "thread", "", found=what)
    both = merged[merged["_merge"] == "both"]
    for name in THREAD_FIELDS:
        want, got = both[name], both[f"{name}_found"]
        differs = want.notna() & got.notna() & (want != got)
        if name == "attachment sizes":  # sizes only of files whose names agree
            differs &= both["attachments"] == both["attachments_found"]
        for row in both[differs].to_dict("records"):
            add(row, name, row[name], found=row[f"{name}_found"])
    return mismatches, len(left)


@dataclass
class Summary:
    """Counts kept across chunks: conversations per month on each side, threads compared."""

    source_months: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    found_months: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    threads_checked: int = 0

    def add_months(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add one chunk of conversations (``source`` and ``found``: ISO times or None)."""
        frame = pd.DataFrame(list(rows), columns=["source", "found"])
        if frame.empty:
            return
        for column, attribute in (("source", "source_months"), ("found", "found_months")):
            months = frame[column].dropna().astype(str).str.slice(0, 7)
            counts = months.value_counts()
            total = getattr(self, attribute).add(counts, fill_value=0).astype("int64")
            setattr(self, attribute, total)

    def per_month(self) -> list[dict[str, Any]]:
        """``[{month, source, helpscout}]`` in month order."""
        months = sorted(set(self.source_months.index) | set(self.found_months.index))
        return [
            {
                "month": month,
                "source": int(self.source_months.get(month, 0)),
                "helpscout": int(self.found_months.get(month, 0)),
            }
            for month in months
        ]


def per_field(mismatches: list[Mismatch]) -> list[dict[str, Any]]:
    """``[{field, mismatches, conversations}]``, most mismatches first."""
    if not mismatches:
        return []
    frame = pd.DataFrame([m.as_dict() for m in mismatches])
    grouped = frame.groupby("field").agg(
        mismatches=("field", "size"), conversations=("source_id", "nunique")
    )
    grouped = grouped.sort_values(["mismatches", "conversations"], ascending=False)
    return [
        {
            "field": str(name),
            "mismatches": int(row.mismatches),
            "conversations": int(row.conversations),
        }
        for name, row in grouped.iterrows()
    ]


def write_csv(mismatches: list[Mismatch], path: Path) -> None:
    """The mismatch rows as CSV (header ``source_id,part,thread,field,expected,found``), in a
    file of its owner's alone (0600); a failed write names ``path`` (exit 4)."""
    frame = pd.DataFrame(
        [m.as_dict() for m in mismatches],
        columns=["source_id", "part", "thread", "field", "expected", "found"],
    ).astype(object)
    write_private(path, frame.to_csv(index=False).encode("utf-8"))
