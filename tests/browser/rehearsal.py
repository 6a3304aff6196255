"""A small rehearsal in a running sandbox, made through the API as the importer makes one:
a conversation of a customer message, a reply and a note with an image, a hostile body, and
a conversation split in two parts."""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

#: a 1x1 PNG
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
CUSTOMER = {"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"}


class Api:
    """A client of a running sandbox, with a token."""

    def __init__(self, url: str) -> None:
        self.url = url
        form = b"grant_type=client_credentials&client_id=sandbox&client_secret=sandbox"
        request = urllib.request.Request(f"{url}/v2/oauth2/token", data=form)
        with urllib.request.urlopen(request, timeout=10) as answer:
            self.token = json.loads(answer.read())["access_token"]

    def create(self, body: dict[str, Any]) -> int:
        """Create a conversation; its id."""
        request = urllib.request.Request(
            f"{self.url}/v2/conversations",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.headers["Resource-ID"])


def thread(kind: str, text: str, at: str, **extra: Any) -> dict[str, Any]:
    """A thread of the create body: customer threads by the customer, others by user 1."""
    body: dict[str, Any] = {"type": kind, "text": text, "imported": True, "createdAt": at}
    if kind != "customer":
        body["user"] = 1
    if kind in ("customer", "reply"):
        body["customer"] = {"email": CUSTOMER["email"]}
    return {**body, **extra}


def conversation(subject: str, threads: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A closed, imported conversation of mailbox 85."""
    return {
        "subject": subject, "type": "email", "mailboxId": 85, "status": "closed",
        "imported": True, "createdAt": threads[0]["createdAt"],
        "closedAt": threads[-1]["createdAt"], "customer": CUSTOMER, "tags": ["rehearsal"],
        "threads": threads, **extra,
    }  # fmt: skip


def make_rehearsal(url: str, tracker_url: str) -> dict[str, int]:
    """The conversations, by name: ``printer`` (three threads and an image), ``hostile`` (a
    script, an event handler and an image of ``tracker_url`` in its body), ``part1`` and
    ``part2`` of a split conversation."""
    api = Api(url)
    image = {"fileName": "burnt.png", "mimeType": "image/png",
             "data": base64.b64encode(PIXEL).decode()}  # fmt: skip
    printer = api.create(conversation("Printer on fire", [
        thread("customer", "It <b>burns</b>.", "2024-03-01T10:00:00Z", attachments=[image]),
        thread("reply", "Unplug it, please.", "2024-03-01T11:15:00Z"),
        thread("note", "Escalated to hardware.", "2024-03-01T12:30:00Z"),
    ]))  # fmt: skip
    hostile_body = (
        "Hello<script>window.pwned = 1; document.title = 'pwned'</script>"
        '<img src="x" onerror="window.pwned = 2">'
        f'<img src="{tracker_url}/pixel.gif" alt="tracking pixel">'
    )
    hostile = api.create(conversation("A hostile body", [
        thread("customer", hostile_body, "2024-03-02T09:00:00Z"),
    ]))  # fmt: skip
    parts = [
        api.create(conversation(f"A long one (part {i}/2)", [
            thread("customer", f"Part {i} begins.", f"2024-03-0{2 + i}T08:00:00Z"),
        ], fields=[{"id": 1, "value": "ZD-77"}]))
        for i in (1, 2)
    ]  # fmt: skip
    return {"printer": printer, "hostile": hostile, "part1": parts[0], "part2": parts[1]}
