"""Write samples/freshdesk/export/ (deterministic: run it again, get the same bytes).

    .venv/bin/python scripts/make_sample_freshdesk.py

A Freshdesk export as an API script or an ETL tool leaves it: 30 tickets as the API lists them
with ``include=requester,stats,description`` (a JSON array), their conversations in two files of
their own, in another order (a JSON array with records shuffled, and Airbyte JSONL with ids as
floats), the contacts, the agents and the ticket fields. In it: a ticket of 120 conversations,
private notes, phone and chat tickets, an outbound email, custom statuses, satisfaction-survey
feedback, a reply by a CC'd contact, a deleted contact, ``cf_`` custom fields, Froala's cursor
leftover, an inline ``data:`` image, time offsets and non-ASCII text.

Attachments stored at Freshdesk URLs are left out: the offline demo cannot serve them.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent.parent / "samples" / "freshdesk" / "export"
RNG = random.Random(20261202)
START = datetime(2023, 5, 2, 7, 45, tzinfo=UTC)
INDIA = timezone(timedelta(hours=5, minutes=30))
TICKETS = 30
FIRST_TICKET = 1001
LONG_TICKET = 1007  # 120 conversations: more than Help Scout's 100 threads
AGENT_IDS = [67013469901, 67013469902, 67013469903, 67013469904]
CONTACT_BASE = 67032849400
DELETED_CONTACT = 67032849999  # requester of one ticket; not in contacts.json
WRAPPER = (
    '<div style="font-family:-apple-system, BlinkMacSystemFont, Segoe UI, Roboto, Helvetica Neue, '
    'Arial, sans-serif; font-size:14px">{}</div>'
)
CURSOR = '<img id="cursor" rel="cursor" class="fr-fic fr-dii" style="">'
PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)

AGENTS = [
    ("Priya Raman", "priya.raman@support.example"),
    ("Tom Becker", "tom.becker@support.example"),
    ("Aiko Tanaka", "aiko.tanaka@support.example"),
    ("Sam Osei", "sam.osei@support.example"),
]
CONTACT_NAMES = [
    "Jessica Rangel",
    "Matt Rogers",
    "Zoë Ångström",
    "José Núñez",
    "Sarah James",
    "Liam O'Connor",
    "Mei Chen",
    "Ahmed Haddad",
    "Olga Petrova",
    "Kwame Mensah",
    "Lucía Fernández",
    "Noah Williams",
    "Hannah Schmidt",
    "Ravi Kumar",
    "Emma Dubois",
    "Yusuf Demir",
    "Ingrid Larsen",
    "Carlos Souza",
    "Fatima Zahra",
    "Peter Novak",
    "Grace Kim",
    "Diego Rivera",
]
SUBJECTS = [
    "Payment failed but card was charged",
    "Received a broken TV",
    "Cannot log in after password reset",
    "Invoice shows the wrong VAT number",
    "Where is my order?",
    "Refund for cancelled subscription",
    "Feature request: dark mode",
    "App crashes when uploading photos",
    "Change the billing address",
    "Delivery arrived without the charger",
]
CUSTOMER_LINES = [
    "Hi, could you look into this? It has been a few days.",
    "Thanks — that worked, but now I see another error.",
    "I attached the screenshot you asked for.",
    "Any update on this? 🙏",
    "Merci beaucoup, c'est réglé.",
    "ありがとうございます。確認しました。",
]
AGENT_LINES = [
    "Thanks for reaching out. I have checked your account and can see the issue.",
    "I have escalated this to our billing team; you will hear from us within a day.",
    "Could you send us the order number and a screenshot of the error?",
    "The refund has been issued and should appear in 5-7 business days.",
]
NOTE_LINES = [
    "Customer is on the legacy plan; check with finance before refunding.",
    "Reproduced on staging, bug filed as ENG-4411.",
    "Second contact about this; keep an eye on it.",
]


def _iso(moment: datetime) -> str:
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat()


def _html(*paragraphs: str) -> str:
    return WRAPPER.format("".join(f'<div dir="ltr">{p}</div>' for p in paragraphs))


def _contacts() -> list[dict[str, Any]]:
    contacts = []
    for number, name in enumerate(CONTACT_NAMES):
        first = name.split()[0].lower().replace("ë", "e").replace("é", "e").replace("í", "i")
        contacts.append(
            {
                "active": True,
                "address": None,
                "description": None,
                "email": f"{first}.{number}@customer.example",
                "id": CONTACT_BASE + number,
                "job_title": "Office manager" if number % 5 == 0 else None,
                "language": "en",
                "mobile": f"+44 7700 900{number:03d}" if number % 3 == 0 else None,
                "name": name,
                "phone": None,
                "time_zone": "Magadan",
                "twitter_id": None,
                "custom_fields": {},
                "facebook_id": None,
                "created_at": "2022-05-25T21:25:26Z",
                "updated_at": "2022-05-25T21:25:26Z",
                "csat_rating": None,
                "preferred_source": "email",
                "company_id": None,
                "unique_external_id": None,
            }
        )
    return contacts


def _agents() -> list[dict[str, Any]]:
    return [
        {
            "available": False,
            "occasional": False,
            "id": agent_id,
            "ticket_scope": 1,
            "created_at": "2020-10-22T02:37:13Z",
            "updated_at": "2023-01-16T15:57:48Z",
            "type": "support_agent",
            "contact": {
                "active": True,
                "email": email,
                "job_title": None,
                "language": "en",
                "mobile": None,
                "name": name,
                "phone": None,
                "time_zone": "Chennai",
            },
            "signature": None,
        }
        for agent_id, (name, email) in zip(AGENT_IDS, AGENTS, strict=True)
    ]


def _ticket_fields() -> list[dict[str, Any]]:
    common = {"required_for_closure": False, "customers_can_edit": False}
    return [
        {
            "id": 67000439408,
            "name": "status",
            "label": "Status",
            "type": "default_status",
            "default": True,
            "position": 5,
            "required_for_agents": True,
            "choices": {
                "2": ["Open", "Being Processed"],
                "3": ["Pending", "Awaiting your Reply"],
                "4": ["Resolved", "This ticket has been Resolved"],
                "5": ["Closed", "This ticket has been Closed"],
                "6": ["Waiting on Third Party", "Being Processed"],
                "7": ["Escalated to Engineering", "Being Processed"],
            },
            **common,
        },
        {
            "id": 67000439407,
            "name": "source",
            "label": "Source",
            "type": "default_source",
            "default": True,
            "position": 4,
            "required_for_agents": False,
            "choices": {"Email": 1, "Portal": 2, "Phone": 3, "Chat": 7, "Outbound Email": 10},
            **common,
        },
        {
            "id": 67000440001,
            "name": "cf_order_number",
            "label": "Order number",
            "type": "custom_text",
            "default": False,
            "position": 12,
            "required_for_agents": False,
            **common,
        },
        {
            "id": 67000440002,
            "name": "cf_plan",
            "label": "Plan",
            "type": "custom_dropdown",
            "default": False,
            "position": 13,
            "required_for_agents": False,
            "choices": ["Free", "Team", "Business"],
            **common,
        },
    ]


class _Conversations:
    """Conversations of one ticket, times moving forward."""

    def __init__(self, ticket_id: int, start: datetime, requester: int, agent: int) -> None:
        self.ticket_id = ticket_id
        self.moment = start
        self.requester = requester
        self.agent = agent
        self.items: list[dict[str, Any]] = []

    def add(
        self,
        text: str,
        *,
        incoming: bool,
        private: bool = False,
        user: int | None = None,
        source: int = 0,
        category: int = 3,
        india: bool = False,
    ) -> None:
        self.moment += timedelta(minutes=RNG.randint(7, 600))
        stamp = self.moment.astimezone(INDIA) if india else self.moment
        number = 67105086000 + self.ticket_id * 1000 + len(self.items)
        self.items.append(
            {
                "body": _html(text),
                "body_text": text,
                "id": number,
                "incoming": incoming,
                "private": private,
                "user_id": user or (self.requester if incoming else self.agent),
                "support_email": None if private else "support@acme.freshdesk.com",
                "source": source if not private else 2,
                "category": category if not private else 2,
                "to_emails": None if private else ["support@acme.freshdesk.com"],
                "from_email": None,
                "cc_emails": [],
                "bcc_emails": None,
                "thread_id": None,
                "created_at": _iso(stamp),
                "updated_at": _iso(stamp),
                "attachments": [],
                "automation_id": None,
                "auto_response": False,
                "ticket_id": self.ticket_id,
                "source_additional_info": None,
            }
        )


def _ticket(index: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ticket_id = FIRST_TICKET + index
    created = START + timedelta(days=index, hours=RNG.randint(0, 9), minutes=RNG.randint(0, 59))
    requester = DELETED_CONTACT if ticket_id == 1023 else CONTACT_BASE + index % len(CONTACT_NAMES)
    agent = AGENT_IDS[index % len(AGENT_IDS)]
    source = {3: 3, 11: 3, 19: 3, 5: 7, 13: 7, 21: 7, 9: 10, 15: 2, 25: 2}.get(index, 1)
    status = [2, 3, 4, 5, 5, 4][index % 6]
    if ticket_id in (1012, 1026):
        status = 6
    if ticket_id == 1018:
        status = 7
    subject = SUBJECTS[index % len(SUBJECTS)]
    description = f"{CUSTOMER_LINES[index % len(CUSTOMER_LINES)]} {subject}."
    if source == 10:
        description = f"Hello, following up on your call about: {subject}."
    conversations = _Conversations(ticket_id, created, requester, agent)
    count = 120 if ticket_id == LONG_TICKET else 0 if ticket_id == 1004 else 2 + index % 6
    for turn in range(count):
        if turn % 7 == 5:
            conversations.add(NOTE_LINES[turn % len(NOTE_LINES)], incoming=False, private=True)
        elif turn % 2 == 0:
            line = AGENT_LINES[(index + turn) % len(AGENT_LINES)]
            if ticket_id == 1002 and turn == 0:
                line = f"Hi there,<br><br>{CURSOR}<br>{line}"
            conversations.add(line, incoming=False)
        else:
            conversations.add(
                CUSTOMER_LINES[(index + turn) % len(CUSTOMER_LINES)],
                incoming=True,
                india=ticket_id % 4 == 0,
            )
    if ticket_id == 1010:  # a colleague in CC answers
        conversations.add(
            "Adding my colleague's view: same problem here.", incoming=True, user=CONTACT_BASE + 21
        )
    closed = status in (4, 5)
    if closed and index % 4 == 3:  # satisfaction survey feedback
        conversations.add("Quick and friendly, thank you!", incoming=True, source=6, category=7)
    last = conversations.moment + timedelta(hours=2)
    body = _html(description)
    if ticket_id == 1003:
        body = _html(description, f'<img src="data:image/png;base64,{PIXEL_PNG}" alt="pixel">')
    ticket: dict[str, Any] = {
        "cc_emails": [] if index % 2 else None,
        "fwd_emails": [],
        "reply_cc_emails": [],
        "ticket_cc_emails": [],
        "fr_escalated": False,
        "spam": False,
        "email_config_id": None,
        "group_id": None,
        "priority": 1 + index % 4,
        "requester_id": requester,
        "responder_id": agent,
        "source": source,
        "company_id": None,
        "status": status,
        "subject": subject,
        "association_type": None,
        "support_email": "support@acme.freshdesk.com",
        "to_emails": None,
        "product_id": None,
        "id": ticket_id,
        "type": ["Question", "Incident", "Problem", "Refund"][index % 4],
        "due_by": _iso(created + timedelta(days=3)),
        "fr_due_by": _iso(created + timedelta(days=1)),
        "is_escalated": False,
        "custom_fields": {
            "cf_order_number": f"FD{700000 + index * 37}" if index % 3 == 0 else None,
            "cf_plan": ["Free", "Team", "Business"][index % 3],
        },
        "created_at": _iso(created),
        "updated_at": _iso(last),
        "tags": ["billing"] if "Invoice" in subject or "Payment" in subject else [],
        "description": body,
        "description_text": description,
        "stats": {
            "agent_responded_at": None,
            "requester_responded_at": None,
            "first_responded_at": None,
            "status_updated_at": _iso(last),
            "reopened_at": None,
            "resolved_at": _iso(last) if closed else None,
            "closed_at": _iso(last) if status == 5 else None,
            "pending_since": _iso(last) if status == 3 else None,
        },
    }
    contact_number = requester - CONTACT_BASE
    if index % 2 == 0 and requester != DELETED_CONTACT:  # include=requester on half the pages
        name = CONTACT_NAMES[contact_number]
        ticket["requester"] = {
            "id": requester,
            "name": name,
            "email": _contacts()[contact_number]["email"],
            "mobile": None,
            "phone": None,
        }
    if index % 5 == 4:
        ticket["tags"] = [*ticket["tags"], "vip"]
    return ticket, conversations.items


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    tickets: list[dict[str, Any]] = []
    first_half: list[dict[str, Any]] = []
    second_half: list[dict[str, Any]] = []
    for index in range(TICKETS):
        ticket, conversations = _ticket(index)
        tickets.append(ticket)
        (first_half if index < TICKETS // 2 else second_half).extend(conversations)
    RNG.shuffle(first_half)

    def write(name: str, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False, indent=1) + "\n"
        (FOLDER / name).write_text(text, encoding="utf-8")

    write("tickets.json", tickets)
    write("a-conversations.json", first_half)
    lines = []
    for emitted, conversation in enumerate(reversed(second_half)):
        as_floats = {
            **conversation,
            "id": float(conversation["id"]),
            "ticket_id": float(conversation["ticket_id"]),
            "user_id": float(conversation["user_id"]),
        }
        envelope = {"stream": "conversations", "data": as_floats, "emitted_at": 1685000000000}
        envelope["emitted_at"] += emitted
        lines.append(json.dumps(envelope, ensure_ascii=False))
    (FOLDER / "b-conversations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write("contacts.json", _contacts())
    write("agents.json", _agents())
    write("ticket_fields.json", _ticket_fields())


if __name__ == "__main__":
    main()
