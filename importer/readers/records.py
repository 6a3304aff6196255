"""Kept for existing imports: the JSON container layer is :mod:`importer.readers.containers`."""

from __future__ import annotations

from importer.readers.containers import MAX_RAW_TEXT, JsonRecord, container_lists, iter_json_records

__all__ = ["MAX_RAW_TEXT", "JsonRecord", "container_lists", "iter_json_records"]
