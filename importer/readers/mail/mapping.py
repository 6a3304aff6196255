"""The mail mapping (``mappings/mail.toml`` with ``--mapping`` merged over), checked.

Every value choice of the mail reader lives in that file; :func:`mail_mapping` turns it into a
:class:`MailMapping` or raises a ``MappingError`` that names the key and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from importer.errors import MappingError

LISTS = (
    "team_addresses",
    "team_domains",
    "sent_labels",
    "skipped_labels",
    "auto_precedence",
)
FLAGS = (
    "gmail_thread_ids",
    "keep_auto_replies",
    "keep_bounces",
    "keep_team_internal",
    "skip_list_mail",
)
KNOWN_KEYS = frozenset(
    {*LISTS, *FLAGS, "subject_window_days", "earliest_year", "conversation_status"}
)


@dataclass(frozen=True)
class MailMapping:
    """The mail reader's value choices, lower-cased for lookups."""

    team_addresses: frozenset[str] = frozenset()
    team_domains: frozenset[str] = frozenset()
    sent_labels: frozenset[str] = frozenset({"sent"})
    skipped_labels: frozenset[str] = frozenset({"spam", "draft", "drafts"})
    auto_precedence: frozenset[str] = frozenset({"auto_reply", "bulk", "junk"})
    gmail_thread_ids: bool = True
    keep_auto_replies: bool = False
    keep_bounces: bool = False
    keep_team_internal: bool = False
    skip_list_mail: bool = False
    subject_window_days: float = 30.0
    earliest_year: int = 1980
    status: str = "closed"

    def is_team(self, address: str) -> bool:
        """Whether ``address`` (lower-cased) is one of the team's by the mapping."""
        if address in self.team_addresses:
            return True
        domain = address.rpartition("@")[2]
        return bool(domain) and (
            domain in self.team_domains
            or any(domain.endswith("." + team) for team in self.team_domains)
        )

    @property
    def names_the_team(self) -> bool:
        """Whether the mapping names any team address or domain."""
        return bool(self.team_addresses or self.team_domains)


def _words(mapping: dict[str, Any], key: str) -> frozenset[str]:
    value = mapping.get(key, [])
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        raise MappingError(
            f"{key} in the mail mapping must be a list of words in quotes, "
            f'e.g. {key} = ["support@example.com"]; not {value!r}'
        )
    return frozenset(word.strip().lower().lstrip("@") for word in value if word.strip())


def _flag(mapping: dict[str, Any], key: str, default: bool) -> bool:
    value = mapping.get(key, default)
    if not isinstance(value, bool):
        raise MappingError(f"{key} in the mail mapping must be true or false, not {value!r}")
    return value


def _number(mapping: dict[str, Any], key: str, default: float, *, finite: bool = False) -> float:
    """A number of 0 or more (``finite``: not infinity either); never NaN (TOML writes ``nan``:
    a window of NaN days joined every reply, a year of NaN crashed)."""
    value = mapping.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not value >= 0  # NaN too
        or (finite and not math.isfinite(value))
    ):
        what = "a finite number" if finite else "a number"
        raise MappingError(f"{key} in the mail mapping must be {what} of 0 or more, not {value!r}")
    return float(value)


def mail_mapping(mapping: dict[str, Any]) -> MailMapping:
    """Check the mail mapping and index it; a wrong mapping is a ``MappingError``."""
    unknown = sorted(set(mapping) - KNOWN_KEYS)
    if unknown:
        raise MappingError(
            f"the mail mapping names unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_KEYS))}"
        )
    status = mapping.get("conversation_status", "closed")
    if not isinstance(status, str) or not status.strip():
        raise MappingError(
            'conversation_status in the mail mapping must be a word such as "closed" or '
            f'"open", not {status!r}'
        )
    addresses = _words(mapping, "team_addresses")
    bad = sorted(address for address in addresses if "@" not in address)
    if bad:
        raise MappingError(
            f"team_addresses in the mail mapping must be whole addresses (name@domain), not "
            f"{', '.join(bad)}; put bare domains in team_domains"
        )
    return MailMapping(
        team_addresses=addresses,
        team_domains=_words(mapping, "team_domains"),
        sent_labels=_words(mapping, "sent_labels"),
        skipped_labels=_words(mapping, "skipped_labels"),
        auto_precedence=_words(mapping, "auto_precedence"),
        gmail_thread_ids=_flag(mapping, "gmail_thread_ids", True),
        keep_auto_replies=_flag(mapping, "keep_auto_replies", False),
        keep_bounces=_flag(mapping, "keep_bounces", False),
        keep_team_internal=_flag(mapping, "keep_team_internal", False),
        skip_list_mail=_flag(mapping, "skip_list_mail", False),
        subject_window_days=_number(mapping, "subject_window_days", 30),
        earliest_year=int(_number(mapping, "earliest_year", 1980, finite=True)),
        status=status.strip().lower(),
    )
