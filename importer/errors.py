"""Every error the importer raises, grouped by what the caller should do.

::

    ImporterError                    root; ``exit_code`` says how the CLI ends
    ├── UsageError                   bad option or configuration: stop before sending (2)
    │   ├── MappingError             a mapping TOML file is wrong (2)
    │   └── CredentialsError         no credentials, or the token endpoint refused them (2)
    ├── InputError                   an input file is missing or unreadable (2)
    │   └── FormatError              the export's format is unknown or not the one asked for (2)
    ├── InvalidConversationError     a conversation breaks rules that cannot be fixed; carries
    │                                every reason as findings, the run goes on (1)
    ├── CheckpointError              the checkpoint belongs to another API URL or mailbox,
    │                                or is damaged (2)
    ├── ApiError                     an answer of the Help Scout API (or the sandbox)
    │   ├── RetryableApiError        throttled or refused past every retry: nothing was stored,
    │                                the part is failed and a rerun sends it
    │   ├── RejectedApiError         a read refused for its resource (a conversation gone: 404)
    │   └── FatalApiError            403, unknown mailbox, credentials revoked: stop cleanly (3)
    ├── DownloadError                an attachment URL of the export cannot be fetched: the file
    │                                is left out with an error entry, the conversation goes on
    ├── WorkersLostError             no worker is left to import: stop cleanly (3)
    ├── OutputWriteError             an output file (checkpoint, report, dead letters, event
    │                                log, staging) cannot be written: disk full, file size
    │                                limit; stop cleanly, naming the file (4)
    ├── StoppedError                 a signal stopped the run; what was in flight resumes (130)
    │   └── SetUpInterruptedError    stopped during the set-up checks, nothing sent (130)
    └── SandboxError                 the local emulator cannot start (2)

Messages say what went wrong, where (file, line, field or option) and what to do next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from importer.findings import Finding


class ImporterError(Exception):
    """Root of every error the importer raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        if self.location:
            return f"{self.location}: {self.message}"
        return self.message


class UsageError(ImporterError):
    """An option or a configuration value cannot be used."""


class MappingError(UsageError):
    """A mapping file is not valid TOML or names unknown keys."""


class CredentialsError(UsageError):
    """Credentials are missing from the environment or were refused."""


class InputError(ImporterError):
    """An input file is missing or cannot be read at all."""


class FormatError(InputError):
    """The export's format cannot be recognised, or is not the one asked for."""


class InvalidConversationError(ImporterError):
    """A conversation cannot be imported; ``findings`` holds every reason at once."""

    exit_code = 1

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(finding.message for finding in findings))
        self.findings = findings


class CheckpointError(ImporterError):
    """The checkpoint file cannot be used for this run."""


class ApiError(ImporterError):
    """An answer of the Help Scout API that is not a success."""

    def __init__(self, message: str, *, status: int | None = None, log_ref: str | None = None):
        super().__init__(message)
        self.status = status
        self.log_ref = log_ref


class RetryableApiError(ApiError):
    """Nothing was stored: the same request may be sent again after a wait."""


class RejectedApiError(ApiError):
    """The API refused this one request for its content."""

    exit_code = 1


class FatalApiError(ApiError):
    """The API refuses all further work: stop, keep the checkpoint, exit 3."""

    exit_code = 3


class StoppedError(ImporterError):
    """A stop was asked for (SIGINT/SIGTERM): a request not yet sent, or waiting to be retried,
    is given up; whatever it was for is in the checkpoint and resumes on the next run."""

    exit_code = 130


class DownloadError(ImporterError):
    """An attachment the export names by URL cannot be fetched; ``code`` is a short word."""

    exit_code = 1

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class SetUpInterruptedError(StoppedError):
    """A signal arrived during the set-up checks: nothing was sent, nothing was written."""


class WorkersLostError(ImporterError):
    """Every worker of the pool has ended while conversations were left: stop, exit 3."""

    exit_code = 3


class OutputWriteError(ImporterError):
    """A file the importer writes (the checkpoint, a report, the dead letters, the event log,
    staging or spooled files) cannot be written, most often because its disk is full or the
    process's file size limit is reached: the run stops (exit 4). ``path`` names the file; the
    checkpoint is consistent (SQLite rolls back what it could not write) and a rerun resumes."""

    exit_code = 4

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(
            f"could not be written ({reason}): make room on its disk (or raise the file size "
            "limit) and rerun the same command; a run resumes from its checkpoint, nothing is "
            "sent twice",
            location=str(path),
        )
        self.path = str(path)


class SandboxError(ImporterError):
    """The sandbox cannot start (port taken, database unreadable)."""
