"""Files of Freshdesk messages: ``attachments`` records and images inside HTML bodies.

An attachment (``attachment_url``, ``name``, ``size`` or ``file_size``, ``content_type``) becomes a
canonical url attachment. Images of an HTML body are carried as attachments of their message too,
as the mapping's ``[attachments] inline_images`` says: those the help desk stored (Froala
``fr-fic`` images, ``src`` on an attachment host), every http(s) image, or none. ``data:`` images
become ``data_base64`` attachments, replaced in the body by ``[image: NAME]`` (the bytes travel
once). An ``<img>`` without ``src`` (Froala's cursor placeholder) is removed from the body: it
shows nothing.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import posixpath
import re
from html import escape as html_escape
from html import unescape
from typing import Any
from urllib.parse import unquote, urlsplit

from importer.readers.freshdesk.mapping import FreshdeskMapping
from importer.readers.freshdesk.records import text_of
from importer.readers.text import may_show_images

_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*;base64,(.*)$", re.DOTALL)
_FROALA_IMAGE = "fr-fic"


def attachment_of(item: Any) -> tuple[dict[str, Any] | None, str | None]:
    """One attachment record as a canonical url attachment, or why it is left out."""
    if not isinstance(item, dict):
        return None, None
    name = text_of(item.get("name")) or text_of(item.get("file_name"))
    url = text_of(item.get("attachment_url")) or text_of(item.get("url"))
    if url is None:
        return None, f"attachment {name or item.get('id')!r} has no attachment_url: left out"
    size = item.get("size", item.get("file_size"))
    attachment: dict[str, Any] = {
        "file_name": name or _file_name_of(url, 1),
        "url": url,
        "content_type": text_of(item.get("content_type")),
        "size": _size(size),
    }
    return {key: value for key, value in attachment.items() if value is not None}, None


def _size(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _file_name_of(url: str, number: int, content_type: str | None = None) -> str:
    base = posixpath.basename(unquote(urlsplit(url).path)) if not url.startswith("data:") else ""
    if base and "." in base:
        return base
    extension = mimetypes.guess_extension(content_type or "") or ""
    return f"{base or 'inline-image-' + str(number)}{extension}"


def _attributes(tag: str) -> dict[str, str]:
    return {
        match.group(1).lower(): unescape(match.group(2) or match.group(3) or match.group(4) or "")
        for match in _ATTRIBUTE.finditer(tag)
    }


def _wanted_image(src: str, attributes: dict[str, str], mapping: FreshdeskMapping) -> bool:
    if mapping.inline_images == "all":
        return True
    lowered = src.lower()
    classes = attributes.get("class", "").split()
    return _FROALA_IMAGE in classes or any(m in lowered for m in mapping.attachment_url_markers)


def inline_images(
    body: str, known_urls: set[str], mapping: FreshdeskMapping
) -> tuple[str, list[dict[str, Any]], list[str]]:
    """The body without editor leftovers (``<img>`` without ``src``), the images to carry as
    attachments (not those of ``known_urls``, the message's own attachments) and the problems
    of images left out."""
    images: list[dict[str, Any]] = []
    problems: list[str] = []

    def visit(match: re.Match[str]) -> str:
        attributes = _attributes(match.group(0))
        src = attributes.get("src", "").strip()
        if not src:
            return ""  # Froala's cursor placeholder and the like: shows nothing
        if mapping.inline_images == "none" or src in known_urls:
            return match.group(0)
        data_uri = _DATA_URI.match(src)
        if data_uri:
            content_type = data_uri.group(1) or "application/octet-stream"
            payload = re.sub(r"\s+", "", data_uri.group(2))
            try:
                size = len(base64.b64decode(payload, validate=True))
            except (binascii.Error, ValueError):
                problems.append("an inline image has bad base64 data: left out")
                return match.group(0)
            name = _file_name_of(src, len(images) + 1, content_type)
            images.append(
                {
                    "file_name": name,
                    "content_type": content_type,
                    "size": size,
                    "data_base64": payload,
                }
            )
            return f"[image: {html_escape(name)}]"  # the bytes travel once, as the attachment
        if src.lower().startswith(("http://", "https://")) and _wanted_image(
            src, attributes, mapping
        ):
            known_urls.add(src)
            name = attributes.get("data-filename") or _file_name_of(src, len(images) + 1)
            image = {"file_name": name, "url": src}
            content_type = mimetypes.guess_type(name)[0]
            if content_type:
                image["content_type"] = content_type
            images.append(image)
        return match.group(0)

    cleaned = _IMG_TAG.sub(visit, body) if may_show_images(body) else body
    return cleaned, images, problems
