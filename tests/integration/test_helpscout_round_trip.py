"""Help Scout into Help Scout through the sandbox: import the canonical sample into mailbox 85,
dump mailbox 85 with the sandbox's read endpoints as a user would (pages of ``GET
/v2/conversations?embed=threads`` saved as they came), import the dump with the real CLI into
mailbox 86, and check that every message arrived there once: same conversations, threads in the
same order with the same texts, types, authors and times.

A conversation the sample holds in more than 100 messages arrives in mailbox 85 split in parts
(subjects `` (part i/k)``); the API returns the parts as separate conversations, so the dump
holds them separately and each part becomes a conversation of its own in mailbox 86, subject
unchanged.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import ROOT, run_importer

SAMPLE = ROOT / "samples" / "canonical" / "export"
AGENTS = ("priya@northwind.example", "sam@northwind.example")


def _token(url: str) -> str:
    body = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox"}
    ).encode()
    with urllib.request.urlopen(f"{url}/v2/oauth2/token", data=body, timeout=10) as answer:
        token: str = json.load(answer)["access_token"]
    return token


def dump_mailbox(url: str, mailbox: int, folder: Path) -> list[Path]:
    """Every conversation of ``mailbox``, page by page, each page saved as it came."""
    folder.mkdir(parents=True, exist_ok=True)
    headers = {"Authorization": f"Bearer {_token(url)}"}
    pages: list[Path] = []
    page = 1
    while True:
        query = urllib.parse.urlencode(
            {"mailbox": mailbox, "status": "all", "embed": "threads", "page": page}
        )
        request = urllib.request.Request(f"{url}/v2/conversations?{query}", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
        path = folder / f"conversations-page-{page}.json"
        path.write_bytes(raw)
        pages.append(path)
        body = json.loads(raw)
        if page >= body["page"]["totalPages"]:
            return pages
        page += 1


def _conversations(pages: list[Path]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in pages:
        found += json.loads(path.read_text())["_embedded"]["conversations"]
    return found


def _person(person: dict[str, Any] | None) -> tuple[Any, ...]:
    person = person or {}
    return (person.get("type"), person.get("email"))


def _signature(conversation: dict[str, Any]) -> tuple[Any, ...]:
    """What must be the same in both mailboxes: everything but ids, numbers and stamps of the
    API; threads in the API's order (newest first)."""
    threads = tuple(
        (
            t["type"],
            t["body"],
            t["createdAt"],
            _person(t.get("createdBy")),
            (t.get("customer") or {}).get("email"),
            tuple(a["filename"] for a in t["_embedded"]["attachments"]),
        )
        for t in conversation["_embedded"]["threads"]
    )
    return (
        conversation["subject"],
        conversation["type"],
        conversation["status"],
        conversation["createdAt"],
        conversation["closedAt"],
        conversation["primaryCustomer"]["email"],
        tuple(sorted(tag["tag"] for tag in conversation["tags"])),
        threads,
    )


def _run(export: Path, url: str, mailbox: int, work: Path, *extra: str) -> dict[str, Any]:
    report = work / f"report-{mailbox}.json"
    result = run_importer(
        [
            "run",
            str(export),
            "--mailbox",
            str(mailbox),
            "--api-url",
            url,
            "--checkpoint",
            str(work / f"checkpoint-{mailbox}.sqlite"),
            "--report",
            str(report),
            "--no-progress",
            "--rate-limit",
            "100000",
            *extra,
        ]
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(report.read_text())
    return loaded


def test_a_mailbox_dumped_through_the_api_imports_into_another_message_for_message(
    tmp_path: Path,
) -> None:
    config = SandboxConfig(mailboxes=[85, 86], users=list(AGENTS))
    with running_sandbox(config) as sandbox:
        first = _run(SAMPLE, sandbox.url, 85, tmp_path)
        assert first["imported"] == 30
        assert first["split_conversations"] == 1

        dump = dump_mailbox(sandbox.url, 85, tmp_path / "dump")
        source = _conversations(dump)
        created = first["created_conversations"]
        assert len(source) == created > 30  # the parts of the split conversation are apart
        assert sum(len(c["_embedded"]["threads"]) for c in source) == first["threads"]

        second = _run(tmp_path / "dump", sandbox.url, 86, tmp_path, "--format", "helpscout")
        assert second["format"] == "helpscout"
        assert (second["source_conversations"], second["imported"]) == (created, created)
        assert second["split_conversations"] == 0
        assert second["threads"] == first["threads"]
        assert second["errors"] == []

        copied = _conversations(dump_mailbox(sandbox.url, 86, tmp_path / "copy"))
        assert {c["mailboxId"] for c in copied} == {86}
        assert Counter(map(_signature, copied)) == Counter(map(_signature, source))
        assert {_person(t["createdBy"])[1] for c in copied for t in c["_embedded"]["threads"]} >= (
            set(AGENTS)
        )

        # the same dump again, recognised without --format: nothing is imported twice
        again = _run(tmp_path / "dump", sandbox.url, 86, tmp_path)
        assert (again["format"], again["already_imported"], again["imported"]) == (
            "helpscout",
            created,
            0,
        )
        assert len(_conversations(dump_mailbox(sandbox.url, 86, tmp_path / "again"))) == created
