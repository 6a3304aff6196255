"""The mail reader on exports that try to break it: an mbox after lines of whitespace, several
mails in a file that starts like an .eml, text that is no mail, mails over --max-record-bytes,
lines of any length, a huge References header and subject, absurd dates, NUL bytes and bytes
that are not UTF-8. Each is one mail's problem (or none): the rest of the archive is read."""

from __future__ import annotations

import json
import mailbox
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_readers_mail import TEAM_MAPPING, conversations, mail, mbox, read

from importer.cli import cli
from importer.readers import open_export
from importer.readers.inputs import InputFile
from importer.readers.limits import ReadLimits
from importer.readers.mail.parse import HEAD_BYTES, iter_raw_mails, sniff_mail
from importer.readers.source import SourceRecord

DATA = Path(__file__).resolve().parent.parent / "data" / "readers" / "mail-hostile"
#: 18 mails of our own after three lines of spaces and a tab, as git's t/t5100/sample.mbox is
LEADING_WHITESPACE = DATA / "leading-whitespace.mbox"
_SEPARATOR = re.compile(rb"From \S+ +[A-Z][a-z]{2} ")
SEPARATOR = b"From sender@xxx Mon Mar 04 09:00:00 +0000 2024\n"


def validate(path: Path, tmp_path: Path, *options: str) -> tuple[int, dict[str, Any]]:
    """``importer validate PATH OPTIONS --report``: the exit code and the report."""
    report = tmp_path / "report.json"
    args = ["validate", str(path), *options, "--report", str(report), "-q", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert report.exists(), result.output
    return result.exit_code, json.loads(report.read_text())


def read_as_mail(path: Path, limits: ReadLimits | None = None) -> list[SourceRecord]:
    with open_export([path], "mail", limits=limits or ReadLimits()) as export:
        return list(export.records())


def errors(records: list[SourceRecord]) -> list[tuple[str, str, str]]:
    return [(r.error.code, r.location, r.error.message) for r in records if r.error is not None]


def from_lines(path: Path) -> list[int]:
    """The line numbers of the ``From <sender> <day> ...`` separators of a file."""
    lines = path.read_bytes().split(b"\n")
    return [number for number, line in enumerate(lines, 1) if _SEPARATOR.match(line)]


# -- splitting --------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [("--format", "mail"), ()])
def test_an_mbox_after_lines_of_whitespace_is_read_mail_by_mail(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    # before: with --format, 1 conversation (the whole file as one mail); without, not recognised
    assert LEADING_WHITESPACE.read_bytes().startswith(b"  \n    \n\t\nFrom ")
    expected = len(mailbox.mbox(str(LEADING_WHITESPACE)))
    assert expected == 18
    code, report = validate(LEADING_WHITESPACE, tmp_path, *options)
    assert code == 0
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (18, 18, 0)
    assert report["format"] == "mail"


def test_each_mail_after_whitespace_is_located_by_its_from_line(tmp_path: Path) -> None:
    copy = tmp_path / LEADING_WHITESPACE.name  # read() writes its mapping beside the file
    copy.write_bytes(LEADING_WHITESPACE.read_bytes())
    records = read(copy, TEAM_MAPPING)
    assert all(r.error is None for r in records)
    lines = sorted(int(r.location.rsplit(":", 1)[1]) for r in records)
    assert lines == from_lines(LEADING_WHITESPACE)
    assert lines[0] == 4
    by_line = {int(r.location.rsplit(":", 1)[1]): r.data for r in records if r.data}
    # the folded From header with comments of the first mail; >From unquoted in the 7th
    assert by_line[4]["messages"][0]["author_email"] == "ada@example.org"
    assert any(
        ">From" not in m["body_text"] and "From the archives" in m["body_text"]
        for c in by_line.values()
        for m in c["messages"]
    )


def test_sniffing_past_whitespace_and_a_preamble() -> None:
    assert sniff_mail(LEADING_WHITESPACE.read_bytes()[:4096]) == "mbox"
    assert sniff_mail(b"\n\r\n  \n" + mail(1, "a@example.com")) == "eml"
    preamble = b"Exported by MailSaver 2.1\n\n" + mbox(mail(1, "a@example.com"))
    assert sniff_mail(preamble) == "mbox"
    assert sniff_mail(b" \n\t\n") is None
    assert sniff_mail(b"Dear team,\n\nFrom now on we ship on Mondays.\nThanks\n") is None


def test_an_eml_that_holds_separators_followed_by_headers_is_every_one_of_its_mails(
    tmp_path: Path,
) -> None:
    # before: one mail, the second and third in its body
    first = mail(1, "ann@example.com", subject="One", body=b"Hi\n\nFrom here on, thanks\nAnn")
    second = mail(2, "bob@example.com", subject="Two")
    third = mail(3, "cy@example.com", subject="Three")
    path = tmp_path / "exported.eml"
    path.write_bytes(first + b"\n" + mbox(second, third))
    records = read(path, TEAM_MAPPING)
    data = conversations(records)
    assert [c["subject"] for c in data] == ["One", "Two", "Three"]
    # a body line "From here on" not followed by a header is no separator
    assert data[0]["messages"][0]["body_text"] == "Hi\n\nFrom here on, thanks\nAnn\n"
    assert [r.location for r in records] == [f"{path}:{line}" for line in [1, *from_lines(path)]]
    assert from_lines(path)[0] == first.count(b"\n") + 2


def test_an_eml_alone_is_still_named_by_its_file(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(b"\n \n" + mail(1, "ann@example.com", body=b"Hi\n\nFrom me to you\nAnn"))
    (record,) = read(path, TEAM_MAPPING)
    assert record.location == str(path)
    assert record.data is not None
    assert record.data["messages"][0]["body_text"] == "Hi\n\nFrom me to you\nAnn\n"


@pytest.mark.parametrize("options", [("--format", "mail"), ()])
def test_text_before_the_first_from_line_is_an_invalid_record_with_its_line(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    # before: with --format, the text and both mails read as one mail, no error; without, not
    # recognised
    path = tmp_path / "inbox"
    preamble = b"\n  \nExported by MailSaver 2.1 on Monday\nfolder: Inbox\n\n"
    path.write_bytes(preamble + mbox(mail(1, "ann@example.com"), mail(2, "bob@example.com")))
    code, report = validate(path, tmp_path, *options)
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (3, 2, 1)
    assert code != 0
    (error,) = report["errors"]
    assert error["location"] == f"{path}:3"
    assert "2 line(s) of text before the first From line" in error["message"]
    assert "Exported by MailSaver" in error["message"]
    assert error["code"] == "mail.not_mail"


# -- bounds -----------------------------------------------------------------------------------


def _big(number: int, size: int, one_line: bool) -> bytes:
    line = b"y" * size if one_line else (b"z" * 99 + b"\n") * (size // 100)
    return mail(number, "big@example.com", subject="Big", body=line)


@pytest.mark.parametrize("one_line", [False, True], ids=["lines", "one-line"])
def test_a_mail_over_the_bound_is_one_invalid_record_and_the_rest_is_read(
    tmp_path: Path, one_line: bool
) -> None:
    # before: the bound was not applied; the big mail was read (and held) whole
    small = [mail(1, "ann@example.com"), mail(3, "cy@example.com", subject="After")]
    path = tmp_path / "inbox"
    path.write_bytes(mbox(small[0], _big(2, 300_000, one_line), small[1]))
    code, report = validate(path, tmp_path, "--format", "mail", "--max-record-bytes", "65536")
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (3, 2, 1)
    assert code != 0
    (error,) = report["errors"]
    assert error["location"] == f"{path}:{from_lines(path)[1]}"
    assert error["code"] == "record_over_bound"
    message = error["message"]
    assert message.startswith("the mail <m2@x> holds ")
    assert "over --max-record-bytes 65536" in message
    assert "Raise --max-record-bytes" in message
    size = len(_big(2, 300_000, one_line))  # the mail as the mbox holds it, its blank line too
    assert f"({size + 1} bytes)" in message


def test_an_eml_over_the_bound_is_one_invalid_record_named_by_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "eml"
    folder.mkdir()
    (folder / "a.eml").write_bytes(_big(1, 200_000, one_line=True))
    (folder / "b.eml").write_bytes(mail(2, "bob@example.com"))
    records = read_as_mail(folder, ReadLimits(max_record_bytes=50_000))
    ((code, location, message),) = errors(records)
    assert (code, location) == ("record_over_bound", str(folder / "a.eml"))
    assert "<m1@x>" in message
    assert len(conversations(records)) == 1


def test_a_mail_exactly_at_the_bound_is_read(tmp_path: Path) -> None:
    one = mail(1, "ann@example.com", body=b"x" * 5000)
    path = tmp_path / "inbox"
    path.write_bytes(mbox(one, mail(2, "bob@example.com")))
    # the mail's bytes and the blank line mbox writes after it
    records = read_as_mail(path, ReadLimits(max_record_bytes=len(one) + 1))
    assert errors(records) == []
    records = read_as_mail(path, ReadLimits(max_record_bytes=len(one)))
    assert [code for code, _, _ in errors(records)] == ["record_over_bound"]


@pytest.mark.parametrize("one_line", [False, True], ids=["lines", "one-line"])
def test_reading_past_the_bound_holds_about_one_bound_in_memory(
    tmp_path: Path, one_line: bool
) -> None:
    # before: the 10 MB mail was read whole (and, one line, as one line)
    bound = 1 << 20
    path = tmp_path / "inbox"
    with path.open("wb") as out:
        out.write(SEPARATOR + mail(1, "ann@example.com") + b"\n")
        out.write(SEPARATOR + mail(2, "big@example.com", body=b"") + b"\n")
        chunk = b"q" * (1 << 20) if one_line else (b"w" * 79 + b"\n") * 13_107
        for _ in range(10):
            out.write(chunk)
        out.write(b"\n\n" + SEPARATOR + mail(3, "cy@example.com") + b"\n")
    input_file = InputFile(path.name, tmp_path, path=path, limits=ReadLimits(bound))
    tracemalloc.start()
    try:
        mails = [(raw.location, raw.problem, len(raw.data)) for raw in iter_raw_mails(input_file)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * bound, peak
    assert [location for location, _, _ in mails] == [
        "inbox:1",
        "inbox:11",
        "inbox:" + str(from_lines(path)[2]),
    ]
    assert [problem is None for _, problem, _ in mails] == [True, False, True]
    assert mails[1][2] <= HEAD_BYTES


def test_a_long_separator_line_and_crlf_keep_their_places(tmp_path: Path) -> None:
    path = tmp_path / "inbox"
    long_from = b"From " + b"x" * 5000 + b" Mon Mar 04 09:00:00 2024\r\n"
    first = mail(0, "zoe@example.com").replace(b"\n", b"\r\n") + b"\r\n"
    rest = mbox(mail(1, "ann@example.com"), mail(2, "bob@example.com"), crlf=True)
    path.write_bytes(long_from + first + rest)
    records = read_as_mail(path, ReadLimits(max_record_bytes=1024))
    assert errors(records) == []
    assert [r.location.rsplit(":", 1)[1] for r in records] == ["1", "11", "21"]
    assert len(conversations(records)) == 3


# -- hostile headers --------------------------------------------------------------------------


@pytest.mark.timeout(30)  # the bound (quadratic before: 11 s for the subject alone, here 2 s)
def test_fifty_thousand_references_and_a_megabyte_subject_read_fast(tmp_path: Path) -> None:
    # before: the subject's Re: prefixes were stripped one at a time, a new string each time
    # (quadratic): 11 s for this subject alone
    references = ("References: " + " ".join(f"<r{n}@x>" for n in range(50_000)),)
    subject = "Re: [Shop] " * (1_000_000 // 11)
    path = tmp_path / "inbox"
    path.write_bytes(
        mbox(
            mail(1, "ann@example.com", subject=subject, extra=references),
            mail(2, "bob@example.com", subject="Re: Order", reply_to=[1]),
        )
    )
    records = read(path, TEAM_MAPPING)
    (data,) = conversations(records)
    assert len(data["messages"]) == 2


@pytest.mark.parametrize(
    "date",
    [
        "Mon, 01 Jan 0000 00:00:00 +0000",  # was read as 2000, without a word
        "Fri, 31 Dec 9999 23:59:59 -1400",  # was "date value out of range": the mail lost
        "Sat, 01 Jan 2024 25:61:61 +0000",
        "Sat, 01 Jan 99999 00:00:00 +0000",
        "Mon, 99 Foo 2024 99:99:99 +9999",
        "Mon, 04 Mar 2024 09:00:00 +99999999999999999999",
        "yesterday, around noon",
        "\x01",
    ],
)
def test_an_absurd_date_takes_the_from_line_time_with_a_warning(tmp_path: Path, date: str) -> None:
    path = tmp_path / "inbox"
    path.write_bytes(mbox(mail(1, "ann@example.com", date=date), mail(2, "bob@example.com")))
    records = read(path, TEAM_MAPPING)
    assert errors(records) == []
    first, second = conversations(records)
    assert first["created_at"] == "2024-03-04T09:00:00+00:00"  # the From line's
    assert second["created_at"] == "2024-03-04T09:00:00+01:00"
    time_warnings = [w for r in records for w in r.warnings if w.code == "mail.time"]
    assert len(time_warnings) == 1
    assert time_warnings[0].location == f"{path}:1"


def test_a_date_far_in_the_future_is_not_kept_as_the_time(tmp_path: Path) -> None:
    # before: kept as the conversation's time (year 9999) without a word
    path = tmp_path / "inbox"
    path.write_bytes(mbox(mail(1, "ann@example.com", date="Fri, 31 Dec 9999 12:00:00 +0000")))
    records = read(path, TEAM_MAPPING)
    (data,) = conversations(records)
    assert data["created_at"] == "2024-03-04T09:00:00+00:00"
    assert any("is in the future" in message for _, message in _warnings(records))


def _warnings(records: list[SourceRecord]) -> list[tuple[str, str]]:
    return [(w.code, w.message) for r in records for w in r.warnings]


def test_nul_bytes_and_bytes_that_are_not_utf8_are_that_mails_problem_only(
    tmp_path: Path,
) -> None:
    good = mail(9, "zed@example.com", subject="Fine", body=b"All fine.")
    hostile = [
        mail(1, "ann@example.com", subject="nul\0here"),
        mail(2, "bob@example.com", subject="caf\xe9").replace(b"caf\xc3\xa9", b"caf\xe9 \xff\0"),
        mail(3, "cy\xff@example.com").replace(b"cy\xc3\xbf", b"cy\xff"),
        mail(4, "di@example.com", body=b"body \0 nul \xff\xfe bad"),
        mail(5, "ed@example.com", body=b"\0" * 10_000),
    ]
    alone = tmp_path / "alone"
    alone.write_bytes(mbox(good))
    path = tmp_path / "inbox"
    path.write_bytes(mbox(hostile[0], hostile[1], good, *hostile[2:]))
    expected = conversations(read_as_mail(alone))[0]
    records = read_as_mail(path)
    found = [c for c in conversations(records) if c["subject"] == "Fine"]
    assert found == [expected]
    assert len(conversations(records)) + len(errors(records)) == 6


def test_a_sent_mail_with_two_senders_teaches_no_one_to_be_the_team(tmp_path: Path) -> None:
    """A mail cut off inside its From header runs into the next mail's headers: labelled Sent,
    it then holds two From headers, the second a customer's. Only a Sent mail of one sender
    teaches who the team is (a fuzzer find: the customer's other conversations became the
    team's)."""
    sent = ("X-Gmail-Labels: Sent",)
    cut = "Sam <sam@shopFrom sender9@xxx Mon Mar 04 09:00:00 +0000 2024"  # the cut runs on
    damaged = mail(1, cut, to="ann@example.com", extra=sent)
    damaged = damaged.replace(b"To:", b"From: Ann <ann@example.com>\nTo:", 1)
    path = tmp_path / "inbox"
    path.write_bytes(
        mbox(
            damaged,
            mail(2, "Ann <ann@example.com>", subject="Another question"),
            mail(3, "Sam <sam@shop.example>", to="bob@example.com", extra=sent),
        )
    )
    records = read(path)
    by_subject = {r.data["subject"]: r.data for r in records if r.data}
    other = by_subject["Another question"]
    assert other["customer"]["email"] == "ann@example.com"
    assert other["messages"][0]["author_role"] == "customer"


def test_an_mbox_whose_first_mail_is_cut_in_its_headers_is_still_an_mbox(tmp_path: Path) -> None:
    """The first mail ends inside its headers, so the next ``From `` line follows a header
    line, not a blank one: the file is still recognised (a fuzzer find: a part of a split
    archive that began so was left aside, its mails counted nowhere)."""
    cut = mail(1, "ann@example.com").split(b"\n\n", 1)[0] + b"\n"
    whole = mail(2, "bob@example.com", subject="Second")
    data = b"From a@xxx Mon Mar 04 09:00:00 +0000 2024\n" + cut
    data += b"From b@xxx Mon Mar 04 10:00:00 +0000 2024\n" + whole
    assert sniff_mail(data[:4096]) == "mbox"
    path = tmp_path / "part2"
    path.write_bytes(data)
    _, report = validate(path, tmp_path)
    assert report["format"] == "mail"
    assert report["source_conversations"] == report["valid"] + report["invalid"] == 2


def test_a_sent_mail_run_into_the_next_teaches_no_one_either(tmp_path: Path) -> None:
    """Cut before its own From header, a Sent mail runs into the next mail's headers, whose
    From is a customer's and whose Message-ID, Date and labels come a second time (a fuzzer
    find, the sequel of the one above)."""
    cut = b"X-Gmail-Labels: Sent\nMessage-ID: <m1@x>\nReceived: by 2002:a05 wi"
    nxt = mail(2, "Ann <ann@example.com>", subject="Another question")
    glued = cut + b"From b@xxx Mon Mar 04 10:00:00 +0000 2024\nX-Gmail-Labels: Inbox\n" + nxt
    path = tmp_path / "inbox"
    path.write_bytes(
        b"From a@xxx Mon Mar 04 09:00:00 +0000 2024\n"
        + glued
        + b"\nFrom c@xxx Mon Mar 04 11:00:00 +0000 2024\n"
        + mail(3, "Ann <ann@example.com>", subject="A third one")
    )
    records = read(path)
    by_subject = {r.data["subject"]: r.data for r in records if r.data}
    third = by_subject["A third one"]
    assert third["customer"]["email"] == "ann@example.com"
    assert third["messages"][0]["author_role"] == "customer"
