"""The conversation's times are sent as normalising read them: the text it kept of each is the
text formatting the moment again would give."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.model import Conversation
from importer.transform.draft import build_draft
from importer.transform.normalise import NormaliseContext, normalise
from importer.transform.payload import PayloadContext

NOW = datetime(2030, 1, 1, tzinfo=UTC)
_MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def _written(moment: datetime, form: int) -> Any:
    """``moment`` in one of the forms the exports use (the future ones are clamped to NOW)."""
    if form == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == 1:
        return moment.isoformat()
    if form == 2:
        return moment.astimezone(UTC).timestamp()
    return (moment + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f+02:00")


@settings(max_examples=300, deadline=None)
@given(
    times=st.lists(_MOMENTS, min_size=1, max_size=4),
    created=st.one_of(st.none(), _MOMENTS),
    closed=st.one_of(st.none(), _MOMENTS),
    forms=st.lists(st.integers(0, 3), min_size=6, max_size=6),
    policy=st.sampled_from(["closed", "source"]),
)
def test_kept_texts_are_the_formatted_moments(
    times: list[datetime],
    created: datetime | None,
    closed: datetime | None,
    forms: list[int],
    policy: str,
) -> None:
    record: dict[str, Any] = {
        "source_id": "t",
        "status": "solved",
        "customer": {"email": "t@example.com"},
        "messages": [
            {"created_at": _written(moment, forms[i]), "author_role": "customer", "body_text": "x"}
            for i, moment in enumerate(times)
        ],
    }
    if created is not None:
        record["created_at"] = _written(created, forms[4])
    if closed is not None:
        record["closed_at"] = _written(closed, forms[5])
    normal = normalise(Conversation.model_validate(record), NormaliseContext(now=NOW))
    context = PayloadContext(status_policy=policy)
    formatted = dataclasses.replace(normal, api_created_at=None, api_closed_at=None)
    assert build_draft(formatted, context).base == build_draft(normal, context).base
