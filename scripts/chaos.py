"""``make chaos``: SIGKILL ``importer run`` at random moments against a faulty sandbox, resume,
and check that nothing was lost and nothing was made twice.

The sandbox runs as its own process (``importer sandbox --db FILE``) with every fault kind on
(``error500``, ``drop``, ``reset``, ``slow``, ``throttle``, a few percent each), a short token
lifetime and a search lag. ``importer run`` (the real CLI, a child process) imports a generated
canonical export into it and is killed with SIGKILL ``CHAOS_KILLS`` times (default 20) at random
moments drawn from ``CHAOS_SEED``; each time the same command is started again and resumes. Then
it runs to completion, the sandbox is stopped, and its SQLite store is read:

- every source conversation exists exactly once, with all its parts (subjects `` (part i/k)``)
  and all its messages;
- no customer was created twice (the export has customers without email, each with several
  conversations, which the importer creates through ``POST /v2/customers``), and every
  conversation belongs to its own customer;
- no file was stored twice (small files inline, large ones uploaded after creation), none lost;
- the final report's accounting adds up, with nothing invalid or failed.

One summary line on success; exit 1 and what is wrong otherwise. Every request goes to
127.0.0.1; the whole is bounded by ``CHAOS_TIME_LIMIT`` seconds (default 900).

    .venv/bin/python scripts/chaos.py [--kills N] [--seed N] [--conversations N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"sandbox listening on (http://\S+)")
MAILBOX = 85
#: threads of one part (Help Scout's limit): a longer conversation is split
PART_THREADS = 100
FAULTS = {"error500": 0.02, "drop": 0.02, "reset": 0.02, "slow": 0.02, "throttle": 0.02}


class ChaosFailure(Exception):
    """What the chaos run found wrong."""


@dataclass
class Settings:
    kills: int = 20
    seed: int = 20261202
    conversations: int = 500
    #: seconds after a start at which the kill may land
    kill_after: tuple[float, float] = (1.5, 5.0)
    rate_limit: int = 2400
    workers: int = 8
    time_limit: float = 900.0
    token_ttl: float = 4.0
    search_lag: float = 0.5
    reconcile_wait: float = 1.5
    final_runs: int = 3
    keep: Path | None = None


@dataclass
class Expected:
    """What the export must become in Help Scout."""

    subjects: Counter[str] = field(default_factory=Counter)
    #: subject of the first part -> number of messages of the conversation
    messages: dict[str, int] = field(default_factory=dict)
    #: subject of the first part -> the customer's email, or ``phone:...`` without one
    customer: dict[str, str] = field(default_factory=dict)
    files: Counter[str] = field(default_factory=Counter)
    uploaded_files: int = 0
    phone_customers: int = 0


def write_export(path: Path, count: int, rng: random.Random) -> Expected:
    """``count`` canonical conversations: mostly 2-5 messages; one in 25 has 150-260 messages
    (2-3 parts); one in 8 belongs to one of a few customers without email; one in 10 carries
    small files (inline) and one in 30 a file too large for the request budget (uploaded after
    creation)."""
    expected = Expected()
    start = datetime(2023, 3, 1, tzinfo=UTC)
    phones: set[str] = set()
    files_dir = path.parent / "files"
    files_dir.mkdir(exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            size = rng.randint(150, 260) if index % 25 == 7 else rng.randint(2, 5)
            moment = start + timedelta(hours=index)
            subject = f"Chaos conversation {index}"
            if index % 8 == 3:
                k = rng.randrange(6)
                customer: dict[str, Any] = {
                    "id": f"nomail-{k}",
                    "first_name": f"Caller {k}",
                    "phone": f"+1 555 02{k:02d}",
                }
                phones.add(customer["phone"])
                expected.customer[subject] = f"phone:{customer['phone']}"
            else:
                email = f"chaos{index % 50}@example.com"
                customer = {"id": f"c{index % 50}", "email": email, "first_name": "Chaos"}
                expected.customer[subject] = email
            messages = []
            for n in range(size):
                message: dict[str, Any] = {
                    "created_at": (moment + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "author_role": "customer" if n % 2 == 0 else "agent",
                    "private": n % 9 == 8,
                    "body_text": f"chaos {index} message {n}",
                }
                if n == 0 and index % 10 == 4:
                    message["attachments"] = [
                        {
                            "file_name": f"c{index}-small{f}.txt",
                            "content_type": "text/plain",
                            "data_base64": base64.b64encode(f"file {index}/{f}".encode()).decode(),
                        }
                        for f in range(2)
                    ]
                    expected.files.update(f"c{index}-small{f}.txt" for f in range(2))
                if n == 1 and index % 30 == 11:
                    name = f"c{index}-large.bin"
                    (files_dir / name).write_bytes(rng.randbytes(300_000))
                    message["attachments"] = [
                        {
                            "file_name": name,
                            "content_type": "application/octet-stream",
                            "path": f"files/{name}",
                        }
                    ]
                    expected.files[name] += 1
                    expected.uploaded_files += 1
                messages.append(message)
            record = {
                "source_id": f"K{index}",
                "subject": subject,
                "customer": customer,
                "messages": messages,
                "status": "closed",
            }
            out.write(json.dumps(record) + "\n")
            parts = -(-size // PART_THREADS)
            if parts == 1:
                expected.subjects[subject] += 1
            else:
                expected.subjects.update(
                    f"{subject} (part {i}/{parts})" for i in range(1, parts + 1)
                )
            expected.messages[subject] = size
    expected.phone_customers = len(phones)
    return expected


# -- processes ----------------------------------------------------------------------------------


def start_sandbox(
    work: Path, db: Path, seed: int, s: Settings
) -> tuple[subprocess.Popen[bytes], str]:
    """``importer sandbox`` as a child on a free loopback port, stderr to a file; its URL."""
    log = (work / "sandbox.log").open("ab")
    command = [
        sys.executable, "-m", "importer", "sandbox", "--host", "127.0.0.1", "--port", "0",
        "--db", str(db), "--mailbox", str(MAILBOX), "--token-ttl", str(s.token_ttl),
        "--search-lag", str(s.search_lag), "--slow-s", "1", "--window-s", "2",
        "--seed", str(seed),
        *(arg for kind, rate in FAULTS.items() for arg in ("--fault", f"{kind}={rate}")),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = (work / "sandbox.log").read_text(errors="replace")
        if match := LISTENING.search(text):
            return process, match.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop(process)
    raise ChaosFailure(f"the sandbox did not start: {(work / 'sandbox.log').read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def importer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPSCOUT_")}
    env.update(HELPSCOUT_APP_ID="sandbox", HELPSCOUT_APP_SECRET="sandbox")
    env.pop("HTTP_PROXY", None)
    env.pop("HTTPS_PROXY", None)
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def run_command(export: Path, work: Path, url: str, s: Settings, report: Path) -> list[str]:
    return [
        sys.executable, "-m", "importer", "run", str(export), "--mailbox", str(MAILBOX),
        "--api-url", url, "--checkpoint", str(work / "checkpoint.sqlite"),
        "--rate-limit", str(s.rate_limit), "--workers", str(s.workers),
        "--reconcile-wait", str(s.reconcile_wait), "--no-progress", "--quiet",
        "--report", str(report),
    ]  # fmt: skip


def start_importer(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        return subprocess.Popen(
            command, cwd=ROOT, env=importer_env(), stdout=subprocess.DEVNULL, stderr=err
        )


# -- the checks ---------------------------------------------------------------------------------


def read_store(db: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        conversations = conn.execute(
            "SELECT id, subject, customer_id FROM conversations WHERE mailbox_id = ?", (MAILBOX,)
        ).fetchall()
        threads = Counter(
            dict(conn.execute("SELECT conversation_id, COUNT(*) FROM threads GROUP BY 1"))
        )
        customers = {
            cid: (json.loads(emails or "[]"), json.loads(phones or "[]"))
            for cid, emails, phones in conn.execute("SELECT id, emails, phones FROM customers")
        }
        files = conn.execute(
            "SELECT a.file_name, c.subject FROM attachments a "
            "JOIN conversations c ON c.id = a.conversation_id"
        ).fetchall()
    finally:
        conn.close()
    return {"conversations": conversations, "threads": threads, "customers": customers,
            "files": files}  # fmt: skip


def base_subject(subject: str) -> str:
    return re.sub(r" \(part \d+/\d+\)$", "", subject)


def check(
    expected: Expected, store: dict[str, Any], report: dict[str, Any], count: int
) -> list[str]:
    """Everything wrong, one line each (empty: all is well)."""
    problems: list[str] = []
    created = Counter(subject for _, subject, _ in store["conversations"])
    twice = {s: n for s, n in created.items() if n > 1}
    missing = expected.subjects - created
    extra = created - expected.subjects
    if twice:
        problems.append(f"{len(twice)} parts created more than once, e.g. {sorted(twice)[:5]}")
    if missing:
        problems.append(f"{sum(missing.values())} parts missing, e.g. {sorted(missing)[:5]}")
    if extra - Counter(twice):
        problems.append(f"unexpected conversations: {sorted(extra - Counter(twice))[:5]}")
    # messages: the threads of every part of a conversation add up to its messages
    threads_of: Counter[str] = Counter()
    for conv_id, subject, _ in store["conversations"]:
        threads_of[base_subject(subject)] += store["threads"].get(conv_id, 0)
    wrong = [
        f"{s}: {threads_of[s]} threads for {n} messages"
        for s, n in expected.messages.items()
        if threads_of[s] != n and not twice
    ]
    if wrong:
        problems.append(f"{len(wrong)} conversations with messages lost or doubled: {wrong[:3]}")
    # customers
    customers = store["customers"]
    phone_only = [phones for emails, phones in customers.values() if not emails]
    phone_counts = Counter(json.dumps(p, sort_keys=True) for p in phone_only)
    doubled = {p: n for p, n in phone_counts.items() if n > 1}
    if doubled:
        problems.append(f"customers without email created twice: {doubled}")
    if len(phone_only) != expected.phone_customers:
        problems.append(
            f"{len(phone_only)} customers without email, {expected.phone_customers} expected"
        )
    emails = Counter(
        str(e.get("value", "")).lower() for emails, _ in customers.values() for e in emails
    )
    if any(n > 1 for n in emails.values()):
        problems.append(
            f"customers with one email twice: {[e for e, n in emails.items() if n > 1][:5]}"
        )
    wrong_owner = []
    for _, subject, customer_id in store["conversations"]:
        want = expected.customer.get(base_subject(subject))
        got_emails, got_phones = customers.get(customer_id, ([], []))
        if want is None:
            continue
        if want.startswith("phone:"):
            ok = any(want[6:] == str(p.get("value")) for p in got_phones or [])
        else:
            ok = any(want == str(e.get("value", "")).lower() for e in got_emails)
        if not ok:
            wrong_owner.append(subject)
    if wrong_owner:
        problems.append(
            f"{len(wrong_owner)} conversations on the wrong customer: {wrong_owner[:5]}"
        )
    # files
    stored_files = Counter(name for name, _ in store["files"])
    if stored_files - expected.files:
        problems.append(f"files stored twice or unknown: {dict(stored_files - expected.files)}")
    if expected.files - stored_files:
        problems.append(f"files lost: {sorted(expected.files - stored_files)[:5]}")
    # the final report
    books = (
        report.get("imported", 0)
        + report.get("already_imported", 0)
        + report.get("invalid", 0)
        + report.get("failed", 0)
    )
    if report.get("source_conversations") != books:
        problems.append(f"the report's accounting does not add up: {books} != {report}")
    if report.get("source_conversations") != count:
        problems.append(f"the report read {report.get('source_conversations')} of {count}")
    if report.get("invalid") or report.get("failed"):
        problems.append(
            f"the final run left {report.get('invalid')} invalid, {report.get('failed')} failed: "
            f"{report.get('errors', [])[:3]}"
        )
    return problems


# -- the run ------------------------------------------------------------------------------------


def chaos(s: Settings, work: Path) -> str:
    started = time.monotonic()
    deadline = started + s.time_limit
    rng = random.Random(s.seed)
    export_dir = work / "export"
    export_dir.mkdir()
    export = export_dir / "conversations.jsonl"
    expected = write_export(export, s.conversations, rng)
    db = work / "sandbox.sqlite"
    log = work / "importer.log"
    report_path = work / "report.json"
    sandbox, url = start_sandbox(work, db, rng.randrange(1 << 30), s)
    kills = finished_early = 0
    try:
        command = run_command(export, work, url, s, report_path)
        while kills < s.kills:
            if time.monotonic() > deadline:
                raise ChaosFailure(
                    f"time limit of {s.time_limit:.0f} s reached after {kills} kills"
                )
            process = start_importer(command, log)
            moment = rng.uniform(*s.kill_after)
            try:
                code = process.wait(timeout=moment)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                kills += 1
                continue
            if code not in (0, 1):
                raise ChaosFailure(f"a run exited {code}: {log.read_text()[-3000:]}")
            finished_early += 1
            break  # nothing left to interrupt
        codes = []
        for _ in range(s.final_runs):
            remaining = max(30.0, deadline - time.monotonic())
            process = start_importer(command, log)
            try:
                code = process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise ChaosFailure(f"the final run did not end within {remaining:.0f} s") from None
            codes.append(code)
            if code == 0:
                break
            if code != 1:
                raise ChaosFailure(f"the final run exited {code}: {log.read_text()[-3000:]}")
        if codes[-1] != 0:
            raise ChaosFailure(
                f"{len(codes)} final runs, exit codes {codes}: {log.read_text()[-3000:]}"
            )
    finally:
        stop(sandbox)
    report = json.loads(report_path.read_text())
    problems = check(expected, read_store(db), report, s.conversations)
    if problems:
        raise ChaosFailure("\n".join(problems))
    elapsed = time.monotonic() - started
    parts = sum(expected.subjects.values())
    note = f", finished after {kills} kills" if finished_early else ""
    return (
        f"chaos: OK: {kills} SIGKILLs{note} and {len(codes)} final run(s); "
        f"{s.conversations} conversations, {parts} parts, {sum(expected.files.values())} files "
        f"({expected.uploaded_files} uploaded after creation), "
        f"{expected.phone_customers} customers without email; duplicates 0, lost 0; "
        f"{elapsed:.0f} s (seed {s.seed})"
    )


def settings_from(argv: list[str] | None = None) -> Settings:
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=int(env.get("CHAOS_KILLS", 20)))
    parser.add_argument("--seed", type=int, default=int(env.get("CHAOS_SEED", 20261202)))
    parser.add_argument(
        "--conversations", type=int, default=int(env.get("CHAOS_CONVERSATIONS", 500))
    )
    parser.add_argument("--time-limit", type=float, default=float(env.get("CHAOS_TIME_LIMIT", 900)))
    parser.add_argument("--keep", type=Path, help="keep the work files (export, logs) here")
    args = parser.parse_args(argv)
    return Settings(
        kills=args.kills,
        seed=args.seed,
        conversations=args.conversations,
        time_limit=args.time_limit,
        keep=args.keep,
    )


def main(argv: list[str] | None = None) -> int:
    s = settings_from(argv)
    if s.keep is not None:
        s.keep.mkdir(parents=True, exist_ok=False)
        work_ctx: Any = None
        work = s.keep
    else:
        work_ctx = tempfile.TemporaryDirectory(prefix="importer-chaos-")
        work = Path(work_ctx.name)
    try:
        print(chaos(s, work), flush=True)
        return 0
    except ChaosFailure as exc:
        kept = work
        if work_ctx is not None:  # the temporary folder goes: keep the logs, stores, report
            kept = Path(tempfile.mkdtemp(prefix="importer-chaos-failed-"))
            for item in work.iterdir():
                if item.is_file():
                    (kept / item.name).write_bytes(item.read_bytes())
        print(
            f"chaos: FAILED (seed {s.seed}; logs, stores and report in {kept})\n{exc}",
            file=sys.stderr,
        )
        return 1
    finally:
        if work_ctx is not None:
            work_ctx.cleanup()


if __name__ == "__main__":
    sys.exit(main())
