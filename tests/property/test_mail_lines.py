"""An mbox split with whole lines taken at once splits exactly as line by line.

:class:`~importer.readers.mail.lines.BlockLines` gives the lines before the next ``From `` line
at once; the splitter used to read every line by itself. Both ways must give the same mails
(bytes, places, From lines, the ones over the bound) for any archive, any bound and any block
size: hypothesis builds archives of the lines that decide something (``From `` lines strict and
not, ``>From `` lines, blank lines, LF and CRLF, headers, long lines, no final newline).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers.inputs import InputFile
from importer.readers.limits import ReadLimits
from importer.readers.mail import lines as lines_module
from importer.readers.mail.lines import BlockLines
from importer.readers.mail.parse import RawMail, _Splitter

LINES = [
    b"From ann@example.com Sat Jan  1 00:00:00 2000\n",
    b"From bob@example.com Mon, Feb 14 10:20 2011\r\n",
    b"From here on, a body line\n",
    b"From \n",
    b">From quoted\n",
    b">>From twice\r\n",
    b"> From not quoting\n",
    b"\n",
    b"\r\n",
    b" \n",
    b"Subject: hello\n",
    b"Message-ID: <m@x>\n",
    b"From: Ann <ann@example.com>\r\n",
    b"body text\n",
    b"x" * 700 + b"\n",
    b"y" * 1500,
    b"\xef\xbb\xbfFrom bom@example.com Sat Jan  1 00:00:00 2000\n",
]


def _mails(data: bytes, bound: int, *, at_once: bool) -> list[RawMail]:
    input_file = InputFile("box", Path("."), path=Path("box"), limits=ReadLimits(bound))
    splitter = _Splitter(io.BytesIO(data), input_file)
    if not at_once:
        splitter._take_lines = lambda: None  # type: ignore[method-assign]
    return list(splitter.mails())


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(LINES), max_size=40),
    st.integers(min_value=1024, max_value=6000),
    st.sampled_from([7, 64, 1000, 1 << 17]),
)
def test_lines_taken_at_once_split_as_line_by_line(
    lines: list[bytes], bound: int, block: int
) -> None:
    data = b"".join(lines)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lines_module, "BLOCK_BYTES", block)
        assert _mails(data, bound, at_once=True) == _mails(data, bound, at_once=False)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300).map(lambda b: b.replace(b"a", b"\n")),
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30),
    st.sampled_from([1, 3, 16, 1 << 17]),
)
def test_readline_gives_what_a_stream_gives(data: bytes, sizes: list[int], block: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lines_module, "BLOCK_BYTES", block)
        blocks, stream = BlockLines(io.BytesIO(data)), io.BytesIO(data)
        for size in sizes * 10:
            assert blocks.readline(size) == stream.readline(size)
