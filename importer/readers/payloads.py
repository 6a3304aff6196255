"""Byte strings appended to a file of their own and read back by place.

A store whose records live beside its SQLite table rather than in it
(:class:`~importer.readers.staging.StagingStore`) keeps in the table only where each record
is: its rows stay narrow, so an insert or a look-up touches a fraction of the pages it touched
with the records inline (every record written between two look-ups pushed the index's pages out
of SQLite's small cache). A record is read with one ``pread`` from the system's file cache, as
a rule: it was written moments before.

A value is written as :mod:`marshal` bytes (:func:`encode_value`), as JSON text when marshal
refuses it. The file is created private (0600); a write that finds no room raises
:class:`~importer.errors.OutputWriteError` naming it. What was appended is readable (by this
process or another) once :meth:`PayloadFile.flush` returned.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
from pathlib import Path
from typing import Any, BinaryIO, cast

from importer.outputs import open_private, writing
from importer.readers.closing import Closing

#: the writer's buffer: a record is a system call only when it is larger
WRITE_BUFFER = 1 << 20

#: one encoder for every record (``json.dumps`` with options builds a new one each call)
_encode_json = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def encode_value(value: Any) -> bytes | str:
    """A row's record: :mod:`marshal` bytes (4 times cheaper to write than JSON, half again
    cheaper to read: measured on Zendesk comments), or JSON text for a value marshal refuses
    (nested past its stack, a type of no JSON value). A value reads back as it was put, but for
    a tuple, which marshal keeps a tuple (JSON text made it a list)."""
    try:
        return marshal.dumps(value)
    except ValueError:
        return _encode_json(value)


def encode_record(data: Any, replaced: int, location: str | None = None) -> bytes | str:
    """A staged record's row: ``(data, replaced[, location])``."""
    return encode_value((data, replaced) if location is None else (data, replaced, location))


def decode_value(stored: bytes | str) -> Any:
    """A row's record as it was put: marshal bytes or JSON text."""
    if type(stored) is bytes:
        return marshal.loads(stored)
    return json.loads(stored)


class PayloadFile(Closing):
    """The payloads of one store, at ``path``: appended (a new file) or only read
    (:meth:`reading`, a file another process wrote and flushed)."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self._name = path, name
        with writing(self._name):
            out = open_private(path, "wb", buffering=WRITE_BUFFER)
        self._out: BinaryIO | None = cast(BinaryIO, out)
        self._end = 0
        self._in: int | None = None

    @classmethod
    def reading(cls, path: Path, name: str) -> PayloadFile:
        """The payloads at ``path``, written and flushed by another instance, read only."""
        payloads = cls.__new__(cls)
        payloads.path, payloads._name = path, name
        payloads._out, payloads._end = None, 0
        payloads._in = os.open(path, os.O_RDONLY)
        return payloads

    def append(self, data: bytes) -> int:
        """Write ``data`` after the others; where it begins."""
        if self._out is None:
            raise ValueError(f"{self.path} is open for reading only")
        at = self._end
        try:  # writing() only when it fails: around every record it costs about 2 µs
            self._out.write(data)
        except OSError:
            with writing(self._name):
                raise
        self._end += len(data)
        return at

    def append_value(self, text: bytes | str) -> tuple[int, int]:
        """``(at, size)`` of an encoded value (:func:`encode_value`) appended; the size
        negative for JSON text (marshal bytes and JSON text share first bytes)."""
        if type(text) is bytes:
            return self.append(text), len(text)
        data = str(text).encode("utf-8", "surrogatepass")
        return self.append(data), -len(data)

    def read_value(self, at: int, size: int) -> bytes | str:
        """The encoded value :meth:`append_value` put at ``(at, size)``."""
        if size >= 0:
            return self.read(at, size)
        return self.read(at, -size).decode("utf-8", "surrogatepass")

    def flush(self) -> None:
        """Make what was appended readable, here and by other processes."""
        if self._out is not None:
            with writing(self._name):
                self._out.flush()

    def read(self, at: int, size: int) -> bytes:
        """The ``size`` bytes appended at ``at`` (flushed: :meth:`flush`)."""
        if self._in is None:
            self._in = os.open(self.path, os.O_RDONLY)
        return os.pread(self._in, size, at)

    def close(self) -> None:
        """Close the file (it is removed with the reader's work folder)."""
        if self._in is not None:
            os.close(self._in)
            self._in = None
        if self._out is not None:
            out, self._out = self._out, None
            with contextlib.suppress(OSError):  # what it still held: nothing reads it now
                out.close()
