"""Write samples/mail/export/ (deterministic: run it again, get the same bytes).

    .venv/bin/python scripts/make_sample_mail.py

A Google Takeout of the shared Gmail account support@northwind.example, as one mbox
(``All mail Including Spam and Trash.mbox``): ``From <id>@xxx <date>`` separators, ``X-GM-THRID``
and ``X-Gmail-Labels`` headers, the replies of the agents labelled ``Sent`` (so the sample reads
with the mapping's defaults). What it holds:

- threads joined by In-Reply-To and References, one whose replies come before the mail they
  answer in the file, one joined only by Gmail's thread id;
- a reply without In-Reply-To or References (joined by its subject and customer);
- a bounce from MAILER-DAEMON (delivery status report), an out-of-office auto-reply, a mail of the
  team to itself, a mail labelled Spam (each left out with a warning);
- an HTML mail with an inline image (``multipart/related``, ``cid:``), a PDF attachment;
- bodies in iso-8859-1, windows-1252 and iso-2022-jp, one labelled utf-8 that is not (replaced
  with a warning); RFC 2047 names and subjects;
- a body line starting with ``From `` (written ``>From ``), a mail without Date (its time from
  its Received header).
"""

from __future__ import annotations

import base64
import quopri
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "samples" / "mail" / "export"
MBOX = FOLDER / "All mail Including Spam and Trash.mbox"
START = datetime(2024, 3, 4, 8, 15, tzinfo=UTC)
SUPPORT = "support@northwind.example"
SAM = ("Sam Rivera", "sam@northwind.example")
PRIYA = ("Priya Natarajan", "priya@northwind.example")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


class Mail:
    """One mail's headers and body as bytes, with its mbox separator."""

    def __init__(self, number: int, when: datetime, thread: int, labels: str) -> None:
        self.number = number
        self.when = when
        self.thread = thread
        self.labels = labels
        self.headers: list[tuple[str, str]] = []
        self.body = b""

    def header(self, name: str, value: str) -> Mail:
        self.headers.append((name, value))
        return self

    def bytes(self) -> bytes:
        stamp = self.when.strftime("%a %b %d %H:%M:%S +0000 %Y")
        lines = [f"From 17{self.number:017d}@xxx {stamp}"]
        lines.append(f"X-GM-THRID: {1790000000000000000 + self.thread}")
        lines.append(f"X-Gmail-Labels: {self.labels}")
        received = format_datetime(self.when + timedelta(seconds=4))
        lines.append(f"Received: by 2002:a05:7300:1234 with SMTP id x{self.number};\n {received}")
        lines += [f"{name}: {value}" for name, value in self.headers]
        head = "\n".join(lines).encode("utf-8")  # raw UTF-8 headers (RFC 6532) too
        quoted = b"\n".join(
            b">" + line if line.startswith((b"From ", b">From ")) else line
            for line in self.body.split(b"\n")
        )
        return head + b"\n\n" + quoted.rstrip(b"\n") + b"\n\n"


MAILS: list[Mail] = []


def mail(
    when: datetime,
    sender: tuple[str, str],
    to: tuple[str, str],
    subject: str,
    *,
    thread: int,
    labels: str = "Inbox,Opened",
    reply_to: list[str] | None = None,
    date: bool = True,
) -> Mail:
    number = len(MAILS) + 1
    item = Mail(number, when, thread, labels)
    if sender[1] in (SAM[1], PRIYA[1], SUPPORT) and "Sent" not in labels:
        item.labels = "Sent"
    item.header("From", f"{sender[0]} <{sender[1]}>" if sender[0] else sender[1])
    item.header("To", f"{to[0]} <{to[1]}>" if to[0] else to[1])
    item.header("Subject", subject)
    if date:
        item.header("Date", format_datetime(when.astimezone(_zone(number))))
    item.header("Message-ID", f"<m{number:03d}.{thread}@mail.example>")
    if reply_to:
        item.header("In-Reply-To", reply_to[-1])
        item.header("References", " ".join(reply_to))
    item.header("MIME-Version", "1.0")
    MAILS.append(item)
    return item


def _zone(number: int) -> timezone:
    return timezone(timedelta(hours=[0, 1, -5, 2, 9][number % 5]))


def text(item: Mail, body: str, charset: str = "utf-8", encoding: str = "8bit") -> Mail:
    data = body.encode(charset)
    if encoding == "quoted-printable":
        data = quopri.encodestring(data)
    item.header("Content-Type", f'text/plain; charset="{charset}"')
    item.header("Content-Transfer-Encoding", encoding)
    item.body = data
    return item


def mid(item: Mail) -> str:
    return dict(item.headers)["Message-ID"]


CUSTOMERS = [
    ("Ada Lovelace", "ada@analytical.example"),
    ("=?utf-8?q?Zo=C3=AB_=C3=85kesson?=", "zoe.akesson@example.se"),
    ("=?utf-8?b?5p2O5bCP6b6Z?=", "xiaolong.li@example.cn"),
    ("Omar Haddad", "omar@example.ae"),
    ("Grace Hopper", "grace@cobol.example"),
    ("=?iso-8859-1?q?=C9lodie_Marchand?=", "elodie@example.fr"),
]
SUBJECTS = [
    "Grinder arrived with a cracked hopper",
    "Subscription charged twice",
    "Change delivery address",
    "Wholesale pricing for our café",
    "Espresso tastes sour",
    "Cancel my plan",
]
REPLIES = [
    "Thanks for reaching out! I've looked into this for you.",
    "Sorry about that. A replacement is on its way; tracking follows by email.",
    "Done: your address is updated for all future shipments.",
]


def build() -> None:
    moment = START
    # 1-4: plain threads: customer, agent, customer, agent
    for index in range(4):
        name, address = CUSTOMERS[index]
        subject = SUBJECTS[index]
        first = text(
            mail(moment, (name, address), ("", SUPPORT), subject, thread=index + 1),
            f"Hello,\n\n{subject}. Can you help?\n\n-- \n{address}",
        )
        chain = [mid(first)]
        for step in range(1 + index % 3):
            moment += timedelta(hours=3, minutes=7 * index)
            agent = SAM if step % 2 == 0 else PRIYA
            reply = text(
                mail(
                    moment,
                    agent,
                    (name, address),
                    f"Re: {subject}",
                    thread=index + 1,
                    reply_to=chain,
                ),
                f"{REPLIES[step % 3]}\n\nOn the earlier mail, {address} wrote:\n> {subject}.",
            )
            chain.append(mid(reply))
            moment += timedelta(hours=5)
            answer = text(
                mail(
                    moment,
                    (name, address),
                    ("", SUPPORT),
                    f"RE: {subject}",
                    thread=index + 1,
                    reply_to=chain,
                ),
                "Thank you!\n\nFrom now on I will order the larger bag.",
            )
            chain.append(mid(answer))
        moment += timedelta(days=2)
    # 5: HTML with an inline image and a PDF attachment, in iso-8859-1
    grace = CUSTOMERS[4]
    html = mail(moment, grace, ("Northwind Support", SUPPORT), "Photo of the damaged bag", thread=5)
    html.header("Content-Type", 'multipart/mixed; boundary="mixed-5"')
    html.body = b"\n".join(
        [
            b"--mixed-5",
            b'Content-Type: multipart/related; boundary="related-5"',
            b"",
            b"--related-5",
            b'Content-Type: multipart/alternative; boundary="alt-5"',
            b"",
            b"--alt-5",
            b"Content-Type: text/plain; charset=iso-8859-1",
            b"Content-Transfer-Encoding: quoted-printable",
            b"",
            quopri.encodestring("Voilà the bag: torn at the seam.".encode("iso-8859-1")),
            b"--alt-5",
            b"Content-Type: text/html; charset=iso-8859-1",
            b"Content-Transfer-Encoding: quoted-printable",
            b"",
            quopri.encodestring(
                '<p>Voilà the bag: <b>torn</b> at the seam.</p><img src="cid:bag@grace">'.encode(
                    "iso-8859-1"
                )
            ),
            b"--alt-5--",
            b"--related-5",
            b"Content-Type: image/png",
            b"Content-Transfer-Encoding: base64",
            b"Content-ID: <bag@grace>",
            b"Content-Disposition: inline",
            b"",
            base64.encodebytes(PNG).rstrip(b"\n"),
            b"--related-5--",
            b"--mixed-5",
            b'Content-Type: application/pdf; name="=?utf-8?q?Rechnung_M=C3=A4rz.pdf?="',
            b"Content-Transfer-Encoding: base64",
            b"Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf",
            b"",
            base64.encodebytes(PDF).rstrip(b"\n"),
            b"--mixed-5--",
            b"",
        ]
    )
    moment += timedelta(hours=2)
    text(
        mail(moment, SAM, grace, "Re: Photo of the damaged bag", thread=5, reply_to=[mid(html)]),
        "Thanks Grace, a new bag leaves today.",
    )
    # 6: replies before the mail they answer in the file; windows-1252 and a >From line
    omar = CUSTOMERS[3]
    moment += timedelta(days=1)
    first_at, reply_at = moment, moment + timedelta(hours=1)
    ids = ["<m-late.6@mail.example>"]
    reply = text(
        mail(reply_at, PRIYA, omar, "Re: Invoice in euros", thread=6, reply_to=ids),
        "From now on invoices come in euros.\nFrom the billing team, with regards.",
    )
    late = text(
        mail(first_at, omar, ("", SUPPORT), "Invoice in euros", thread=6),
        "Could you send the invoice in euros – not dollars? “Merci”",
        charset="windows-1252",
        encoding="quoted-printable",
    )
    late.headers = [
        (k, "<m-late.6@mail.example>" if k == "Message-ID" else v) for k, v in late.headers
    ]
    MAILS.remove(late)
    MAILS.insert(MAILS.index(reply), late)
    # 7: joined only by Gmail's thread id; iso-2022-jp body
    li = CUSTOMERS[2]
    moment += timedelta(days=1)
    text(
        mail(moment, li, ("", SUPPORT), "=?utf-8?b?6K6i5Y2V?= 5521", thread=7),
        "注文5521はいつ届きますか？",
        charset="iso-2022-jp",
        encoding="7bit",
    )
    moment += timedelta(hours=6)
    text(mail(moment, SAM, li, "Re: 5521", thread=7), "It ships tomorrow.")
    # 8: a reply with neither In-Reply-To nor References (another client), same subject
    elodie = CUSTOMERS[5]
    moment += timedelta(days=1)
    asked = text(
        mail(moment, elodie, ("", SUPPORT), "Cancel my plan", thread=8),
        "Please cancel my subscription after this shipment.",
    )
    moment += timedelta(hours=4)
    text(
        mail(moment, SAM, elodie, "Re: Cancel my plan", thread=8, reply_to=[mid(asked)]),
        "Done: your plan ends after this shipment.",
    )
    moment += timedelta(days=3)
    text(
        mail(moment, elodie, ("", SUPPORT), "Re: Cancel my plan", thread=80),
        "Merci ! And one more bag before then, s'il vous plaît.",
    )
    # 9: an out-of-office reply of a customer, a bounce, the team to itself, spam
    moment += timedelta(hours=1)
    ooo = text(
        mail(
            moment,
            CUSTOMERS[0],
            ("", SUPPORT),
            "Automatic reply: Re: Grinder arrived",
            thread=1,
            reply_to=[mid(MAILS[1])],
        ),
        "I am out of the office until Monday.",
    )
    ooo.header("Auto-Submitted", "auto-replied")
    moment += timedelta(minutes=5)
    bounce = mail(
        moment,
        ("Mail Delivery Subsystem", "mailer-daemon@googlemail.com"),
        ("", SUPPORT),
        "Delivery Status Notification (Failure)",
        thread=9,
    )
    bounce.header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="dsn-9"')
    bounce.body = b"\n".join(
        [
            b"--dsn-9",
            b"Content-Type: text/plain; charset=utf-8",
            b"",
            b"Address not found: old@analytical.example",
            b"--dsn-9",
            b"Content-Type: message/delivery-status",
            b"",
            b"Reporting-MTA: dns; googlemail.com",
            b"",
            b"Final-Recipient: rfc822; old@analytical.example",
            b"Action: failed",
            b"Status: 5.1.1",
            b"--dsn-9--",
            b"",
        ]
    )
    moment += timedelta(minutes=30)
    text(mail(moment, SAM, PRIYA, "Lunch rota", thread=10), "You're on Thursday.")
    moment += timedelta(minutes=30)
    text(
        mail(
            moment,
            ("Prize Desk", "win@lottery.example"),
            ("", SUPPORT),
            "You won!!!",
            thread=11,
            labels="Spam",
        ),
        "Claim now.",
    )
    # 10: a mail without Date; a body labelled utf-8 that is latin-1
    moment += timedelta(days=1)
    nodate = mail(
        moment,
        CUSTOMERS[1],
        ("", SUPPORT),
        "=?iso-8859-1?q?K=F6nnen_Sie_helfen=3F?=",
        thread=12,
        date=False,
    )
    nodate.header("Content-Type", "text/plain; charset=utf-8")
    nodate.header("Content-Transfer-Encoding", "8bit")
    nodate.body = "Grüße aus Göteborg: the scale shows 12 g too much.".encode("latin-1")


def main() -> None:
    build()
    FOLDER.mkdir(parents=True, exist_ok=True)
    MBOX.write_bytes(b"".join(item.bytes() for item in MAILS))


if __name__ == "__main__":
    main()
