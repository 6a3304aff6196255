"""An export of each platform gives the same conversations whatever holds its records and in
whatever order its files come: each sample is rewritten into NDJSON, JSON arrays, wrapped lists,
API pages, Airbyte and Singer dumps (files named so that they sort in another order), and the
canonical JSONL that ``convert`` writes is the same for all of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.errors import FormatError
from importer.readers import open_export
from importer.readers.base import READERS
from importer.readers.containers import iter_json_records
from importer.readers.inputs import list_input_files

SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"
PLATFORMS = ("zendesk", "freshdesk", "intercom", "front", "gorgias", "helpscout")
PAGE = 7

#: (stream, records) of each file of an export, in the sample's file order
Streams = list[tuple[str, list[dict[str, Any]]]]


def _streams(platform: str) -> Streams:
    """The sample's records by file, each file named by the role of its records."""
    reader = READERS.get(platform)
    assert reader is not None
    streams: Streams = []
    for input_file in list_input_files([SAMPLES / platform / "export"]):
        records = []
        roles = set()
        for item in iter_json_records(input_file):
            assert item.data is not None
            roles.add(reader.role_of(item.data, item.stream))
            records.append(item.data)
        [role] = roles
        assert role is not None
        streams.append((role, records))
    return streams


def _lines(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _ndjson(folder: Path, streams: Streams) -> None:
    for index, (stream, records) in enumerate(reversed(streams)):
        (folder / f"{index}-{stream}.jsonl").write_text(_lines(records))


def _array(folder: Path, streams: Streams) -> None:
    for index, (stream, records) in enumerate(streams):
        (folder / f"{len(streams) - index}-{stream}.json").write_text(json.dumps(records))


def _wrapped(folder: Path, streams: Streams) -> None:
    for index, (stream, records) in enumerate(streams):
        name = f"x{stream[::-1]}{index}.json"  # another order again
        (folder / name).write_text(json.dumps({stream: records}, indent=1))


def _pages(folder: Path, streams: Streams) -> None:
    for index, (stream, records) in enumerate(streams):
        pages = [records[at : at + PAGE] for at in range(0, len(records), PAGE)]
        lines = [
            {stream: page, "count": len(records), "next_page": f"https://x.example/{n + 1}"}
            for n, page in enumerate(pages)
        ]
        lines[-1]["next_page"] = None
        (folder / f"page-{(index * 7) % len(streams)}-{stream}-{index}.json").write_text(
            _lines(lines)
        )


def _interleaved(streams: Streams) -> list[tuple[str, dict[str, Any]]]:
    """Every record of every stream, streams taken in turn, the last stream first."""
    queues = [(stream, list(records)) for stream, records in reversed(streams)]
    out: list[tuple[str, dict[str, Any]]] = []
    while any(records for _, records in queues):
        for stream, records in queues:
            if records:
                out.append((stream, records.pop(0)))
    return out


def _airbyte(folder: Path, streams: Streams) -> None:
    lines = [
        {"type": "RECORD", "record": {"stream": s, "data": r, "emitted_at": 1700000000000}}
        for s, r in _interleaved(streams)
    ]
    (folder / "airbyte.jsonl").write_text(_lines(lines))


def _singer(folder: Path, streams: Streams) -> None:
    lines: list[dict[str, Any]] = [
        {"type": "SCHEMA", "stream": s, "schema": {}, "key_properties": ["id"]} for s, _ in streams
    ]
    lines += [{"type": "RECORD", "stream": s, "record": r} for s, r in _interleaved(streams)]
    lines.append({"type": "STATE", "value": {}})
    (folder / "singer.jsonl").write_text(_lines(lines))


CONTAINERS: dict[str, Callable[[Path, Streams], None]] = {
    "ndjson": _ndjson,
    "array": _array,
    "wrapped": _wrapped,
    "pages": _pages,
    "airbyte": _airbyte,
    "singer": _singer,
}


def _convert(export: Path, output: Path) -> tuple[int, dict[str, Any], dict[str, Any]]:
    report = output.with_suffix(".report.json")
    result = CliRunner().invoke(
        cli, ["convert", str(export), "-o", str(output), "--report", str(report), "-q"]
    )
    assert result.exit_code in (0, 1), result.output
    conversations = {}
    for line in output.read_text(encoding="utf-8").splitlines():
        conversation = json.loads(line)
        conversations[conversation["source_id"]] = conversation
    return result.exit_code, conversations, json.loads(report.read_text())


@pytest.mark.parametrize("container", sorted(CONTAINERS))
@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_container_and_file_order_gives_the_same_conversations(
    platform: str, container: str, tmp_path: Path
) -> None:
    code, expected, expected_report = _convert(SAMPLES / platform / "export", tmp_path / "a.jsonl")
    assert len(expected) >= 20
    assert sum(len(c["messages"]) for c in expected.values()) > 100
    rewritten = tmp_path / container
    rewritten.mkdir()
    CONTAINERS[container](rewritten, _streams(platform))
    again_code, again, report = _convert(rewritten, tmp_path / "b.jsonl")
    assert report["format"] == platform
    assert again_code == code
    assert sorted(again) == sorted(expected)
    for source_id, conversation in expected.items():
        assert again[source_id] == conversation, source_id
    keys = ("source_conversations", "valid", "invalid", "threads", "attachments")
    assert {k: report[k] for k in keys} == {k: expected_report[k] for k in keys}


@pytest.mark.parametrize("envelope", ["airbyte", "singer"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_validate_recognises_format_and_roles_through_envelopes(
    platform: str, envelope: str, tmp_path: Path
) -> None:
    """One ETL dump of every stream of the sample, streams interleaved: ``validate`` without
    ``--format`` recognises the platform, lists the dump under each role, and reads it all."""
    streams = _streams(platform)
    CONTAINERS[envelope](tmp_path, streams)
    [dump] = list(tmp_path.iterdir())
    with open_export([dump]) as export:
        assert export.format == platform
        assert {
            role: [f.file.name for f in files] for role, files in export.files_by_role.items()
        } == {stream: [str(dump)] for stream, _ in streams}
    report = tmp_path / "report.json"
    expected = json.loads((SAMPLES / platform / "expected-validate.json").read_text())
    result = CliRunner().invoke(cli, ["validate", str(dump), "--report", str(report), "-q"])
    assert result.exit_code in (0, 1), result.output
    written = json.loads(report.read_text())
    assert written["format"] == platform
    keys = ("source_conversations", "valid", "invalid")
    assert {k: written[k] for k in keys} == {k: expected[k] for k in keys}


@pytest.mark.parametrize(
    ("platform", "wrong"),
    [(p, w) for p in PLATFORMS for w in ("canonical", "csv", *PLATFORMS) if w != p],
)
def test_a_wrong_format_is_refused_naming_the_platform(platform: str, wrong: str) -> None:
    export = SAMPLES / platform / "export"
    with pytest.raises(FormatError) as caught:
        open_export([export], wrong)
    message = str(caught.value)
    assert message.startswith(f"--format {wrong} does not fit ")
    assert message.endswith(
        f"it looks like {platform}; run with --format {platform} or leave --format out"
    )
    assert caught.value.exit_code == 2
    result = CliRunner().invoke(cli, ["validate", str(export), "--format", wrong])
    assert result.exit_code == 2
    assert f"run with --format {platform}" in result.output
