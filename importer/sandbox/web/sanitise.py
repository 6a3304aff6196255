"""A message body made safe to show: an allow-list of tags and attributes (nh3, the Ammonia
sanitiser), no script, no style, no event handler, no remote image.

Why: the sandbox shows what an export held, and an export is untrusted. The page's
Content-Security-Policy (:mod:`importer.sandbox.web.guard`) is the second wall; this is the
first, so that a body never even asks the browser for something the policy must refuse (a
refused request is a console error, and a remote image a tracking beacon). An image whose
source is not a ``data:`` URL of a raster image keeps its place as its alternative text, so the
agent sees that the message showed one.
"""

from __future__ import annotations

import re

import nh3

#: what a body may keep: Help Scout's editor's formatting, lists, tables, links, images
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "font",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre",
    "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "abbr": {"title"},
    "ol": {"start"},
}
#: the content of these goes too, not only the tag
DROPPED_WITH_CONTENT = {"script", "style", "template", "noscript", "iframe", "object", "svg"}
#: the only images a body may show: raster images inlined as data URLs
INLINE_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+\Z", re.I)
LINK_SCHEMES = {"http", "https", "mailto", "tel", "data"}


def _filter(tag: str, attribute: str, value: str) -> str | None:
    """Keep an image's source only when it is an inline raster image, a link only when it does
    not lead to a ``data:`` URL."""
    if tag == "img" and attribute == "src":
        return value if INLINE_IMAGE.match(value.strip()) else None
    if tag == "a" and attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    return value


_REMOTE_IMAGE = re.compile(r"<img(?![^>]*\ssrc=)([^>]*)>")


def clean_body(html: str) -> str:
    """The body with only what :data:`ALLOWED_TAGS` and :data:`ALLOWED_ATTRIBUTES` allow; an
    image that is not inline is left as its alternative text (``[image not loaded: ALT]``),
    an inline one without alternative text is given ``inline image``."""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter,
        url_schemes=LINK_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return _NO_ALT.sub('<img alt="inline image"', _REMOTE_IMAGE.sub(_image_placeholder, cleaned))


_ALT = re.compile(r'\salt="([^"]*)"')
#: an image left without alternative text gets one, for a screen reader
_NO_ALT = re.compile(r"<img(?![^>]*\salt=)")


def _image_placeholder(match: re.Match[str]) -> str:
    alt = _ALT.search(match.group(1))
    label = alt.group(1) if alt and alt.group(1) else "remote image"
    return f'<span class="blocked-image">[image not loaded: {label}]</span>'
