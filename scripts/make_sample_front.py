"""Write samples/front/export/ (deterministic: run it again, get the same bytes).

    .venv/bin/python scripts/make_sample_front.py

A Front export as a script calling the Core API would save it, written for this project:

conversations.json  one `GET /conversations` page (`{"_pagination", "_links", "_results"}`): 30
                    conversations, archived, assigned, unassigned, one deleted, tags with emoji
                    highlights, custom fields
messages.jsonl      every conversation's messages, one per line, newest first as Front lists
                    them, joined by `_links.related.conversation`: emails, front_chat, sms,
                    whatsapp and call messages, one conversation of 140 messages, a shared draft,
                    an outbound message without author (sent by a rule), an inbound message with
                    `error_type`, a line in cp1252, a line with \\u escapes, a chat visitor known
                    only by a handle
comments.json       comments (`com_`, `posted_at`) as a JSON array: the team's private notes
teammates.json      `GET /teammates` page
contacts.json       `GET /contacts` page, with email and phone handles

`scripts/sample_files.py` then gives a few inbound messages URL attachments served by `make demo`.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent.parent / "samples" / "front" / "export"
API = "https://northwind.api.frontapp.com"
RNG = random.Random(20261202)
START = datetime(2024, 4, 2, 8, 15, tzinfo=UTC).timestamp()
TEAMMATES = [
    ("tea_2k1", "sam@northwind.example", "sam", "Sam", "Rivera"),
    ("tea_2k2", "priya@northwind.example", "priya", "Priya", "Natarajan"),
]
CONTACTS = [
    ("Ada Lovelace", "ada@analytical.example", None),
    ("Zoë Åkesson", "zoe.akesson@example.se", "+46 8 123 456 78"),
    ("李小龙", "xiaolong.li@example.cn", None),
    ("Omar Haddad", "omar@example.ae", "+971 4 555 0101"),
    ("Grace Hopper", "grace@cobol.example", None),
    ("Élodie Marchand", "elodie@example.fr", "+33 1 55 55 01 02"),
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
    "@priya can you check the card processor?",
    "Customer is on the legacy plan; keep the old price.",
]
#: message `type` of each conversation's channel, by index
CHANNELS = ["email", "email", "front_chat", "email", "sms", "call", "email", "whatsapp", "email"]
STATUSES = ["archived", "assigned", "archived", "unassigned", "archived", "assigned"]
DELETED = 19
VISITOR = 11  # a chat visitor known only by a handle
CP1252 = 8  # one message line of this conversation is written in cp1252
ESCAPED = 14  # one message line of this conversation is written with \u escapes
MARK = "@@cp1252@@"


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def contact_id(index: int) -> str:
    return f"crd_{base36(50_000 + index)}"


def teammate(index: int) -> dict[str, Any]:
    ident, email, username, first, last = TEAMMATES[index % len(TEAMMATES)]
    return {
        "_links": {"self": f"{API}/teammates/{ident}"},
        "id": ident,
        "email": email,
        "username": username,
        "first_name": first,
        "last_name": last,
        "is_admin": index == 0,
        "is_available": True,
        "is_blocked": False,
    }


def handle_of(index: int, channel: str) -> tuple[str, str | None]:
    """The customer's handle on the channel, and the contact's name."""
    name, email, phone = CONTACTS[index % len(CONTACTS)]
    if index == VISITOR:
        return "visitor-7f3a", None
    if channel in ("sms", "call", "whatsapp"):
        return phone or "+44 20 7946 0958", name
    return email, name


def recipient(handle: str, name: str | None, role: str, contact: str | None) -> dict[str, Any]:
    links = {"related": {"contact": f"{API}/contacts/{contact}" if contact else None}}
    return {"_links": links, "name": name or "", "handle": handle, "role": role}


def message(
    conversation: str, number: int, at: float, channel: str, inbound: bool, body: str, **extra: Any
) -> dict[str, Any]:
    ident = f"msg_{base36(number)}"
    record: dict[str, Any] = {
        "_links": {
            "self": f"{API}/messages/{ident}",
            "related": {"conversation": f"{API}/conversations/{conversation}"},
        },
        "id": ident,
        "type": channel,
        "is_inbound": inbound,
        "created_at": round(at, 3),
        "blurb": body[:60],
        "body": f"<div>{body}</div>" if channel in ("email", "front_chat") else body,
        "text": body,
        "error_type": None,
        "version": None,
        "subject": None,
        "draft_mode": None,
        "metadata": {},
        "author": None,
        "recipients": [],
        "attachments": [],
        "signature": None,
        "is_draft": False,
    }
    record.update(extra)
    return record


def conversation(index: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    ident = f"cnv_{base36(1_000_000 + index * 7919)}"
    channel = CHANNELS[index % len(CHANNELS)]
    topic = TOPICS[index % len(TOPICS)]
    handle, name = handle_of(index, channel)
    contact = None if index == VISITOR else contact_id(index % len(CONTACTS))
    agent = teammate(index)
    support = "support@northwind.example" if channel == "email" else "+44 20 7946 0000"
    at = START + index * 86_400 + RNG.randint(0, 20_000) + 0.125
    created = at
    subject = topic[0] if channel == "email" else None
    count = 140 if index == 6 else RNG.randint(2, 6)
    messages: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []
    number = 3_000_000 + index * 1_000
    for n in range(count):
        inbound = n % 2 == 0
        body = topic[1] if n == 0 else f"Follow-up {n // 2}: any news on this?"
        if not inbound:
            body = REPLIES[n % len(REPLIES)]
        if channel == "call" and n == 0:
            body = f"Call from {handle} (3 min). Caller says: {topic[1]}"
        customer = recipient(handle, name, "from" if inbound else "to", contact)
        team = recipient(support, "Northwind Support", "to" if inbound else "from", None)
        extra: dict[str, Any] = {
            "recipients": [customer, team] if inbound else [team, customer],
            "subject": (("" if inbound else "Re: ") + subject) if subject else None,
            "author": None if inbound else agent,
        }
        if index == 10 and n == 1:  # sent by a rule: no author
            extra["author"] = None
            body = "We got your message and will reply within one business day."
        if index == 2 and n == 0:
            extra["error_type"] = "id_usurpation"
        messages.append(message(ident, number + n, at, channel, inbound, body, **extra))
        at += RNG.randint(300, 30_000) + 0.25
        if n == 1 and index % 3 == 0:
            comments.append(
                {
                    "_links": {
                        "self": f"{API}/comments/com_{base36(number + n)}",
                        "related": {"conversation": f"{API}/conversations/{ident}"},
                    },
                    "id": f"com_{base36(number + n)}",
                    "author": teammate(index + 1),
                    "body": NOTES[index % len(NOTES)],
                    "posted_at": round(at - 120.5, 3),
                    "attachments": [],
                    "is_pinned": False,
                }
            )
    if index == 3:  # a reply still in draft
        draft = message(ident, number + 999, at, channel, False, "Draft: checking with the lab…")
        draft.update(author=agent, is_draft=True, draft_mode="shared")
        messages.append(draft)
    status = "deleted" if index == DELETED else STATUSES[index % len(STATUSES)]
    tags = [{"id": "tag_3a1", "name": "coffee", "highlight": "☕", "is_private": False}]
    if index % 5 == 1:
        tags.append({"id": "tag_3a2", "name": "refund", "highlight": "💸", "is_private": False})
    record = {
        "_links": {"self": f"{API}/conversations/{ident}"},
        "id": ident,
        "subject": subject or "",
        "status": status,
        "assignee": None if status == "unassigned" else agent,
        "recipient": recipient(handle, name, "from", contact),
        "tags": tags,
        "links": [],
        "custom_fields": {
            "Order number": f"NW-{20_000 + index}",
            "Plan": ["Legacy", "Monthly"][index % 2],
        },
        "created_at": round(created, 3),
        "waiting_since": None,
        "is_private": False,
        "scheduled_reminders": [],
        "metadata": {},
    }
    return record, list(reversed(messages)), comments


def page(resource: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "_pagination": {"next": None},
        "_links": {"self": f"{API}/{resource}"},
        "_results": results,
    }


def write_json(name: str, value: Any) -> None:
    with (FOLDER / name).open("w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def message_line(record: dict[str, Any], index: int, position: int) -> bytes:
    if index == ESCAPED and position == 0:
        return json.dumps(record, ensure_ascii=True).encode("ascii") + b"\n"
    if index == CP1252 and position == 0:
        extra = f" Merci, caf{MARK}!"
        record = {**record, "body": record["body"] + extra, "text": record["text"] + extra}
        line = json.dumps(record, ensure_ascii=False).encode("utf-8")
        return line.replace(MARK.encode(), b"\xe9") + b"\n"
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    conversations, lines, comments = [], [], []
    for index in range(30):
        record, messages, notes = conversation(index)
        conversations.append(record)
        lines += [message_line(m, index, n) for n, m in enumerate(messages)]
        comments += notes
    write_json("conversations.json", page("conversations", conversations))
    (FOLDER / "messages.jsonl").write_bytes(b"".join(lines))
    write_json("comments.json", comments)
    write_json("teammates.json", page("teammates", [teammate(0), teammate(1)]))
    contacts = []
    for index, (name, email, phone) in enumerate(CONTACTS):
        handles = [{"handle": email, "source": "email"}]
        if phone:
            handles.append({"handle": phone, "source": "phone"})
        contacts.append(
            {
                "_links": {"self": f"{API}/contacts/{contact_id(index)}"},
                "id": contact_id(index),
                "name": name,
                "description": "",
                "avatar_url": None,
                "is_spammer": False,
                "links": [],
                "groups": [],
                "handles": handles,
                "custom_fields": {},
                "is_private": False,
            }
        )
    write_json("contacts.json", page("contacts", contacts))


if __name__ == "__main__":
    main()
