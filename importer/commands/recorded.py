"""What a run records in its checkpoint so that ``verify`` can plan the export as it did.

Each ``run`` writes its inputs (absolute paths), the export's format, the API URL, the mailbox and
every option that shapes what is sent into the checkpoint's ``run_options`` (the latest run
replaces what an earlier one wrote). ``verify`` starts from them; an option given to ``verify``
overrides its recorded value. Never a secret: credentials are not options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from importer.settings import RunSettings, TransformSettings

#: the recorded keys that are transform settings, with their ``TransformSettings`` names
TRANSFORM_KEYS = {
    "format": "format",
    "mapping": "mapping_file",
    "status_policy": "status_policy",
    "source_tz": "source_tz",
    "tags": "tags",
    "no_email_policy": "no_email_policy",
    "placeholder_domain": "placeholder_domain",
    "attachments": "attachments",
    "max_request_bytes": "max_request_bytes",
    "source_id_field": "source_id_field",
    "max_record_bytes": "max_record_bytes",
    "max_member_bytes": "max_member_bytes",
    "max_zip_ratio": "max_zip_ratio",
}
#: the recorded keys that are run settings
RUN_KEYS = {
    "api_url": "api_url",
    "mailbox": "mailbox",
    "users": "users_file",
    "default_user": "default_user",
    "rate_limit": "rate_limit",
    "ca_bundle": "ca_bundle",
}


def _absolute(path: Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def recorded_options(inputs: list[Path], settings: RunSettings, format_name: str) -> dict[str, Any]:
    """The JSON-able record of a run: inputs and options (paths absolute)."""
    transform = settings.transform
    return {
        "inputs": [_absolute(path) for path in inputs],
        "format": format_name,
        "api_url": settings.api_url,
        "mailbox": settings.mailbox,
        "mapping": _absolute(transform.mapping_file),
        "users": _absolute(settings.users_file),
        "status_policy": transform.status_policy,
        "source_tz": transform.source_tz,
        "tags": list(transform.tags),
        "no_email_policy": transform.no_email_policy,
        "placeholder_domain": transform.placeholder_domain,
        "attachments": transform.attachments,
        "max_request_bytes": transform.max_request_bytes,
        "source_id_field": transform.source_id_field,
        "max_record_bytes": transform.max_record_bytes,
        "max_member_bytes": transform.max_member_bytes,
        "max_zip_ratio": transform.max_zip_ratio,
        "default_user": settings.default_user,
        "rate_limit": settings.rate_limit,
        "ca_bundle": _absolute(settings.ca_bundle),
    }


def _value(key: str, value: Any) -> Any:
    if key in ("mapping", "users", "ca_bundle") and value is not None:
        return Path(value)
    if key == "tags":
        return tuple(value or ())
    return value


def merged_settings(
    given: RunSettings, recorded: Mapping[str, Any] | None, explicit: set[str]
) -> RunSettings:
    """``given`` with every recorded option in place of one that was not given (``explicit``
    names the recorded keys given on the command line)."""
    if not recorded:
        return given
    transform: dict[str, Any] = {}
    for key, name in TRANSFORM_KEYS.items():
        if key in recorded and key not in explicit:
            transform[name] = _value(key, recorded[key])
    run: dict[str, Any] = {}
    for key, name in RUN_KEYS.items():
        if key in recorded and key not in explicit:
            run[name] = _value(key, recorded[key])
    merged_transform: TransformSettings = replace(given.transform, **transform)
    return replace(given, transform=merged_transform, **run)


def recorded_inputs(recorded: Mapping[str, Any] | None) -> list[Path]:
    """The inputs the latest run recorded (empty when none)."""
    if not recorded:
        return []
    return [Path(name) for name in recorded.get("inputs") or [] if isinstance(name, str)]
