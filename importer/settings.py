"""One settings object for every command, with the contract's defaults as ``DEFAULT_*``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from importer.addresses import AddressPolicy
from importer.readers.limits import (
    DEFAULT_MAX_MEMBER_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_MAX_ZIP_RATIO,
    ReadLimits,
)

DEFAULT_API_URL = "https://api.helpscout.net"
DEFAULT_RATE_LIMIT = 400  # units per minute; a write costs 2, a read 1
DEFAULT_WORKERS = 8
DEFAULT_MAX_REQUEST_BYTES = 262_144
DEFAULT_RECONCILE_WAIT_S = 10.0
DEFAULT_PLACEHOLDER_DOMAIN = "imported.invalid"
DEFAULT_SOURCE_TZ = "UTC"
DEFAULT_DOWNLOAD_READ_TIMEOUT_S = 30.0
DEFAULT_DOWNLOAD_TIME_LIMIT_S = 120.0
DEFAULT_DOWNLOAD_TRIES = 4
DEFAULT_DOWNLOAD_MAX_BYTES = 10 * 1024 * 1024
#: seconds a download host that is down may stay so before the conversations waiting for it fail
DEFAULT_DOWNLOAD_HOST_WAIT_S = 600.0
MAX_THREADS_PER_CONVERSATION = 100

WRITE_COST = 2
READ_COST = 1

StatusPolicy = Literal["closed", "source"]
NoEmailPolicy = Literal["create", "placeholder"]
AttachmentPolicy = Literal["inline", "upload", "link", "skip"]

ENV_API_URL = "HELPSCOUT_API_URL"
ENV_APP_ID = "HELPSCOUT_APP_ID"
ENV_APP_SECRET = "HELPSCOUT_APP_SECRET"
ENV_ACCESS_TOKEN = "HELPSCOUT_ACCESS_TOKEN"


def default_api_url() -> str:
    """The API URL from the environment, else Help Scout's own."""
    return os.environ.get(ENV_API_URL) or DEFAULT_API_URL


@dataclass(frozen=True)
class TransformSettings:
    """What the offline stages (read, normalise, map, validate, split) need."""

    format: str | None = None
    mapping_file: Path | None = None
    status_policy: StatusPolicy = "closed"
    source_tz: str = DEFAULT_SOURCE_TZ
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    no_email_policy: NoEmailPolicy = "create"
    placeholder_domain: str = DEFAULT_PLACEHOLDER_DOMAIN
    attachments: AttachmentPolicy = "inline"
    tags: tuple[str, ...] = ()
    limit: int | None = None
    since: str | None = None
    until: str | None = None
    source_id_field: int | None = None
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
    max_zip_ratio: float = DEFAULT_MAX_ZIP_RATIO

    @property
    def read_limits(self) -> ReadLimits:
        """The read layer's bounds these settings give."""
        return ReadLimits(self.max_record_bytes, self.max_member_bytes, self.max_zip_ratio)


@dataclass(frozen=True)
class DownloadLimits:
    """The bounds of one attachment's download from the old help desk (``run``'s
    ``--download-*`` options; the defaults suit a migration of days), and the addresses it may
    connect to (``--allow-host``, ``--allow-private-urls``)."""

    connect_s: float = 10.0
    read_s: float = DEFAULT_DOWNLOAD_READ_TIMEOUT_S  # seconds without a byte
    max_redirects: int = 5
    max_bytes: int = DEFAULT_DOWNLOAD_MAX_BYTES  # Help Scout's attachment limit
    max_attempts: int = DEFAULT_DOWNLOAD_TRIES
    per_file_s: float = DEFAULT_DOWNLOAD_TIME_LIMIT_S  # over all the tries of one file
    addresses: AddressPolicy = field(default_factory=AddressPolicy)


@dataclass(frozen=True)
class RunSettings:
    """What the commands that talk to the API need on top of the transform settings."""

    transform: TransformSettings = field(default_factory=TransformSettings)
    mailbox: int | None = None
    api_url: str = field(default_factory=default_api_url)
    ca_bundle: Path | None = None
    checkpoint: Path | None = None
    rate_limit: int = DEFAULT_RATE_LIMIT
    workers: int = DEFAULT_WORKERS
    users_file: Path | None = None
    default_user: int | None = None
    reconcile_wait_s: float = DEFAULT_RECONCILE_WAIT_S
    downloads: DownloadLimits = field(default_factory=DownloadLimits)
    #: where ``importer fetch-attachments`` put the export's URL attachments (read first)
    attachments_dir: Path | None = None
    #: ``--download-host-wait``: how long conversations wait for a download host that is down
    download_host_wait_s: float = DEFAULT_DOWNLOAD_HOST_WAIT_S
