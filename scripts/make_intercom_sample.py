"""Write samples/intercom/export/ (deterministic: run it again, get the same bytes).

    .venv/bin/python scripts/make_intercom_sample.py

An Intercom export as a script calling the REST API 2.x would save it, written for this project:

conversations.jsonl  30 conversations, one `GET /conversations/{id}` object per line with its
                     `conversation_parts` nested: chats, emails (HTML subject), phone calls, one
                     conversation of 140 parts, notes, bot replies, assignment/close/open/snoozed
                     parts, an admin-initiated message, a conversation opened through the API
                     (`source: null`), a lead without email, tags, custom attributes, an inline
                     image as a `data:` address
contacts.json        `GET /contacts` page ({"type": "list", "data": [...]}); one contact of the
                     conversations was deleted and is missing
admins.json          `GET /admins` ({"type": "admin.list", "admins": [...]})
teams.json           `GET /teams` ({"type": "team.list", "teams": [...]})

No attachment is a URL: the demo runs offline (URL attachments are the lead's to add with the
attachment download work).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent.parent / "samples" / "intercom" / "export"
RNG = random.Random(20261201)
START = int(datetime(2024, 2, 1, 8, 30, tzinfo=UTC).timestamp())
APP = "nw4coffee"

ADMINS = [
    {"id": "5101", "name": "Sam Rivera", "email": "sam@northwind.example", "job_title": "Support"},
    {"id": "5102", "name": "Priya Natarajan", "email": "priya@northwind.example"},
    {"id": "5100", "name": "Fin", "email": f"operator+{APP}@intercom.io"},
]
BOT = ADMINS[2]
TEAM = {"type": "team", "id": "7001", "name": "Billing", "admin_ids": [5101, 5102]}
CONTACTS = [
    ("Ada Lovelace", "ada@analytical.example", "user"),
    ("Zoë Åkesson", "zoe.akesson@example.se", "user"),
    ("李小龙", "xiaolong.li@example.cn", "user"),
    ("Omar Haddad", "omar@example.ae", "user"),
    ("Grace Hopper", "grace@cobol.example", "user"),
    ("Nnamdi Okafor", "nnamdi@example.ng", "user"),
    ("Élodie Marchand", "elodie@example.fr", "user"),
    (None, "", "lead"),  # a Messenger visitor who never left an email
]
TOPICS = [
    ("Grinder arrived with a cracked hopper", "The hopper on my new burr grinder is cracked."),
    ("Subscription charged twice", "I was billed twice for my March subscription."),
    ("Change delivery address", "We moved. Please send next month's beans to the new address."),
    ("Wholesale pricing", "We'd like to stock your Ethiopia Guji in our café. Wholesale tiers?"),
    ("Order missing a bag", "Only 2 of the 3 bags arrived 😕"),
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
#: a one-pixel PNG, shown inline by one customer message
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
SOURCE_TYPES = ["conversation", "conversation", "email", "conversation", "phone_call", "email"]
DELETED_CONTACT = "65f0c0ffee0000000000dead"


def contact_id(index: int) -> str:
    return f"65f0c0ffee{index:014d}"


def person(kind: str, ident: str, name: str | None, email: str | None) -> dict[str, Any]:
    return {"type": kind, "id": ident, "name": name, "email": email}


def admin_author(admin: dict[str, str], kind: str = "admin") -> dict[str, Any]:
    return person(kind, admin["id"], admin["name"], admin["email"])


class Parts:
    """The parts of one conversation, numbered and timed as Intercom does."""

    def __init__(self, first_id: int, moment: int) -> None:
        self.items: list[dict[str, Any]] = []
        self.next_id = first_id
        self.moment = moment

    def add(
        self,
        part_type: str,
        author: dict[str, Any],
        body: str | None,
        assigned_to: dict[str, Any] | None = None,
    ) -> None:
        self.moment += RNG.randint(60, 9000)
        self.items.append(
            {
                "type": "conversation_part",
                "id": str(self.next_id),
                "part_type": part_type,
                "body": body,
                "created_at": self.moment,
                "updated_at": self.moment,
                "notified_at": self.moment,
                "assigned_to": assigned_to,
                "author": author,
                "attachments": [],
                "external_id": None,
                "redacted": False,
            }
        )
        self.next_id += 1


def conversation(index: int) -> dict[str, Any]:
    created = START + index * 86_400 + RNG.randint(0, 20_000)
    topic = TOPICS[index % len(TOPICS)]
    source_type = SOURCE_TYPES[index % len(SOURCE_TYPES)]
    contact_index = index % len(CONTACTS)
    name, email, role = CONTACTS[contact_index]
    ident = DELETED_CONTACT if index == 13 else contact_id(contact_index)
    # the author object as the conversation shows it: leads appear without email, users as
    # they were when they wrote; a deleted contact keeps its name and email here only
    customer = person(role, ident, name, email if role == "user" else "")
    admin = ADMINS[index % 2]
    parts = Parts(first_id=100_000 + index * 1_000, moment=created)
    body = f"<p>{topic[1]}</p>"
    if index == 4:
        body += f'<p>Photo of the bag: <img src="data:image/png;base64,{PIXEL}"></p>'
    source: dict[str, Any] | None = {
        "type": source_type,
        "id": str(900_000 + index),
        "delivered_as": "customer_initiated",
        "subject": f"<p>{topic[0]}</p>" if source_type == "email" else "",
        "body": body,
        "author": customer,
        "attachments": [],
        "url": None,
        "redacted": False,
    }
    if index == 9:  # an outbound message from a teammate
        assert source is not None
        source.update(delivered_as="admin_initiated", author=admin_author(admin))
        source["body"] = "<p>Your Guji pre-order ships Monday. Anything to change?</p>"
        parts.add("comment", customer, "No, all good — thanks!")
    if index == 17:  # opened through the API: no source, the first part is the customer's
        source = None
        parts.add("comment", customer, topic[1])
    if source_type == "conversation" and index % 3 == 0 and index != 9:
        parts.add(
            "comment", admin_author(BOT, "bot"), "<p>Fin here 👋 A teammate will reply soon.</p>"
        )
    parts.add("assignment", admin_author(BOT, "bot"), None, {"type": "admin", "id": admin["id"]})
    replies = 140 if index == 6 else RNG.randint(1, 4)
    for n in range(replies):
        if n % 5 == 3:
            parts.add("note", admin_author(admin), f"<p>{NOTES[n % len(NOTES)]}</p>")
        elif n % 2 == 0:
            parts.add("comment", admin_author(admin), f"<p>{REPLIES[n % len(REPLIES)]}</p>")
        else:
            parts.add("comment", customer, f"Follow-up {n // 2 + 1}: any news on this?")
    if index % 4 == 1:
        parts.add("assignment", admin_author(admin), None, {"type": "team", "id": TEAM["id"]})
        parts.add(
            "note",
            person("team", TEAM["id"], TEAM["name"], None),
            "Billing checked the card processor: one charge was a pre-authorisation.",
        )
    state = ["closed", "closed", "open", "closed", "snoozed"][index % 5]
    last_close = None
    if state == "closed":
        parts.add("close", admin_author(admin), None)
        last_close = parts.moment
        if index % 7 == 0:  # reopened by the customer, closed again
            parts.add("open", customer, None)
            parts.add("comment", customer, "Actually, one more question about the grind size.")
            parts.add("comment", admin_author(admin), "<p>Sure: start at 12 on the dial.</p>")
            parts.add("close", admin_author(admin), None)
            last_close = parts.moment
    elif state == "snoozed":
        parts.add("snoozed", admin_author(admin), None)
    tags = [{"type": "tag", "id": "81", "name": "coffee"}]
    if index % 5 == 1:
        tags.append({"type": "tag", "id": "82", "name": "refund"})
    return {
        "type": "conversation",
        "id": str(2000 + index),
        "created_at": created,
        "updated_at": parts.moment,
        "waiting_since": None,
        "snoozed_until": parts.moment + 86_400 if state == "snoozed" else None,
        "source": source,
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": ident}]},
        "admin_assignee_id": int(admin["id"]),
        "team_assignee_id": int(TEAM["id"]) if index % 4 == 1 else None,
        "open": state != "closed",
        "state": state,
        "read": True,
        "tags": {"type": "tag.list", "tags": tags},
        "priority": "priority" if index % 6 == 0 else "not_priority",
        "statistics": {
            "type": "conversation_statistics",
            "first_close_at": last_close,
            "last_close_at": last_close,
            "count_conversation_parts": len(parts.items) + 1,
        },
        "title": None,
        "custom_attributes": {
            "Order number": f"NW-{10_000 + index}",
            "Plan": ["Legacy", "Monthly"][index % 2],
        },
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": parts.items,
            "total_count": len(parts.items),
        },
    }


def contacts() -> dict[str, Any]:
    data = []
    for index, (name, email, role) in enumerate(CONTACTS):
        data.append(
            {
                "type": "contact",
                "id": contact_id(index),
                "workspace_id": APP,
                "external_id": None if role == "lead" else f"cus_{4400 + index}",
                "role": role,
                "email": email,
                "phone": "+44 20 7946 0958" if index == 4 else None,
                "name": name,
                "created_at": START - 86_400 * (index + 1),
                "signed_up_at": None if role == "lead" else START - 86_400 * (index + 1),
                "last_seen_at": START,
                "location": {"type": "location", "country": None, "region": None, "city": None},
                "custom_attributes": {},
            }
        )
    return {"type": "list", "data": data, "total_count": len(data), "pages": {"type": "pages"}}


def write_json(name: str, value: Any) -> None:
    with (FOLDER / name).open("w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    with (FOLDER / "conversations.jsonl").open("w", encoding="utf-8") as handle:
        for index in range(30):
            handle.write(json.dumps(conversation(index), ensure_ascii=False) + "\n")
    write_json("contacts.json", contacts())
    admins = [
        {"type": "admin", **a, "away_mode_enabled": False, "team_ids": [7001]} for a in ADMINS
    ]
    write_json("admins.json", {"type": "admin.list", "admins": admins})
    write_json("teams.json", {"type": "team.list", "teams": [TEAM]})


if __name__ == "__main__":
    main()
