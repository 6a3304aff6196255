"""What a command's options become: transform, read, download and run settings (pure).

Kept apart from the options' spelling (:mod:`importer.cli_options`) so the mapping from an
options dict to settings is one small module, read and tested without click.
"""

from __future__ import annotations

from typing import Any

from importer.addresses import AddressPolicy
from importer.readers.limits import (
    DEFAULT_MAX_MEMBER_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_MAX_ZIP_RATIO,
    ReadLimits,
)
from importer.settings import (
    DEFAULT_DOWNLOAD_HOST_WAIT_S,
    DEFAULT_DOWNLOAD_MAX_BYTES,
    DEFAULT_DOWNLOAD_READ_TIMEOUT_S,
    DEFAULT_DOWNLOAD_TIME_LIMIT_S,
    DEFAULT_DOWNLOAD_TRIES,
    DEFAULT_RECONCILE_WAIT_S,
    DEFAULT_WORKERS,
    DownloadLimits,
    RunSettings,
    TransformSettings,
)


def transform_settings(options: dict[str, Any], **extra: Any) -> TransformSettings:
    """Build the transform settings from a command's options."""
    return TransformSettings(
        format=options.get("format_name"),
        mapping_file=options.get("mapping"),
        status_policy=options["status_policy"],
        source_tz=options["source_tz"],
        max_request_bytes=options["max_request_bytes"],
        no_email_policy=options["no_email_policy"],
        placeholder_domain=options["placeholder_domain"],
        attachments=options["attachment_policy"],
        tags=tuple(options.get("tags") or ()),
        limit=options.get("limit"),
        since=options.get("since"),
        until=options.get("until"),
        max_record_bytes=options.get("max_record_bytes", DEFAULT_MAX_RECORD_BYTES),
        max_member_bytes=options.get("max_member_bytes", DEFAULT_MAX_MEMBER_BYTES),
        max_zip_ratio=options.get("max_zip_ratio", DEFAULT_MAX_ZIP_RATIO),
        **extra,
    )


def read_limits(options: dict[str, Any]) -> ReadLimits:
    """The read layer's bounds from a command's options."""
    return ReadLimits(
        options.get("max_record_bytes", DEFAULT_MAX_RECORD_BYTES),
        options.get("max_member_bytes", DEFAULT_MAX_MEMBER_BYTES),
        options.get("max_zip_ratio", DEFAULT_MAX_ZIP_RATIO),
    )


def download_limits(options: dict[str, Any]) -> DownloadLimits:
    """The ``--download-*`` and address options (their defaults where a command has none)."""
    return DownloadLimits(
        read_s=options.get("download_read_timeout") or DEFAULT_DOWNLOAD_READ_TIMEOUT_S,
        per_file_s=options.get("download_time_limit") or DEFAULT_DOWNLOAD_TIME_LIMIT_S,
        max_attempts=options.get("download_tries") or DEFAULT_DOWNLOAD_TRIES,
        max_bytes=options.get("download_max_bytes") or DEFAULT_DOWNLOAD_MAX_BYTES,
        addresses=AddressPolicy(
            allow_hosts=tuple(options.get("allow_hosts") or ()),
            allow_private=bool(options.get("allow_private_urls")),
        ),
    )


def run_settings(options: dict[str, Any]) -> RunSettings:
    """Build the run settings from a command's options."""
    return RunSettings(
        transform=transform_settings(options, source_id_field=options.get("source_id_field")),
        mailbox=options["mailbox"],
        api_url=options["api_url"],
        ca_bundle=options.get("ca_bundle"),
        checkpoint=options.get("checkpoint"),
        rate_limit=options["rate_limit"],
        workers=options.get("workers") or DEFAULT_WORKERS,
        users_file=options.get("users_file"),
        default_user=options.get("default_user"),
        reconcile_wait_s=options.get("reconcile_wait") or DEFAULT_RECONCILE_WAIT_S,
        downloads=download_limits(options),
        attachments_dir=options.get("attachments_dir"),
        download_host_wait_s=_or_default(
            options.get("download_host_wait"), DEFAULT_DOWNLOAD_HOST_WAIT_S
        ),
    )


def _or_default(value: float | None, default: float) -> float:
    """``value`` unless the command has no such option (0 is a value)."""
    return default if value is None else value
