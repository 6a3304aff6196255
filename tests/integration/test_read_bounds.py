"""The read layer's bounds through the real CLI: what goes over a bound is one invalid record (or
one skipped archive member) named in the report, and everything around it is read as before."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from importer.cli import cli

ROOT = Path(__file__).resolve().parents[2]
CANONICAL = ROOT / "samples" / "canonical" / "export" / "conversations.jsonl"


def _lines() -> list[str]:
    return CANONICAL.read_text(encoding="utf-8").splitlines()


def _validate(*args: str, report: Path) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(
        cli, ["validate", *args, "--report", str(report), "--no-progress"], catch_exceptions=False
    )
    return result.exit_code, json.loads(report.read_text(encoding="utf-8")), result.output


def _read_ids(report: dict[str, Any]) -> None:
    assert report["source_conversations"] == report["valid"] + report["invalid"]


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("given_format", [True, False])
def test_deep_nesting_is_one_invalid_record_each(
    tmp_path: Path, jobs: str, given_format: bool
) -> None:
    lines = _lines()
    deep_tags = json.loads(lines[5])
    deep_tags["tags"] = "TAGS"
    nested_tags = json.dumps(deep_tags).replace('"TAGS"', "[" * 5000 + '"vip"' + "]" * 5000)
    damaged = [*lines[:3], "[" * 100_000 + "]" * 100_000, *lines[3:5], nested_tags, *lines[6:]]
    export = tmp_path / "conversations.jsonl"
    export.write_text("\n".join(damaged) + "\n", encoding="utf-8")
    args = [str(export), "--jobs", jobs] + (["--format", "canonical"] if given_format else [])
    code, report, _ = _validate(*args, report=tmp_path / "r.json")
    assert code == 1
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (31, 29, 2)
    locations = sorted(error["location"] for error in report["errors"])
    assert locations == [f"{export}:4", f"{export}:7"]
    assert all("more than 512 deep" in error["message"] for error in report["errors"])


def test_a_line_over_the_record_bound_is_refused_and_the_rest_read(tmp_path: Path) -> None:
    lines = _lines()
    big = json.loads(lines[2])
    big["messages"][0]["body_text"] = "x" * 300_000
    export = tmp_path / "conversations.jsonl"
    export.write_text("\n".join([*lines[:2], json.dumps(big), *lines[3:]]) + "\n")
    code, report, _ = _validate(
        str(export), "--max-record-bytes", "100000", "--jobs", "1", report=tmp_path / "r.json"
    )
    assert code == 1
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (30, 29, 1)
    [error] = report["errors"]
    assert error["location"] == f"{export}:3"
    assert "over --max-record-bytes 100000" in error["message"]


def test_a_pretty_printed_array_resumes_after_a_broken_record(tmp_path: Path) -> None:
    records = [json.loads(line) for line in _lines()]
    text = json.dumps(records, indent=2, ensure_ascii=False)
    subject = records[4]["subject"]
    broken = text.replace(f'"{subject}"', f'"{subject}', 1)  # a quote left open
    export = tmp_path / "conversations.json"
    export.write_text(broken, encoding="utf-8")
    code, report, _ = _validate(str(export), "--format", "canonical", report=tmp_path / "r.json")
    assert code == 1
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (30, 29, 1)
    [error] = report["errors"]
    assert "reading goes on at line" in error["message"]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_zip_bomb_member_is_skipped_by_name_and_the_rest_read(tmp_path: Path) -> None:
    lines = _lines()
    archive = _zip(
        tmp_path / "export.zip",
        {
            "a/first.jsonl": ("\n".join(lines[:15]) + "\n").encode(),
            "a/bomb.jsonl": b"\n" * (40 << 20),  # 40 MiB of line breaks: about 1000 to 1
            "a/second.jsonl": ("\n".join(lines[15:]) + "\n").encode(),
        },
    )
    code, report, output = _validate(str(archive), "--format", "canonical", report=tmp_path / "r")
    assert code == 1
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (31, 30, 1)
    [error] = report["errors"]
    assert error["location"] == f"{archive}!a/bomb.jsonl"
    assert error["code"] == "member_over_bound"
    assert "--max-zip-ratio 200" in error["message"]
    assert "a/bomb.jsonl" in output  # said as it happens, not only in the report


def test_a_member_over_the_member_bound_is_skipped(tmp_path: Path) -> None:
    lines = _lines()
    archive = _zip(
        tmp_path / "export.zip",
        {"big.jsonl": ("\n".join(lines[:20]) + "\n").encode(), "small.jsonl": lines[20].encode()},
    )
    code, report, _ = _validate(
        str(archive), "--max-member-bytes", "5000", "--jobs", "1", report=tmp_path / "r.json"
    )
    assert code == 1
    assert (report["valid"], report["invalid"]) == (1, 1)
    assert "over --max-member-bytes 5000" in report["errors"][0]["message"]


def test_an_archive_of_nothing_but_bombs_is_refused_naming_them(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "export.zip", {"bomb.jsonl": b" " * (8 << 20)})
    result = CliRunner().invoke(cli, ["validate", str(archive)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "bomb.jsonl" in result.output
    assert "--max-zip-ratio" in result.output


def test_bounds_are_options_of_every_reading_command() -> None:
    for command in ("validate", "convert", "plan", "run", "verify", "fetch-attachments"):
        result = CliRunner().invoke(cli, [command, "--help"])
        for option in ("--max-record-bytes", "--max-member-bytes", "--max-zip-ratio"):
            assert option in result.output, (command, option)


@pytest.mark.parametrize(
    "moment", ["1e300", "-1e300", '"0000-01-01T00:00:00Z"', "NaN", "Infinity", '"-0001-12-31"']
)
def test_absurd_times_are_invalid_with_their_place(tmp_path: Path, moment: str) -> None:
    lines = _lines()
    record = json.loads(lines[7])
    record["messages"][0]["created_at"] = "MOMENT"
    text = json.dumps(record).replace('"MOMENT"', moment)  # the JSON text as written
    export = tmp_path / "conversations.jsonl"
    export.write_text("\n".join([*lines[:7], text, *lines[8:]]) + "\n", encoding="utf-8")
    code, report, _ = _validate(str(export), "--jobs", "1", report=tmp_path / "r.json")
    assert code == 1
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (30, 29, 1)
    [error] = report["errors"]
    assert error["source_id"] == record["source_id"]
    assert error["location"].startswith(f"{export}:8")


def test_files_no_reader_reads_are_named_never_lost(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "conversations.jsonl").write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    (export / "settings.json").write_text(json.dumps({"theme": "dark", "id": 7}))  # no reader's
    broken = "\n".join('{"source_id": "lost-' + str(n) + '", "messages": [' for n in range(25))
    (export / "more.jsonl").write_text(broken + "\n", encoding="utf-8")
    (export / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))  # an attachment
    code, report, _ = _validate(str(export), "--jobs", "1", report=tmp_path / "r.json")
    assert code == 1
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (31, 30, 1)
    [error] = report["errors"]
    assert error["code"] == "unreadable_file"
    assert error["location"] == f"{export / 'more.jsonl'}:1"
    passed_over = [w for w in report["warnings"] if w["code"] == "unused_records"]
    assert [w["location"] for w in passed_over] == [f"{export / 'settings.json'}:1"]
    assert not any("logo.png" in str(w) for w in report["warnings"])


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_times_past_what_a_datetime_holds_are_invalid_records_not_a_crash(
    tmp_path: Path, jobs: str
) -> None:
    """A zone of +25:00, year 1 east of UTC: datetime raised ValueError and OverflowError out of
    the planner's safety net (an invalid record's creation time is read again) and validate
    crashed. Now each is one invalid record, the others read as before."""
    lines = _lines()
    records = [json.loads(line) for line in lines[:4]]
    records[1]["created_at"] = "2024-01-01T00:00:00+25:00"
    records[2]["messages"][0]["created_at"] = "0001-01-01T00:00:00+23:59"
    records[2].pop("created_at", None)
    export = tmp_path / "conversations.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    code, report, _ = _validate(str(export), "--jobs", jobs, report=tmp_path / "r.json")
    assert code == 1
    assert (report["source_conversations"], report["valid"], report["invalid"]) == (4, 2, 2)
    by_place = {error["location"]: error["message"] for error in report["errors"]}
    assert "no real time zone" in by_place[f"{export}:2"]
    assert "out of range" in by_place[f"{export}:3"]


def _converted(lines: list[str], folder: Path, jobs: str) -> Path:
    """``lines`` converted by the CLI (exit 0): the converted file."""
    export, output = folder / "conversations.jsonl", folder / "out.jsonl"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["convert", str(export), "-o", str(output), "--jobs", jobs, "--no-progress", "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return output


def _nested(depth: int) -> Any:
    value: Any = {"leaf": "vip"}
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("depth", [260, 500])
def test_a_record_nested_within_the_bound_converts_whole(
    tmp_path: Path, jobs: str, depth: int
) -> None:
    """Past orjson's and pydantic's bounds of writing (about 254 deep) and within the read bound
    (512): the record is valid, and convert writes it with its field as it was."""
    lines = _lines()
    deep = json.loads(lines[2])
    deep["custom_fields"] = {"deep": _nested(depth - 3)}  # the line: record, fields, list...
    lines[2] = json.dumps(deep)
    output = _converted(lines, tmp_path, jobs)
    written = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(written) == len(lines)
    [converted] = [record for record in written if record["source_id"] == deep["source_id"]]
    assert converted["custom_fields"] == deep["custom_fields"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_record_convert_cannot_write_is_its_own_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    """Whatever writing one canonical line raises (in the main process or a worker) is that
    conversation's failure (invalid, the reason named), never the command's: the others are
    written."""
    from importer.commands import validate
    from importer.planning import pool

    lines = _lines()
    export = tmp_path / "conversations.jsonl"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    victim = json.loads(lines[4])["source_id"]
    real = pool.canonical_output

    def failing(record: dict[str, Any], *args: Any) -> dict[str, Any]:
        if record.get("source_id") == victim:
            raise ValueError("Maximum serialization depth exceeded")
        return real(record, *args)

    monkeypatch.setattr(pool, "canonical_output", failing)
    monkeypatch.setattr(validate, "canonical_output", failing)
    output, report = tmp_path / "out.jsonl", tmp_path / "r.json"
    result = CliRunner().invoke(
        cli,
        [
            "convert",
            str(export),
            "-o",
            str(output),
            "--jobs",
            jobs,
            "--no-progress",
            "-q",
            "--report",
            str(report),
        ],
        catch_exceptions=False,
    )
    written = json.loads(report.read_text(encoding="utf-8"))
    assert result.exit_code == 1, result.output
    assert (written["invalid"], written["valid"]) == (1, len(lines) - 1)
    [error] = written["errors"]
    assert error["source_id"] == victim
    assert "writing the canonical record" in error["message"]
    assert len(output.read_text(encoding="utf-8").splitlines()) == len(lines) - 1


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"{name} is not JSON")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_convert_writes_strict_utf8_json_whatever_the_field_holds(
    tmp_path: Path, jobs: str
) -> None:
    """NaN, infinities and a lone surrogate, which Python's json reads, become null and an
    escape in the converted line, shallow or nested past pydantic's bound of writing."""
    lines = _lines()
    odd = json.loads(lines[2])
    odd["custom_fields"] = {"deep": _nested(300)}
    text = json.dumps(odd).replace(
        '"custom_fields": {', '"custom_fields": {"score": NaN, "big": 1e400, "s": "\\ud800x", ', 1
    )
    text = text.replace('{"leaf": "vip"}', '{"leaf": -Infinity}')
    lines[2] = text
    output = _converted(lines, tmp_path, jobs)
    written = [
        json.loads(line, parse_constant=_reject_constant)
        for line in output.read_bytes().decode("utf-8").splitlines()
    ]
    assert len(written) == len(lines)
    [converted] = [record for record in written if record["source_id"] == odd["source_id"]]
    fields = converted["custom_fields"]
    assert (fields["score"], fields["big"], fields["s"]) == (None, None, "\ud800x")
    leaf = fields["deep"]
    for _ in range(300):
        [leaf] = leaf
    assert leaf == {"leaf": None}
