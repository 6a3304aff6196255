"""The resumable state of a run: an intent log in SQLite, behind one facade.

::

    with Checkpoint.open(path, RunHeader(api_url, mailbox, format)) as checkpoint:
        checkpoint.record_intent(...)      # parts (parts.py): the intent before every POST
        checkpoint.put_customer(...)       # customers (customers.py)
        checkpoint.record_uploads(...)     # uploads after creation (uploads.py)
        checkpoint.log_error(...)          # the error log (errors.py)

The file, its schema and migrations, the header and the one-run lock are in ``store.py``.
"""

from __future__ import annotations

from importer.pipeline.checkpoint.customers import CustomersLog
from importer.pipeline.checkpoint.errors import ErrorEntry, ErrorLog
from importer.pipeline.checkpoint.parts import (
    UNSETTLED,
    ConversationState,
    NextAction,
    PartRecord,
    PartsLog,
    PartState,
    next_action,
    rollup,
)
from importer.pipeline.checkpoint.store import SCHEMA_VERSION, RunHeader, normalise_api_url
from importer.pipeline.checkpoint.uploads import UploadsLog

__all__ = [
    "SCHEMA_VERSION",
    "UNSETTLED",
    "Checkpoint",
    "ConversationState",
    "ErrorEntry",
    "NextAction",
    "PartRecord",
    "PartState",
    "RunHeader",
    "next_action",
    "normalise_api_url",
    "rollup",
]


class Checkpoint(PartsLog, CustomersLog, UploadsLog, ErrorLog):
    """The checkpoint file of one run (one API URL and mailbox): parts, customers, uploads and
    the error log over one SQLite connection."""
