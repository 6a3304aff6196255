"""Write samples/gorgias/export/ (deterministic: run it again, get the same bytes).

    .venv/bin/python scripts/make_sample_gorgias.py

A Gorgias export as a script calling the REST API would save it, written for this project:

tickets.jsonl   30 tickets, one per line: most as `GET /api/tickets/{id}` with their `messages`
                embedded (one of 130 messages), some as list items without messages; email,
                chat, phone, sms, Facebook Messenger, Instagram and contact-form channels,
                internal notes (`public: false`), `attachments: null`, microsecond times, open,
                closed and snoozed tickets, a spam ticket, a customer with `name: null`, a caller
                known only by phone, a body with `&#128077` (no `;`), a line in cp1252
messages.jsonl  the messages of the list-item tickets, one `GET /api/tickets/{id}/messages` item
                per line, joined by `ticket_id`

`scripts/sample_files.py` then gives a few public messages URL attachments served by `make demo`.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent.parent / "samples" / "gorgias" / "export"
RNG = random.Random(20261203)
START = datetime(2024, 5, 6, 7, 45, 12, 345678, tzinfo=UTC)
AGENTS = [
    {"id": 7001, "email": "sam@northwind.example", "name": "Sam Rivera", "firstname": "Sam",
     "lastname": "Rivera"},
    {"id": 7002, "email": "priya@northwind.example", "name": "Priya Natarajan",
     "firstname": "Priya", "lastname": "Natarajan"},
]  # fmt: skip
CUSTOMERS = [
    ("Ada", "Lovelace", "ada@analytical.example"),
    ("Zoë", "Åkesson", "zoe.akesson@example.se"),
    ("李", "小龙", "xiaolong.li@example.cn"),
    ("Omar", "Haddad", "omar@example.ae"),
    ("Grace", "Hopper", "grace@cobol.example"),
    ("Élodie", "Marchand", "elodie@example.fr"),
]
TOPICS = [
    ("Grinder arrived with a cracked hopper", "The hopper on my new burr grinder is cracked."),
    ("Subscription charged twice", "I was billed twice for my March subscription."),
    ("Change delivery address", "We moved. Please send next month's beans to the new address."),
    ("Wholesale pricing", "We'd like to stock your Ethiopia Guji in our café. Wholesale tiers?"),
    ("Order missing a bag", "Only 2 of the 3 bags arrived 😕"),
    ("طلب استرداد", "أرغب في استرداد ثمن الطلب رقم 5521 من فضلكم."),
]
REPLIES = [
    "Thanks for reaching out! I've looked into this for you.",
    "Sorry about that. A replacement is on its way; tracking follows by email.",
    "I've refunded the duplicate charge; it shows in 3–5 business days.",
    "Try two clicks finer and a 1:2 ratio in 28–30 seconds.",
]
NOTES = [
    "Checked the warehouse log: bag 3 was never scanned.",
    "Customer is on the legacy plan; keep the old price.",
    "Escalated to billing (ticket B-778).",
]
CHANNELS = ["email", "chat", "email", "phone", "sms", "facebook-messenger", "contact_form",
            "email", "instagram-direct-message"]  # fmt: skip
SEPARATE = {2, 9, 16, 23}  # tickets exported as list items: their messages are in messages.jsonl
CALLER = 3  # a caller known only by phone
NAMELESS = 10  # a customer with name null and empty first and last names
CP1252 = 12  # this ticket's line is written in cp1252
MARK = "@@cp1252@@"


def stamp(moment: datetime) -> str:
    return moment.isoformat()


def customer(index: int) -> dict[str, Any]:
    first, last, email = CUSTOMERS[index % len(CUSTOMERS)]
    ident = 900_000 + index % len(CUSTOMERS)
    channels = [{"id": ident * 10, "type": "email", "address": email, "preferred": True}]
    if index == CALLER:
        ident, email, first, last = 990_003, None, "", ""
        channels = [{"id": 9_900_030, "type": "phone", "address": "+44 20 7946 0958"}]
    name: str | None = f"{first} {last}".strip() or None
    if index == NAMELESS:
        name, first, last = None, "", ""
    return {
        "id": ident,
        "email": email,
        "name": name,
        "firstname": first,
        "lastname": last,
        "meta": None,
        "channels": channels,
    }


def message(
    ticket: int, number: int, at: datetime, channel: str, who: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    from_agent = who.get("id") in (7001, 7002)
    record: dict[str, Any] = {
        "id": number,
        "uri": f"/api/tickets/{ticket}/messages/{number}/",
        "message_id": f"<{number}@northwind.gorgias.example>" if channel == "email" else None,
        "ticket_id": ticket,
        "external_id": None,
        "public": True,
        "channel": channel,
        "via": "helpdesk" if from_agent else channel,
        "source": {
            "type": channel,
            "from": {"name": who.get("name"), "address": who.get("email")},
            "to": [],
        },
        "sender": {k: who[k] for k in ("id", "email", "name", "firstname", "lastname")},
        "integration_id": None,
        "rule_id": None,
        "from_agent": from_agent,
        "subject": "",
        "body_text": "",
        "body_html": "",
        "stripped_text": None,
        "stripped_html": None,
        "attachments": None,
        "actions": None,
        "meta": None,
        "created_datetime": stamp(at),
        "sent_datetime": stamp(at + timedelta(seconds=1, microseconds=4321))
        if from_agent
        else None,
        "failed_datetime": None,
        "opened_datetime": None,
        "last_sending_error": None,
    }
    record.update(extra)
    return record


def ticket(index: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ident = 160_000_000 + index * 37
    channel = CHANNELS[index % len(CHANNELS)]
    topic = TOPICS[index % len(TOPICS)]
    person = customer(index)
    agent = AGENTS[index % 2]
    at = START + timedelta(days=index, seconds=RNG.randint(0, 20_000), microseconds=index * 1111)
    created = at
    count = 130 if index == 6 else RNG.randint(2, 6)
    messages = []
    for n in range(count):
        number = 400_000_000 + index * 1_000 + n
        if n % 5 == 3:
            note = NOTES[n % len(NOTES)]
            who, extra = agent, {"public": False}
            extra.update(body_text=note, body_html=f"<p>{note}</p>")
        elif n % 2 == 1:
            reply = REPLIES[n % len(REPLIES)]
            who, extra = agent, {"body_text": reply, "body_html": f"<div>{reply}</div>"}
            if index == 0 and n == 1:
                extra["body_html"] = "<div>You're all set &#128077<br>Sam</div>"
        else:
            text = topic[1] if n == 0 else f"Follow-up {n // 2}: any news on this?"
            who = {**person, "name": person["name"] or person["email"]}
            extra = {"body_text": text, "body_html": "" if channel != "email" else f"<p>{text}</p>"}
        if n == 0:
            extra["subject"] = topic[0]
        if index == CP1252 and n == 0:
            extra["body_text"] = extra["body_text"] + f" Merci, caf{MARK}!"
            extra["body_html"] = ""
        kind = "internal-note" if extra.get("public") is False else channel
        messages.append(message(ident, number, at, kind, who, **extra))
        at += timedelta(seconds=RNG.randint(300, 30_000), microseconds=RNG.randint(0, 999_999))
    status = ["closed", "open", "closed", "closed", "open"][index % 5]
    snoozed = index == 7
    if snoozed:
        status = "closed"
    last = messages[-1]["created_datetime"]
    record = {
        "id": ident,
        "uri": f"/api/tickets/{ident}/",
        "external_id": None,
        "status": status,
        "priority": "normal",
        "channel": channel,
        "via": channel if channel != "contact_form" else "form",
        "from_agent": False,
        "spam": index == 21,
        "customer": person,
        "assignee_user": {"id": agent["id"], "email": agent["email"], "name": agent["name"]},
        "assignee_team": None,
        "language": "en",
        "subject": topic[0] if channel in ("email", "contact_form") else None,
        "excerpt": topic[1][:50],
        "tags": [{"id": 51, "name": "coffee", "decoration": {"color": "#6b4f2a"}}]
        + ([{"id": 52, "name": "refund", "decoration": None}] if index % 5 == 1 else []),
        "messages_count": len(messages),
        "created_datetime": stamp(created),
        "opened_datetime": stamp(created + timedelta(minutes=3)),
        "last_message_datetime": last,
        "updated_datetime": last,
        "closed_datetime": last if status == "closed" and not snoozed else None,
        "snooze_datetime": stamp(START + timedelta(days=400)) if snoozed else None,
        "trashed_datetime": None,
        "is_unread": False,
    }
    if index in SEPARATE:
        return record, messages
    return {**record, "messages": messages}, []


def line(record: dict[str, Any], cp1252: bool = False) -> bytes:
    data = json.dumps(record, ensure_ascii=False).encode("utf-8")
    return (data.replace(MARK.encode(), b"\xe9") if cp1252 else data) + b"\n"


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    tickets, separate = [], []
    for index in range(30):
        record, messages = ticket(index)
        tickets.append(line(record, index == CP1252))
        separate += [line(m) for m in messages]
    (FOLDER / "tickets.jsonl").write_bytes(b"".join(tickets))
    (FOLDER / "messages.jsonl").write_bytes(b"".join(separate))


if __name__ == "__main__":
    main()
