"""Message bodies: plain text escaped into HTML, and HTML reduced to text for subjects."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})
_SPACES = re.compile(r"[ \t\f\v]+")


#: what plain text becomes in HTML, in this order (``&`` first): ``html.escape`` without
#: quotes, then line breaks
_TEXT_TO_HTML = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\n", "<br>"))


def text_to_html(text: str) -> str:
    """Escape plain text for HTML and keep its line breaks as ``<br>``."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for char, markup in _TEXT_TO_HTML:
        if char in text:  # a search is much cheaper than a replace that finds nothing
            text = text.replace(char, markup)
    return text


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body, one line per block, spaces folded."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.chunks).split("\n"))
    return "\n".join(line for line in lines if line)


#: how much of an HTML body is read for its first line (a subject): a body of 60 MB is not
#: parsed whole to find the first 80 characters
HEAD_CHARS = 1 << 16


def html_head(markup: str) -> str:
    """The first :data:`HEAD_CHARS` of ``markup``, without a tag cut in two at the end."""
    if len(markup) <= HEAD_CHARS:
        return markup
    head = markup[:HEAD_CHARS]
    opened = head.rfind("<")
    return head[:opened] if opened > head.rfind(">") else head


def first_line(text: str, limit: int) -> str:
    """The first non-empty line of ``text``, cut at ``limit`` characters with an ellipsis."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""
