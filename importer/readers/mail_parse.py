"""Mail archives as a stream of raw mails, and the headers of one mail read safely.

An mbox (Google Takeout, Thunderbird, Apple Mail's ``mbox``; ``mboxo`` or ``mboxrd``; LF or CRLF)
is split on its ``From `` separator lines as it is read, one mail in memory at a time, so that a
zip member streams like a file (``mailbox.mbox`` needs a seekable file on disk and keeps the
offsets of every mail); ``>From `` lines are unquoted as ``mboxrd`` writes them. A file that does
not start with ``From `` is one mail (an ``.eml``). Each mail is parsed with
``email.parser.BytesParser`` (its structure with ``policy.compat32``, see :func:`parse`).

Headers are read through :class:`Headers`: RFC 2047 words and raw UTF-8 decoded by
``policy.default``'s header registry, a header it cannot parse read from its raw text instead,
bytes of unknown or broken charsets replaced (and counted, for a warning) rather than raised.
"""

from __future__ import annotations

import contextlib
import email.header
import email.utils
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any

from importer.readers.inputs import InputFile
from importer.readers.text import strip_bom

MBOX = "mbox"
EML = "eml"
REPLACEMENT = "\ufffd"

_FROM_LINE = b"From "
#: a separator even without a blank line before it: ``From <sender> <asctime date>``
_STRICT_FROM = re.compile(rb"From \S+ +[A-Z][a-z]{2},? +[A-Z][a-z]{2} +\d{1,2} +\d{1,2}:\d{2}")
_QUOTED_FROM = re.compile(rb">+From ")
_HEADER_LINE = re.compile(rb"([A-Za-z0-9][A-Za-z0-9_-]*)[ \t]*:")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_SURROGATE = re.compile("[\udc80-\udcff]")
_SIMPLE_ADDRESS = re.compile(r"(?:([^<>@]*?)\s*<([^<>\s@]+@[^<>\s@]+)>|([^<>\s@]+@[^<>\s@]+))")
_NOT_SIMPLE = ('"', "(", ";", "\\", ":")
#: header names that say a text file is a mail (at least one among its first headers)
MAIL_HEADERS = frozenset(
    {
        b"from",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"message-id",
        b"in-reply-to",
        b"references",
        b"received",
        b"return-path",
        b"delivered-to",
        b"mime-version",
        b"content-type",
        b"x-gm-thrid",
        b"x-gmail-labels",
        b"x-mozilla-status",
        b"dkim-signature",
        b"arc-seal",
        b"authentication-results",
        b"reply-to",
        b"sender",
    }
)
_PARSER = BytesParser(policy=policy.compat32)


def sniff_mail(head: bytes) -> str | None:
    """``mbox``, ``eml`` or ``None`` for the first bytes of a text file: an mbox starts with a
    ``From `` line followed by headers; an .eml with headers, two or more, one a mail header."""
    lines = strip_bom(head).split(b"\n")
    if len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the peek
    role = EML
    if lines[0].startswith(_FROM_LINE):
        role, lines = MBOX, lines[1:]
    names: list[bytes] = []
    for raw in lines:
        line = raw.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if not names:
                return None
            continue
        found = _HEADER_LINE.match(line)
        if found is None:
            return None
        names.append(found.group(1).lower())
    if role == MBOX:
        return MBOX if names else None
    return EML if len(names) >= 2 and MAIL_HEADERS & set(names) else None


@dataclass(frozen=True)
class RawMail:
    """One mail of an archive: its bytes, ``file:line`` (or the file, for an .eml), and the
    date of its mbox ``From `` line (``None`` elsewhere)."""

    data: bytes
    location: str
    from_line: bytes | None = None


def iter_raw_mails(input_file: InputFile) -> Iterator[RawMail]:
    """Every mail of one file, in file order: the mails of an mbox, or the file as one mail."""
    with input_file.open() as stream:
        first = stream.readline()
        if not strip_bom(first).startswith(_FROM_LINE):
            yield RawMail(first + stream.read(), input_file.name)
            return
        lines: list[bytes] = []
        start, number, separator = 1, 1, strip_bom(first)
        previous_blank = True
        for line in stream:
            number += 1
            blank = line in (b"\n", b"\r\n")
            if line.startswith(_FROM_LINE) and (previous_blank or _STRICT_FROM.match(line)):
                yield _raw(lines, input_file, start, separator)
                lines, start, separator = [], number, line
                previous_blank = False
                continue
            if _QUOTED_FROM.match(line):
                line = line[1:]
            lines.append(line)
            previous_blank = blank
        yield _raw(lines, input_file, start, separator)


def _raw(lines: list[bytes], input_file: InputFile, start: int, separator: bytes) -> RawMail:
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines.pop()  # the blank line mbox writes between mails
    return RawMail(b"".join(lines), f"{input_file.name}:{start}", separator.rstrip(b"\r\n"))


def parse(raw: RawMail) -> Message:
    """The mail's MIME structure (parsed with ``policy.compat32``: the ``default`` policy's
    parser reads every header through its header registry while it parses, eight times slower;
    headers that need decoding go through ``policy.default`` in :class:`Headers`)."""
    return _PARSER.parsebytes(raw.data)


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
    """An RFC 5322 (or asctime) date; naive when its zone is ``-0000`` or missing."""
    if not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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
