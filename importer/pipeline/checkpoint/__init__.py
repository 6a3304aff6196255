"""The resumable state of a run: an intent log in SQLite, composed of five logs over one store.

::

    with Checkpoint.open(path, RunHeader(api_url, mailbox, format)) as checkpoint:
        checkpoint.parts.record_intent(...)       # parts (parts.py): the intent before every POST
        checkpoint.customers.put_customer(...)    # customers (customers.py)
        checkpoint.uploads.record_uploads(...)    # uploads after creation (uploads.py)
        checkpoint.errors.log_error(...)          # the error log (errors.py)
        checkpoint.undo.begin_delete(...)         # what importer undo deletes (undo.py)

Why composed: each collaborator of the engine is handed only the log it uses (the customers'
turn its :class:`CustomersLog`, the uploads their :class:`UploadsLog`...), so what a module may
touch in the file is written in its signature. The logs share the store underneath: one
connection, one clock, one lock. The file, its schema and migrations, the header and the
one-run lock are in ``store.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

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
from importer.pipeline.checkpoint.schema import SCHEMA_VERSION
from importer.pipeline.checkpoint.store import RunHeader, Store, normalise_api_url
from importer.pipeline.checkpoint.undo import SentFacts, UndoLog, UndoTarget
from importer.pipeline.checkpoint.uploads import UploadsLog

__all__ = [
    "SCHEMA_VERSION",
    "UNSETTLED",
    "Checkpoint",
    "ConversationState",
    "CustomersLog",
    "ErrorEntry",
    "ErrorLog",
    "NextAction",
    "PartRecord",
    "PartState",
    "PartsLog",
    "RunHeader",
    "SentFacts",
    "UndoLog",
    "UndoTarget",
    "UploadsLog",
    "next_action",
    "normalise_api_url",
    "rollup",
]


class Checkpoint:
    """The checkpoint file of one run (one API URL and mailbox): its :attr:`parts`,
    :attr:`customers`, :attr:`uploads`, :attr:`errors` and :attr:`undo` logs over one SQLite
    store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.parts = PartsLog(store)
        self.customers = CustomersLog(store)
        self.uploads = UploadsLog(store)
        self.errors = ErrorLog(store)
        self.undo = UndoLog(store)

    @classmethod
    def open(cls, path: Path, header: RunHeader, *, clock: Callable[[], float] = time.time) -> Self:
        """Open or create the checkpoint at ``path`` for ``header``'s API URL and mailbox, and
        hold it for this run alone (see :meth:`Store.open`)."""
        return cls(Store.open(path, header, clock=clock))

    @classmethod
    def open_existing(
        cls, path: Path, *, clock: Callable[[], float] = time.time, exclusive: bool = False
    ) -> Self:
        """Open a checkpoint a run wrote, to read it, or (``exclusive``) to undo what it
        created (see :meth:`Store.open_existing`)."""
        return cls(Store.open_existing(path, clock=clock, exclusive=exclusive))

    @property
    def header(self) -> RunHeader:
        """What the checkpoint belongs to, as stored."""
        return self.store.header

    @property
    def path(self) -> Path:
        """The checkpoint's file."""
        return self.store.path

    def close(self) -> None:
        """Close the file (every write is already committed) and let another run in."""
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
