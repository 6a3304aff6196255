"""The line naming a file that could not be fetched fits in the bytes the splitter reserved."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from importer.pipeline.attachments import note
from importer.transform.split import URL_NOTE_RESERVE
from importer.wire import json_bytes


@given(st.text(max_size=400), st.text(max_size=2000))
def test_a_note_never_outgrows_its_reserve(file_name: str, why: str) -> None:
    assert len(json_bytes(note(file_name, why))) <= URL_NOTE_RESERVE


def test_a_short_note_says_the_name_and_why_whole() -> None:
    line = note("invoice.pdf", "https://old.example/f/1: HTTP 404")
    assert "invoice.pdf" in line
    assert "HTTP 404" in line
