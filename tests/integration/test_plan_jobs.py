"""``plan`` with worker processes (``--jobs``) says what one process says, for every format's
sample export as given, shuffled and broken: the same report, agents matched and not, requests,
customers to create and links; the agents resolved once, before planning, so no worker calls
the API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from importer.commands import agents as agents_module
from importer.commands.agents import ListedAgents, UserDirectory
from importer.commands.plan import plan_import
from importer.sandbox.testing import SandboxConfig, running_sandbox
from importer.settings import RunSettings

from .test_validate_jobs_formats import SAMPLES, broken, shuffled

pytestmark = pytest.mark.integration


def _plan(export: Path, url: str, jobs: int) -> dict[str, Any]:
    settings = RunSettings(mailbox=85, api_url=url)
    report = asyncio.run(plan_import([export], settings, jobs=jobs, batch_size=3))
    body = report.to_dict()
    body.pop("elapsed_s")
    return body


def _alike(export: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("HELPSCOUT_APP_ID", "sandbox")
    monkeypatch.setenv("HELPSCOUT_APP_SECRET", "sandbox")
    config = SandboxConfig(mailboxes=[85], users=["sam@northwind.example"])
    with running_sandbox(config) as sandbox:
        one = _plan(export, sandbox.url, 1)
        two = _plan(export, sandbox.url, 2)
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    return one


@pytest.mark.parametrize("export", SAMPLES, ids=lambda path: path.parent.name)
def test_plan_in_workers_says_what_one_process_says(
    tmp_path: Path, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _alike(export, monkeypatch)
    assert report["conversations"] > 0
    assert report["parts"] >= report["conversations"] - report["invalid"]


@pytest.mark.parametrize("export", SAMPLES, ids=lambda path: path.parent.name)
def test_plan_of_shuffled_and_broken_exports_alike_in_workers(
    tmp_path: Path, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _alike(shuffled(export, tmp_path / "shuffled"), monkeypatch)
    _alike(broken(export, tmp_path / "broken"), monkeypatch)


def test_the_users_are_listed_once_whatever_the_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """``plan`` lists the users before planning, once; planning asks nothing more."""
    listed: list[int] = []
    real = agents_module.listed_users

    async def counted(client: Any) -> dict[str, int]:
        listed.append(1)
        return await real(client)

    monkeypatch.setattr("importer.commands.plan.listed_users", counted)
    _alike(SAMPLES[0], monkeypatch)
    assert [1, 1] == listed  # one listing for each of the two plans


def test_listed_agents_resolve_as_the_directory_that_looks_each_up() -> None:
    """The --users file first (email or source id), then the listed users by email; agents
    found nowhere are unmatched, in both, and ``take_met`` gives each conversation's own."""
    known = {"a@x.io": 1, "s-7": 2}
    users = {"b@x.io": 3, "alt@x.io": 3}

    async def lookup(email: str) -> dict[str, Any] | None:
        return {"id": users[email]} if email in users else None

    looked = UserDirectory(known, lookup)
    listed = ListedAgents(known, users)
    agents = [("A@x.io", None), (None, "s-7"), ("b@x.io", "s-7"), ("ALT@x.io", None)]
    agents += [("c@x.io", None), (None, "s-9"), ("b@x.io", None)]
    first = [looked.resolve(email, source_id) for email, source_id in agents]
    asyncio.run(looked.fill_misses())  # then every email is known: as plan planned again
    again = [looked.resolve(e, s) for e, s in agents]
    assert again == [listed.resolve(e, s) for e, s in agents]
    # the file's source id wins over an email the endpoint knows, before and after the look-up
    assert 2 == first[2] == again[2]
    assert [1, 2, 2, 3, None, None, 3] == again
    assert looked.unmatched == listed.unmatched == {"c@x.io", "s-9"}
    assert listed.take_met() == {"c@x.io", "s-9"}
    assert listed.take_met() == frozenset()
    offline = ListedAgents(known, None)
    assert offline.resolve("b@x.io", None) is None
    assert offline.unmatched == {"b@x.io"}
