"""What only Front writes: the signs its reader's ``owns`` goes by (what makes a record
plainly Front's, see :mod:`importer.readers.signs`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Front's resource ids: conversation, message, comment, teammate, contact, tag, inbox, channel...
FRONT_ID = re.compile(
    r"^(?:cnv|msg|com|tea|crd|ctc|tag|inb|cha|tim|acc|fil|top|lnk|rul|evt|shf|cmp|rsp|sig|hdl)"
    r"_[0-9a-z]+$"
)
FRONT_KEYS = frozenset(
    {
        "is_inbound",
        "blurb",
        "draft_mode",
        "is_draft",
        "posted_at",
        "scheduled_reminders",
        "is_available",
        "is_blocked",
        "is_spammer",
    }
)


#: a record with none of these keys is never Front's (what :func:`is_front` looks at)
FRONT_SIGN_KEYS = FRONT_KEYS | {"id", "_links"}


def is_front(record: Mapping[str, Any]) -> bool:
    """A Front record: a Front resource id, keys only Front writes, or links to frontapp.com."""
    own_id = record.get("id")
    if type(own_id) is str and FRONT_ID.match(own_id):  # only text spells a prefixed id
        return True
    if not FRONT_KEYS.isdisjoint(record.keys()):
        return True
    links = record.get("_links")
    own = links.get("self") if isinstance(links, Mapping) else None
    return isinstance(own, str) and ".frontapp.com/" in own
