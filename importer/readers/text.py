"""Text for every reader: decoding (UTF-8 with or without BOM, stray bytes read as cp1252), and
whether a message body is HTML or plain text (:func:`body_key`).

Exports made by Excel or older help desks mix encodings. Each record (a JSON line, a JSON item, a
CSV line) is decoded on its own, so the count of bytes that were not UTF-8 lands on the record that
held them: the reader turns a non-zero count into an ``encoding`` warning of that conversation.
"""

from __future__ import annotations

import codecs
import csv
import re
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importer.readers.inputs import InputFile

UTF8_BOM = codecs.BOM_UTF8
CP1252_FALLBACK = "importer.cp1252"

_replaced = threading.local()


def _cp1252_char(byte: int) -> str:
    """The cp1252 character of one byte; the five bytes cp1252 leaves undefined read as Latin-1."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    _replaced.count = getattr(_replaced, "count", 0) + len(bad)
    return "".join(_cp1252_char(byte) for byte in bad), exc.end


codecs.register_error(CP1252_FALLBACK, _cp1252_fallback)


def decode_bytes(data: bytes) -> tuple[str, int]:
    """Decode ``data`` as UTF-8; return the text and how many bytes were read as cp1252 instead."""
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        pass
    _replaced.count = 0
    text = data.decode("utf-8", CP1252_FALLBACK)
    return text, _replaced.count


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte order mark."""
    return data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data


class DecodedLines:
    """Decode binary lines one by one, keeping their line ends, and count the replaced bytes.

    Feed it to ``csv.reader``: the reader pulls as many physical lines as a record needs, and
    :meth:`take_replaced` then says how many bytes of that record were read as cp1252.
    """

    def __init__(self, lines: Iterable[bytes]) -> None:
        self._lines = iter(lines)
        self._first = True
        self._replaced = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = next(self._lines)
        if self._first:
            raw = strip_bom(raw)
            self._first = False
        text, replaced = decode_bytes(raw)
        self._replaced += replaced
        return text

    def take_replaced(self) -> int:
        """Bytes read as cp1252 since the last call."""
        replaced, self._replaced = self._replaced, 0
        return replaced


def encoding_message(replaced: int) -> str:
    """The warning text for ``replaced`` bytes read as cp1252."""
    return f"{replaced} bytes were not UTF-8 and were read as cp1252"


def read_header(input_file: InputFile, delimiter: str) -> list[str] | None:
    """The header row of a CSV file, ``None`` when the file does not start like one. NUL bytes
    are dropped, as :class:`importer.readers.csv.rows.CsvRows` drops them."""
    with input_file.open() as stream:
        first = stream.readline(1 << 20)
    if not first:
        return None
    lines = DecodedLines([first.replace(b"\0", b"")])
    try:
        header = next(csv.reader(lines, delimiter=delimiter))
    except (csv.Error, StopIteration):
        return None
    return [name.strip() for name in header]


#: a tag or an HTML entity: the markup of a body that may hold HTML or text
HTML_SIGN = re.compile(r"<[A-Za-z/!][^>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")


def may_show_images(markup: str) -> bool:
    """Whether an image search that ignores case (``<img``, Intercom's ``[Image``) may find
    anything in ``markup``: every match holds ``mg`` or ``mage`` in some case, and no letter
    but M and G matches ``m`` or ``g`` without regard to case (``<img`` spelt with a dotless
    i passes). A fourth of the search's cost, on the bodies of nearly every message, which
    show no image."""
    lowered = markup.lower()
    return "mg" in lowered or "mage" in lowered


def has_markup(body: str) -> bool:
    """Whether ``body`` holds a tag or an HTML entity (a body without ``<`` or ``&`` is not
    searched)."""
    return ("<" in body or "&" in body) and HTML_SIGN.search(body) is not None


def body_key(body: str, known: str, body_format: str = "auto") -> str:
    """The canonical key of a message body, ``body_html`` or ``body_text``.

    ``known`` is what the reader knows of the field: ``html``, ``text``, or ``either`` (a field
    that holds HTML or plain text depending on who wrote the export: decided by its markup).
    ``body_format`` is the mapping's: ``auto`` keeps what the reader knows, ``html`` or ``text``
    overrides it. A ``body_text`` is escaped into HTML with its line breaks kept by the transform
    (:func:`importer.transform.html.text_to_html`), so a typed ``<b>`` stays two characters.
    """
    fmt = known if body_format == "auto" else body_format
    if fmt == "either":
        fmt = "html" if has_markup(body) else "text"
    return "body_html" if fmt == "html" else "body_text"
