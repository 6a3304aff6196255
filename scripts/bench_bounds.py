"""``make bench``'s worst cases of the read layer: ``importer validate`` on the largest record,
field and archive member the default bounds let through, on what goes over them, and on the
hostile shapes of the issue "Reading that no export can break"; peak RSS summed over validate and
its planning workers (the bound to hold: 500 MB), elapsed time, exit code.

    .venv/bin/python scripts/bench_bounds.py [--record]    # or: scripts/bench.py --only bounds

Each input is written next to the 30 sample conversations (``samples/canonical``), which must
still be read: the row says how many conversations were valid and invalid.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_offline import wait_sampled  # noqa: E402

from importer.readers.limits import (  # noqa: E402
    DEFAULT_MAX_MEMBER_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    MIB,
)

STORE_KEY = "bounds"
SECTION = "## validate: the read layer's worst cases (largest record, field and member)"
SAMPLE = ROOT / "samples" / "canonical" / "export" / "conversations.jsonl"
RSS_SAMPLE_S = 0.1
WORDS = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ".split()
#: just under the record bound: the largest record read
LARGEST = DEFAULT_MAX_RECORD_BYTES - 2 * MIB


def _sample_lines() -> list[str]:
    return SAMPLE.read_text(encoding="utf-8").splitlines()


def _text(size: int) -> str:
    """``size`` characters of words (ASCII), made fast."""
    block = b" ".join(WORDS * 4000).decode()
    return (block * (size // len(block) + 1))[:size]


def _with_body(source_id: str, body: str) -> str:
    record = json.loads(_sample_lines()[0])
    record["source_id"] = source_id
    record["messages"][0]["body_text"] = body
    return json.dumps(record)


def write_largest_record(folder: Path) -> Path:
    path = folder / "largest-record.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.write("\n".join(_sample_lines()) + "\n")
        out.write(_with_body("LARGEST-1", _text(LARGEST)) + "\n")
    return path


def write_record_over_bound(folder: Path) -> Path:
    path = folder / "record-over-bound.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.write("\n".join(_sample_lines()) + "\n")
        out.write(_with_body("OVER-1", _text(300 * MIB)) + "\n")
    return path


def write_largest_field(folder: Path) -> Path:
    export = folder / "largest-field"
    export.mkdir()
    header = (
        "conversation_id,message_id,created_at,author_role,author_email,customer_email,body_text\n"
    )
    rows = [
        f"C{n},m{n},2024-01-0{1 + n % 9} 10:00:00,customer,c{n}@example.com,c{n}@example.com,"
        f"hello {n}\n"
        for n in range(30)
    ]
    with (export / "messages.csv").open("w", encoding="utf-8") as out:
        out.write(header + "".join(rows[:15]))
        out.write(
            "C-BIG,m-big,2024-01-02 10:00:00,customer,big@example.com,big@example.com,"
            f'"{_text(LARGEST)}"\n'
        )
        out.write("".join(rows[15:]))
    return export


def write_largest_member(folder: Path) -> Path:
    """A zip whose one member inflates to just under the member bound: conversations of 1 MiB
    bodies of words (about 1 in 4 compressed, well within the ratio bound)."""
    path = folder / "largest-member.zip"
    body = _text(1 * MIB)
    lines = _sample_lines()
    target = DEFAULT_MAX_MEMBER_BYTES - 16 * MIB
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("export/conversations.jsonl", "w", force_zip64=True) as member,
    ):
        written = 0
        for line in lines:
            data = (line + "\n").encode()
            member.write(data)
            written += len(data)
        n = 0
        while written < target:
            data = (_with_body(f"M-{n}", body[n % 997 :] + body[: n % 997]) + "\n").encode()
            member.write(data)
            written += len(data)
            n += 1
    return path


def write_zip_bomb(folder: Path) -> Path:
    """The issue's shape: good members and one that inflates 1.5 GB from a few MB."""
    path = folder / "zip-bomb.zip"
    lines = _sample_lines()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/a.jsonl", "\n".join(lines[:15]) + "\n")
        with archive.open("export/bomb.jsonl", "w", force_zip64=True) as member:
            zeros = b" " * MIB
            for _ in range(1500):
                member.write(zeros)
        archive.writestr("export/b.jsonl", "\n".join(lines[15:]) + "\n")
    return path


def write_deep_nesting(folder: Path) -> Path:
    path = folder / "deep-nesting.jsonl"
    lines = _sample_lines()
    record = json.loads(lines[5])
    record["tags"] = "TAGS"
    nested = json.dumps(record).replace('"TAGS"', "[" * 5000 + '"vip"' + "]" * 5000)
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text("\n".join([*lines[:3], deep, *lines[3:5], nested, *lines[6:]]) + "\n")
    return path


def write_references_mail(folder: Path) -> Path:
    """An mbox of one ordinary mail and one with 50,000 References and a 1 MB subject."""
    path = folder / "references.mbox"
    refs = " ".join(f"<ref-{n}@mail.example>" for n in range(50_000))
    subject = _text(MIB).replace("\n", " ")
    mails = [
        "From a@customer.example Mon Jan  1 10:00:00 2024\n"
        "From: Ann <a@customer.example>\nTo: help@team.example\nSubject: Hello\n"
        "Date: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <first@mail.example>\n\nHello.\n",
        "From b@customer.example Mon Jan  1 11:00:00 2024\n"
        f"From: Bob <b@customer.example>\nTo: help@team.example\nSubject: {subject}\n"
        "Date: Mon, 1 Jan 2024 11:00:00 +0000\nMessage-ID: <second@mail.example>\n"
        f"References: {refs}\n\nA long thread.\n",
    ]
    path.write_text("\n".join(mails), encoding="utf-8")
    return path


CASES: tuple[tuple[str, Callable[[Path], Path], list[str]], ...] = (
    ("largest record: a 62 MiB canonical line", write_largest_record, []),
    ("record over the bound: a 300 MiB line", write_record_over_bound, []),
    ("largest field: a 62 MiB CSV body", write_largest_field, ["--format", "csv"]),
    ("largest member: a zip member of 2 GiB less 16 MiB", write_largest_member, []),
    ("zip bomb: 1.5 GB member of a few MB beside good ones", write_zip_bomb, []),
    ("deep nesting: 100,000 arrays and tags 5,000 deep", write_deep_nesting, []),
    ("a mail of 50,000 References and a 1 MB subject", write_references_mail, []),
)


def _validate(path: Path, extra: list[str], report: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "importer", "validate", str(path), "--report", str(report)]
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, *extra], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    status, usage, peak_tree = wait_sampled(process, RSS_SAMPLE_S)
    figures: dict[str, Any] = {
        "elapsed_s": round(time.monotonic() - started, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_tree_mb": round(peak_tree, 1),
        "exit_code": os.waitstatus_to_exitcode(status),
    }
    if report.exists():
        data = json.loads(report.read_text(encoding="utf-8"))
        figures.update({key: data.get(key) for key in ("source_conversations", "valid", "invalid")})
    return figures


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def bench_all(work: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "load_average": round(os.getloadavg()[0], 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "rows": [],
    }
    for name, write, extra in CASES:
        started = time.monotonic()
        path = write(work)
        written = time.monotonic() - started
        row = {"input": name, "input_mb": round(_size(path) / 1e6, 1), "options": extra}
        row.update(_validate(path, extra, work / "report.json"))
        print(f"{name} (written in {written:.0f} s): {row}", flush=True)
        figures["rows"].append(row)
        if path.is_dir():
            for file in path.rglob("*"):
                file.unlink()
            path.rmdir()
        else:
            path.unlink()
    return figures


def markdown(f: dict[str, Any]) -> list[str]:
    lines = [
        SECTION,
        "",
        f"Measured on {f['measured_at']} (load average {f['load_average']} when it started), "
        f"{f['machine']}: `importer validate INPUT` at the default bounds "
        "(`--max-record-bytes` 64 MiB, `--max-member-bytes` 2 GiB, `--max-zip-ratio` 200, "
        "nesting 512) and the default `--jobs`, each input beside the 30 sample conversations. "
        "Peak RSS: the highest sum of the resident memory of validate and all its planning "
        "workers, sampled every 0.1 s. The bound to hold: 500 MB.",
        "",
        "| input | size | options | elapsed | CPU | peak RSS, all processes | conversations "
        "(valid / invalid) | exit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in f["rows"]:
        options = f"`{' '.join(row['options'])}`" if row["options"] else "-"
        read = f"{row.get('source_conversations')} ({row.get('valid')} / {row.get('invalid')})"
        lines.append(
            f"| {row['input']} | {row['input_mb']} MB | {options} | {row['elapsed_s']} s | "
            f"{row['cpu_s']} s | {row['peak_rss_tree_mb']} MB | {read} | {row['exit_code']} |"
        )
    return [*lines, ""]


def known() -> dict[str, Any] | None:
    from bench_side_by_side import known_section  # scripts/ is on sys.path with bench.py

    return known_section(STORE_KEY)


def record(figures: dict[str, Any] | None) -> None:
    """Store ``figures`` in benchmarks.json and put their section in BENCHMARKS.md."""
    from bench_side_by_side import record_section

    if figures and "rows" in figures:
        record_section(STORE_KEY, SECTION, figures, markdown(figures))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--record", action="store_true", help="write BENCHMARKS.md too")
    parser.add_argument("--case", help="only the cases whose name holds this text")
    args = parser.parse_args()
    global CASES
    if args.case:
        CASES = tuple(case for case in CASES if args.case in case[0])
    with tempfile.TemporaryDirectory(prefix="importer-bench-bounds-") as tmp:
        figures = bench_all(Path(tmp))
    print("\n".join(markdown(figures)))
    if args.record and not args.case:
        record(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
