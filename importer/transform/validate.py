"""Check a Create Conversation body against every rule Help Scout's docs state, before sending.

The sandbox has its own copy of these rules, written apart from this module, so each can catch the
other's mistakes. A finding's ``code`` is the field path Help Scout's 400 would name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from importer.findings import Finding
from importer.settings import MAX_THREADS_PER_CONVERSATION
from importer.transform.normalise import is_email
from importer.transform.payload import PENDING_CUSTOMER_ID
from importer.transform.times import is_api_time

CONVERSATION_TYPES = frozenset({"email", "chat", "phone"})
CONVERSATION_STATUSES = frozenset({"active", "closed", "pending"})
THREAD_TYPES = frozenset({"customer", "reply", "note", "chat", "phone"})
THREADS_NEEDING_CUSTOMER = frozenset({"customer", "reply", "chat", "phone"})
PHOTO_TYPES = frozenset(
    {
        "unknown",
        "gravatar",
        "twitter",
        "facebook",
        "googleprofile",
        "googleplus",
        "linkedin",
        "instagram",
    }
)
GENDERS = frozenset({"male", "female", "unknown"})
CUSTOMER_LENGTHS = {
    "firstName": (1, 40),
    "lastName": (1, 40),
    "photoUrl": (0, 200),
    "jobTitle": (0, 60),
    "location": (0, 60),
    "organization": (0, 60),
    "background": (0, 200),
}

Report = Callable[[str, str], None]


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


#: what is wrong with a customer object: (path below the object, message) pairs
CustomerProblems = list[tuple[str, str]]


def _customer_problems(customer: Any, *, pending: bool) -> CustomerProblems:
    if not isinstance(customer, dict):
        return [("", "a customer object is required")]
    if "id" in customer:
        if customer["id"] == PENDING_CUSTOMER_ID and pending:
            return []
        if not _is_id(customer["id"]):
            return [(".id", f"invalid identifier {customer['id']!r}")]
        return []  # with an id, every other field is ignored
    problems: CustomerProblems = []
    email = customer.get("email")
    if email is None:
        problems.append(("", "the customer needs an id or an email"))
    elif not isinstance(email, str) or not is_email(email):
        problems.append((".email", f"malformed email {email!r}"))
    for name, (low, high) in CUSTOMER_LENGTHS.items():
        if name in customer:
            value = customer[name]
            if not isinstance(value, str) or not low <= len(value) <= high:
                problems.append((f".{name}", f"size must be between {low} and {high}"))
    if "photoType" in customer and customer["photoType"] not in PHOTO_TYPES:
        problems.append((".photoType", f"expected one of {', '.join(sorted(PHOTO_TYPES))}"))
    if "gender" in customer and customer["gender"] not in GENDERS:
        problems.append((".gender", f"expected one of {', '.join(sorted(GENDERS))}"))
    return problems


class _CustomerChecks:
    """The problems of each customer object of one payload, found once per object: the
    threads of a conversation often name its customer by one shared object."""

    def __init__(self, *, pending: bool) -> None:
        self.pending = pending
        self._by_object: dict[int, CustomerProblems] = {}

    def problems(self, customer: Any) -> CustomerProblems:
        """The problems of ``customer``: (path below it, message) pairs."""
        problems = self._by_object.get(id(customer))
        if problems is None:  # the payload holds every object it names while it is checked
            problems = self._by_object[id(customer)] = _customer_problems(
                customer, pending=self.pending
            )
        return problems


def _check_time(payload: dict[str, Any], key: str, report: Report, *, under: str = "") -> bool:
    """Report ``key`` of ``payload`` (found under the path ``under``) unless it is missing or
    in Help Scout's date format; whether it is there in that format."""
    if key not in payload:
        return False
    if is_api_time(payload[key]):
        return True
    path = f"{under}.{key}" if under else key
    report(path, f"malformed date {payload[key]!r}: expected YYYY-MM-DDTHH:MM:SSZ")
    return False


def _check_attachments(attachments: Any, path: str, report: Report) -> None:
    if not isinstance(attachments, list):
        report(path, "attachments must be a list")
        return
    for index, attachment in enumerate(attachments):
        for key in ("fileName", "mimeType", "data"):
            value = attachment.get(key) if isinstance(attachment, dict) else None
            if not isinstance(value, str) or not value:
                report(f"{path}[{index}].{key}", "may not be empty")


def _check_thread(thread: Any, index: int, report: Report, *, customers: _CustomerChecks) -> None:
    """Report what is wrong with ``threads[index]``: its path is written only for a problem."""
    if not isinstance(thread, dict):
        report(f"threads[{index}]", "a thread must be an object")
        return
    kind = thread.get("type")
    if kind not in THREAD_TYPES:
        report(
            f"threads[{index}].type",
            f"expected one of {', '.join(sorted(THREAD_TYPES))}, got {kind!r}",
        )
    text = thread.get("text")
    if not isinstance(text, str) or not text or text.isspace():
        report(f"threads[{index}].text", "may not be empty")
    if kind in THREADS_NEEDING_CUSTOMER:
        for below, message in customers.problems(thread.get("customer")):
            report(f"threads[{index}].customer{below}", message)
    if "user" in thread and not _is_id(thread["user"]):
        report(f"threads[{index}].user", f"invalid identifier {thread['user']!r}")
    if "createdAt" in thread and not is_api_time(thread["createdAt"]):  # no call for a good one
        _check_time(thread, "createdAt", report, under=f"threads[{index}]")
    if thread.get("imported") is not True:
        report(f"threads[{index}].imported", "imported threads must say imported: true")
    if "attachments" in thread:
        _check_attachments(thread["attachments"], f"threads[{index}].attachments", report)


def _check_fields(fields: Any, report: Report) -> None:
    if not isinstance(fields, list):
        report("fields", "fields must be a list")
        return
    for index, entry in enumerate(fields):
        if not isinstance(entry, dict) or not _is_id(entry.get("id")):
            report(f"fields[{index}].id", "invalid identifier")
        elif not isinstance(entry.get("value"), str):
            report(f"fields[{index}].value", "the value must be a string")


def check_payload(
    payload: dict[str, Any],
    *,
    source_id: str | None = None,
    location: str | None = None,
    offline: bool = False,
) -> list[Finding]:
    """Every rule ``payload`` breaks, as findings; an empty list means Help Scout should take it.

    ``offline`` skips what only the target knows (the mailbox id).
    """
    findings: list[Finding] = []

    def report(path: str, message: str) -> None:
        findings.append(Finding("validate", path, f"{path}: {message}", location, source_id))

    subject = payload.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        report("subject", "may not be empty")
    if payload.get("type") not in CONVERSATION_TYPES:
        report("type", f"expected one of email, chat, phone, got {payload.get('type')!r}")
    if payload.get("status") not in CONVERSATION_STATUSES:
        report("status", f"expected one of active, closed, pending, got {payload.get('status')!r}")
    if not offline and not _is_id(payload.get("mailboxId")):
        report("mailboxId", f"invalid identifier {payload.get('mailboxId')!r}")
    pending = payload.get("customer", {}).get("id") == PENDING_CUSTOMER_ID
    customers = _CustomerChecks(pending=pending)
    for below, message in customers.problems(payload.get("customer")):
        report(f"customer{below}", message)
    created_ok = _check_time(payload, "createdAt", report)
    closed_ok = _check_time(payload, "closedAt", report)
    if created_ok and closed_ok and payload["closedAt"] < payload["createdAt"]:
        report("closedAt", "closed before it was created")
    if payload.get("status") == "closed" and "closedAt" not in payload:
        report("closedAt", "a closed conversation needs closedAt")
    if payload.get("imported") is not True:
        report("imported", "must be true for history")
    threads = payload.get("threads")
    if not isinstance(threads, list) or not threads:
        report("threads", "at least one thread is required")
    else:
        if len(threads) > MAX_THREADS_PER_CONVERSATION:
            report("threads", f"{len(threads)} threads; at most {MAX_THREADS_PER_CONVERSATION}")
        for index, thread in enumerate(threads):
            _check_thread(thread, index, report, customers=customers)
    tags = payload.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        report("tags", "tags must be a list of names")
    if "fields" in payload:
        _check_fields(payload["fields"], report)
    return findings
