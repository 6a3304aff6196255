"""The mail reader: the Takeout sample mail by mail, then each rule on small archives."""

from __future__ import annotations

import base64
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from importer.errors import MappingError
from importer.mappings import load_mapping
from importer.model import Conversation
from importer.readers import open_export
from importer.readers.base import READERS
from importer.readers.detect import detect_file
from importer.readers.inputs import list_input_files
from importer.readers.mail import build as mail_build
from importer.readers.mail.mapping import mail_mapping
from importer.readers.mail.parse import sniff_mail
from importer.readers.mail.thread import normalised_subject
from importer.readers.source import SourceRecord

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLE = ROOT / "samples" / "mail" / "export"
TEAM = "support@northwind.example"


def mail(
    number: int,
    sender: str,
    to: str = TEAM,
    subject: str = "Order 5521",
    *,
    reply_to: list[int] | None = None,
    date: str | None = "Mon, 04 Mar 2024 09:00:00 +0100",
    body: bytes = b"Where is my order?",
    extra: tuple[str, ...] = (),
    content_type: str = "text/plain; charset=utf-8",
) -> bytes:
    """One mail's bytes: ``Message-ID`` ``<m{number}@x>``, the parents of ``reply_to``."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if date:
        lines.append(f"Date: {date}")
    lines.append(f"Message-ID: <m{number}@x>")
    if reply_to:
        lines.append(f"In-Reply-To: <m{reply_to[-1]}@x>")
        lines.append("References: " + " ".join(f"<m{n}@x>" for n in reply_to))
    lines += [*extra, f"Content-Type: {content_type}"]
    return "\n".join(lines).encode("utf-8") + b"\n\n" + body + b"\n"


def mbox(*mails: bytes, crlf: bool = False) -> bytes:
    out = b""
    for index, item in enumerate(mails):
        out += f"From sender{index}@xxx Mon Mar 04 09:00:00 +0000 2024\n".encode()
        out += re.sub(rb"(?m)^(>*From )", rb">\1", item) + b"\n"
    return out.replace(b"\n", b"\r\n") if crlf else out


def read(path: Path, mapping: dict[str, Any] | None = None, **kw: Any) -> list[SourceRecord]:
    override = None
    if mapping is not None:
        override = path.parent / "mapping.toml"
        override.write_text(
            "\n".join(f"{key} = {json.dumps(value)}" for key, value in mapping.items())
        )
    with open_export([path], mapping_file=override, **kw) as export:
        assert export.format == "mail"
        records = list(export.records())
    for record in records:
        if record.data is not None:
            Conversation.model_validate(record.data)
    return records


def archive(tmp_path: Path, *mails: bytes, **kw: Any) -> Path:
    path = tmp_path / "inbox"
    path.write_bytes(mbox(*mails, **kw))
    return path


def conversations(records: list[SourceRecord]) -> list[dict[str, Any]]:
    return [r.data for r in records if r.data is not None]


def warnings(records: list[SourceRecord]) -> list[tuple[str, str]]:
    return [(w.code, w.message) for r in records for w in r.warnings]


TEAM_MAPPING = {"team_addresses": [TEAM], "team_domains": ["northwind.example"]}


# -- the sample -------------------------------------------------------------------------------


def test_the_sample_threads_into_its_conversations() -> None:
    records = read(SAMPLE)
    data = conversations(records)
    assert [len(c["messages"]) for c in data] == [3, 5, 7, 3, 2, 2, 2, 3, 1]
    assert all(r.error is None for r in records)
    by_subject = {c["subject"]: c for c in data}
    # a reply without In-Reply-To joins by subject and customer
    cancel = by_subject["Cancel my plan"]
    assert [m["author_role"] for m in cancel["messages"]] == ["customer", "agent", "customer"]
    # the reply came first in the file; the conversation is in time order
    euros = by_subject["Invoice in euros"]
    assert [m["author_role"] for m in euros["messages"]] == ["customer", "agent"]
    assert euros["messages"][0]["body_text"].startswith("Could you send the invoice in euros –")
    assert "“Merci”" in euros["messages"][0]["body_text"]  # windows-1252
    assert euros["messages"][1]["body_text"].startswith("From now on")  # >From unquoted
    # joined by Gmail's thread id only; RFC 2047 subject; iso-2022-jp body
    order = by_subject["订单 5521"]
    assert order["messages"][0]["body_text"].startswith("注文5521")
    assert order["customer"]["first_name"] == "李小龙"
    assert data[1]["customer"] == {
        "id": "zoe.akesson@example.se",
        "email": "zoe.akesson@example.se",
        "first_name": "Zoë",
        "last_name": "Åkesson",
    }


def test_the_sample_html_mail_carries_its_inline_image_and_attachment() -> None:
    photo = next(c for c in conversations(read(SAMPLE)) if c["subject"].startswith("Photo"))
    first = photo["messages"][0]
    assert first["body_html"].startswith("<p>Voilà the bag: <b>torn</b>")
    assert "body_text" not in first
    names = [(a["file_name"], a["content_type"]) for a in first["attachments"]]
    assert names == [("inline-1.png", "image/png"), ("Rechnung März.pdf", "application/pdf")]
    pdf = base64.b64decode(first["attachments"][1]["data_base64"])
    assert pdf.startswith(b"%PDF-1.4")
    assert first["attachments"][1]["size"] == len(pdf)


def test_every_mail_of_the_sample_is_accounted_for() -> None:
    records = read(SAMPLE)
    text = (SAMPLE / "All mail Including Spam and Trash.mbox").read_bytes()
    mails = text.count(b"\nFrom 17") + 1
    in_conversations = sum(len(c["messages"]) for c in conversations(records))
    left_out = [w for r in records for w in r.warnings if w.message.startswith("the mail <")]
    assert in_conversations + len(left_out) == mails == 32
    assert sorted(w.code for w in left_out) == [
        "mail.auto_reply",
        "mail.bounce",
        "mail.internal",
        "mail.label",
    ]
    assert all(w.location and ".mbox:" in w.location for w in left_out)


def test_the_sample_roles_come_from_sent_labels_without_a_mapping() -> None:
    for conversation in conversations(read(SAMPLE)):
        for message in conversation["messages"]:
            agent = message["author_email"].endswith("@northwind.example")
            assert message["author_role"] == ("agent" if agent else "customer")
        assert conversation["status"] == "closed"
        assert conversation["closed_at"] == conversation["messages"][-1]["created_at"]


def test_the_sample_expected_report_matches_the_reader() -> None:
    expected = json.loads((SAMPLE.parent / "expected-validate.json").read_text())
    assert expected["format"] == "mail"
    assert expected["valid"] == expected["source_conversations"] == 9
    assert (expected["threads"], expected["attachments"]) == (28, 2)
    codes = {w["code"] for w in expected["warnings"]}
    assert {"mail.bounce", "mail.auto_reply", "mail.time", "encoding"} <= codes


# -- threading --------------------------------------------------------------------------------


def test_replies_before_their_parent_and_siblings_of_a_missing_parent_join(
    tmp_path: Path,
) -> None:
    path = archive(
        tmp_path,
        mail(
            3,
            TEAM,
            "ann@example.com",
            "Re: Order",
            reply_to=[1, 2],
            date="Mon, 04 Mar 2024 12:00:00 +0000",
        ),
        mail(1, "ann@example.com", subject="Order", date="Mon, 04 Mar 2024 10:00:00 +0000"),
        mail(
            2,
            TEAM,
            "ann@example.com",
            "Re: Order",
            reply_to=[1],
            date="Mon, 04 Mar 2024 11:00:00 +0000",
        ),
        mail(5, "bob@example.com", subject="Re: Lost", reply_to=[4]),
        mail(
            6,
            TEAM,
            "bob@example.com",
            "Re: Lost",
            reply_to=[4],
            date="Mon, 04 Mar 2024 10:00:00 +0100",
        ),
    )
    data = conversations(read(path, TEAM_MAPPING))
    assert [[m["source_id"] for m in c["messages"]] for c in data] == [
        ["m1@x", "m2@x", "m3@x"],
        ["m5@x", "m6@x"],
    ]
    assert data[0]["source_id"] == "m1@x"
    assert data[1]["customer"]["email"] == "bob@example.com"


def test_subject_fallback_needs_the_same_customer_within_the_window(tmp_path: Path) -> None:
    path = archive(
        tmp_path,
        mail(1, "ann@example.com", subject="[Shop] Refund", date="Mon, 04 Mar 2024 10:00:00 +0000"),
        mail(2, "ann@example.com", subject="RE: AW: Refund", date="Tue, 05 Mar 2024 10:00 +0000"),
        mail(3, "bob@example.com", subject="Re: Refund", date="Tue, 05 Mar 2024 11:00:00 +0000"),
        mail(4, "ann@example.com", subject="Re: Refund", date="Mon, 06 May 2024 10:00:00 +0000"),
    )
    data = conversations(read(path, TEAM_MAPPING))
    assert [len(c["messages"]) for c in data] == [2, 1, 1]
    off = conversations(read(path, {**TEAM_MAPPING, "subject_window_days": 0}))
    assert len(off) == 4


def test_normalised_subjects() -> None:
    assert normalised_subject("Re: [Shop] AW: Fwd:  Refund  ") == "refund"
    assert normalised_subject("SV: Re[2]: Refund") == "refund"
    assert normalised_subject("Réponse: Refund") == "réponse: refund"


def test_gmail_thread_ids_join_unless_the_mapping_says_no(tmp_path: Path) -> None:
    path = archive(
        tmp_path,
        mail(1, "ann@example.com", subject="Beans", extra=("X-GM-THRID: 77",)),
        mail(2, TEAM, "ann@example.com", subject="Your beans", extra=("X-GM-THRID: 77",)),
    )
    assert len(conversations(read(path, TEAM_MAPPING))) == 1
    assert len(conversations(read(path, {**TEAM_MAPPING, "gmail_thread_ids": False}))) == 2


# -- roles ------------------------------------------------------------------------------------


def test_team_domains_make_agents_and_the_customer_is_the_first_outside_party(
    tmp_path: Path,
) -> None:
    path = archive(
        tmp_path,
        mail(1, "Sam <sam@northwind.example>", "Ann <ann@example.com>", "Welcome"),
        mail(
            2,
            "ann@example.com",
            "sam@northwind.example",
            "Re: Welcome",
            reply_to=[1],
            date="Mon, 04 Mar 2024 11:00:00 +0100",
        ),
    )
    (data,) = conversations(read(path, {"team_domains": ["northwind.example"]}))
    assert [m["author_role"] for m in data["messages"]] == ["agent", "customer"]
    assert data["customer"]["email"] == "ann@example.com"
    assert data["customer"]["first_name"] == "Ann"


def test_without_team_addresses_every_mail_is_a_customers_with_a_warning(tmp_path: Path) -> None:
    path = archive(tmp_path, mail(1, "ann@example.com"))
    records = read(path)
    assert conversations(records)[0]["messages"][0]["author_role"] == "customer"
    assert "mail.team" in [code for code, _ in warnings(records)]


# -- what is left out -------------------------------------------------------------------------


def _automatic(tmp_path: Path) -> Path:
    return archive(
        tmp_path,
        mail(1, "ann@example.com"),
        mail(
            2,
            "ann@example.com",
            subject="Out of office",
            reply_to=[1],
            extra=("Auto-Submitted: auto-replied",),
        ),
        mail(3, "MAILER-DAEMON@example.com", subject="Undeliverable"),
        mail(4, "sam@northwind.example", "priya@northwind.example", "Lunch"),
        mail(5, "news@example.com", subject="Deals", extra=("Precedence: bulk",)),
    )


def test_bounces_auto_replies_and_internal_mail_are_left_out_with_a_warning(
    tmp_path: Path,
) -> None:
    records = read(_automatic(tmp_path), TEAM_MAPPING)
    assert [len(c["messages"]) for c in conversations(records)] == [1]
    left = [(w.code, w.location) for r in records for w in r.warnings if w.code != "mail.team"]
    assert [code for code, _ in left] == [
        "mail.auto_reply",
        "mail.bounce",
        "mail.internal",
        "mail.auto_reply",
    ]
    assert [location.rsplit(":", 1)[1] for _, location in left] == ["11", "24", "34", "44"]
    assert all("<m" in message for code, message in warnings(records) if code != "mail.team")


def test_a_delivery_status_report_is_a_bounce_whoever_sends_it(tmp_path: Path) -> None:
    report = b"--b\nContent-Type: text/plain\n\nYour mail could not be delivered.\n--b--\n"
    path = archive(
        tmp_path,
        mail(1, "ann@example.com"),
        mail(
            2,
            "delivery@mail.example.com",
            subject="Returned",
            content_type='multipart/report; report-type="Delivery-Status"; boundary="b"',
            body=report,
        ),
        mail(
            3,
            "bob@example.com",
            subject="Read",
            content_type='multipart/report; report-type=disposition-notification; boundary="b"',
            body=report,
        ),
    )
    records = read(path, TEAM_MAPPING)
    left = [w.code for r in records for w in r.warnings if w.code != "mail.team"]
    assert left == ["mail.bounce"]
    assert len(conversations(records)) == 2  # Ann's mail, and Bob's read receipt


def test_the_mapping_keeps_them(tmp_path: Path) -> None:
    keep = {"keep_auto_replies": True, "keep_bounces": True, "keep_team_internal": True}
    records = read(_automatic(tmp_path), {**TEAM_MAPPING, **keep})
    messages = [m for c in conversations(records) for m in c["messages"]]
    assert len(messages) == 5
    private = [m["source_id"] for m in messages if m["private"]]
    assert private == ["m3@x", "m4@x"]  # the bounce and the internal mail: notes


# -- encodings, bodies and dates --------------------------------------------------------------


def test_rfc2047_headers_and_charsets(tmp_path: Path) -> None:
    path = archive(
        tmp_path,
        mail(
            1,
            "=?iso-8859-1?q?Andr=E9_Gide?= <andre@example.fr>",
            subject="=?utf-8?b?Q2Fmw6kgw6AgbGEgY2FydGU=?=",
            body="Voilà".encode("iso-8859-1"),
            content_type="text/plain; charset=iso-8859-1",
        ),
        mail(2, "bob@example.com", subject="x", body=b"caf\xe9", content_type="text/plain"),
        mail(
            3,
            "cy@example.com",
            subject="y",
            body=b"caf\xe9",
            content_type="text/plain; charset=x-unknown",
        ),
        mail(
            4,
            "di@example.com",
            subject="z",
            body=b"caf\xe9 \xff",
            content_type="text/plain; charset=utf-8",
        ),
    )
    records = read(path, TEAM_MAPPING)
    first, second, third, fourth = conversations(records)
    assert first["subject"] == "Café à la carte"
    assert first["messages"][0]["author_name"] == "André Gide"
    assert first["messages"][0]["body_text"] == "Voilà\n"
    assert second["messages"][0]["body_text"] == "caf\ufffd\n"  # us-ascii: not UTF-8 either
    assert third["messages"][0]["body_text"] == "café\n"  # unknown charset: cp1252
    assert fourth["messages"][0]["body_text"] == "caf\ufffd \ufffd\n"
    codes = [code for code, _ in warnings(records)]
    assert codes.count("encoding") == 3


def test_a_missing_or_absurd_date_comes_from_received(tmp_path: Path) -> None:
    received = ("Received: from mx by x; Tue, 05 Mar 2024 10:00:00 +0000",)
    path = archive(
        tmp_path,
        mail(1, "ann@example.com", date=None, extra=received),
        mail(
            2,
            "bob@example.com",
            subject="b",
            date="Thu, 01 Jan 1970 00:00:00 +0000",
            extra=received,
        ),
        mail(3, "cy@example.com", subject="c", date="Wed, 06 Mar 2024 10:00:00 -0500"),
    )
    records = read(path, TEAM_MAPPING)
    times = [c["messages"][0]["created_at"] for c in conversations(records)]
    assert times == ["2024-03-05T10:00:00+00:00"] * 2 + ["2024-03-06T10:00:00-05:00"]
    assert [code for code, _ in warnings(records)] == ["mail.time", "mail.time"]


def test_a_mail_that_cannot_be_placed_is_an_error_and_the_rest_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "eml"
    folder.mkdir()
    (folder / "a.eml").write_bytes(mail(1, "ann@example.com", date=None))
    (folder / "b.eml").write_bytes(mail(2, "bob@example.com"))
    records = read(folder, TEAM_MAPPING)
    bad = [r for r in records if r.error is not None]
    assert len(bad) == 1
    assert bad[0].error is not None
    assert bad[0].location.endswith("a.eml")
    assert "<m1@x>" in bad[0].error.message
    assert len(conversations(records)) == 1


def test_an_exception_on_one_mail_never_stops_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importer.readers.mail.read as mail_module

    real = mail_module.mail_body

    def flaky(message: Any) -> dict[str, Any]:
        if "m2@x" in str(message.get("message-id")):
            raise RuntimeError("boom")
        return real(message)

    monkeypatch.setattr(mail_module, "mail_body", flaky)
    path = archive(tmp_path, mail(1, "ann@example.com"), mail(2, "bob@example.com", subject="b"))
    records = read(path, TEAM_MAPPING)
    assert len(conversations(records)) == 1
    (bad,) = [r for r in records if r.error is not None]
    assert bad.location.endswith("inbox:11")
    assert bad.source_id == "m2@x"


def test_crlf_mbox_and_quoted_from_lines(tmp_path: Path) -> None:
    body = b"Hello\nFrom the kitchen: beans\n>From quoted"
    path = archive(tmp_path, mail(1, "ann@example.com", body=body), crlf=True)
    (data,) = conversations(read(path, TEAM_MAPPING))
    text = data["messages"][0]["body_text"]
    assert text.replace("\r\n", "\n") == "Hello\nFrom the kitchen: beans\n>From quoted\n"


# -- recognition and the mapping --------------------------------------------------------------


def test_an_eml_folder_and_zip_are_recognised_without_format(tmp_path: Path) -> None:
    folder = tmp_path / "Outlook"
    folder.mkdir()
    (folder / "1.eml").write_bytes(
        b"Received: by mx; Mon, 04 Mar 2024 09:00:00 +0000\n" + mail(1, "ann@example.com")
    )
    (folder / "2.eml").write_bytes(mail(2, TEAM, "ann@example.com", "Re: x", reply_to=[1]))
    (folder / "notes.txt").write_text("Exported from Outlook on Monday.\n")
    assert len(conversations(read(folder, TEAM_MAPPING))) == 1
    zipped = tmp_path / "mail.zip"
    with zipfile.ZipFile(zipped, "w") as archive_file:
        for name in ("1.eml", "2.eml"):
            archive_file.write(folder / name, f"Inbox/{name}")
    (data,) = conversations(read(zipped, TEAM_MAPPING))
    assert len(data["messages"]) == 2


def test_an_mbox_is_recognised_without_format_and_offered_to_no_other_reader(
    tmp_path: Path,
) -> None:
    path = archive(tmp_path, mail(1, "ann@example.com"))
    (input_file,) = list_input_files([path])
    detected = detect_file(input_file, [])
    assert (detected.format, detected.roles) == ("mail", ("mbox",))


@pytest.mark.parametrize(
    "head",
    [
        b'{"id": 1, "subject": "x"}\n',
        b"conversation_id,subject,status\n1,x,open\n",
        b"From the desk of the CEO\nWe did great.\n",
        b"subject: a yaml file\n",
        b"name: x\nvalue: y\n",
        b"",
    ],
)
def test_text_that_is_not_mail_is_not_claimed(head: bytes) -> None:
    assert sniff_mail(head) is None


def test_sniffing_mail() -> None:
    assert sniff_mail(mbox(mail(1, "a@example.com"))) == "mbox"
    assert sniff_mail(mail(1, "a@example.com")) == "eml"
    long_headers = b"".join(
        b"ARC-Seal: i=1; a=rsa-sha256;\n  b=" + b"x" * 70 + b"\n" for _ in range(60)
    )
    assert sniff_mail((b"Return-Path: <a@x>\n" + long_headers)[:4096]) == "eml"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"team_addresses": "support@x.com"}, "team_addresses"),
        ({"team_addresses": ["northwind.example"]}, "team_domains"),
        ({"keep_bounces": "yes"}, "keep_bounces"),
        ({"subject_window_days": -1}, "subject_window_days"),
        ({"subject_window_days": float("nan")}, "subject_window_days"),
        ({"earliest_year": float("nan")}, "earliest_year"),
        ({"earliest_year": float("inf")}, "earliest_year"),
        ({"conversation_status": ""}, "conversation_status"),
        ({"team": []}, "unknown key"),
    ],
)
def test_a_wrong_mapping_names_the_key(override: dict[str, Any], named: str) -> None:
    with pytest.raises(MappingError, match=named):
        mail_mapping({**load_mapping("mail"), **override})


def test_the_mapping_file_matches_the_defaults() -> None:
    from importer.readers.mail.mapping import MailMapping

    assert mail_mapping(load_mapping("mail")) == MailMapping()


def test_an_open_status_leaves_conversations_open(tmp_path: Path) -> None:
    path = archive(tmp_path, mail(1, "ann@example.com"))
    (data,) = conversations(read(path, {**TEAM_MAPPING, "conversation_status": "open"}))
    assert data["status"] == "open"
    assert "closed_at" not in data


def test_the_mail_reader_is_registered() -> None:
    reader = READERS.get("mail")
    assert reader is not None
    assert reader.sniffs_text
    assert not reader.sniffs_csv
    assert reader.role_of({"from": "a@example.com", "subject": "x"}, "messages") is None


def test_a_mail_in_two_files_is_read_once_with_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "Takeout"
    folder.mkdir()
    question = mail(1, "ann@example.com")
    answer = mail(2, TEAM, "ann@example.com", "Re: Order 5521", reply_to=[1])
    (folder / "Inbox.mbox").write_bytes(mbox(question, answer))
    (folder / "Sent.mbox").write_bytes(mbox(answer))
    records = read(folder, TEAM_MAPPING)
    (data,) = conversations(records)
    assert [m["source_id"] for m in data["messages"]] == ["m1@x", "m2@x"]
    (duplicate,) = [w for r in records for w in r.warnings if w.code == "mail.duplicate"]
    assert duplicate.location is not None
    assert duplicate.location.endswith("Sent.mbox:1")


def test_formats_lists_mail() -> None:
    from click.testing import CliRunner

    from importer.cli import cli

    result = CliRunner().invoke(cli, ["formats"])
    assert result.exit_code == 0
    assert any(line.split()[:1] == ["mail"] for line in result.output.splitlines()), result.output


def test_the_team_answers_as_the_mapping_and_what_was_learned_in_bounded_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mapping's answer for an address is kept (each head asks of every address), in a
    bounded cache; an address learned later (a Sent mail's sender) is the team's at once."""
    monkeypatch.setattr(mail_build, "TEAM_CACHE_SIZE", 10)
    rules = mail_mapping(
        {"team_addresses": ["sam@a.example"], "team_domains": ["northwind.example"]}
    )
    team = mail_build.Team(rules)
    addresses = [
        f"user{n}@{host}" for n in range(30) for host in ("x.example", "eu.northwind.example")
    ]
    for _ in range(2):
        assert [a in team for a in addresses] == [rules.is_team(a) for a in addresses]
        assert len(team._by_mapping) <= 10
    assert "sam@a.example" in team
    assert "ann@x.example" not in team
    team.learned.add("ann@x.example")
    assert "ann@x.example" in team
    assert None not in team
