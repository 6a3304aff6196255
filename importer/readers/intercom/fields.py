"""The pieces of an Intercom conversation: ids, people lookups, attachments and images in
messages, and the conversation's subject, status, assignee, tags and custom fields. Pure.

Problems found here are returned as ``(code, message)`` pairs; the caller turns them into
findings with the conversation's id and location.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import mimetypes
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from importer.readers.common import id_text, text_value
from importer.readers.intercom.mapping import IntercomMapping
from importer.readers.text import may_show_images

#: an ``[Image "..."]`` placeholder or an ``<img src>``, in the order the body shows them
IMAGE_REFERENCE = re.compile(
    r"""\[Image\s+"([^"\]]+)"\]|<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)')""",
    re.IGNORECASE,
)
DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(?:;[^,;]*)*;base64,(.*)$", re.DOTALL)
TAG = re.compile(r"<[^>]*>")
#: assignee ids Intercom writes for "nobody"
NO_ASSIGNEE = frozenset({"0"})

Problem = tuple[str, str]  # (code, message)


class Lookup(Protocol):
    """People by their Intercom id: a dict, or the reader's on-disk store."""

    def get(self, key: str, /) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class People:
    """The export's contacts, admins and teams; ``contacts_given`` when it has a contacts file."""

    contacts: Lookup
    admins: Lookup
    teams: Lookup
    contacts_given: bool = False


NO_PEOPLE = People({}, {}, {})


def listed(value: Any, key: str) -> list[Mapping[str, Any]]:
    """The objects of an Intercom list (``{"type": "x.list", key: [...]}``) or of a bare list;
    ``None`` and missing lists are empty."""
    if isinstance(value, Mapping):
        value = value.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def nested_parts(conversation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The parts embedded in a conversation object (none when ``null`` or missing)."""
    return listed(conversation.get("conversation_parts"), "conversation_parts")


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """``"Ada King Lovelace"`` → ``("Ada", "King Lovelace")``."""
    if not name:
        return None, None
    first, _, last = name.partition(" ")
    return first or None, last.strip() or None


# -- attachments ------------------------------------------------------------------------------


def _file_name(reference: str, fallback: str) -> str:
    return posixpath.basename(unquote(urlsplit(reference).path)) or fallback


def part_attachments(raw: Any, label: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The url attachments of a part's (or source's) ``attachments`` list."""
    kept: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        url = text_value(item.get("url"))
        name = text_value(item.get("name")) or (_file_name(url, "attachment") if url else None)
        if url is None:
            problems.append(
                (
                    "url",
                    f"attachment {name or '(unnamed)'!r} of {label} is left out: the export "
                    "gives no url for it; add the file by hand after the import",
                )
            )
            continue
        attachment: dict[str, Any] = {"file_name": name, "url": url}
        content_type = text_value(item.get("content_type"))
        if content_type:
            attachment["content_type"] = content_type
        size = item.get("filesize", item.get("size"))
        if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
            attachment["size"] = size
        kept.append(attachment)
    return kept, problems


def _data_image(data: re.Match[str], number: int) -> dict[str, Any] | None:
    content_type = data.group(1) or "application/octet-stream"
    payload = "".join(data.group(2).split())
    try:
        size = len(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        return None
    extension = mimetypes.guess_extension(content_type) or ""
    return {
        "file_name": f"inline-image-{number}{extension}",
        "content_type": content_type,
        "size": size,
        "data_base64": payload,
    }


def body_images(
    body: str, kept: list[dict[str, Any]], label: str
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Attachments for the images a body shows (``[Image "..."]`` placeholders, ``<img src>``)
    that are not already among ``kept``; an image without an address is a problem."""
    if not may_show_images(body):
        return [], []
    known = {a["url"] for a in kept} | {a["file_name"] for a in kept}
    references = [
        html.unescape(next(group for group in match.groups() if group is not None)).strip()
        for match in IMAGE_REFERENCE.finditer(body)
    ]
    images: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for reference in dict.fromkeys(r for r in references if r):
        data = DATA_URI.match(reference)
        if data is not None:
            image = _data_image(data, len(images) + 1)
            if image is None:
                problems.append(
                    ("data", f"an inline image of {label} is left out: its data: is not base64")
                )
            else:
                images.append(image)
            continue
        name = _file_name(reference, "image")
        if reference in known or name in known:
            continue  # already one of the message's attachments
        if urlsplit(reference).scheme.lower() in ("http", "https"):
            image = {"file_name": name, "url": reference}
            guessed = mimetypes.guess_type(name)[0]
            if guessed:
                image["content_type"] = guessed
            images.append(image)
            known |= {reference, name}
            continue
        problems.append(
            (
                "url",
                f"image {name!r} shown in {label} is left out: the export names it without an "
                "address to download it from (Intercom image links also expire); add the file "
                "by hand after the import",
            )
        )
    return images, problems


# -- conversation fields ----------------------------------------------------------------------


def attributes(conversation: Mapping[str, Any], mapping: IntercomMapping) -> dict[str, Any]:
    """``custom_attributes``, then (for a ticket) ``ticket.custom_attributes`` values."""
    found: dict[str, Any] = {}
    raw = conversation.get("custom_attributes")
    if isinstance(raw, Mapping):
        found.update(raw)
    ticket = conversation.get("ticket")
    if mapping.ticket_attributes and isinstance(ticket, Mapping):
        ticket_raw = ticket.get("custom_attributes")
        for name, entry in (ticket_raw if isinstance(ticket_raw, Mapping) else {}).items():
            found.setdefault(name, entry.get("value") if isinstance(entry, Mapping) else entry)
    return found


def custom_fields(found: Mapping[str, Any], mapping: IntercomMapping) -> dict[str, Any]:
    """Custom fields by Help Scout name: skipped and empty attributes left out, objects as JSON."""
    fields: dict[str, Any] = {}
    for name, value in found.items():
        if name in mapping.skipped_attributes or value is None or value == "":
            continue
        if isinstance(value, Mapping | list):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        fields[mapping.custom_field_names.get(name, name)] = value
    return fields


def _plain(markup: str) -> str:
    return " ".join(html.unescape(TAG.sub(" ", markup)).split())


def subject(
    conversation: Mapping[str, Any], found: Mapping[str, Any], mapping: IntercomMapping
) -> str | None:
    """``source.subject`` as text, else ``title``, else a title attribute; ``None`` leaves the
    importer to derive one from the first message."""
    source = conversation.get("source")
    candidates: list[Any] = [source.get("subject")] if isinstance(source, Mapping) else []
    candidates.append(conversation.get("title"))
    candidates += [found.get(name) for name in mapping.subject_attributes]
    for candidate in candidates:
        if isinstance(candidate, str) and _plain(candidate):
            return _plain(candidate)
    return None


def status(conversation: Mapping[str, Any], mapping: IntercomMapping) -> str | None:
    """The status word of ``state`` (older exports: ``open`` true/false)."""
    state = text_value(conversation.get("state"))
    if state is None:
        is_open = conversation.get("open")
        if not isinstance(is_open, bool):
            return None
        state = "open" if is_open else "closed"
    return mapping.status_by_state.get(state.lower(), state)


def assignee(conversation: Mapping[str, Any], people: People) -> dict[str, Any]:
    """``assignee_id`` (and ``assignee_email`` from the admins) of the assigned admin."""
    assignee_id = id_text(conversation.get("admin_assignee_id"))
    old = conversation.get("assignee")  # older API versions: {"type": "admin", "id": ...}
    if assignee_id is None and isinstance(old, Mapping) and old.get("type") in (None, "admin"):
        assignee_id = id_text(old.get("id"))
    if assignee_id is None or assignee_id in NO_ASSIGNEE:
        return {}
    email = text_value((people.admins.get(assignee_id) or {}).get("email"))
    return {"assignee_id": assignee_id, **({"assignee_email": email} if email else {})}


def tags(conversation: Mapping[str, Any]) -> list[str]:
    """Tag names of ``tags.tags[]`` (or of a bare list of tags or names)."""
    raw = conversation.get("tags")
    items = raw.get("tags") if isinstance(raw, Mapping) else raw
    names = []
    for item in items if isinstance(items, list) else []:
        name = text_value(item.get("name")) if isinstance(item, Mapping) else text_value(item)
        if name:
            names.append(name)
    return names
