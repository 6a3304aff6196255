"""How the CSV reader decodes its lines: UTF-8, stray bytes as cp1252, counted without a call.

Each physical line is decoded on its own (see :mod:`importer.readers.text`), so the bytes that were
not UTF-8 are counted on the record that holds them. Counting them in the codec's error handler
(:func:`counted_cp1252`) rather than around each decode keeps a line's decoding one C call: the
reader's hottest step on a large export.
"""

from __future__ import annotations

import codecs
import threading

from importer.readers.text import CP1252_FALLBACK

#: bytes read as cp1252 so far in this thread, in ``CP1252_COUNT.count`` (by
#: :data:`COUNTED_CP1252`); a reader takes the difference before and after a record
CP1252_COUNT = threading.local()
#: the error handler to decode with: :func:`counted_cp1252`
COUNTED_CP1252 = "importer.csv.cp1252"
_cp1252 = codecs.lookup_error(CP1252_FALLBACK)


def counted_cp1252(exc: UnicodeError) -> tuple[str | bytes, int]:
    """The readers' cp1252 fallback (:mod:`importer.readers.text`), counting the bytes.

    Speed trick: registered as the codec error handler :data:`COUNTED_CP1252`, it lets every
    line decode in one C call (``raw.decode("utf-8", COUNTED_CP1252)``) where the reader used to
    make a Python call per line (``DecodedLines``) to count them. Benchmark: ``make bench``'s
    offline section, "generic CSV, the same as message rows in random order" (100,000
    conversations, ``scripts/bench_offline.py``); with the staging of commit 9e05f23 the
    reader's CPU went from about 150 s to about 17 s, validate from 443 to 3,465
    conversations/s (CHANGELOG); no figure of this step alone was recorded.
    """
    if isinstance(exc, UnicodeDecodeError):
        CP1252_COUNT.count = getattr(CP1252_COUNT, "count", 0) + exc.end - exc.start
    return _cp1252(exc)


codecs.register_error(COUNTED_CP1252, counted_cp1252)


def start_counting() -> None:
    """Give this thread its count of bytes read as cp1252, at zero, unless it has one."""
    if not hasattr(CP1252_COUNT, "count"):
        CP1252_COUNT.count = 0  # this thread's first


def decoded_line(raw: bytes) -> str:
    """One raw line decoded as the reader decodes it, NUL bytes removed, nothing counted."""
    return raw.replace(b"\0", b"").decode("utf-8", CP1252_FALLBACK)


def incremental_decoder() -> codecs.IncrementalDecoder:
    """A decoder of UTF-8 with the counted cp1252 fallback, across pieces of one long line."""
    return codecs.getincrementaldecoder("utf-8")(COUNTED_CP1252)


def nul_message(removed: int) -> str:
    """The warning text for ``removed`` NUL bytes taken out of a conversation's cells."""
    return (
        f"{removed} NUL bytes were removed from the text (Help Scout takes no NUL character); "
        "the rest of each cell is kept as it was. If text is missing around them, fix the export"
    )
