"""Custom field values in the form Help Scout takes for each field type (``helpscout-api.md`` §5.5).

Values are always strings: a dropdown takes the **id** of one of its options (the export has the
label), a number digits, a date ``YYYY-MM-DD``, a single line at most 255 characters, a multi-line
field at most 15,000. A value that cannot be made to fit is left out of the request with a
warning, never sent to fail the whole conversation with a 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SINGLE_LINE_MAX = 255
MULTI_LINE_MAX = 15_000
NUMBER_MAX = 255
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_DATE_OR_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}.*)?$")


def field_kind(type_name: Any) -> str:
    """A field type compared case-insensitively without ``_`` or ``-`` (v1 ``SINGLE_LINE`` and
    v2 ``singleline`` are one kind; the exact v2 spellings are unconfirmed)."""
    return str(type_name or "").lower().replace("_", "").replace("-", "")


@dataclass(frozen=True)
class MailboxField:
    """One custom field of the target mailbox, as ``GET /v2/mailboxes/{id}/fields`` lists it."""

    id: int
    name: str
    kind: str  # see field_kind: dropdown, singleline, multiline, number, date, ...
    options: Mapping[str, int] = field(default_factory=dict)  # label (lowercase) -> option id

    @classmethod
    def from_api(cls, entry: Mapping[str, Any]) -> MailboxField | None:
        """The field of one API entry, None when it has no integer id or no name."""
        if not isinstance(entry.get("id"), int) or not isinstance(entry.get("name"), str):
            return None
        options = {
            " ".join(str(option["label"]).split()).lower(): option["id"]
            for option in entry.get("options") or []
            if isinstance(option, Mapping)
            and isinstance(option.get("id"), int)
            and option.get("label") is not None
        }
        return cls(entry["id"], entry["name"], field_kind(entry.get("type")), options)


def fields_by_name(entries: list[dict[str, Any]]) -> dict[str, MailboxField]:
    """The mailbox's fields by name, and by lowercase name where that is not taken."""
    by_name: dict[str, MailboxField] = {}
    for entry in entries:
        found = MailboxField.from_api(entry)
        if found is not None:
            by_name[found.name] = found
    for name, found in list(by_name.items()):
        by_name.setdefault(name.lower(), found)
    return by_name


@dataclass(frozen=True)
class FieldValue:
    """What is sent for one source value: ``value`` (None: left out) and why it changed."""

    value: str | None
    note: str | None = None


def field_value(target: MailboxField, raw: Any) -> FieldValue:
    """The value Help Scout accepts for ``target`` given the export's ``raw`` value."""
    text = raw if isinstance(raw, str) else str(raw)
    name = repr(target.name)
    if target.kind == "dropdown":
        label = " ".join(text.split()).lower()
        if label in target.options:
            return FieldValue(str(target.options[label]))
        if text.strip() in {str(option_id) for option_id in target.options.values()}:
            return FieldValue(text.strip())
        choices = ", ".join(sorted(target.options)) or "none"
        return FieldValue(
            None, f"value {text!r} is not an option of dropdown {name} ({choices}): left out"
        )
    if target.kind == "number":
        number = text.strip()
        if _NUMBER.match(number) and len(number) <= NUMBER_MAX:
            return FieldValue(number)
        return FieldValue(None, f"value {text!r} of number field {name} is not a number: left out")
    if target.kind == "date":
        return _date_value(target, text)
    limit = {"singleline": SINGLE_LINE_MAX, "text": SINGLE_LINE_MAX, "multiline": MULTI_LINE_MAX}
    if target.kind in limit and len(text) > limit[target.kind]:
        most = limit[target.kind]
        return FieldValue(
            text[:most], f"value of field {name} trimmed from {len(text)} to {most} characters"
        )
    return FieldValue(text)


def _date_value(target: MailboxField, text: str) -> FieldValue:
    """The day as written (``2024-05-10``, or the date part of a timestamp in its own zone);
    anything else, epoch numbers included, is left out rather than guessed."""
    day = text.strip()[:10]
    if _DATE_OR_TIMESTAMP.match(text.strip()):
        try:
            date.fromisoformat(day)
            return FieldValue(day)
        except ValueError:  # 2024-13-45
            pass
    return FieldValue(None, f"value {text!r} of date field {target.name!r} is not a date: left out")
