"""Write samples/zendesk/export/ (deterministic: run it again, get the same bytes).

    .venv/bin/python scripts/make_sample_zendesk.py

A Zendesk export as a script or an ETL tool leaves it: 32 tickets as NDJSON (the admin export's
shape, ``metric_set`` on solved tickets, intelligent-triage noise tags), their comments in a file
of their own (NDJSON with ``ticket_id``, lines shuffled), the users as an API page and the ticket
fields. In it: a ticket of 130 comments, private notes, a voicemail from a caller with only a
phone, chat and messaging tickets, HTML bodies and comments that carry only their Markdown
``body``, a ticket whose first comment the dump lacks (its description stands in), an author who
was deleted, ids written as floats, offsets in times, an inline image, and odd encodings (emoji,
Arabic, CJK, ``\\u`` escapes, one byte of cp1252).

Attachments stored at Zendesk URLs are left out: the offline demo cannot serve them.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent.parent / "samples" / "zendesk" / "export"
RNG = random.Random(20261201)
START = datetime(2023, 4, 3, 8, 30, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
TICKETS = 32
LONG_TICKET = 1007  # 130 comments: more than Help Scout's 100 threads
PHONE_TICKET = 1003
CHAT_TICKET = 1004
MESSAGING_TICKET = 1005
FIRST_MISSING = 1009  # the dump lacks its first comment
DELETED_AUTHOR = 1012  # an agent deleted since
INLINE_IMAGE = 1014
FLOAT_IDS = 1016
CP1252_TICKET = 1011

AGENTS = [
    (900001, "Sam Rivera", "sam@northwind.example", "agent"),
    (900002, "Priya Natarajan", "priya@northwind.example", "admin"),
]
CUSTOMERS = [
    (800001, "Ada Lovelace", "ada@analytical.example"),
    (800002, "Zoë Åkesson", "zoe.akesson@example.se"),
    (800003, "李小龙", "xiaolong.li@example.cn"),
    (800004, "Omar Haddad", "omar@example.ae"),
    (800005, "Grace Hopper", "grace@cobol.example"),
    (800006, "Nnamdi Okafor", "nnamdi@example.ng"),
    (800007, "Élodie Marchand", "elodie@example.fr"),
]
CALLER = (800099, "Caller +1 (555) 010-2030", "+15550102030")
TOPICS = [
    ("Grinder arrived with a cracked hopper", "The hopper on my new burr grinder is cracked."),
    ("Subscription charged twice", "I was billed twice for March.\nOrders 10231 and 10232."),
    ("Change delivery address", "We moved. Please send next month's beans to the new address."),
    ("Wholesale pricing for our café", "We'd like to stock your Ethiopia Guji in our café."),
    ("Café ☕ order missing a bag", "Only 2 of the 3 bags arrived 😕"),
    ("Cancel my plan", "Please cancel my subscription after this shipment."),
    ("طلب استرداد", "أرغب في استرداد ثمن الطلب رقم 5521 من فضلكم."),
    ("咖啡豆什么时候发货？", "我上周下的订单还没有发货，请帮我查一下。"),
]
REPLIES = [
    "Thanks for reaching out! I've **looked into this** for you.",
    "Sorry about that. A replacement is on its way:\n\n"
    "- tracking follows by email\n- no return needed",
    "I've refunded the duplicate charge; it shows in 3–5 business days.",
    "Done: your address is updated for *all* future shipments.",
]
NOTES = [
    "Checked the warehouse log: bag 3 was never scanned.",
    "Customer is on the legacy plan; keep the old price.",
]
STATUSES = ["solved", "open", "pending", "closed", "hold", "new", "solved", "solved"]
NOISE_TAGS = ["intent__order__status", "sentiment__neutral", "language__en"]
PIXEL = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9a"
    "wAAAABJRU5ErkJggg=="
)


def zendesk_time(moment: datetime, offset: bool = False) -> str:
    if offset:
        return moment.astimezone(PLUS_TWO).isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def html_of(markdown: str) -> str:
    """The html_body Zendesk renders for a comment (bold, lists, line breaks)."""
    blocks = []
    for block in markdown.split("\n\n"):
        lines = block.split("\n")
        if all(line.startswith("- ") for line in lines):
            blocks.append("<ul>" + "".join(f"<li>{line[2:]}</li>" for line in lines) + "</ul>")
        else:
            text = "<br>".join(lines)
            text = text.replace("**", "<b>", 1).replace("**", "</b>", 1)
            text = text.replace("*", "<i>", 1).replace("*", "</i>", 1)
            blocks.append(f'<p dir="auto">{text}</p>')
    return '<div class="zd-comment" dir="auto">' + "".join(blocks) + "</div>"


def plain_of(markdown: str) -> str:
    return markdown.replace("**", "").replace("*", "").replace("- ", "")


def comment(
    comment_id: int, ticket_id: int, author: int, at: datetime, markdown: str, **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": comment_id,
        "ticket_id": ticket_id,
        "type": "Comment",
        "author_id": author,
        "body": markdown,
        "html_body": html_of(markdown),
        "plain_body": plain_of(markdown),
        "public": True,
        "attachments": [],
        "created_at": zendesk_time(at, offset=comment_id % 7 == 0),
    }
    record.update(extra)
    return record


def comments_of(index: int, ticket_id: int, customer: int, start: datetime) -> list[dict]:
    count = 130 if ticket_id == LONG_TICKET else 2 + index % 5
    topic = TOPICS[index % len(TOPICS)]
    out = []
    moment = start
    for n in range(count):
        comment_id = ticket_id * 1000 + n + 1
        agent = AGENTS[n % 2][0]
        if n == 0:
            out.append(comment(comment_id, ticket_id, customer, moment, topic[1]))
        elif n % 5 == 3:
            note = NOTES[n % len(NOTES)]
            out.append(comment(comment_id, ticket_id, agent, moment, note, public=False))
        elif n % 2 == 1:
            out.append(comment(comment_id, ticket_id, agent, moment, REPLIES[n % len(REPLIES)]))
        else:
            text = f"Follow-up {n // 2}: any news on this?"
            record = comment(comment_id, ticket_id, customer, moment, text)
            if index % 3 == 0:  # an ETL dump that kept only the Markdown body
                del record["html_body"], record["plain_body"]
                record["body"] = f"Follow-up {n // 2}: **any news** on this?"
            out.append(record)
        moment += timedelta(minutes=RNG.randint(7, 400))
    return out


def ticket_of(index: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ticket_id = 1000 + index
    customer = CUSTOMERS[index % len(CUSTOMERS)][0]
    created = START + timedelta(days=index, minutes=RNG.randint(0, 600))
    topic = TOPICS[index % len(TOPICS)]
    channel = {CHAT_TICKET: "chat", MESSAGING_TICKET: "native_messaging"}.get(ticket_id, "email")
    comments = comments_of(index, ticket_id, customer, created)
    subject, description = topic
    if ticket_id == PHONE_TICKET:
        customer, channel = CALLER[0], "voice"
        subject = f"Voicemail from: {CALLER[1]}"
        description = f"Call from: {CALLER[1]}\\nTime of call: {zendesk_time(created)}"
        comments = [
            comment(
                ticket_id * 1000 + 1,
                ticket_id,
                customer,
                created,
                description.replace("\\n", "\n"),
                type="VoiceComment",
            ),
            comment(
                ticket_id * 1000 + 2,
                ticket_id,
                AGENTS[0][0],
                created + timedelta(hours=1),
                "Called back: the order ships **tomorrow**.",
            ),
        ]
    if ticket_id == FIRST_MISSING:
        comments = comments[1:]
    if ticket_id == DELETED_AUTHOR:
        comments[1]["author_id"] = 900777
    if ticket_id == INLINE_IMAGE:
        comments[0]["html_body"] = comments[0]["html_body"].replace(
            "</div>", f'<p><img src="data:image/png;base64,{PIXEL}" alt="photo"></p></div>'
        )
    if ticket_id == FLOAT_IDS:
        for record in comments:
            record["ticket_id"] = float(ticket_id)
            record["author_id"] = float(record["author_id"])
    status = STATUSES[index % len(STATUSES)]
    last = comments[-1]["created_at"] if comments else zendesk_time(created)
    ticket: dict[str, Any] = {
        "url": f"https://northwind.zendesk.com/api/v2/tickets/{ticket_id}.json",
        "id": ticket_id,
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": zendesk_time(created),
        "updated_at": last,
        "type": "question",
        "subject": subject,
        "raw_subject": subject,
        "description": description,
        "priority": "normal",
        "status": status,
        "requester_id": customer,
        "submitter_id": customer,
        "assignee_id": None if status == "new" else AGENTS[index % 2][0],
        "group_id": 360000001,
        "collaborator_ids": [],
        "follower_ids": [],
        "tags": ["coffee", *NOISE_TAGS] if index % 2 else ["vip"],
        "custom_fields": [
            {"id": 360010001, "value": f"A-{5000 + index}"},
            {"id": 360010002, "value": "grinder" if index % 3 else None},
            {"id": 360010003, "value": NOISE_TAGS[0]},
        ],
        "satisfaction_rating": {"score": "unoffered"},
    }
    if status in ("solved", "closed"):
        ticket["metric_set"] = {"ticket_id": ticket_id, "solved_at": last, "reopens": 0}
    return ticket, comments


def line(record: dict[str, Any], ascii_only: bool = False) -> bytes:
    return (json.dumps(record, ensure_ascii=ascii_only) + "\n").encode("utf-8")


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    tickets: list[bytes] = []
    comment_lines: list[bytes] = []
    for index in range(1, TICKETS + 1):
        ticket, comments = ticket_of(index)
        tickets.append(line(ticket, ascii_only=index % 4 == 0))
        for record in comments:
            encoded = line(record)
            if record["ticket_id"] == CP1252_TICKET and record["id"] % 1000 == 1:
                encoded = encoded.replace("café".encode(), b"caf\xe9")  # a cp1252 byte
            comment_lines.append(encoded)
    RNG.shuffle(comment_lines)
    (FOLDER / "tickets.json").write_bytes(b"".join(tickets))
    (FOLDER / "ticket_comments.json").write_bytes(b"".join(comment_lines))
    users = [
        {"id": uid, "name": name, "email": email, "role": role, "active": True}
        for uid, name, email, role in AGENTS
    ]
    users += [
        {"id": uid, "name": name, "email": email, "role": "end-user", "active": True}
        for uid, name, email in CUSTOMERS
    ]
    users.append(
        {"id": CALLER[0], "name": CALLER[1], "email": None, "phone": CALLER[2], "role": "end-user"}
    )
    page = {"users": users, "next_page": None, "previous_page": None, "count": len(users)}
    (FOLDER / "users.json").write_text(json.dumps(page, indent=2, ensure_ascii=False) + "\n")
    fields = {
        "ticket_fields": [
            {"id": 360010001, "type": "text", "title": "Order number", "active": True},
            {
                "id": 360010002,
                "type": "tagger",
                "title": "Product",
                "custom_field_options": [
                    {"id": 1, "name": "Burr grinder", "value": "grinder"},
                    {"id": 2, "name": "Beans", "value": "beans"},
                ],
            },
            {"id": 360010003, "type": "tagger", "title": "Intent", "active": True},
        ]
    }
    (FOLDER / "ticket_fields.json").write_text(json.dumps(fields, indent=2) + "\n")


if __name__ == "__main__":
    main()
