"""The shapes of mapping: what it is given (:class:`PayloadContext`) and what it makes, a
:class:`Draft` of Help Scout's Create Conversation body with its threads kept apart and its
attachments still candidates (``split`` decides which go inline), and the key naming a customer.

Apart from the mapping itself (:mod:`importer.transform.draft`, threads in
:mod:`importer.transform.threads`) because splitting, validating and the engine need these
shapes and keys, not how a conversation is mapped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from importer.findings import Finding
from importer.model import Attachment
from importer.transform.fields import MailboxField
from importer.transform.normalise import NormalCustomer

PENDING_CUSTOMER_ID = 0  # replaced by the created customer's id before sending; never sent as is

UserResolver = Callable[[str | None, str | None], int | None]


def _no_user(email: str | None, source_id: str | None) -> int | None:
    return None


@dataclass(frozen=True)
class PayloadContext:
    """Everything mapping needs besides the conversation; offline commands leave ids unknown."""

    mailbox_id: int | None = None
    status_policy: str = "closed"
    status_words: Mapping[str, list[str]] = field(default_factory=dict)
    no_email_policy: str = "create"
    placeholder_domain: str = "imported.invalid"
    source_name: str = "import"
    attachment_policy: str = "inline"
    resolve_user: UserResolver = _no_user
    default_user: int | None = None
    #: the mailbox's custom fields by name (and lowercase name); None when offline
    mailbox_fields: Mapping[str, MailboxField] | None = None
    source_id_field: int | None = None


@dataclass
class AttachmentDraft:
    """An attachment that may go inline (base64) or be uploaded after creation."""

    file_name: str
    mime_type: str
    source: Attachment
    location: str | None

    @property
    def inline_bytes(self) -> int:
        """Bytes the attachment adds inline: its base64 length plus the JSON around it."""
        if self.source.data_base64:
            data_len = len(self.source.data_base64)
        elif self.source.size is not None:
            data_len = 4 * math.ceil(self.source.size / 3)
        else:
            return -1  # unknown until read
        return data_len + len(self.file_name.encode()) + len(self.mime_type) + 40


@dataclass
class ThreadDraft:
    """One thread's JSON (without attachments) and its attachment candidates."""

    body: dict[str, Any]
    attachments: list[AttachmentDraft]
    created_at: str


@dataclass
class Draft:
    """A whole conversation mapped to Help Scout, before splitting."""

    source_id: str
    base: dict[str, Any]  # every conversation field but ``threads``
    threads: list[ThreadDraft]
    customer_key: str
    customer_to_create: dict[str, Any] | None
    warnings: list[Finding]
    left_out: list[Finding]


class DraftFindings:
    """What mapping one conversation found: warnings, and what is left out of it."""

    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        self.warnings: list[Finding] = []
        self.left_out: list[Finding] = []

    def warn(self, stage: str, code: str, message: str, *, location: str | None = None) -> None:
        """Something changed to fit Help Scout: a warning."""
        self.warnings.append(Finding(stage, code, message, location, self.source_id))

    def leave_out(
        self, stage: str, code: str, message: str, *, location: str | None = None
    ) -> None:
        """Something of an imported conversation that is not sent: an error entry."""
        self.left_out.append(Finding(stage, code, message, location, self.source_id))


def email_key(email: str) -> str:
    """The customer key of an email address (see :func:`customer_key`)."""
    return "email:" + email.lower()


def customer_key(customer: NormalCustomer) -> str:
    """The key that names one customer across conversations (email, else source id, else phone)."""
    if customer.email:
        return email_key(customer.email)
    if customer.source_id:
        return "id:" + customer.source_id
    return "phone:" + re.sub(r"\D", "", customer.phone or "")
