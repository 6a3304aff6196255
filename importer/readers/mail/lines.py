"""The lines of a mail archive read in blocks: one line at a time where a line decides something
(a ``From `` line, the bound), every line up to the next ``From `` line at once elsewhere.

An mbox is mostly lines that decide nothing: reading them one ``readline`` at a time was half of
the main process's work on a mail archive (a Python call, a check and a write a line). A
:class:`BlockLines` reads the stream in blocks of :data:`BLOCK_BYTES` and gives the same lines
``readline(size)`` gives (:meth:`BlockLines.readline`), or, at once, the whole lines before the
next one that starts with ``From `` (:meth:`BlockLines.lines_before_from`). Memory stays bounded
by a block and the longest piece asked for.
"""

from __future__ import annotations

import re
from typing import BinaryIO

#: bytes read from the stream at once (a block and the next one are in memory at once, while
#: they are joined, beside the mail being read: a mail archive is read in about 2 bounds)
BLOCK_BYTES = 1 << 17
_NEXT_FROM = b"\nFrom "
#: an mboxrd ``>From `` line: its first ``>`` is the quoting
_QUOTED_FROM_LINE = re.compile(rb"^>(?=>*From )", re.MULTILINE)


class BlockLines:
    """A binary stream's lines, read in blocks (see the module)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.block = b""
        self.at = 0  # where the next line starts in ``block``
        self.ended = False  # the stream is read to its end

    def _fill(self) -> bool:
        """Read the next block after what is left of this one; ``False`` at the stream's end."""
        if self.ended:
            return False
        more = self.stream.read(BLOCK_BYTES)
        if not more:
            self.ended = True
            return False
        rest, self.block = self.block[self.at :], b""  # the old block is freed first
        self.block, self.at = rest + more, 0
        return True

    def readline(self, size: int) -> bytes:
        """What ``stream.readline(size)`` gives: the next line, its newline included, or its
        first ``size`` bytes when it is longer; ``b""`` at the end."""
        while True:
            block, at = self.block, self.at
            end = block.find(b"\n", at, at + size)
            if end >= 0:
                self.at = end + 1
                return block[at : end + 1]
            if len(block) - at >= size or not self._fill():
                piece = block[at : at + size]
                self.at = at + len(piece)
                return piece

    def lines_before_from(self, most: int) -> bytes:
        """The whole lines from here to the next line that starts with ``From ``, at most
        ``most`` bytes of them (whole lines still), as far as this block holds them: ``b""``
        when the next line starts with ``From ``, is longer than ``most``, or is not whole in
        the block (:meth:`readline` then reads it)."""
        block, at = self.block, self.at
        if at >= len(block):
            if not self._fill():
                return b""
            block, at = self.block, self.at
        if block.startswith(b"From ", at):
            return b""
        found = block.find(_NEXT_FROM, at, at + most)
        end = found + 1 if found >= 0 else block.rfind(b"\n", at, at + most) + 1
        if end <= at:
            return b""
        self.at = end
        return block[at:end]


def unquoted(lines: bytes) -> bytes:
    """``lines`` with the first ``>`` of each ``>From `` line taken off (mboxrd's quoting)."""
    if b">From " not in lines:  # in every >+From line
        return lines
    return _QUOTED_FROM_LINE.sub(b"", lines)


def last_blank_line(lines: bytes) -> int:
    """The length of the last of ``lines`` when it is blank (``\\n`` or ``\\r\\n``), else 0."""
    if lines.endswith(b"\n\n") or lines == b"\n":
        return 1
    if lines.endswith(b"\n\r\n") or lines == b"\r\n":
        return 2
    return 0
