"""The sandbox's own request rules, written from helpscout-api.md §2-§3 and §5.3.

Deliberately independent of ``importer.transform``: the importer's payload builder and these rules
are two readings of the same documentation and must be able to catch each other's mistakes.
Each rule yields a :class:`FieldError` with the dotted ``path`` Help Scout puts in
``_embedded.errors[]``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ERRORS_URL = "http://developer.helpscout.net/mailbox-api/overview/errors"

CONVERSATION_TYPES = ("email", "chat", "phone")
CONVERSATION_STATUSES = ("active", "closed", "pending")
THREAD_TYPES = ("customer", "reply", "note", "chat", "phone")
THREAD_STATUSES = ("active", "all", "closed", "open", "pending", "spam")
#: thread types that must name the customer (helpscout-api.md §2.3)
THREADS_WITH_CUSTOMER = ("customer", "reply", "chat", "phone")
PHOTO_TYPES = (
    "unknown", "gravatar", "twitter", "facebook", "googleprofile", "googleplus", "linkedin",
    "instagram",
)  # fmt: skip
GENDERS = ("male", "female", "unknown")
MAX_THREADS = 100
#: field -> (min, max) length of the customer object (§2.2, §5.3)
CUSTOMER_LENGTHS = {
    "firstName": (1, 40),
    "lastName": (1, 40),
    "jobTitle": (0, 60),
    "location": (0, 60),
    "organization": (0, 60),
    "photoUrl": (0, 200),
    "background": (0, 200),
}
FIELD_VALUE_LIMITS = {"singleline": 255, "number": 255, "multiline": 15000}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_EMAIL = re.compile(
    r"[^@\s\"(),:;<>\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)


@dataclass(frozen=True)
class FieldError:
    """One entry of ``_embedded.errors``."""

    path: str
    message: str
    rejected: Any = None
    anchor: str = ""

    def to_json(self) -> dict[str, Any]:
        """The vnd.error shape of this entry."""
        href = f"{ERRORS_URL}#{self.anchor}" if self.anchor else ERRORS_URL
        return {
            "path": self.path,
            "message": self.message,
            "rejectedValue": self.rejected,
            "source": "JSON",
            "_links": {"about": {"href": href}},
        }


class Rules:
    """Collects the errors of one request body."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, message: str, rejected: Any = None, *, anchor: str = "") -> None:
        """Record one error."""
        self.errors.append(FieldError(path, message, rejected, anchor))

    def required(self, obj: dict[str, Any], key: str, path: str) -> bool:
        """Present and not null/empty; records NotNull/NotEmpty otherwise."""
        if key not in obj or obj[key] is None:
            self.add(path, "may not be null", None, anchor="NotNull")
            return False
        if obj[key] == "" or obj[key] == []:
            self.add(path, "may not be empty", obj[key], anchor="NotEmpty")
            return False
        return True

    def string(self, value: Any, path: str, low: int = 0, *, high: int | None = None) -> bool:
        """A string whose length is within ``[low, high]``."""
        if not isinstance(value, str):
            self.add(path, "must be a string", value, anchor="InvalidType")
            return False
        if len(value) < low or (high is not None and len(value) > high):
            self.add(path, f"size must be between {low} and {high}", value, anchor="Size")
            return False
        return True

    def enum(self, value: Any, path: str, allowed: tuple[str, ...]) -> bool:
        """One of ``allowed`` (case-sensitive, as the documented examples are)."""
        if value not in allowed:
            expected = ", ".join(f"'{a}'" for a in allowed)
            self.add(path, f"Expected one of these: {expected}", value, anchor="EnumValue")
            return False
        return True

    def integer(self, value: Any, path: str) -> bool:
        """A positive integer id (booleans are not numbers here)."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "must be a number", value, anchor="InvalidType")
            return False
        if value < 1:
            self.add(path, "Invalid identifier", value, anchor="InvalidIdentifier")
            return False
        return True

    def boolean(self, value: Any, path: str) -> bool:
        """A JSON boolean."""
        if not isinstance(value, bool):
            self.add(path, "must be a boolean", value, anchor="InvalidType")
            return False
        return True

    def date(self, value: Any, path: str) -> bool:
        """``YYYY-MM-DDTHH:MM:SSZ`` exactly: no fraction, no offset, a real calendar time."""
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
                return True
            except ValueError:
                pass
        self.add(
            path, "Malformed date, expected yyyy-MM-dd'T'HH:mm:ss'Z'", value, anchor="MalformedDate"
        )
        return False

    def email(self, value: Any, path: str) -> bool:
        """A syntactically valid email address."""
        if isinstance(value, str) and len(value) <= 254 and _EMAIL.fullmatch(value):
            return True
        self.add(path, "not a well-formed email address", value, anchor="MalformedEmail")
        return False

    def email_list(self, value: Any, path: str) -> None:
        """An array of email strings (``cc``, ``bcc``, ``to``)."""
        if not isinstance(value, list):
            self.add(path, "must be an array", value, anchor="InvalidType")
            return
        for i, item in enumerate(value):
            self.email(item, f"{path}[{i}]")


def is_email(value: str) -> bool:
    """Whether the sandbox accepts ``value`` as an email address."""
    return bool(_EMAIL.fullmatch(value))


def decode_base64(value: str) -> bytes | None:
    """Strict base64 (standard alphabet, padding required); None when it does not decode."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_customer_fields(rules: Rules, customer: dict[str, Any], path: str) -> None:
    """Lengths and enums of the customer fields shared by §2.2 and §5.3."""
    for key, (low, high) in CUSTOMER_LENGTHS.items():
        if key in customer and customer[key] is not None:
            rules.string(customer[key], f"{path}{key}", low, high=high)
    for key in ("phone", "age"):
        if key in customer and customer[key] is not None:
            rules.string(customer[key], f"{path}{key}")
    if customer.get("photoType") is not None:
        rules.enum(customer["photoType"], f"{path}photoType", PHOTO_TYPES)
    if customer.get("gender") is not None:
        rules.enum(customer["gender"], f"{path}gender", GENDERS)


def check_customer_ref(rules: Rules, customer: Any, path: str) -> None:
    """A customer object inside a conversation or thread: ``id`` or ``email`` required."""
    if not isinstance(customer, dict):
        rules.add(path, "must be an object", customer, anchor="InvalidType")
        return
    if customer.get("id") is not None:
        rules.integer(customer["id"], f"{path}.id")
        return  # with an id, every other field is ignored (§2.2)
    if customer.get("email") is None:
        rules.add(f"{path}.email", "a customer needs an id or an email", None, anchor="NotNull")
    else:
        rules.email(customer["email"], f"{path}.email")
    check_customer_fields(rules, customer, f"{path}.")


def check_attachment(rules: Rules, att: Any, path: str) -> None:
    """``{fileName, mimeType, data}`` with ``data`` in base64."""
    if not isinstance(att, dict):
        rules.add(path, "must be an object", att, anchor="InvalidType")
        return
    for key in ("fileName", "mimeType", "data"):
        if rules.required(att, key, f"{path}.{key}"):
            rules.string(att[key], f"{path}.{key}")
    if isinstance(att.get("data"), str) and att["data"] and decode_base64(att["data"]) is None:
        rules.add(f"{path}.data", "must be base64", att["data"][:40], anchor="InvalidBase64")


def check_thread(rules: Rules, thread: Any, path: str) -> None:
    """One element of ``threads[]`` (§2.3)."""
    if not isinstance(thread, dict):
        rules.add(path, "must be an object", thread, anchor="InvalidType")
        return
    kind = thread.get("type")
    if rules.required(thread, "type", f"{path}.type"):
        rules.enum(kind, f"{path}.type", THREAD_TYPES)
    if rules.required(thread, "text", f"{path}.text"):
        rules.string(thread["text"], f"{path}.text")
    if kind in THREADS_WITH_CUSTOMER:
        if thread.get("customer") is None:
            rules.add(f"{path}.customer", "may not be null", None, anchor="NotNull")
        else:
            check_customer_ref(rules, thread["customer"], f"{path}.customer")
    if kind in ("reply", "note") and thread.get("user") is not None:
        rules.integer(thread["user"], f"{path}.user")
    for key in ("imported", "draft"):
        if thread.get(key) is not None:
            rules.boolean(thread[key], f"{path}.{key}")
    if thread.get("createdAt") is not None:
        rules.date(thread["createdAt"], f"{path}.createdAt")
    if thread.get("status") is not None:
        rules.enum(thread["status"], f"{path}.status", THREAD_STATUSES)
    for key in ("cc", "bcc", "to"):
        if thread.get(key) is not None:
            rules.email_list(thread[key], f"{path}.{key}")
    attachments = thread.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            rules.add(f"{path}.attachments", "must be an array", attachments, anchor="InvalidType")
        else:
            for i, att in enumerate(attachments):
                check_attachment(rules, att, f"{path}.attachments[{i}]")


def check_conversation(body: dict[str, Any]) -> list[FieldError]:
    """Every syntactic rule of ``POST /v2/conversations`` (references are checked later)."""
    rules = Rules()
    if rules.required(body, "subject", "subject"):
        rules.string(body["subject"], "subject", 1)
    if rules.required(body, "type", "type"):
        rules.enum(body["type"], "type", CONVERSATION_TYPES)
    if rules.required(body, "mailboxId", "mailboxId"):
        rules.integer(body["mailboxId"], "mailboxId")
    if rules.required(body, "status", "status"):
        rules.enum(body["status"], "status", CONVERSATION_STATUSES)
    if body.get("customer") is None:
        rules.add("customer", "may not be null", None, anchor="NotNull")
    else:
        check_customer_ref(rules, body["customer"], "customer")
    threads = body.get("threads")
    if threads is None or threads == []:
        rules.add("threads", "at least one thread is required", threads, anchor="NotEmpty")
    elif not isinstance(threads, list):
        rules.add("threads", "must be an array", threads, anchor="InvalidType")
    else:
        for i, thread in enumerate(threads):
            check_thread(rules, thread, f"threads[{i}]")
    for key in ("imported", "autoReply"):
        if body.get(key) is not None:
            rules.boolean(body[key], key)
    for key in ("assignTo", "user"):
        if body.get(key) is not None:
            rules.integer(body[key], key)
    for key in ("createdAt", "closedAt"):
        if body.get(key) is not None:
            rules.date(body[key], key)
    tags = body.get("tags")
    if tags is not None:
        if not isinstance(tags, list):
            rules.add("tags", "must be an array", tags, anchor="InvalidType")
        else:
            for i, tag in enumerate(tags):
                rules.string(tag, f"tags[{i}]", 1)
    fields = body.get("fields")
    if fields is not None:
        if not isinstance(fields, list):
            rules.add("fields", "must be an array", fields, anchor="InvalidType")
        else:
            for i, entry in enumerate(fields):
                _check_field_entry(rules, entry, f"fields[{i}]")
    return rules.errors


def _check_field_entry(rules: Rules, entry: Any, path: str) -> None:
    if not isinstance(entry, dict):
        rules.add(path, "must be an object", entry, anchor="InvalidType")
        return
    if rules.required(entry, "id", f"{path}.id"):
        rules.integer(entry["id"], f"{path}.id")
    if "value" not in entry or entry["value"] is None:
        rules.add(f"{path}.value", "may not be null", None, anchor="NotNull")
    elif not isinstance(entry["value"], str):
        rules.add(f"{path}.value", "must be a string", entry["value"], anchor="InvalidType")


def check_field_value(rules: Rules, spec: dict[str, Any], value: str, *, path: str) -> None:
    """A custom field value against the field's type (§5.5)."""
    kind = str(spec["type"]).lower().replace("_", "").replace("-", "")
    if kind in FIELD_VALUE_LIMITS:
        rules.string(value, path, 0, high=FIELD_VALUE_LIMITS[kind])
    if kind == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", value):
        rules.add(path, "must be a number", value, anchor="InvalidNumber")
    elif kind == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        rules.add(path, "Malformed date, expected yyyy-MM-dd", value, anchor="MalformedDate")
    elif kind == "dropdown" and value not in {str(o[0]) for o in spec["options"]}:
        rules.add(
            path, "must be the id of one of the field's options", value, anchor="InvalidOption"
        )


def check_customer_create(body: dict[str, Any]) -> list[FieldError]:
    """Rules of ``POST /v2/customers`` (§5.3): every field optional, entries are objects."""
    rules = Rules()
    check_customer_fields(rules, body, "")
    for key in ("emails", "phones", "chats", "socialProfiles", "websites"):
        entries = body.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            rules.add(key, "must be an array", entries, anchor="InvalidType")
            continue
        for i, entry in enumerate(entries):
            path = f"{key}[{i}]"
            if not isinstance(entry, dict):
                rules.add(
                    path, "must be an object with type and value", entry, anchor="InvalidType"
                )
            elif (
                rules.required(entry, "value", f"{path}.value")
                and rules.string(entry["value"], f"{path}.value")
                and key == "emails"
            ):
                rules.email(entry["value"], f"{path}.value")
    if body.get("address") is not None and not isinstance(body["address"], dict):
        rules.add("address", "must be an object", body["address"], anchor="InvalidType")
    return rules.errors
