"""The cheap test before the image searches (Intercom's, Zendesk's, Freshdesk's) never hides an
image: whatever text a search finds a reference in, the test lets through (letters that match
``i``, ``s`` or ``k`` without regard to case, such as the dotted capital I, the dotless i, the
long s and the Kelvin sign, included)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers.freshdesk import attachments as freshdesk
from importer.readers.intercom.fields import IMAGE_REFERENCE, body_images
from importer.readers.text import may_show_images
from importer.readers.zendesk import content as zendesk

PIECES = st.sampled_from(
    [
        "<img",
        "<IMG",
        "<\u0131mg",
        "<İmg",
        "<iMg",
        "[Image",
        "[IMAGE",
        "[\u0131mage",
        "[İMAGE",
        " ",
        "\t",
        'src="',
        "SRC='",
        "\u017frc=",
        '"',
        "'",
        "]",
        ">",
        "a.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "https://x.io/k.png",
        "M",
        "\u212a",
        "g",
        "e",
        "<p>",
    ]
)
TEXTS = st.one_of(st.lists(PIECES, max_size=12).map("".join), st.text(max_size=40))


@settings(max_examples=3_000, deadline=None)
@given(text=TEXTS)
def test_no_reference_is_found_where_the_test_says_none_can_be(text: str) -> None:
    for search in (IMAGE_REFERENCE, zendesk._IMG_SRC, zendesk._IMG_TAG, freshdesk._IMG_TAG):
        if search.search(text) is not None:
            assert may_show_images(text), search.pattern
    if not may_show_images(text):
        assert body_images(text, [], "message 1") == ([], [])


def test_bodies_with_images_pass_and_plain_ones_do_not() -> None:
    assert may_show_images('<p>see <IMG SRC="https://x.io/a.png"></p>')
    assert may_show_images('[Image "https://x.io/a.png"]')
    assert not may_show_images("<p>Thanks, the replacement is on its way.</p>")
