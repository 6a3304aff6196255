"""Bodies reduced to a first line read only their head, with the same result."""

from __future__ import annotations

import pytest

from importer.transform.html import HEAD_CHARS, first_line, html_head, html_to_text


@pytest.mark.parametrize(
    "markup",
    [
        "<p>Hello there</p>" + "<p>more</p>" * 20_000,
        "<div><b>Order</b> 42 is late</div><p>" + "x" * (HEAD_CHARS * 3) + "</p>",
        "<style>p {}</style>\n\n<p>  spaced   out  </p>" + "<br>" * HEAD_CHARS,
        "plain text, no tags " * 10_000,
    ],
)
def test_the_first_line_of_the_head_is_the_first_line_of_the_body(markup: str) -> None:
    assert len(html_head(markup)) <= HEAD_CHARS
    whole = first_line(html_to_text(markup), 80)
    assert first_line(html_to_text(html_head(markup)), 80) == whole


def test_a_tag_cut_by_the_head_is_left_out() -> None:
    markup = "<p>" + "a" * (HEAD_CHARS - 6) + "<span class='x'>b</span></p>"
    head = html_head(markup)
    assert head.endswith("a")
    assert "<span" not in head
    assert html_head("<p>short</p>") == "<p>short</p>"
