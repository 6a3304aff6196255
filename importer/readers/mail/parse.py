"""Mail archives as a stream of raw mails, and the headers of one mail read safely.

An mbox (Google Takeout, Thunderbird, Apple Mail's ``mbox``; ``mboxo`` or ``mboxrd``; LF or CRLF)
is split on its ``From `` separator lines as it is read, one mail in memory at a time, so that a
zip member streams like a file (``mailbox.mbox`` needs a seekable file on disk and keeps the
offsets of every mail); ``>From `` lines are unquoted as ``mboxrd`` writes them. Lines of
whitespace before the first mail are passed over. A ``From `` line is a separator after a blank
line (or in the strict ``From <sender> <asctime>`` form anywhere); each mail is located by the
line of its ``From `` line (``file:line``).

A file that does not start with ``From `` is one mail (an ``.eml``, located by the file) unless a
separator followed by a header line comes later: it is then an mbox, and the text before that
separator (at ``file:line`` of its first line) is a mail of its own when it starts with mail
headers, else an invalid record (``mail.not_mail``): it is never dropped unsaid, and a file of
several mails is never read as one.

Reading is bounded by the file's ``--max-record-bytes`` (its ``limits``): the file is read in
blocks (:class:`~importer.readers.mail.lines.BlockLines`), the lines up to the next ``From `` line
taken at once while they fit the bound, a line that does not read in pieces
(``readline(n)``), never whole; a mail that grows past the bound is dropped as it is read
(past its first 64 KiB, for its Message-ID) up to the next separator, and becomes one invalid
record (``record_over_bound``) with its place, its size and the bound. Each mail is parsed with
``email.parser.BytesParser`` (its structure with ``policy.compat32``, see :func:`parse`).
(the headers are read by :mod:`importer.readers.mail.headers`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import BinaryIO

from importer.readers.inputs import InputFile
from importer.readers.limits import over_record_bound
from importer.readers.mail.indexed import IndexedMessage
from importer.readers.mail.lines import BlockLines, last_blank_line, unquoted
from importer.readers.text import strip_bom

MBOX = "mbox"
EML = "eml"

_FROM_LINE = b"From "
#: what is kept of a mail that is not read (for its Message-ID and the dead-letter text)
HEAD_BYTES = 65_536
#: a separator line is recognised on its first bytes; a longer one is passed over to its end
SEPARATOR_BYTES = 1024
#: how much of a line past the bound is read at once (and dropped)
PIECE_BYTES = 65_536
_HEAD_ID = re.compile(rb"^message-id:[ \t]*<?([^>\r\n]+)>?", re.IGNORECASE | re.MULTILINE)
#: a separator even without a blank line before it: ``From <sender> <asctime date>``
_STRICT_FROM = re.compile(rb"From \S+ +[A-Z][a-z]{2},? +[A-Z][a-z]{2} +\d{1,2} +\d{1,2}:\d{2}")
_QUOTED_FROM = re.compile(rb">+From ")
_HEADER_LINE = re.compile(rb"([A-Za-z0-9][A-Za-z0-9_-]*)[ \t]*:")
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
_PARSER = BytesParser(IndexedMessage, policy=policy.compat32)


def _header_names(lines: list[bytes]) -> list[bytes] | None:
    """The names of the header lines that begin ``lines`` (up to a blank line, the next mail's
    dated ``From `` separator, as a mail cut short in its headers leaves it, or the end),
    ``None`` when a line among them is not a header."""
    names: list[bytes] = []
    for raw in lines:
        line = raw.rstrip(b"\r")
        if not line or (names and _STRICT_FROM.match(line)):
            break
        if line[:1] in (b" ", b"\t"):
            if not names:
                return None
            continue
        found = _HEADER_LINE.match(line)
        if found is None:
            return None
        names.append(found.group(1).lower())
    return names


def _is_mail_head(names: list[bytes] | None, least: int = 1) -> bool:
    return names is not None and len(names) >= least and bool(MAIL_HEADERS & set(names))


def sniff_mail(head: bytes) -> str | None:
    """``mbox``, ``eml`` or ``None`` for the first bytes of a text file, past any lines of
    whitespace: an mbox starts with a ``From `` line followed by headers; an .eml with headers,
    two or more, one a mail header. Text that is neither, followed by a ``From `` separator (after
    a blank line) and mail headers, is an mbox with a preamble (read as an invalid record)."""
    lines = strip_bom(head).split(b"\n")
    if len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the peek
    while lines and not lines[0].strip():
        lines = lines[1:]
    if not lines:
        return None
    if lines[0].startswith(_FROM_LINE):
        return MBOX if _header_names(lines[1:]) else None
    if _is_mail_head(_header_names(lines), 2):
        return EML
    for index in range(1, len(lines)):
        line = lines[index]
        separator = not lines[index - 1].strip() or _STRICT_FROM.match(line)
        if (
            line.startswith(_FROM_LINE)
            and separator
            and _is_mail_head(_header_names(lines[index + 1 :]))
        ):
            return MBOX
    return None


@dataclass(frozen=True)
class RawMail:
    """One mail of an archive: its bytes, ``file:line`` (or the file, for an .eml), and the
    date of its mbox ``From `` line (``None`` elsewhere).

    ``problem`` is why it is not read at all (a mail over ``--max-record-bytes``, text before
    the first ``From `` line that is not a mail); ``code`` the code of that error. ``data`` is
    then only the first bytes, for its Message-ID and the dead-letter text."""

    data: bytes
    location: str
    from_line: bytes | None = None
    problem: str | None = None
    code: str = "mail.parse"


def iter_raw_mails(input_file: InputFile) -> Iterator[RawMail]:
    """Every mail of one file, in file order: the mails of an mbox, or the file as one mail
    (see the module's docstring for the splitting and :class:`_Splitter` for the bounds)."""
    with input_file.open() as stream:
        yield from _Splitter(stream, input_file).mails()


def raw_message_id(data: bytes) -> str | None:
    """The Message-ID among the first bytes of a mail, found without parsing it."""
    found = _HEAD_ID.search(data[:HEAD_BYTES])
    return found.group(1).decode("utf-8", "replace").strip() if found else None


class _Splitter:
    """The mails of one stream, read in pieces of a line: at most one mail's bytes (the bound)
    in memory. A mail that grows past the bound is dropped as it is read, past its first
    ``HEAD_BYTES``, until the next separator; it becomes one :class:`RawMail` with a problem."""

    def __init__(self, stream: BinaryIO, input_file: InputFile) -> None:
        self.lines = BlockLines(stream)
        self.name = input_file.name
        self.limits = input_file.limits
        self.bound = input_file.limits.max_record_bytes
        self.number = 0  # the line of the last piece read
        self.starts = True  # whether the next piece read begins a line
        self.pushed: tuple[bytes, bool, int] | None = None
        # the mail being read
        self.buffer = io.BytesIO()
        self.size = 0  # its bytes so far, also those dropped past the bound
        self.head = b""  # its first bytes, once it is past the bound
        self.start = 0  # its first line (the line of its From line)
        self.separator: bytes | None = None  # its From line (None: text before any)
        self.last_blank = 0  # the length of its last line when that line is blank

    def _piece(self, size: int) -> tuple[bytes, bool, int]:
        """``(piece, whether it begins a line, its line)``: at most ``size`` bytes of a line."""
        if self.pushed is not None:
            found, self.pushed = self.pushed, None
            return found
        piece = self.lines.readline(size)
        starts = self.starts
        if starts and piece:
            self.number += 1
        self.starts = piece.endswith(b"\n")
        return piece, starts, self.number

    def _room(self) -> int:
        """How much to read at once: what is left of the bound (one byte more, to see a mail
        pass it), at least enough to recognise a ``From `` line; a piece past the bound."""
        if self.head:
            return PIECE_BYTES
        return max(self.bound - self.size + 1, SEPARATOR_BYTES)

    def mails(self) -> Iterator[RawMail]:
        first = True
        while True:  # the lines of whitespace before the first mail are passed over
            piece, starts, number = self._piece(SEPARATOR_BYTES)
            if first:
                piece, first = strip_bom(piece), False
            if not piece:
                return  # nothing but whitespace: no mail
            if piece.strip():
                break
        self.start = number
        if starts and piece.startswith(_FROM_LINE):
            self.separator = self._separator_line(piece)
        else:
            self._add(piece, starts)
        previous_blank = False
        while True:
            if self.starts and self.pushed is None and not self.head:
                taken = self._take_lines()
                if taken is not None:
                    previous_blank = taken
                    continue
            piece, starts, number = self._piece(self._room())
            if not piece:
                break
            if (
                starts
                and piece.startswith(_FROM_LINE)
                and (previous_blank or _STRICT_FROM.match(piece))
            ):
                if self.separator is not None:
                    yield self._mail()
                    self._begin(number, piece)
                    previous_blank = False
                    continue
                confirmed = self._followed_by_headers()
                if confirmed:
                    yield self._lead(confirmed=True)
                    self._begin(number, piece)
                    previous_blank = False
                    continue
            if starts and self.separator is not None and _QUOTED_FROM.match(piece):
                piece = piece[1:]
            self._add(piece, starts)
            previous_blank = starts and piece in (b"\n", b"\r\n")
        if self.separator is not None:
            yield self._mail()
        else:
            yield self._lead(confirmed=False)

    def _take_lines(self) -> bool | None:
        """Add at once the whole lines up to the next ``From `` line that fit the bound (read
        one by one, each would be added as it is); whether the last of them is blank, ``None``
        when there are none (the next line is read by itself)."""
        lines = self.lines.lines_before_from(self.bound - self.size)
        if not lines:
            return None
        self.number += lines.count(b"\n")
        if self.separator is not None:  # an mbox's >From lines; not in text before one
            lines = unquoted(lines)
        self.size += len(lines)
        self.buffer.write(lines)
        self.last_blank = last_blank_line(lines)
        return self.last_blank > 0

    def _separator_line(self, piece: bytes) -> bytes:
        """The From line that begins with ``piece`` (the rest of a long one is passed over)."""
        rest = piece
        while rest and not rest.endswith(b"\n"):
            rest = self._piece(PIECE_BYTES)[0]
        return piece[:SEPARATOR_BYTES].rstrip(b"\r\n")

    def _followed_by_headers(self) -> bool:
        """Whether the line after a ``From `` line in text that is not an mbox (yet) is a mail
        header: only then is that line a separator (an .eml's body may say ``From here``)."""
        if not self.starts:
            return False  # a From line longer than a piece: no separator
        following = self._piece(self._room())
        self.pushed = following
        return bool(_HEADER_LINE.match(following[0]))

    def _begin(self, number: int, piece: bytes) -> None:
        self.buffer = io.BytesIO()
        self.size, self.head, self.last_blank, self.start = 0, b"", 0, number
        self.separator = self._separator_line(piece)

    def _add(self, piece: bytes, starts: bool) -> None:
        self.size += len(piece)
        self.last_blank = len(piece) if starts and piece in (b"\n", b"\r\n") else 0
        if self.head:
            return
        if self.size <= self.bound:
            self.buffer.write(piece)
            return
        self.buffer.write(piece[:HEAD_BYTES])
        self.head = self.buffer.getvalue()[:HEAD_BYTES]
        self.buffer = io.BytesIO()

    def _data(self) -> bytes:
        if self.last_blank and not self.head:
            self.buffer.truncate(self.size - self.last_blank)  # the blank line between mails
        return self.buffer.getvalue()

    def _mail(self) -> RawMail:
        """The mail after a separator."""
        location = f"{self.name}:{self.start}"
        if self.head:
            return self._over(location, self.separator)
        return RawMail(self._data(), location, self.separator)

    def _lead(self, confirmed: bool) -> RawMail:
        """The text before the first separator: a mail (headers first) or not; the whole file
        (an .eml, named by the file) when no separator follows."""
        location = f"{self.name}:{self.start}" if confirmed else self.name
        if self.head:
            return self._over(location, None)
        data = self._data()
        if not confirmed or sniff_mail(data[:HEAD_BYTES]) == EML:
            return RawMail(data, location)
        lines = data.count(b"\n") + (not data.endswith(b"\n"))
        first = data.split(b"\n", 1)[0].rstrip(b"\r")[:60].decode("utf-8", "replace")
        problem = (
            f"{lines} line(s) of text before the first From line of the mbox are not a mail "
            f"(the first reads {first!r}); they are not read. Remove them from the file, or "
            "give the mail they belong to as an .eml"
        )
        return RawMail(data[:HEAD_BYTES], location, None, problem, "mail.not_mail")

    def _over(self, location: str, separator: bytes | None) -> RawMail:
        mail_id = raw_message_id(self.head)
        name = f"<{mail_id}>" if mail_id else "without a Message-ID"
        problem = over_record_bound(f"the mail {name}", self.size, self.limits)
        return RawMail(self.head, location, separator, problem, "record_over_bound")


def parse(raw: RawMail) -> Message:
    """The mail's MIME structure (parsed with ``policy.compat32``: the ``default`` policy's
    parser reads every header through its header registry while it parses, eight times slower;
    headers that need decoding go through ``policy.default`` in :class:`Headers`)."""
    return _PARSER.parsebytes(raw.data)  # an IndexedMessage
