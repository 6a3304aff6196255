"""``verify``'s comparison, pure: one part as planned against the conversation the API returns.

Each side becomes rows of comparable values, allowing for what the importer changes on purpose:
thread type ``message`` in responses stands for a ``reply``, threads come newest first, plain
text is escaped (texts are compared as text: markup, entities and whitespace normalised), notes
the importer adds (an attachment not imported) are dropped, times are compared in UTC to the
second. A value the API does not return is None and never checked.

Threads are paired before they are compared (same time and text, then same text, then same
time, then in order), so a thread deleted in Help Scout is one missing thread, not a shift of
every thread after it; :mod:`importer.commands.verify_frames` compares the paired rows.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

SHOWN = 160  # characters of a value shown in a mismatch row
CUSTOMER_TYPES = frozenset({"customer", "chat", "phone"})
THREAD_FIELDS = ("type", "createdAt", "author", "text", "attachments", "attachment sizes")

_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", re.IGNORECASE)
_NOTE = re.compile(r'Attachment "[^"]*" was not imported: [^\n]*')
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Mismatch:
    """One difference: where (source id, part, thread: 1-based in time order) and what."""

    source_id: str
    part: int | None
    thread: int | None
    field: str
    expected: str
    found: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def shown(value: Any) -> str:
    """A value as a mismatch row shows it (short)."""
    text = "" if value is None else str(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def normal_text(body: str | None) -> str:
    """Text of an HTML (or escaped plain) body: markup and importer notes out, entities read,
    whitespace collapsed."""
    text = _BLOCK.sub("\n", body or "")
    text = html.unescape(_TAG.sub("", text))
    text = _NOTE.sub("", text)
    return _SPACE.sub(" ", text).strip()


def normal_time(value: Any) -> str | None:
    """A timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (None when absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def base64_size(data: str) -> int:
    """Bytes a base64 text decodes to."""
    text = "".join(data.split())
    return len(text) * 3 // 4 - text[-2:].count("=")


# --- expected side ---------------------------------------------------------------------------


@dataclass
class ExpectedThread:
    """One thread of a part as sent (index 1-based, in the part's time order)."""

    index: int
    type: str
    created_at: str | None
    author: str | None  # "customer:<email>", "customer#<id>" or "user#<id>"; None: not known
    text: str
    files: list[tuple[str, int | None]]  # (name, size when known)


def customer_ref(ref: Any) -> str | None:
    """How a thread or conversation names its customer, comparably."""
    if not isinstance(ref, dict):
        return None
    email = ref.get("email")
    if isinstance(email, str) and email:
        return "customer:" + email.strip().lower()
    given = ref.get("id")
    return f"customer#{given}" if isinstance(given, int) and given > 0 else None


def expected_threads(
    body: dict[str, Any], extra_files: dict[int, list[tuple[str, int | None]]] | None = None
) -> list[ExpectedThread]:
    """The threads of a create body, with ``extra_files`` (by 0-based thread index: the files
    uploaded after creation) added to those sent inline."""
    threads = []
    for position, thread in enumerate(body.get("threads") or []):
        kind = str(thread.get("type") or "")
        if kind in CUSTOMER_TYPES:
            author = customer_ref(thread.get("customer"))
        else:
            user = thread.get("user")
            author = f"user#{user}" if isinstance(user, int) else None
        files: list[tuple[str, int | None]] = [
            (str(a.get("fileName")), base64_size(str(a.get("data") or "")))
            for a in thread.get("attachments") or []
        ]
        files += (extra_files or {}).get(position, [])
        threads.append(
            ExpectedThread(
                index=position + 1,
                type=kind,
                created_at=normal_time(thread.get("createdAt")),
                author=author,
                text=normal_text(thread.get("text")),
                files=files,
            )
        )
    return threads


# --- found side and pairing ------------------------------------------------------------------


def found_threads(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """The threads a conversation came with, oldest first (the API lists newest first)."""
    embedded = conversation.get("_embedded")
    threads = embedded.get("threads") if isinstance(embedded, dict) else None
    return list(reversed(threads)) if isinstance(threads, list) else []


def _found_type(thread: dict[str, Any]) -> str | None:
    kind = thread.get("type")
    if not isinstance(kind, str):
        return None
    return "reply" if kind == "message" else kind


def _found_author(thread: dict[str, Any], expected: str | None) -> str | None:
    """The found thread's author, in the form of the expected one (None: not returned)."""
    if expected is None:
        return None
    given = thread.get("createdBy")
    created_by: dict[str, Any] = given if isinstance(given, dict) else {}
    if expected.startswith("user#"):
        if created_by.get("type") not in (None, "user") or "id" not in created_by:
            return None if not created_by else f"{created_by.get('type')}#{created_by.get('id')}"
        return f"user#{created_by.get('id')}"
    customer = thread.get("customer")
    person = (customer if isinstance(customer, dict) else None) or (
        created_by if created_by.get("type") == "customer" else None
    )
    if not person:
        return None
    if expected.startswith("customer:"):
        email = person.get("email")
        return "customer:" + email.strip().lower() if isinstance(email, str) else None
    return f"customer#{person.get('id')}" if "id" in person else None


def _files_of(thread: dict[str, Any]) -> list[tuple[str, int | None]] | None:
    embedded = thread.get("_embedded")
    if not isinstance(embedded, dict) or not isinstance(embedded.get("attachments"), list):
        return None
    out = []
    for attachment in embedded["attachments"]:
        size = attachment.get("size")
        out.append((str(attachment.get("filename")), size if isinstance(size, int) else None))
    return out


def _names(files: Iterable[tuple[str, int | None]]) -> str:
    return " | ".join(sorted(name for name, _ in files))


def _sizes(files: Iterable[tuple[str, int | None]], known: set[str]) -> str:
    return " | ".join(sorted(f"{name}: {size}" for name, size in files if name in known))


def pair_threads(
    expected: list[ExpectedThread], found: list[dict[str, Any]]
) -> list[tuple[int | None, int | None]]:
    """Pairs of (expected position, found position), each side used once; a side left over is
    paired with None (a thread missing, or one not expected)."""
    found_keys = [
        (normal_time(t.get("createdAt")), normal_text(t.get("body") or t.get("text")))
        for t in found
    ]
    pairs: dict[int, int] = {}
    taken: set[int] = set()
    keys: list[Callable[[str | None, str], Any]] = [
        lambda time, text: (time, text),
        lambda time, text: text,
        lambda time, text: time,
    ]
    for key in keys:
        free: dict[Any, list[int]] = {}
        for position, (time, text) in enumerate(found_keys):
            if position not in taken:
                free.setdefault(key(time, text), []).append(position)
        for position, thread in enumerate(expected):
            if position in pairs:
                continue
            candidates = free.get(key(thread.created_at, thread.text))
            if candidates:
                pairs[position] = candidates.pop(0)
                taken.add(pairs[position])
    rest_expected = [p for p in range(len(expected)) if p not in pairs]
    rest_found = [p for p in range(len(found)) if p not in taken]
    for left, right in zip(rest_expected, rest_found, strict=False):
        pairs[left] = right
        taken.add(right)
    out: list[tuple[int | None, int | None]] = [(e, f) for e, f in sorted(pairs.items())]
    out += [(e, None) for e in range(len(expected)) if e not in pairs]
    out += [(None, f) for f in range(len(found)) if f not in taken]
    return out


def thread_rows(
    source_id: str, part: int, expected: list[ExpectedThread], *, found: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Mismatch]]:
    """The expected and found rows of one part's threads (a found thread takes the index of the
    expected one it pairs with; one not expected gets an index after the last), and the order
    mismatch, if any, among threads whose times agree."""
    expected_out = [_expected_row(source_id, part, thread) for thread in expected]
    found_out = []
    extra = len(expected)
    same_time: list[tuple[int, int]] = []
    for e, f in pair_threads(expected, found):
        if f is None:
            continue
        mine = expected[e] if e is not None else None
        if mine is None:
            extra += 1
        row = _found_row(source_id, part, found[f], mine=mine)
        row["thread"] = mine.index if mine else extra
        found_out.append(row)
        if mine is not None and row["createdAt"] == mine.created_at:
            same_time.append((mine.index, f))
    order = [index for index, _ in sorted(same_time, key=lambda pair: pair[1])]
    mismatches = []
    if order != sorted(order):
        mismatches.append(
            Mismatch(
                source_id,
                part,
                None,
                "order",
                shown(", ".join(map(str, sorted(order)))),
                shown(", ".join(map(str, order))),
            )
        )
    return expected_out, found_out, mismatches


def _expected_row(source_id: str, part: int, thread: ExpectedThread) -> dict[str, Any]:
    """The comparable row of a thread as sent."""
    return {
        "source_id": source_id,
        "part": part,
        "thread": thread.index,
        "type": thread.type,
        "createdAt": thread.created_at,
        "author": thread.author,
        "text": thread.text,
        "attachments": _names(thread.files),
        "attachment sizes": _sizes(thread.files, {n for n, s in thread.files if s is not None}),
    }


def _found_row(
    source_id: str, part: int, theirs: dict[str, Any], *, mine: ExpectedThread | None
) -> dict[str, Any]:
    """The comparable row of a thread as found, in the form of the one it pairs with (``mine``;
    None: not expected); its ``thread`` index is the caller's to set."""
    files = _files_of(theirs)
    known = {n for n, s in mine.files if s is not None} if mine else set()
    text = theirs.get("body") if "body" in theirs else theirs.get("text")
    return {
        "source_id": source_id,
        "part": part,
        "thread": None,
        "type": _found_type(theirs),
        "createdAt": normal_time(theirs.get("createdAt")),
        "author": _found_author(theirs, mine.author if mine else None),
        "text": normal_text(text) if isinstance(text, str) else None,
        "attachments": None if files is None else _names(files),
        "attachment sizes": None if files is None else _sizes(files, known),
    }


# --- conversation fields ---------------------------------------------------------------------


def _fields(values: Any, key: str) -> dict[str, str]:
    out = {}
    for entry in values or []:
        if isinstance(entry, dict) and entry.get("id") is not None:
            out[str(entry["id"])] = str(entry.get(key, ""))
    return out


def _pairs(mapping: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(mapping.items()))


def compare_conversation(
    source_id: str, part: int, body: dict[str, Any], *, found: dict[str, Any]
) -> list[Mismatch]:
    """Subject, type, customer, status, ``createdAt``, ``closedAt``, tags and custom fields of
    one part (a field the API leaves out is not checked)."""
    checks: list[tuple[str, Any, Any]] = []
    if "subject" in found:
        checks.append(
            ("subject", normal_text(body.get("subject")), normal_text(found.get("subject")))
        )
    if "type" in found:
        checks.append(("type", body.get("type"), found.get("type")))
    wanted = customer_ref(body.get("customer"))
    if wanted is not None and isinstance(found.get("primaryCustomer"), dict):
        person = found["primaryCustomer"]
        got = customer_ref(person if wanted.startswith("customer:") else {"id": person.get("id")})
        checks.append(("customer", wanted, got))
    if "status" in found:
        checks.append(("status", body.get("status"), found.get("status")))
    if "createdAt" in found:
        checks.append(
            ("createdAt", normal_time(body.get("createdAt")), normal_time(found.get("createdAt")))
        )
    if "closedAt" in found and body.get("closedAt"):
        checks.append(
            ("closedAt", normal_time(body.get("closedAt")), normal_time(found.get("closedAt")))
        )
    if isinstance(found.get("tags"), list):
        wanted_tags = sorted({str(t).lower() for t in body.get("tags") or []})
        got_tags = sorted(
            {
                str(t.get("tag", t.get("name", ""))).lower()
                for t in found["tags"]
                if isinstance(t, dict)
            }
        )
        checks.append(("tags", ", ".join(wanted_tags), ", ".join(got_tags)))
    if isinstance(found.get("customFields"), list):
        checks.append(
            (
                "customFields",
                _pairs(_fields(body.get("fields"), "value")),
                _pairs(_fields(found["customFields"], "value")),
            )
        )
    return [
        Mismatch(source_id, part, None, name, shown(want), shown(got))
        for name, want, got in checks
        if want != got
    ]
