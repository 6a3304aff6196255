"""The files the importer writes hold customer data: kept private, and a full disk stops the run.

**Private at rest.** The checkpoint (with SQLite's ``-wal``/``-shm``), dead letters, reports and
their temporary files, event logs, ``convert``'s output, fetched and spooled attachments, staging
files and the sandbox's ``--db`` are created readable by their owner only (0600), and the folders
the importer creates 0700. Two layers, because neither alone is robust:

- :func:`keep_private` sets the process's umask to 0o077 at the command line's entry
  (:func:`importer.cli.main`, which ``importer sandbox`` goes through too). That covers every
  file created by code that takes no mode: SQLite's ``-wal``, ``-shm``, journals and temporary
  files, the readers' staging files, ``tempfile`` users, pandas' CSV writer, and the planning
  workers (forked, so they inherit it). It is process-wide, so only the console entry sets it:
  the importer used as a library (tests, scripts) leaves its caller's umask alone.
- :func:`open_private`, :func:`create_private`, :func:`write_private` and
  :func:`make_private_dirs` give an explicit mode wherever the importer creates a file or folder
  at a path it knows, so those are private whatever the umask (a library caller, a test). SQLite
  gives ``-wal``, ``-shm`` and journals the mode of their database file, so a database created
  0600 first keeps them 0600 too.

A folder the user gave, or an existing file's folder, keeps its mode: nothing here ever calls
``chmod`` on what it did not create.

**A write that fails.** A disk that is full (``ENOSPC``, ``EDQUOT``) or the file size limit
(``EFBIG``, ``RLIMIT_FSIZE`` with ``SIGXFSZ`` ignored) makes an output write raise
:class:`~importer.errors.OutputWriteError`, naming the file: the run stops (exit 4) instead of
counting it as one conversation's failure. :func:`is_disk_full` tells such an error (an
``OSError``, or SQLite's ``SQLITE_FULL`` and ``SQLITE_IOERR``) from the others.
"""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, cast

from importer.errors import OutputWriteError

#: the umask of the command line: new files 0600, new folders 0700
PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
FOLDER_MODE = 0o700

#: errno values that mean "no room for this write"
NO_ROOM = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
#: SQLite's primary result codes of a write that could not be done
_SQLITE_FULL = 13
_SQLITE_IOERR = 10


def keep_private() -> None:
    """Create every file of this process 0600 and every folder 0700 (see the module doc)."""
    os.umask(PRIVATE_UMASK)


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, FILE_MODE)


def open_private(path: Path, mode: str, **kwargs: Any) -> IO[Any]:
    """``open(path, mode)``, a new file created 0600 (an existing file keeps its mode)."""
    return open(path, mode, opener=_private_opener, **kwargs)


def create_private(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists (before SQLite opens it, so that its
    ``-wal``, ``-shm`` and journal get the same mode)."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each 0700; existing ones keep their mode."""
    missing = []
    for candidate in [folder, *folder.parents]:
        if candidate.is_dir():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        candidate.mkdir(mode=FOLDER_MODE, exist_ok=True)
        os.chmod(candidate, FOLDER_MODE)  # ours, just made: mkdir's mode passes the umask


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that found no room: the disk (or quota) is full, or the file
    size limit is reached."""
    if isinstance(exc, OSError):
        return exc.errno in NO_ROOM
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF in (_SQLITE_FULL, _SQLITE_IOERR)
    return False


def why(exc: BaseException) -> str:
    """A short reason for a failed write: the system's words (``File too large``)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Writes to ``path`` inside: an ``OSError`` (or SQLite's full-disk error) becomes
    :class:`OutputWriteError` naming ``path``."""
    try:
        yield
    except OutputWriteError:
        raise
    except (OSError, sqlite3.Error) as exc:
        if isinstance(exc, sqlite3.Error) and not is_disk_full(exc):
            raise
        raise OutputWriteError(path, why(exc)) from exc


def write_private(path: Path, data: bytes, *, name: Path | str | None = None) -> None:
    """Write ``data`` to a new file at ``path`` (0600); a failed write raises
    :class:`OutputWriteError` naming ``name`` (default ``path``) and leaves no partial file."""
    try:
        with writing(name or path), open_private(path, "wb") as out:
            out.write(data)
    except OutputWriteError:
        path.unlink(missing_ok=True)
        raise


def staging_folder() -> str:
    """Where the readers keep their staging files, for a message (``importer-<format>-*``
    folders of the system's temporary folder, ``TMPDIR``)."""
    return str(Path(tempfile.gettempdir()) / "importer-*")


@contextmanager
def staging_writes() -> Iterator[None]:
    """Reading the export inside: it writes the readers' staging files, so a full disk met
    while reading is a staging write that failed (:class:`OutputWriteError` naming their
    folder); any other error goes through as it is."""
    try:
        yield
    except OutputWriteError:
        raise
    except (OSError, sqlite3.Error) as exc:
        if not is_disk_full(exc):
            raise
        raise OutputWriteError(
            f"the export's staging files ({staging_folder()})", why(exc)
        ) from exc


class OutputFile:
    """A text file written line by line (dead letters, event log, ``convert``'s output):
    created 0600, and a write that fails raises :class:`OutputWriteError` naming it. After a
    failure the file is closed at once, without flushing what is left in its buffer, and (when
    every line is flushed) cut back to its last whole line, so that it never ends in half a line
    a reader would trip on; every later write raises the same error."""

    def __init__(self, path: Path, mode: str = "w", *, flush_each: bool = True) -> None:
        self.path = path
        self.flush_each = flush_each
        self.failed: OutputWriteError | None = None
        with writing(path):
            handle = open_private(path, mode, encoding="utf-8")
            #: the file's size after its last whole line (``flush_each``): cut back to it when
            #: a line could be written only in part
            self._whole = os.fstat(handle.fileno()).st_size
        self._handle: io.TextIOWrapper | None = cast(io.TextIOWrapper, handle)

    def write(self, text: str) -> None:
        """Write ``text`` (flushed when ``flush_each``)."""
        if self.failed is not None:
            raise self.failed
        if self._handle is None:
            return
        try:
            with writing(self.path):
                self._handle.write(text)
                if self.flush_each:
                    self._handle.flush()
                    self._whole = os.lseek(self._handle.fileno(), 0, os.SEEK_CUR)
        except OutputWriteError as exc:
            self._fail(exc)
            raise

    def _fail(self, exc: OutputWriteError) -> None:
        self.failed = exc
        handle, self._handle = self._handle, None
        if handle is not None:
            with suppress(OSError):
                if self.flush_each:  # no half line at its end: the file ends as it did
                    os.ftruncate(handle.fileno(), self._whole)
                handle.buffer.raw.close()  # type: ignore[attr-defined]  # the buffer goes unwritten

    def close(self) -> None:
        """Close the file; a failure of its last flush raises (see :meth:`write`)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            with writing(self.path):
                handle.close()
        except OutputWriteError as exc:
            self._handle = handle
            self._fail(exc)
            raise
