"""The one-encoding measure of a whole conversation says what measuring each thread says."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.errors import InvalidConversationError
from importer.model import Attachment
from importer.transform import split
from importer.transform.payload import PENDING_CUSTOMER_ID, AttachmentDraft, Draft, ThreadDraft
from importer.transform.split import _base_size, _thread_sizes, fits_one_request, split_draft
from importer.wire import LARGE_TEXT, orjson_bytes

_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"), st.sampled_from(['"', "\\", "\n", "\x00", "\x1f", "<"])
    ),
    max_size=80,
)
_LONG = st.sampled_from(["", "y" * (LARGE_TEXT + 1), "é" * (LARGE_TEXT // 2 + 1)])
_CUSTOMERS = st.one_of(
    st.builds(lambda email: {"email": email}, _TEXT),
    st.just({"id": PENDING_CUSTOMER_ID}),
    st.just({"id": 123}),
)
_USERS = st.sampled_from([7] * 20 + [2**70])  # past 64 bits: orjson refuses it
#: bytes over (negative: under) the exact size: mostly right at the limit
_SLACK = st.one_of(st.integers(-2, 2), st.integers(-40, 40))


def _attachment(url: bool) -> AttachmentDraft:
    source = (
        Attachment(file_name="a.png", url="https://example.com/a.png")
        if url
        else Attachment(file_name="a.txt", data_base64="aGVsbG8=")
    )
    return AttachmentDraft("a.png", "image/png", source, None)


@st.composite
def _threads(draw: Any) -> ThreadDraft:
    body: dict[str, Any] = {
        "type": draw(st.sampled_from(["customer", "reply", "note"])),
        "text": draw(_TEXT) + draw(_LONG) if draw(st.integers(0, 20)) == 0 else draw(_TEXT),
        "imported": True,
        "createdAt": "2024-05-10T10:30:00Z",
    }
    if draw(st.booleans()):
        body["customer"] = draw(_CUSTOMERS)
    if draw(st.booleans()):
        body["user"] = draw(_USERS)
    attachments = [_attachment(url) for url in draw(st.lists(st.booleans(), max_size=3))]
    return ThreadDraft(body, attachments, body["createdAt"])


@st.composite
def _drafts(draw: Any) -> Draft:
    base: dict[str, Any] = {
        "subject": draw(_TEXT),
        "type": "email",
        "status": draw(st.sampled_from(["closed", "active"])),
        "customer": draw(_CUSTOMERS),
        "imported": True,
        "createdAt": "2024-05-10T10:30:00Z",
    }
    if draw(st.booleans()):
        base["closedAt"] = "2024-05-11T10:30:00Z"
    if draw(st.booleans()):
        base["tags"] = draw(st.lists(_TEXT, max_size=3))
    threads = draw(st.lists(_threads(), min_size=1, max_size=12))
    return Draft("s", base, threads, "email:s", None, [], [])


def _measured_at_once(draft: Draft) -> bool:
    """No long text, and nothing orjson refuses."""
    bodies = [thread.body for thread in draft.threads]
    short = all(len(body["text"]) <= LARGE_TEXT for body in bodies)
    return short and orjson_bytes([draft.base, *bodies]) is not None


@settings(max_examples=400, deadline=None)
@given(draft=_drafts(), slack=_SLACK, max_threads=st.integers(1, 13))
def test_one_encoding_agrees_with_each_thread_measured(
    draft: Draft, slack: int, max_threads: int
) -> None:
    """At the very limit (``slack`` around the exact size) as well as far from it; a draft it
    cannot measure at once is left to be measured thread by thread."""
    whole = _base_size(draft) + sum(_thread_sizes(draft))
    max_bytes = whole + slack
    fits = whole <= max_bytes and len(draft.threads) <= max_threads
    expected = fits and _measured_at_once(draft)
    assert expected == fits_one_request(draft, max_bytes=max_bytes, max_threads=max_threads)


def _split(draft: Draft, max_bytes: int, max_threads: int) -> tuple[list[Any], list[Any]]:
    parts, left_out = split_draft(
        draft, max_bytes=max_bytes, read_attachment=lambda path: b"", max_threads=max_threads
    )
    return [(p.index, p.count, p.payload, p.deferred) for p in parts], left_out


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(draft=_drafts(), slack=_SLACK, max_threads=st.integers(1, 13))
def test_split_is_the_same_as_measuring_each_thread(
    draft: Draft, slack: int, max_threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    max_bytes = _base_size(draft) + sum(_thread_sizes(draft)) + slack
    try:
        fast = _split(draft, max_bytes, max_threads)
    except InvalidConversationError as exc:
        fast = exc.findings  # type: ignore[assignment]
    with monkeypatch.context() as patched:
        patched.setattr(split, "fits_one_request", lambda draft, **limits: False)
        try:
            slow = _split(draft, max_bytes, max_threads)
        except InvalidConversationError as exc:
            slow = exc.findings  # type: ignore[assignment]
    assert slow == fast
