"""No reader claims another platform's records: every other platform's real files and samples,
as they are and wrapped in Airbyte and Singer envelopes named like the stream they hold, are
passed over by each reader's ``role_of``; each reader still claims its own records with any one
key missing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from importer.readers.base import READERS, Reader
from importer.readers.containers import iter_json_records
from importer.readers.inputs import list_input_files
from importer.readers.signs import other_platform

ROOT = Path(__file__).resolve().parent.parent.parent
REAL = ROOT / "tests" / "data" / "real"
SAMPLES = ROOT / "samples"
PLATFORMS = ("zendesk", "freshdesk", "intercom", "front", "gorgias", "helpscout")


def _platform_of(path: Path) -> str:
    if path.is_relative_to(SAMPLES):
        return path.relative_to(SAMPLES).parts[0]
    return path.name.split("_", 1)[0]


def _json_files() -> list[Path]:
    real = sorted(REAL.glob("*.json"))
    samples = sorted(
        p for p in SAMPLES.glob("*/export/*") if p.is_file() and p.suffix in (".json", ".jsonl")
    )
    return real + samples


FILES = _json_files()
#: each platform with a reader and every file of another platform
FOREIGN = [
    pytest.param(platform, path, id=f"{platform}-{path.relative_to(ROOT)}")
    for platform in PLATFORMS
    for path in FILES
    if _platform_of(path) != platform
]


def _records(path: Path) -> Iterator[tuple[dict[str, Any], str | None]]:
    for input_file in list_input_files([path]):
        for item in iter_json_records(input_file):
            assert item.data is not None, item.error
            yield item.data, item.stream


def _stream_name(path: Path) -> str:
    """The stream an ETL tool names a file's records (``a-conversations``: ``conversations``)."""
    return re.sub(r"^[a-z]-", "", path.stem)


def _claims(reader: Reader, path: Path) -> dict[str, int]:
    claimed: dict[str, int] = {}
    stream = _stream_name(path)
    for data, own_stream in _records(path):
        for hint in (own_stream, stream):
            role = reader.role_of(data, hint)
            if role is not None:
                claimed[f"{role} (stream {hint})"] = claimed.get(f"{role} (stream {hint})", 0) + 1
    return claimed


def test_every_platform_has_real_files_and_samples_to_check_against() -> None:
    found = {_platform_of(p) for p in FILES}
    assert {*PLATFORMS, "canonical", "front", "gorgias", "zoho", "hubspot"} <= found


@pytest.mark.parametrize(("platform", "path"), FOREIGN)
def test_a_reader_claims_no_record_of_another_platform(platform: str, path: Path) -> None:
    reader = READERS.get(platform)
    assert reader is not None
    assert _claims(reader, path) == {}


@pytest.mark.parametrize(("platform", "path"), FOREIGN)
def test_no_record_is_claimed_through_an_etl_envelope(
    platform: str, path: Path, tmp_path: Path
) -> None:
    """Another platform's records wrapped in Airbyte and Singer lines whose stream is the usual
    name of what they hold (``contacts``, ``conversations``, ``users``...) stay unclaimed."""
    reader = READERS.get(platform)
    assert reader is not None
    stream = _stream_name(path)
    lines = []
    for data, _ in _records(path):
        lines.append(
            {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1}}
        )
        lines.append({"type": "RECORD", "stream": stream, "record": data})
    wrapped = tmp_path / "dump.jsonl"
    wrapped.write_text("".join(json.dumps(line) + "\n" for line in lines))
    seen = list(_records(wrapped))
    assert len(seen) == len(lines)
    assert {s for _, s in seen} == {stream}
    assert [reader.role_of(data, s) for data, s in seen] == [None] * len(lines)


@pytest.mark.parametrize(
    ("record", "platform"),
    [
        # an Intercom conversation with a title looked like a Zendesk ticket field
        ({"type": "conversation", "id": "5", "title": "Refund", "state": "open"}, "intercom"),
        ({"type": "admin", "id": "51", "email": "sam@example.com", "name": "Sam"}, "intercom"),
        ({"id": "51", "email": "sam@example.com", "away_mode_enabled": False}, "intercom"),
        ({"id": 1, "subject": "s", "status": 2, "requester_id": 3}, "freshdesk"),
        (
            {"id": 1, "subject": "s", "custom_fields": {"cf_plan": "Pro"}, "due_by": "2023-05-05"},
            "freshdesk",
        ),
        ({"id": 1, "ticket_id": 2, "body": "<p>x</p>", "incoming": True}, "freshdesk"),
        ({"id": 1, "subject": "s", "via": {"channel": "web"}, "requester_id": 3}, "zendesk"),
        ({"id": 1, "name": "Ann", "email": "a@example.com", "role": "end-user"}, "zendesk"),
        ({"id": 1, "ticket_id": 2, "html_body": "<p>x</p>"}, "zendesk"),
        # Help Scout's conversations: camelCase keys no other platform writes, HAL's _embedded
        ({"id": 1, "subject": "s", "status": "active", "mailboxId": 85}, "helpscout"),
        ({"id": 1, "status": "closed", "_embedded": {"threads": []}}, "helpscout"),
        (
            {"id": 1, "subject": "s", "createdBy": {"id": 5, "type": "customer"}, "folderId": 3},
            "helpscout",
        ),
        # a Front conversation has Intercom's waiting_since, a teammate may say type user
        ({"id": "cnv_1dy3x02m", "subject": "s", "status": "archived", "waiting_since": 1}, "front"),
        ({"id": "tea_2k1", "type": "user", "email": "sam@example.com", "username": "sam"}, "front"),
        ({"id": "msg_2ju5l6zi", "is_inbound": True, "body": "<p>x</p>", "type": "email"}, "front"),
        # a Gorgias message has Freshdesk's body_text
        (
            {"id": 1, "ticket_id": 2, "body_text": "x", "from_agent": False, "public": True},
            "gorgias",
        ),
        (
            {"id": 7, "uri": "/api/tickets/7/", "status": "open", "subject": "s", "spam": False},
            "gorgias",
        ),
    ],
)
def test_plain_signs_of_each_platform(record: dict[str, Any], platform: str) -> None:
    for reader in READERS:
        if reader.info.name in PLATFORMS and reader.info.name != platform:
            assert other_platform(record, reader.info.name) == platform
            for stream in (None, "tickets", "users", "contacts", "conversations", "ticket_fields"):
                assert reader.role_of(record, stream) is None, (reader.info.name, stream)
    own = READERS.get(platform)
    assert own is not None
    assert own.role_of(record, None) is not None
    assert other_platform(record, platform) is None


@pytest.mark.parametrize("platform", PLATFORMS)
def test_own_records_are_claimed_with_any_one_key_missing(platform: str) -> None:
    """No single key is required: each record of the platform's samples and real files, with
    any one key left out and its stream named, keeps its role (a person of Intercom without
    its ``id`` excepted: it cannot be looked up, so it is passed over)."""
    reader = READERS.get(platform)
    assert reader is not None
    paths = [p for p in FILES if _platform_of(p) == platform]
    assert paths
    missed = []
    for path in paths:
        for index, (data, _) in enumerate(_records(path)):
            if index >= 5:
                break
            role = reader.role_of(data, None)
            assert role is not None, (path.name, index)
            for key in data:
                if (
                    platform == "intercom"
                    and key == "id"
                    and role in ("contacts", "admins", "teams")
                ):
                    continue
                rest = {k: v for k, v in data.items() if k != key}
                if reader.role_of(rest, role) != role:
                    missed.append((path.name, index, key))
    assert missed == []


# -- mail (text files, recognised by ``sniff_text``) ------------------------------------------

MAIL_SAMPLE = SAMPLES / "mail" / "export"
OTHER_FILES = sorted(
    p
    for p in [*REAL.glob("*"), *SAMPLES.glob("*/export/**/*")]
    if p.is_file() and not p.is_relative_to(MAIL_SAMPLE)
)


def _head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(4096)


@pytest.mark.parametrize("path", OTHER_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_mail_reader_claims_no_file_of_another_platform(path: Path) -> None:
    from importer.readers import _csv_sniffers
    from importer.readers.detect import detect_file

    mail = READERS.get("mail")
    assert mail is not None
    assert mail.sniff_text(_head(path)) is None
    (input_file,) = list_input_files([path])
    assert detect_file(input_file, _csv_sniffers(None, None)).format != "mail"
    if path.suffix in (".json", ".jsonl"):
        assert all(mail.role_of(data, stream) is None for data, stream in _records(path))


def test_no_other_reader_claims_mail(tmp_path: Path) -> None:
    from importer.readers import _csv_sniffers
    from importer.readers.detect import detect_file

    eml = tmp_path / "message.eml"
    eml.write_bytes(
        b"From: Ann <ann@example.com>\nTo: support@northwind.example\nSubject: a, b, c\n"
        b"Date: Mon, 04 Mar 2024 09:00:00 +0000\nMessage-ID: <1@x>\n\nHello\n"
    )
    paths = [*sorted(p for p in MAIL_SAMPLE.iterdir() if p.is_file()), eml]
    sniffers = _csv_sniffers(None, None)
    for path in paths:
        head = _head(path)
        for reader in READERS:
            if reader.info.name != "mail":
                assert reader.sniff_text(head) is None, reader.info.name
        (input_file,) = list_input_files([path])
        assert detect_file(input_file, sniffers).format == "mail", path.name
