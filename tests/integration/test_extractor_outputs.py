"""Every platform's sample, rewritten as the extractors write it, converts as the sample does.

A user without a ready export pulls the old help desk with a Singer tap (its standard output, or
``target-jsonl`` files named ``<stream>-<timestamp>.jsonl``) or an Airbyte source (the local JSON
destination's ``_airbyte_raw_<stream>.jsonl``, the local CSV destination's
``_airbyte_raw_<stream>.csv``, each with the old raw columns or the new ones). Each sample under
``samples/<platform>/export/`` is rewritten in each of those shapes, every record under the stream
an extractor would give it (the name of the sample file that holds it, as its role), and
``importer convert`` of the rewrite must give the same conversations as ``convert`` of the sample.
Conversions run in this process (click's ``CliRunner``), one job each.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.readers.containers import iter_json_records
from importer.readers.inputs import list_input_files

ROOT = Path(__file__).resolve().parents[2]
#: the samples of JSON records (mail and csv are not records an extractor writes)
PLATFORMS = ("zendesk", "freshdesk", "intercom", "front", "gorgias", "helpscout", "canonical")
STAMP = "20240101120000"
EMITTED_MS = 1704110400000
EXTRACTED = "2024-01-01T12:00:00.000Z"

Streams = dict[str, list[dict[str, Any]]]


def _stream_name(file_name: str) -> str:
    """The stream an extractor gives a sample file's records: the file's role, its name without
    the sample's ordering prefix (``a-``) or page suffix (``-page-1``)."""
    stem = Path(file_name).name.split(".", 1)[0]
    return re.sub(r"^[a-z]-|-page-\d+$", "", stem)


def sample_streams(platform: str) -> Streams:
    """The records of a sample by stream, in file order (envelopes and wrappers taken off)."""
    streams: Streams = {}
    for input_file in list_input_files([ROOT / "samples" / platform / "export"]):
        for item in iter_json_records(input_file):
            assert item.data is not None, (item.location, item.error)
            streams.setdefault(_stream_name(input_file.name), []).append(item.data)
    return streams


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _old_row(record: dict[str, Any], index: int) -> dict[str, Any]:
    return {
        "_airbyte_ab_id": str(uuid.UUID(int=index)),
        "_airbyte_emitted_at": EMITTED_MS + index,
        "_airbyte_data": record,
    }


def _new_row(record: dict[str, Any], index: int) -> dict[str, Any]:
    return {
        "_airbyte_raw_id": str(uuid.UUID(int=index)),
        "_airbyte_extracted_at": EXTRACTED,
        "_airbyte_loaded_at": None,
        "_airbyte_data": record,
        "_airbyte_meta": {"changes": [], "sync_id": 7},
        "_airbyte_generation_id": 0,
    }


def write_singer(streams: Streams, folder: Path) -> None:
    """A tap's standard output saved to one file: per stream a SCHEMA line then its RECORD
    lines, a STATE line every few records and at the end."""
    lines = []
    for stream, records in streams.items():
        schema = {"type": "object", "properties": {"id": {"type": ["null", "integer"]}}}
        lines.append({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": []})
        for index, record in enumerate(records):
            lines.append(
                {"type": "RECORD", "stream": stream, "record": record, "time_extracted": EXTRACTED}
            )
            if index % 7 == 6:
                lines.append({"type": "STATE", "value": {"bookmarks": {stream: {"at": index}}}})
    lines.append({"type": "STATE", "value": {"currently_syncing": None}})
    text = "".join(_dumps(line) + "\n" for line in lines)
    (folder / "tap-output.singer").write_text(text, encoding="utf-8")


def write_target_jsonl(streams: Streams, folder: Path) -> None:
    """``target-jsonl``: one file per stream, ``<stream>-<timestamp>.jsonl``, plain records."""
    for stream, records in streams.items():
        text = "".join(_dumps(record) + "\n" for record in records)
        (folder / f"{stream}-{STAMP}.jsonl").write_text(text, encoding="utf-8")


def _airbyte_jsonl(row: Callable[[dict[str, Any], int], dict[str, Any]]) -> Callable[..., None]:
    def write(streams: Streams, folder: Path) -> None:
        """Airbyte's local JSON destination: ``_airbyte_raw_<stream>.jsonl``, one raw row a line."""
        for stream, records in streams.items():
            text = "".join(_dumps(row(record, i)) + "\n" for i, record in enumerate(records))
            (folder / f"_airbyte_raw_{stream}.jsonl").write_text(text, encoding="utf-8")

    return write


def _airbyte_csv(row: Callable[[dict[str, Any], int], dict[str, Any]]) -> Callable[..., None]:
    def write(streams: Streams, folder: Path) -> None:
        """Airbyte's local CSV destination: ``_airbyte_raw_<stream>.csv``, a header of the raw
        columns, the record a JSON string in a quoted field."""
        for stream, records in streams.items():
            out = io.StringIO()
            writer = csv.writer(out)
            for index, record in enumerate(records):
                cells = row(record, index)
                if index == 0:
                    writer.writerow(cells)
                writer.writerow(
                    [
                        _dumps(v) if isinstance(v, dict) else "" if v is None else v
                        for v in cells.values()
                    ]
                )
            (folder / f"_airbyte_raw_{stream}.csv").write_text(out.getvalue(), encoding="utf-8")

    return write


SHAPES: dict[str, Callable[[Streams, Path], None]] = {
    "singer-stdout": write_singer,
    "target-jsonl": write_target_jsonl,
    "airbyte-json-old": _airbyte_jsonl(_old_row),
    "airbyte-json-new": _airbyte_jsonl(_new_row),
    "airbyte-csv-old": _airbyte_csv(_old_row),
    "airbyte-csv-new": _airbyte_csv(_new_row),
}


def convert(export: Path, out: Path) -> dict[str, dict[str, Any]]:
    """``importer convert`` of ``export`` in this process: the conversations by source id."""
    args = ["convert", str(export), "-o", str(out), "--jobs", "1", "--quiet", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, (export, result.output, result.exception)
    converted: dict[str, dict[str, Any]] = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert record["source_id"] not in converted, record["source_id"]
        converted[record["source_id"]] = record
    return converted


_EXPECTED: dict[str, dict[str, dict[str, Any]]] = {}


def expected(platform: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """``convert`` of the sample itself (once per platform)."""
    if platform not in _EXPECTED:
        _EXPECTED[platform] = convert(ROOT / "samples" / platform / "export", tmp_path / "a.jsonl")
    return _EXPECTED[platform]


def _cases() -> Iterator[tuple[str, str]]:
    for platform in PLATFORMS:
        for shape in SHAPES:
            yield platform, shape


@pytest.mark.parametrize(("platform", "shape"), list(_cases()))
def test_an_extractor_output_converts_as_the_sample_does(
    platform: str, shape: str, tmp_path: Path
) -> None:
    """Same conversations by source id, same content, as ``convert`` of the sample itself."""
    want = expected(platform, tmp_path)
    assert want, platform
    folder = tmp_path / shape
    folder.mkdir()
    SHAPES[shape](sample_streams(platform), folder)
    got = convert(folder, tmp_path / "b.jsonl")
    assert sorted(got) == sorted(want)
    for source_id, conversation in want.items():
        assert got[source_id] == conversation, source_id


def test_every_sample_file_has_a_stream_of_its_role() -> None:
    """The streams the rewrites use are the sample files' roles, as an extractor names them."""
    names = {platform: sorted(sample_streams(platform)) for platform in PLATFORMS}
    assert names["zendesk"] == ["ticket_comments", "ticket_fields", "tickets", "users"]
    assert names["freshdesk"] == ["agents", "contacts", "conversations", "ticket_fields", "tickets"]
    assert names["intercom"] == ["admins", "contacts", "conversations", "teams"]
    assert names["front"] == ["comments", "contacts", "conversations", "messages", "teammates"]
    assert names["helpscout"] == ["conversations"]
