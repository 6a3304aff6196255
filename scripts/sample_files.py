"""Give the platform samples attachments by URL, as real exports have, served by ``make demo``.

Run after the samples' own scripts (``scripts/make_samples.py`` does): it writes a few small
files under ``samples/<platform>/files/`` and names them, by URL, in some public messages of
``samples/zendesk``, ``samples/freshdesk`` and ``samples/intercom`` (comment ``attachments`` with
``content_url``, conversation ``attachments`` with ``attachment_url``, part ``attachments``
with ``url``). ``make demo`` serves ``samples/`` on ``http://127.0.0.1:8766`` while it imports,
as the old help desk's file host would. Only the lines that gain a file change, byte for byte
(the Zendesk sample's odd encodings stay as they are); running it twice changes nothing more.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent / "samples"
FILES_HOST = "http://127.0.0.1:8766"
EMPTY = b'"attachments": []'
EVERY = 11  # one message in EVERY (by id) gains a file


def _png() -> bytes:
    """A valid 2x2 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\x00\xff" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _files(platform: str, number: int) -> tuple[str, str, bytes]:
    """The file message ``number`` carries: name, content type, bytes."""
    kind = number % 3
    if kind == 0:
        text = f"%PDF-1.4\n% {platform} invoice {number}\n%%EOF\n"
        return f"invoice-{number}.pdf", "application/pdf", text.encode()
    if kind == 1:
        return f"screenshot-{number}.png", "image/png", _png()
    rows = "order,amount\n" + "".join(f"{number}-{i},{i * 7}.50\n" for i in range(5))
    return f"orders-{number}.csv", "text/csv", rows.encode()


def _write_file(platform: str, number: int) -> tuple[str, str, int, str]:
    name, content_type, data = _files(platform, number)
    folder = ROOT / platform / "files"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return name, content_type, len(data), f"{FILES_HOST}/{platform}/files/{name}"


def _zendesk(record: dict[str, Any]) -> list[dict[str, Any]] | None:
    if record.get("public") is not True or int(record.get("id", 0)) % EVERY != 3:
        return None
    name, content_type, size, url = _write_file("zendesk", int(record["id"]))
    return [
        {
            "id": int(record["id"]) * 10,
            "file_name": name,
            "content_url": url,
            "content_type": content_type,
            "size": size,
            "inline": False,
        }
    ]


def _freshdesk(record: dict[str, Any]) -> list[dict[str, Any]] | None:
    data = record.get("data", record)
    if data.get("private") or int(float(data.get("id", 0))) % EVERY != 3:
        return None
    number = int(float(data["id"]))
    name, content_type, size, url = _write_file("freshdesk", number)
    return [
        {
            "id": number * 10,
            "name": name,
            "attachment_url": url,
            "content_type": content_type,
            "size": size,
        }
    ]


def _rewrite_lines(path: Path, attach: Callable[[dict[str, Any]], list[Any] | None]) -> int:
    """Give files to the records of an NDJSON file whose line has one empty list of them."""
    changed = 0
    lines = path.read_bytes().splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.count(EMPTY) != 1:
            continue
        record = json.loads(line.decode("utf-8", errors="replace"))
        files = attach(record)
        if files is None:
            continue
        given = b'"attachments": ' + json.dumps(files, ensure_ascii=False).encode("utf-8")
        lines[index] = line.replace(EMPTY, given)
        changed += 1
    path.write_bytes(b"".join(lines))
    return changed


def _intercom(path: Path) -> int:
    """Give files to some comment parts of the Intercom conversations (one per line)."""
    changed = 0
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        conversation = json.loads(line)
        parts = (conversation.get("conversation_parts") or {}).get("conversation_parts") or []
        for part in parts:
            number = int(part.get("id", 0))
            if part.get("part_type") != "comment" or part.get("attachments") or number % EVERY != 3:
                continue
            if (part.get("author") or {}).get("type") not in ("user", "lead", "contact", "admin"):
                continue
            name, content_type, size, url = _write_file("intercom", number)
            part["attachments"] = [
                {
                    "type": "upload",
                    "name": name,
                    "url": url,
                    "content_type": content_type,
                    "filesize": size,
                }
            ]
            changed += 1
        out.append(json.dumps(conversation, ensure_ascii=False))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return changed


def main() -> None:
    zendesk = _rewrite_lines(ROOT / "zendesk/export/ticket_comments.json", _zendesk)
    freshdesk = _rewrite_lines(ROOT / "freshdesk/export/b-conversations.jsonl", _freshdesk)
    intercom = _intercom(ROOT / "intercom/export/conversations.jsonl")
    print(f"URL attachments added: zendesk {zendesk}, freshdesk {freshdesk}, intercom {intercom}")


if __name__ == "__main__":
    main()
