"""The read layer's bounds: how much of an untrusted export one record, field or archive member
may hold, and how deep its JSON may nest.

Every input is untrusted. A reader never holds more than one record (a JSON line or item, a CSV
field or row, a mail) in memory, and that record is at most ``max_record_bytes``; a zip member is
read only when its declared inflated size is within ``max_member_bytes`` and its inflation ratio
within ``max_zip_ratio`` (Python's zipfile stops inflating at the declared size, so a member
cannot grow past it while it is read); a JSON record nests at most ``max_json_depth`` arrays and
objects, checked before ``json`` parses it (orjson, which refuses a value past its own bound,
may read it first), so no ``RecursionError`` can come of it.

What goes over a bound is never the end of the reading: a record is one invalid record with its
place and the bound (:func:`over_record_bound`), a member is reported by name and skipped
(:func:`member_over_bound`), and the rest is read.

The bounds travel with each :class:`~importer.readers.inputs.InputFile`, so that every layer
that opens a file (detection, containers, CSV, mail, planning workers) reads it with the same
bounds without another argument.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any

import orjson

MIB = 1 << 20
#: what :func:`json_depth_over` is given when the record has not been parsed
NOT_PARSED: Any = object()
DEFAULT_MAX_RECORD_BYTES = 64 * MIB
DEFAULT_MAX_MEMBER_BYTES = 2048 * MIB
DEFAULT_MAX_ZIP_RATIO = 200.0
DEFAULT_MAX_JSON_DEPTH = 512
#: a member that inflates to less than this is never a bomb, whatever its ratio (a 40 KB file
#: of spaces compresses 1000:1 and holds nothing dangerous)
RATIO_FLOOR_BYTES = 1 * MIB


@dataclass(frozen=True)
class ReadLimits:
    """The bounds of one read; the defaults are the contract's."""

    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
    max_zip_ratio: float = DEFAULT_MAX_ZIP_RATIO
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH


DEFAULT_LIMITS = ReadLimits()


def size_text(size: int) -> str:
    """``size`` bytes as a person reads it: ``512 bytes``, ``3.2 MiB``, ``1.5 GiB``."""
    if size < 1024:
        return f"{size} bytes"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"  # pragma: no cover (unreachable)


def over_record_bound(what: str, size: int, limits: ReadLimits, *, at_least: bool = False) -> str:
    """The message of a record over ``--max-record-bytes``: what it is, its size, the bound and
    what to do. ``at_least``: reading stopped at the bound, so ``size`` is a lower bound."""
    more = "more than " if at_least else ""
    return (
        f"{what} holds {more}{size_text(size)} ({more}{size} bytes), over --max-record-bytes "
        f"{limits.max_record_bytes}; it is not read. Raise --max-record-bytes if the record is "
        "genuine, or fix the export"
    )


def member_over_bound(
    member: str, inflated: int, compressed: int, *, limits: ReadLimits
) -> str | None:
    """Why the archive member ``member`` is not read (its declared sizes break a bound), or
    ``None`` when it is within every bound."""
    if inflated > limits.max_member_bytes:
        return (
            f"archive member {member} inflates to {size_text(inflated)}, over "
            f"--max-member-bytes {limits.max_member_bytes}; it is skipped, the rest of the "
            "archive is read. Unzip it and give the file itself, or raise --max-member-bytes"
        )
    ratio = inflated / max(compressed, 1)
    if inflated >= RATIO_FLOOR_BYTES and ratio > limits.max_zip_ratio:
        return (
            f"archive member {member} inflates {ratio:.0f} times ({size_text(compressed)} to "
            f"{size_text(inflated)}), over --max-zip-ratio {limits.max_zip_ratio:g}: a zip bomb, "
            "or a file that compresses unusually well; it is skipped, the rest of the archive is "
            "read. Unzip it and give the file itself, or raise --max-zip-ratio"
        )
    return None


# Strings skipped whole; brackets counted. Bytes: every character that matters is ASCII.
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_BRACKETS = b"[]{}"
#: an opening bracket read as +1 and a closing one as -1 (signed bytes), the rest deleted
_BRACKET_STEPS = bytes.maketrans(_BRACKETS, b"\x01\xff\x01\xff")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in _BRACKETS)


def json_depth_over(raw: bytes | str, limit: int, *, parsed: Any = NOT_PARSED) -> int | None:
    """The depth a JSON text reaches once it passes ``limit`` (``limit + 1``), or ``None`` when
    it nests at most ``limit`` deep. Cheap for nearly every record: a text with at most
    ``limit`` opening brackets cannot nest deeper, and is not scanned. A text with more (a Help
    Scout conversation with its threads, a Gorgias ticket with its messages) is answered from
    ``parsed``, its value as orjson read it, when given: orjson writes it back only when it
    nests less deep than the limit (:func:`_orjson_writes_at_most`), and the value written
    holds every bracket of the text (a key given twice keeps only its last value): a fifth of
    the cost of cutting out the text's strings. Otherwise its strings are cut out and its
    brackets summed in C (``accumulate``): a bracket-by-bracket scan in Python cost a Help
    Scout export more than half its reading time."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    opening = data.count(b"[") + data.count(b"{")
    if opening <= limit:
        return None
    if parsed is not NOT_PARSED and _orjson_writes_at_most(limit):
        try:
            written = orjson.dumps(parsed)
        except orjson.JSONEncodeError:  # too deep for orjson, or a value it does not write
            pass
        else:
            if written.count(b"[") + written.count(b"{") == opening + _escaped_brackets(data):
                return None  # every bracket of the text is in the value: none was dropped
    steps = _JSON_STRING.sub(b"", data).translate(_BRACKET_STEPS, _NOT_BRACKETS)
    if steps.count(1) <= limit:  # the strings held the brackets
        return None
    deepest = max(accumulate(array("b", steps)), default=0)
    return limit + 1 if deepest > limit else None


def _escaped_brackets(data: bytes) -> int:
    """How many opening brackets ``data`` may spell as ``\\u`` escapes (at least as many as it
    does): the value holds them as brackets, the text does not. A value holds every other
    bracket of the text unless a key given twice dropped one (parsers keep a key's last value),
    so the counts agree only when no bracket was dropped."""
    if b"\\u" not in data:
        return 0
    return sum(data.count(b"\\u00" + code) for code in (b"5b", b"5B", b"7b", b"7B"))


@cache
def _orjson_writes_at_most(limit: int) -> bool:
    """Whether orjson refuses to write a value nested past ``limit`` (its own bound is 254 deep
    in orjson 3: a value it writes nests at most that deep). Asked of orjson itself, once a
    limit, so that another orjson's bound cannot make the check pass a deeper record."""
    value: list[Any] = []
    for _ in range(limit):
        value = [value]
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return True
    return False


def nesting_message(what: str, limits: ReadLimits) -> str:
    """The message of a JSON record nested past the depth bound."""
    return (
        f"{what} nests arrays and objects more than {limits.max_json_depth} deep; it is not "
        "parsed. No help-desk record nests that deep: fix the export tool that wrote it"
    )
