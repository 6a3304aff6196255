"""Platforms the importer recognises but no registered reader reads: refused by name.

An export of Zoho Desk, HubSpot or Kayako is not read as some other format by accident: its
records bear the hints of ``source-formats.md`` §14, and detection refuses it, naming the
platform and the way forward (canonical JSONL or the generic CSV). A platform that gets a reader
(a registered plug-in of the same name) is read instead of refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from importer.errors import FormatError


def _is_zoho(record: Mapping[str, Any]) -> bool:
    return not {"ticketNumber", "statusType", "isDescriptionThread"}.isdisjoint(record.keys())


def _is_hubspot(record: Mapping[str, Any]) -> bool:
    properties = record.get("properties")
    return isinstance(properties, Mapping) and "hs_pipeline_stage" in properties


def _is_kayako(record: Mapping[str, Any]) -> bool:
    return record.get("resource_type") in ("case", "post")


#: each platform without a reader: its name in messages, and its hint
FOREIGN: dict[str, tuple[str, Callable[[Mapping[str, Any]], bool]]] = {
    "zoho": ("Zoho Desk", _is_zoho),
    "hubspot": ("HubSpot", _is_hubspot),
    "kayako": ("Kayako", _is_kayako),
}


def foreign_platform(record: Mapping[str, Any]) -> str | None:
    """The platform without a reader whose record ``record`` looks like, else ``None``."""
    for name, (_, looks_like) in FOREIGN.items():
        if looks_like(record):
            return name
    return None


def refusal(name: str, file_name: str) -> FormatError:
    """The error of a file that looks like the export of ``name``, a platform not read."""
    label = FOREIGN[name][0]
    return FormatError(
        f"{file_name} looks like a {label} export, which the importer does not read; convert "
        "it to canonical JSONL (`importer convert --schema` prints the shape) or to the "
        "generic CSV layout"
    )
