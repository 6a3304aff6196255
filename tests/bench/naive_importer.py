"""A naive importer, the yardstick of ``make bench``: what common migration scripts do.

It reads canonical JSONL (the bench's exports: customer with an email, messages with author
role, time and plain text), takes an OAuth2 token with the client credentials, and posts one
conversation at a time with ``imported: true``, sleeping a fixed ``120 / limit`` seconds after
each (a create costs 2 units, so that is ``limit / 2`` creates a minute if requests took no time).
A failed post (a 429, a 5xx, a lost connection) is retried once after a fixed pause (the 429's
``Retry-After`` when it gives one, else one second); a 401 fetches a new token once. No
checkpoint, no splitting, no customer creation, no attachments: it is a yardstick, not a tool.

    python tests/bench/naive_importer.py EXPORT.jsonl --api-url URL --mailbox ID --rate-limit N
        [--report FILE]

Credentials from ``HELPSCOUT_APP_ID`` / ``HELPSCOUT_APP_SECRET``. Only loopback URLs are
accepted (it is for the sandbox). The report: conversations read, created, failed, requests,
429 answers, retries and elapsed seconds. SIGTERM stops it after the request in flight.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TIMEOUT_S = 30.0
RETRY_PAUSE_S = 1.0


class Naive:
    """The state of one naive run: its token and counters."""

    def __init__(self, api_url: str, app_id: str, app_secret: str) -> None:
        host = urlsplit(api_url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"naive_importer: only a loopback --api-url is allowed, not {host}")
        self.api_url = api_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.token = ""
        self.counts = {"requests": 0, "throttled": 0, "retries": 0, "created": 0, "failed": 0}
        self.stopping = False

    def request(
        self, method: str, path: str, body: dict[str, Any], *, auth: bool = True
    ) -> tuple[int, dict[str, str]]:
        """One HTTP request; ``(status, headers)``, status 0 when the connection failed."""
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(
            self.api_url + path, data=json.dumps(body).encode(), headers=headers, method=method
        )
        self.counts["requests"] += 1
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as answer:
                if path.endswith("/token"):
                    self.token = json.loads(answer.read())["access_token"]
                else:
                    answer.read()
                return answer.status, dict(answer.headers)
        except urllib.error.HTTPError as err:
            err.read()
            return err.code, dict(err.headers)
        except (OSError, ValueError):  # reset, refused, timeout, a broken answer
            return 0, {}

    def authenticate(self) -> None:
        status, _ = self.request(
            "POST",
            "/v2/oauth2/token",
            {
                "grant_type": "client_credentials",
                "client_id": self.app_id,
                "client_secret": self.app_secret,
            },
            auth=False,
        )
        if status != 200:
            raise SystemExit(f"naive_importer: the token request answered {status}")

    def post(self, body: dict[str, Any]) -> bool:
        """Post one conversation; one retry after a failure, one new token after a 401."""
        status, headers = self.request("POST", "/v2/conversations", body)
        if status == 401:
            self.authenticate()
            status, headers = self.request("POST", "/v2/conversations", body)
        if status == 201:
            return True
        if status == 429:
            self.counts["throttled"] += 1
        if status in (0, 429) or status >= 500:
            wait = headers.get("X-RateLimit-Retry-After") or headers.get("Retry-After")
            time.sleep(float(wait) if wait else RETRY_PAUSE_S)
            self.counts["retries"] += 1
            status, _ = self.request("POST", "/v2/conversations", body)
            if status == 429:
                self.counts["throttled"] += 1
        return status == 201


def body_of(record: dict[str, Any], mailbox: int) -> dict[str, Any]:
    """The create request of one canonical record, threads in the order of the export."""
    customer = {"email": record["customer"]["email"]}
    threads = []
    for message in record["messages"]:
        kind = "customer" if message.get("author_role") == "customer" else "reply"
        thread: dict[str, Any] = {
            "type": kind,
            "text": message.get("body_text") or "(empty)",
            "createdAt": message["created_at"],
            "imported": True,
        }
        thread["customer"] = customer  # a reply names its customer too
        threads.append(thread)
    return {
        "subject": record.get("subject") or "(no subject)",
        "type": "email",
        "mailboxId": mailbox,
        "status": "closed",
        "imported": True,
        "customer": customer,
        "createdAt": record["messages"][0]["created_at"],
        "threads": threads,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("export", type=Path)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--mailbox", type=int, required=True)
    parser.add_argument("--rate-limit", type=float, default=400, help="units a minute")
    parser.add_argument("--report", type=Path)
    args = parser.parse_args(argv)
    naive = Naive(
        args.api_url,
        os.environ.get("HELPSCOUT_APP_ID", ""),
        os.environ.get("HELPSCOUT_APP_SECRET", ""),
    )

    def stop(*_: object) -> None:
        naive.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = 120.0 / args.rate_limit
    started = time.monotonic()
    naive.authenticate()
    read = 0
    with args.export.open(encoding="utf-8") as lines:
        for line in lines:
            if naive.stopping:
                break
            read += 1
            if naive.post(body_of(json.loads(line), args.mailbox)):
                naive.counts["created"] += 1
            else:
                naive.counts["failed"] += 1
            time.sleep(pause)
    report = {"read": read, **naive.counts, "elapsed_s": round(time.monotonic() - started, 3)}
    if args.report:
        args.report.write_text(json.dumps(report) + "\n", encoding="utf-8")
    print(json.dumps(report))
    return 0 if naive.counts["failed"] == 0 and not naive.stopping else 1


if __name__ == "__main__":
    sys.exit(main())
