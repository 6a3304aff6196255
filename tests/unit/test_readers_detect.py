"""Format recognition from content, on the real samples and on small exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from importer.errors import FormatError, InputError, UsageError
from importer.mappings import load_mapping
from importer.readers import FORMATS, open_export
from importer.readers.csv.mapping import csv_columns
from importer.readers.detect import file_kind
from importer.readers.inputs import list_input_files

REAL = Path(__file__).resolve().parent.parent / "data" / "real"
CSV_EXPORT = Path(__file__).resolve().parent.parent / "data" / "readers" / "csv_export"


@pytest.mark.parametrize(
    ("sample", "kind"),
    [
        ("zendesk_nango_incremental_tickets.json", "zendesk"),
        ("zendesk_nango_ticket_comments.json", "zendesk"),
        ("freshdesk_python-freshdesk_ticket_1.json", "freshdesk"),
        ("intercom_nango_conversation_5.json", "intercom"),
        ("gorgias_nango_ticket_153006867.json", "gorgias"),
        ("front_nango_conversation_messages.json", "front"),
        ("zoho_desk_nango_ticket_and_threads.json", "zoho"),
        ("hubspot_nango_crm_tickets.json", "hubspot"),
        ("README.md", None),
        ("LICENSE-ELv2.txt", None),
    ],
)
def test_real_samples_are_recognised(sample: str, kind: str | None) -> None:
    [input_file] = list_input_files([REAL / sample])
    assert file_kind(input_file, csv_columns(load_mapping("csv"))) == kind


@pytest.mark.parametrize(
    ("sample", "platform", "role", "messages"),
    [
        ("zendesk_nango_incremental_tickets.json", "zendesk", "tickets", [1, 1, 1, 1]),
        ("freshdesk_python-freshdesk_ticket_1.json", "freshdesk", "tickets", [1]),
        ("intercom_nango_conversation_5.json", "intercom", "conversations", [3]),
        ("gorgias_nango_ticket_153006867.json", "gorgias", "tickets", [6]),
        ("front_nango_conversation_messages.json", "front", "conversation_messages", [2]),
    ],
)
def test_real_platform_samples_are_recognised_and_read(
    sample: str, platform: str, role: str, messages: list[int]
) -> None:
    """Each platform's real file, given alone, is recognised as its platform, in its main role,
    and every conversation in it is read (none invalid)."""
    assert FORMATS[platform].available
    with open_export([REAL / sample]) as export:
        assert export.format == platform
        assert {r: [f.file.name for f in fs] for r, fs in export.files_by_role.items()} == {
            role: [str(REAL / sample)]
        }
        records = list(export.records())
    assert [r.error for r in records] == [None] * len(messages)
    assert [len(r.data["messages"]) for r in records if r.data is not None] == messages


def test_both_zendesk_files_make_one_zendesk_export(tmp_path: Path) -> None:
    """The tickets page and the comment pages keyed by request path are one Zendesk export:
    each file in its role, the comments joined to their tickets by the path's ticket id."""
    for name in ("zendesk_nango_incremental_tickets.json", "zendesk_nango_ticket_comments.json"):
        shutil.copy(REAL / name, tmp_path / name)
    with open_export([tmp_path]) as export:
        assert export.format == "zendesk"
        roles = {r: [Path(f.file.name).name for f in fs] for r, fs in export.files_by_role.items()}
        assert roles == {
            "tickets": ["zendesk_nango_incremental_tickets.json"],
            "comments": ["zendesk_nango_ticket_comments.json"],
        }
        records = list(export.records())
    counts = {r.source_id: len(r.data["messages"]) for r in records if r.data is not None}
    assert counts == {"1": 4, "2": 1, "3": 1, "4": 3}
    assert all(r.error is None for r in records)


@pytest.mark.parametrize(
    ("sample", "platform"),
    [
        ("zoho_desk_nango_ticket_and_threads.json", "Zoho Desk"),
        ("hubspot_nango_crm_tickets.json", "HubSpot"),
    ],
)
def test_platforms_without_a_reader_are_refused_by_name(sample: str, platform: str) -> None:
    with pytest.raises(FormatError) as caught:
        open_export([REAL / sample])
    message = str(caught.value)
    assert message.startswith(f"{REAL / sample} looks like a {platform} export")
    assert "convert it to canonical JSONL" in message


def test_given_format_that_does_not_fit_names_the_likely_one() -> None:
    sample = REAL / "zendesk_nango_incremental_tickets.json"
    with pytest.raises(FormatError) as caught:
        open_export([sample], "csv")
    assert str(caught.value) == (
        f"--format csv does not fit {sample}: it looks like zendesk; "
        "run with --format zendesk or leave --format out"
    )
    assert caught.value.exit_code == 2


def test_csv_export_given_as_canonical_is_refused() -> None:
    with pytest.raises(FormatError, match=r"--format canonical does not fit .*it looks like csv"):
        open_export([CSV_EXPORT], "canonical")


def test_csv_and_canonical_are_recognised(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"  # the extension says nothing
    record = {"source_id": "1", "customer": {}, "messages": []}
    path.write_text(json.dumps(record) + "\n")
    with open_export([path]) as export:
        assert export.format == "canonical"
    with open_export([CSV_EXPORT]) as export:
        assert export.format == "csv"
        assert sorted(Path(name).name for name in export.files) == [
            "conversations.csv",
            "messages.csv",
        ]


def test_unrecognisable_content_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mystery.json"
    path.write_text('{"hello": "world"}\n')
    with pytest.raises(FormatError) as caught:
        open_export([path])
    assert f"cannot recognise the format of {path}" in str(caught.value)
    assert "--format" in str(caught.value)


def test_mixed_formats_are_refused(tmp_path: Path) -> None:
    shutil.copytree(CSV_EXPORT, tmp_path / "export")
    record = {"source_id": "1", "customer": {}, "messages": []}
    (tmp_path / "export" / "more.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(FormatError, match="mixes formats"):
        open_export([tmp_path / "export"])


def test_explicit_canonical_file_is_trusted_even_when_its_first_lines_are_broken(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"source_id": "1", "messages": [\n')
    with pytest.raises(FormatError):
        open_export([path])
    with open_export([path], "canonical") as export:
        [record] = list(export.records())
    assert record.error is not None


def test_unknown_format_name_and_missing_input() -> None:
    with pytest.raises(UsageError, match="unknown format 'xml'"):
        open_export([CSV_EXPORT], "xml")
    with pytest.raises(InputError, match="input not found"):
        open_export([CSV_EXPORT / "nope"])
