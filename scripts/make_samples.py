"""Write the sample exports under samples/ (deterministic: run it again, get the same bytes).

    .venv/bin/python scripts/make_samples.py

samples/canonical/export/  canonical JSONL, 30 conversations (one of 250 messages, a chat, a phone
                           call, private notes, unicode, a 52-character name, a customer with only a
                           phone, epoch and offset timestamps)
samples/csv/export/        the generic CSV template: conversations.csv + messages.csv (rows
                           shuffled), 24 conversations (one of 250 messages, a chat, a phone
                           call, private notes, unicode, a 44-character last name), a custom
                           field, an attachment, files written with a UTF-8 BOM
samples/zendesk/, samples/freshdesk/, samples/intercom/, samples/front/, samples/gorgias/
                           written by their own scripts (make_sample_zendesk.py,
                           make_sample_freshdesk.py, make_intercom_sample.py,
                           make_sample_front.py, make_sample_gorgias.py), then given
                           attachments by URL (sample_files.py) that `make demo` serves
"""

from __future__ import annotations

import csv
import json
import random
import runpy
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "samples"
RNG = random.Random(20261125)

CUSTOMERS = [
    ("Ada", "Lovelace", "ada@analytical.example"),
    ("Zoë", "Åkesson", "zoe.akesson@example.se"),
    ("李", "小龙", "xiaolong.li@example.cn"),
    ("Omar", "Haddad", "omar@example.ae"),
    ("Grace", "Hopper", "grace@cobol.example"),
    (
        "Bartholomew-Maximilian",
        "Featherstonehaugh-Cholmondeley-Wolfeschlegel",
        "bart@example.co.uk",
    ),
    ("Nnamdi", "Okafor", "nnamdi@example.ng"),
    ("Élodie", "Marchand", "elodie@example.fr"),
]
AGENTS = [("Sam Rivera", "sam@northwind.example"), ("Priya Natarajan", "priya@northwind.example")]
TOPICS = [
    (
        "Grinder arrived with a cracked hopper",
        "The hopper on my new burr grinder is cracked. Can you send a replacement?",
    ),
    (
        "Subscription charged twice",
        "I was billed twice for my March subscription.\nOrder numbers 10231 and 10232.",
    ),
    (
        "Change delivery address",
        "We moved. Please send next month's beans to the new address below.",
    ),
    (
        "Wholesale pricing for our café",
        "We'd like to stock your Ethiopia Guji in our café. What are the wholesale tiers?",
    ),
    ("Café ☕ order missing a bag", "Only 2 of the 3 bags arrived 😕"),
    ("Cancel my plan", "Please cancel my subscription after this shipment."),
    ("Espresso tastes sour", "Shots run 22 s and taste sour — grind finer?"),
    ("طلب استرداد", "أرغب في استرداد ثمن الطلب رقم 5521 من فضلكم."),
]
REPLIES = [
    "Thanks for reaching out! I've looked into this for you.",
    "Sorry about that. A replacement is on its way; tracking follows by email.",
    "I've refunded the duplicate charge; it shows in 3–5 business days.",
    "Done: your address is updated for all future shipments.",
    "Try two clicks finer and a 1:2 ratio in 28–30 seconds.",
]
NOTES = [
    "Checked the warehouse log: bag 3 was never scanned.",
    "Customer is on the legacy plan; keep the old price.",
    "Escalated to billing (ticket B-778).",
]
START = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


def stamp(moment: datetime, style: int) -> str | int:
    """Timestamps in the forms exports use: ISO with Z, epoch seconds, ISO with an offset."""
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return int(moment.timestamp())
    return moment.astimezone(PLUS_TWO).isoformat()


def messages_for(
    index: int, count: int, start: datetime, customer_email: str, style: int
) -> list[dict]:
    topic = TOPICS[index % len(TOPICS)]
    out = []
    moment = start
    for n in range(count):
        if n == 0:
            role, private, body = "customer", False, topic[1]
        elif n % 5 == 3:
            role, private, body = "agent", True, NOTES[n % len(NOTES)]
        elif n % 2 == 1:
            role, private, body = "agent", False, REPLIES[n % len(REPLIES)]
        else:
            role, private, body = "customer", False, f"Follow-up {n // 2}: any news on this?"
        message: dict = {
            "source_id": f"{index}-{n + 1}",
            "created_at": stamp(moment, style),
            "author_role": role,
            "private": private,
        }
        if role == "agent":
            name, email = AGENTS[n % len(AGENTS)]
            message.update(author_name=name, author_email=email, body_html=f"<p>{body}</p>")
        else:
            message.update(author_email=customer_email, body_text=body)
        out.append(message)
        moment += timedelta(minutes=RNG.randint(7, 400))
    return out


def canonical() -> None:
    folder = ROOT / "canonical" / "export"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(30):
        first, last, email = CUSTOMERS[index % len(CUSTOMERS)]
        start = START + timedelta(days=index * 9, hours=index % 7)
        count = 250 if index == 4 else RNG.randint(2, 7)
        kind = "chat" if index in (7, 21) else "phone" if index in (11, 25) else "email"
        conversation: dict = {
            "source_id": f"NW-{1000 + index}",
            "source": "northwind-helpdesk",
            "subject": TOPICS[index % len(TOPICS)][0] if kind != "chat" else "",
            "type": kind,
            "status": ["solved", "closed", "open", "pending", "hold"][index % 5],
            "customer": {
                "id": f"cust-{index % len(CUSTOMERS)}",
                "email": email,
                "first_name": first,
                "last_name": last,
                "organization": "Northwind regular" if index % 3 else None,
            },
            "messages": messages_for(index, count, start, email, index % 3),
            "tags": ["northwind", "vip"] if index % 4 == 0 else ["northwind"],
            "assignee_email": AGENTS[index % 2][1],
            "custom_fields": {"Order number": str(10000 + index * 7)},
        }
        if index == 13:  # a caller known only by phone
            conversation["customer"] = {
                "id": "cust-phone-13",
                "phone": "+44 20 7946 0958",
                "first_name": "Unknown caller",
            }
            conversation["type"] = "phone"
        if conversation["status"] in ("solved", "closed"):
            last_time = conversation["messages"][-1]["created_at"]
            conversation["closed_at"] = last_time
        conversation["customer"] = {
            k: v for k, v in conversation["customer"].items() if v is not None
        }
        lines.append(json.dumps(conversation, ensure_ascii=False))
    (folder / "conversations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def generic_csv() -> None:
    folder = ROOT / "csv" / "export"
    (folder / "files").mkdir(parents=True, exist_ok=True)
    (folder / "files" / "receipt-1042.txt").write_text(
        "Northwind Coffee Roasters\nReceipt 1042\n2 x Ethiopia Guji 250 g   EUR 28.00\n",
        encoding="utf-8",
    )
    conv_rows, message_rows = [], []
    for index in range(24):
        first, last, email = CUSTOMERS[(index + 3) % len(CUSTOMERS)]
        start = START + timedelta(days=index * 11, hours=3)
        count = RNG.randint(2, 6)
        if index == 7:  # a long conversation: split into three parts by the 100-thread rule
            count = 250
        channel = "chat" if index == 5 else "phone" if index == 9 else "email"
        conv_id = f"T{2000 + index}"
        conv_rows.append(
            {
                "conversation_id": conv_id,
                "subject": TOPICS[(index + 2) % len(TOPICS)][0],
                "status": ["closed", "solved", "open", "pending"][index % 4],
                "channel": channel,
                "created_at": start.strftime("%Y-%m-%d %H:%M:%S"),
                "closed_at": "",
                "customer_email": email,
                "customer_first_name": first,
                "customer_last_name": last,
                "customer_phone": f"+1 555 01{index:02d}",
                "assignee_email": AGENTS[index % 2][1],
                "tags": "northwind;csv" + (";refund" if index % 5 == 0 else ""),
                "cf:Order number": str(20000 + index),
            }
        )
        for message in messages_for(index + 2, count, start, email, 0):
            message_rows.append(
                {
                    "conversation_id": conv_id,
                    "message_id": message["source_id"],
                    "created_at": message["created_at"].replace("T", " ").rstrip("Z"),
                    "author_role": message["author_role"],
                    "author_email": message.get("author_email", ""),
                    "author_name": message.get("author_name", ""),
                    "private": "true" if message["private"] else "false",
                    "body_html": message.get("body_html", ""),
                    "body_text": message.get("body_text", ""),
                    "attachments": "files/receipt-1042.txt"
                    if (index == 2 and message["source_id"].endswith("-1"))
                    else "",
                }
            )
    RNG.shuffle(message_rows)
    for name, rows in (("conversations.csv", conv_rows), ("messages.csv", message_rows)):
        with (folder / name).open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def platforms() -> None:
    """The Zendesk, Freshdesk and Intercom samples (each its own script), then their files."""
    scripts = Path(__file__).resolve().parent
    for name in (
        "make_sample_zendesk",
        "make_sample_freshdesk",
        "make_intercom_sample",
        "make_sample_front",
        "make_sample_gorgias",
        "make_sample_mail",
    ):
        runpy.run_path(str(scripts / f"{name}.py"), run_name="__main__")
    runpy.run_path(str(scripts / "sample_files.py"), run_name="__main__")


if __name__ == "__main__":
    canonical()
    generic_csv()
    platforms()
