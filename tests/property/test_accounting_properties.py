"""Whatever happens to each conversation, the report's accounting adds up."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from importer.deadletter import DeadLetterFile
from importer.findings import Finding
from importer.pipeline.offline import tally_offline
from importer.report import Report
from importer.transform.plan import ConversationPlan, InvalidConversation
from importer.transform.split import Part


def fake_plan(parts: int) -> ConversationPlan:
    return ConversationPlan(
        source_id="s",
        location="f:1",
        created_at=None,  # type: ignore[arg-type]
        parts=[Part(i + 1, parts, {"threads": [{}]}) for i in range(parts)],
        customer_key="email:a@b.c",
        customer_to_create=None,
        record={},
    )


outcomes = st.lists(st.one_of(st.integers(min_value=1, max_value=4), st.none()), max_size=60)


@given(outcomes)
def test_offline_accounting_adds_up(items: list[int | None]) -> None:
    """validate: source_conversations == valid + invalid, one error entry per invalid one."""
    report = Report("validate", "canonical", ["x"])
    with DeadLetterFile(None) as dead:
        for item in items:
            if item is None:
                invalid = InvalidConversation(
                    "s", "f:1", [Finding("validate", "threads", "none")], {}
                )
                tally_offline(report, invalid, dead)
            else:
                tally_offline(report, fake_plan(item), dead)
    assert report.balanced()
    assert len(items) == report.counts["source_conversations"]
    assert sum(1 for i in items if i is None) == len(report.errors) == dead.count
    assert sum(1 for i in items if i and i > 1) == report.counts["split_conversations"]
    assert (1 if None in items else 0) == report.exit_code()
