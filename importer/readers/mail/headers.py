"""The headers of one mail, read safely, and the ids and dates they hold.

Headers are read through :class:`Headers`: RFC 2047 words and raw UTF-8 decoded by
``policy.default``'s header registry, a header it cannot parse read from its raw text instead,
bytes of unknown or broken charsets replaced (and counted, for a warning) rather than raised.
Apart from :mod:`importer.readers.mail.parse` (the stream of raw mails and their MIME structure)
because reading a header is its own trade: encodings, address lists, dates no mail client agrees
on.
"""

from __future__ import annotations

import contextlib
import email.header
import email.utils
import re
from datetime import UTC, datetime
from email import policy
from email.message import Message
from typing import Any

from importer.readers.mail.parse import RawMail

REPLACEMENT = "\ufffd"
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
#: a number of three digits or more that starts with 0: a year below 100 when it is below 100
#: (``0000``; a zone, ``+0000``, or a time, ``00:00``, is not one)
_PADDED_NUMBER = re.compile(r"(?<![\d+:-])0\d{2,}(?![\d:])")
_SURROGATE = re.compile("[\udc80-\udcff]")
_SIMPLE_ADDRESS = re.compile(r"(?:([^<>@]*?)\s*<([^<>\s@]+@[^<>\s@]+)>|([^<>\s@]+@[^<>\s@]+))")
_NOT_SIMPLE = ('"', "(", ";", "\\", ":")


def clean(text: str) -> tuple[str, int]:
    """``text`` with bytes that stayed undecoded (surrogates) read as UTF-8 or replaced; and
    how many replacement characters it holds."""
    if text.isascii():
        return text, 0
    if _SURROGATE.search(text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text, text.count(REPLACEMENT)


def _plain(value: str) -> bool:
    return value.isascii() and "=?" not in value


class Headers:
    """The headers of one mail, read once: raw values by lower-cased name; RFC 2047 words and
    raw UTF-8 decoded by ``policy.default``'s header registry, only where a value holds them."""

    def __init__(self, message: Message) -> None:
        self.raw: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self.raw.setdefault(name.lower(), []).append(str(value))

    def all(self, name: str) -> list[str]:
        """The raw text of every occurrence of header ``name``."""
        return self.raw.get(name, [])

    def text(self, name: str) -> str | None:
        """The decoded value of header ``name`` (its first occurrence), unfolded, or ``None``."""
        values = self.raw.get(name)
        if not values:
            return None
        value = values[0]
        if not _plain(value):  # what the registry cannot parse stays as written
            with contextlib.suppress(Exception):
                value = str(policy.default.header_fetch_parse(name, value))
        return " ".join(clean(value)[0].split())

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """``(address lower-cased, display name)`` of every address of header ``name``."""
        raw = ",".join(self.raw.get(name, []))
        if not raw:
            return []
        pairs: list[tuple[str, str]] | None = _simple_addresses(raw)
        if pairs is None and not _plain(raw):
            try:
                parsed: Any = policy.default.header_fetch_parse(name, raw)
                pairs = [(a.addr_spec, a.display_name) for a in parsed.addresses]
            except Exception:  # the registry cannot parse it: read it the old way
                pairs = None
        if pairs is None:
            pairs = [(addr, display) for display, addr in email.utils.getaddresses([raw])]
        found: list[tuple[str, str]] = []
        for addr, display in pairs:
            address = clean(addr)[0].strip().strip("<>").lower()
            if "@" in address:
                found.append((address, " ".join(clean(display or "")[0].split())))
        return found


def _simple_addresses(raw: str) -> list[tuple[str, str]] | None:
    """``(address, name)`` of a plain list (``Name <a@b>, c@d``) without quotes, comments or
    encoded words; ``None`` for anything else (read by the parsers)."""
    if not _plain(raw) or any(mark in raw for mark in _NOT_SIMPLE):
        return None
    pairs: list[tuple[str, str]] = []
    for item in raw.split(","):
        found = _SIMPLE_ADDRESS.fullmatch(item.strip())
        if found is None:
            return None
        pairs.append((found.group(2) or found.group(3), found.group(1) or ""))
    return pairs


def decoded_word(value: str) -> str:
    """A parameter value (a file name) with RFC 2047 words decoded."""
    if "=?" in value:  # a broken word is kept as written
        with contextlib.suppress(Exception):
            value = str(email.header.make_header(email.header.decode_header(value)))
    return clean(value)[0]


def message_ids(text: str | None) -> list[str]:
    """The message ids of a ``Message-ID``, ``In-Reply-To`` or ``References`` value, in order."""
    if not text:
        return []
    found = _MESSAGE_ID.findall(text)
    if found:
        return list(dict.fromkeys(found))
    word = text.strip().strip("<>")
    return [word] if word and " " not in word else []


def parse_date(text: str | None) -> datetime | None:
    """An RFC 5322 (or asctime) date; naive when its zone is ``-0000`` or missing. ``None``
    for what is no time: unreadable, a year such as ``0000`` (which ``email.utils`` would
    read as the two-digit year 2000), a time that cannot be put in UTC (year 9999 west of it)."""
    if not text or any(int(year) < 100 for year in _PADDED_NUMBER.findall(text)):
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text.strip())
        as_utc(moment).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment


def received_time(headers: Headers) -> datetime | None:
    """The date of the first (topmost, the last hop's) ``Received`` header."""
    for value in headers.all("received"):
        moment = parse_date(" ".join(value.rpartition(";")[2].split()))
        if moment is not None:
            return moment
    return None


def from_line_time(raw: RawMail) -> datetime | None:
    """The date of an mbox ``From `` separator line (``From <sender> <date>``)."""
    if not raw.from_line:
        return None
    parts = raw.from_line.decode("ascii", "replace").split(None, 2)
    return parse_date(parts[2]) if len(parts) == 3 else None


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC, a naive one taken as UTC (for comparing and ordering only)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
