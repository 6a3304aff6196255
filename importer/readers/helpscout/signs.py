"""What only Help Scout writes: the signs its reader's ``owns`` goes by (what makes a record
plainly Help Scout's, see :mod:`importer.readers.signs`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: keys only Help Scout's Mailbox API writes (camelCase, HAL); ``createdBy``, ``customFields``
#: and ``createdAt`` are not among them (Zoho Desk and HubSpot write them too)
HELPSCOUT_KEYS = frozenset(
    {
        "primaryCustomer",
        "customerWaitingSince",
        "mailboxId",
        "folderId",
        "userUpdatedAt",
        "closedByUser",
        "savedReplyId",
    }
)
HELPSCOUT_PERSON_TYPES = frozenset({"customer", "user"})


def is_helpscout(record: Mapping[str, Any]) -> bool:
    """A Help Scout record: HAL's ``_embedded`` object, keys only Help Scout writes, or a
    ``createdBy`` person object of type ``customer`` or ``user`` (Zoho's is an id)."""
    if isinstance(record.get("_embedded"), Mapping):
        return True
    if not HELPSCOUT_KEYS.isdisjoint(record.keys()):
        return True
    created_by = record.get("createdBy")
    kind = created_by.get("type") if isinstance(created_by, Mapping) else None
    return isinstance(kind, str) and kind in HELPSCOUT_PERSON_TYPES
