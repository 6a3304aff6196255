"""Zendesk comment content: bodies (HTML, plain text, Markdown) and attachments, pure functions.

A comment carries up to three bodies: ``html_body`` (HTML wrapped in ``<div class="zd-comment">``),
``plain_body`` (text) and ``body``, which is Markdown (``**bold**`` where ``html_body`` has
``<b>``). HTML is preferred, plain text next; a bare ``body`` is rendered from its Markdown so
that asterisks never reach a customer. ``body_format = "text"`` in the mapping prefers the plain
text: ``plain_body``, else ``body`` as it is written (Markdown not rendered), else ``html_body``.
Attachments become url attachments; inline images (``inline: true``, or images of the HTML body
that point at Zendesk attachment URLs or hold ``data:`` URIs) are attachments of their message
too.
"""

from __future__ import annotations

import html
import posixpath
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from importer.findings import Finding
from importer.readers.text import may_show_images

_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+")
_ORDERED_ITEM = re.compile(r"^\s{0,3}\d{1,3}[.)]\s+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://|mailto:)[^)\s]+)\)")
_CODE = re.compile(r"`([^`\n]+)`")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_IMG_TAG = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1[^>]*>""", re.IGNORECASE | re.DOTALL)
_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,([A-Za-z0-9+/=\s]+)$", re.DOTALL)
#: path fragments of the URLs Zendesk serves attachments from
ATTACHMENT_URL_MARKERS = ("/attachments/", "zdusercontent.com")


def _inline_markdown(line: str) -> str:
    """One line of Markdown as HTML: escaped, then code, links, bold and emphasis."""
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\0{len(codes) - 1}\0"

    text = _CODE.sub(keep_code, html.escape(line, quote=False))
    text = _LINK.sub(
        lambda m: f'<a href="{m.group(2).replace(chr(34), "%22")}">{m.group(1)}</a>', text
    )
    text = _STRONG.sub(r"<strong>\2</strong>", text)
    text = _EMPHASIS.sub(r"<em>\2</em>", text)
    return re.sub("\0(\\d+)\0", lambda m: codes[int(m.group(1))], text)


def markdown_to_html(text: str) -> str:
    """Zendesk's Markdown ``body`` as HTML: paragraphs, line breaks, lists, headings, emphasis."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    blocks: list[str] = []
    for block in re.split(r"\n[ \t]*\n+", normalised):
        lines = block.split("\n")
        if all(_LIST_ITEM.match(line) for line in lines):
            tag = "ol" if _ORDERED_ITEM.match(lines[0]) else "ul"
            items = "".join(
                f"<li>{_inline_markdown(_LIST_ITEM.sub('', line, count=1))}</li>" for line in lines
            )
            blocks.append(f"<{tag}>{items}</{tag}>")
        elif len(lines) == 1 and _HEADING.match(lines[0]):
            blocks.append(f"<p><strong>{_inline_markdown(_HEADING.sub('', lines[0]))}</strong></p>")
        elif block.strip():
            blocks.append("<p>" + "<br>".join(_inline_markdown(line) for line in lines) + "</p>")
    return "".join(blocks)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def comment_body(
    comment: dict[str, Any], body_format: str = "auto"
) -> tuple[str | None, str | None]:
    """``(body_html, body_text)`` of a comment: ``html_body``, else ``plain_body``, else the
    Markdown ``body`` rendered; ``(None, "")`` for a comment without any body. With
    ``body_format`` ``text``: ``plain_body``, else ``body`` as text, else ``html_body``."""
    if body_format == "text":
        plain = _text(comment.get("plain_body")) or _text(comment.get("body"))
        if plain is not None:
            return None, plain
    if (markup := _text(comment.get("html_body"))) is not None:
        return markup, None
    if (plain := _text(comment.get("plain_body"))) is not None:
        return None, plain
    if (markdown := _text(comment.get("body"))) is not None:
        return markdown_to_html(markdown), None
    return None, ""


def description_html(description: str) -> str:
    """A ticket ``description`` (the first comment's Markdown ``body``) as HTML.

    Voicemail tickets hold a literal backslash-n instead of line breaks; a description with no
    real line break has them turned into line breaks.
    """
    return markdown_to_html(_real_line_breaks(description))


def description_body(description: str, body_format: str = "auto") -> dict[str, str]:
    """The body of the description's message: ``{"body_html": ...}`` rendered from its
    Markdown, or with ``body_format`` ``text`` ``{"body_text": ...}`` as written."""
    if body_format == "text":
        return {"body_text": _real_line_breaks(description)}
    return {"body_html": description_html(description)}


def _real_line_breaks(description: str) -> str:
    if "\n" not in description and "\\n" in description:
        return description.replace("\\n", "\n")
    return description


def _name_from_url(url: str) -> str:
    parts = urlsplit(url)
    named = parse_qs(parts.query).get("name")
    if named and named[0].strip():
        return named[0].strip()
    return unquote(posixpath.basename(parts.path.rstrip("/"))) or "attachment"


def _size(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def comment_attachments(
    comment: dict[str, Any], location: str, source_id: str | None
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The url attachments of a comment (listed ones, then images only its HTML references),
    and the findings of those left out (deleted, or without a URL)."""
    attachments: list[dict[str, Any]] = []
    left_out: list[Finding] = []
    seen_urls: set[str] = set()
    listed = comment.get("attachments")
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        url = _text(item.get("content_url")) or _text(item.get("mapped_content_url"))
        name = _text(item.get("file_name")) or (_name_from_url(url) if url else "attachment")
        if item.get("deleted") is True or url is None:
            reason = "was deleted in Zendesk" if item.get("deleted") is True else "has no URL"
            left_out.append(
                Finding(
                    "attachment",
                    "deleted" if url else "url",
                    f"attachment {name!r} {reason}: left out",
                    location,
                    source_id,
                )
            )
            continue
        attachment: dict[str, Any] = {"file_name": name, "url": url}
        if content_type := _text(item.get("content_type")):
            attachment["content_type"] = content_type
        if (size := _size(item.get("size"))) is not None:
            attachment["size"] = size
        attachments.append(attachment)
        seen_urls.update(u for u in (url, _text(item.get("mapped_content_url"))) if u)
    markup = comment.get("html_body")
    if isinstance(markup, str):
        attachments.extend(_inline_images(markup, seen_urls))
    return attachments, left_out


def _data_image_name(number: int, content_type: str) -> str:
    return f"inline-image-{number}.{content_type.rsplit('/', 1)[-1].split('+')[0]}"


def without_data_images(markup: str) -> str:
    """``markup`` with each image held in a ``data:`` URI replaced by ``[image: NAME]``, NAME
    being the attachment :func:`comment_attachments` makes of it (the bytes travel once)."""
    number = 0

    def placeholder(match: re.Match[str]) -> str:
        nonlocal number
        data = _DATA_URI.match(html.unescape(match.group(2)).strip())
        if data is None:
            return match.group(0)
        number += 1
        return f"[image: {_data_image_name(number, data.group(1).lower())}]"

    return _IMG_TAG.sub(placeholder, markup) if may_show_images(markup) else markup


def _inline_images(markup: str, seen_urls: set[str]) -> list[dict[str, Any]]:
    """Images of an HTML body that its attachment list does not hold."""
    found: list[dict[str, Any]] = []
    data_images = 0
    for match in _IMG_SRC.finditer(markup) if may_show_images(markup) else ():
        src = html.unescape(match.group(2)).strip()
        if not src or src in seen_urls:
            continue
        seen_urls.add(src)
        if data := _DATA_URI.match(src):
            data_images += 1
            content_type = data.group(1).lower()
            found.append(
                {
                    "file_name": _data_image_name(data_images, content_type),
                    "content_type": content_type,
                    "data_base64": re.sub(r"\s+", "", data.group(2)),
                }
            )
        elif src.startswith(("http://", "https://")) and any(
            marker in src for marker in ATTACHMENT_URL_MARKERS
        ):
            found.append({"file_name": _name_from_url(src), "url": src})
    return found
