"""Whatever happens to each conversation, the report's accounting adds up."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from importer.deadletter import DeadLetterFile
from importer.findings import Finding
from importer.report import Report
from importer.tally import Tally
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
                Tally(report, dead).invalid(invalid)
            else:
                Tally(report, dead).valid(fake_plan(item))
    assert report.balanced()
    assert len(items) == report.counts["source_conversations"]
    assert sum(1 for i in items if i is None) == len(report.errors) == dead.count
    assert sum(1 for i in items if i and i > 1) == report.counts["split_conversations"]
    assert (1 if None in items else 0) == report.exit_code()


run_outcomes = st.lists(
    st.sampled_from(["imported", "already", "invalid", "failed", "failed-transform"]),
    max_size=60,
)


@given(run_outcomes)
def test_run_accounting_adds_up(items: list[str]) -> None:
    """run: source_conversations == imported + already_imported + invalid + failed, one error
    entry and one dead letter per invalid or failed conversation, exit 1 when any."""
    report = Report("run", "canonical", ["x"], mailbox=85)
    with DeadLetterFile(None) as dead:
        tally = Tally(report, dead)
        for item in items:
            invalid = InvalidConversation("s", "f:1", [Finding("validate", "threads", "none")], {})
            if item == "imported":
                tally.imported(fake_plan(2))
            elif item == "already":
                tally.already_imported(fake_plan(1))
            elif item == "invalid":
                tally.invalid(invalid)
            elif item == "failed":
                tally.failed(fake_plan(1), 1, "send", code="validation", reason="refused")
            else:
                tally.failed(invalid, None, "transform", code="internal", reason="broke")
    assert report.balanced()
    assert len(items) == report.counts["source_conversations"]
    not_imported = sum(1 for i in items if i in ("invalid", "failed", "failed-transform"))
    assert not_imported == len(report.errors) == dead.count
    assert (1 if not_imported else 0) == report.exit_code()
