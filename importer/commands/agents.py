"""Agents of the old help desk -> Help Scout user ids.

First the ``--users`` file (CSV ``source,user_id`` or a TOML ``[users]`` table, ``source`` being
an agent's email or source id), then the users endpoint by email (primary and alternate
addresses). Agents that match nowhere are reported and their messages go to ``--default-user``.

``run`` looks each agent up as it meets them (:class:`UserDirectory`); ``plan`` lists the users
once before planning (:func:`listed_users`) and plans with :class:`ListedAgents`, which sends no
request: its worker processes plan with a copy.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from importer.errors import UsageError
from importer.mappings import read_toml

log = logging.getLogger("importer.agents")

UserLookup = Callable[[str], Awaitable[dict[str, Any] | None]]


class UserLister(Protocol):
    """What lists every user of the account (the Help Scout client)."""

    async def list_users(self) -> list[dict[str, Any]]: ...


async def listed_users(client: UserLister) -> dict[str, int]:
    """Every user of the account by email, primary and alternate addresses (lowercased), as the
    users endpoint lists them (``GET /v2/users``, every page): a user found by email here is the
    one ``GET /v2/users?email=`` finds."""
    users: dict[str, int] = {}
    for user in await client.list_users():
        user_id = user.get("id")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            continue
        for email in [user.get("email"), *(user.get("alternateEmails") or [])]:
            if isinstance(email, str) and email.strip():
                users.setdefault(email.strip().lower(), user_id)
    return users


class ListedAgents:
    """Agents resolved from what was gathered before planning: the ``--users`` file
    (``known``, by email or source id), then the users listed (``listed``, by email; ``None``:
    the API could not be asked). Sends no request; remembers the agents it could not match,
    all of them (``unmatched``) and since :meth:`take_met` was last asked."""

    def __init__(self, known: dict[str, int], listed: dict[str, int] | None) -> None:
        self._known = known
        self._listed = listed
        self.unmatched: set[str] = set()
        self._met: set[str] = set()

    def resolve(self, email: str | None, source_id: str | None) -> int | None:
        """The user id of an agent, or None (noted unmatched), as :class:`UserDirectory`
        resolves it: the ``--users`` file by email, then by source id, then the listed users by
        email (the contract's order: only agents the file does not match are matched by email)."""
        email_key = email.strip().lower() if email else None
        if email_key and email_key in self._known:
            return self._known[email_key]
        if source_id and source_id.strip().lower() in self._known:
            return self._known[source_id.strip().lower()]
        if email_key and self._listed is not None and email_key in self._listed:
            return self._listed[email_key]
        if email or source_id:
            self._note((email or source_id or "").strip().lower())
        return None

    def _note(self, agent: str) -> None:
        self.unmatched.add(agent)
        self._met.add(agent)

    def take_met(self) -> frozenset[str]:
        """The agents not matched since the last call."""
        met, self._met = frozenset(self._met), set()
        return met


def load_users_file(path: Path) -> dict[str, int]:
    """Read ``--users``: keys are lowercased emails or source ids, values Help Scout user ids."""
    if not path.exists():
        raise UsageError(f"--users {path}: file not found")
    if path.suffix.lower() == ".toml":
        table = read_toml(path, "--users file").get("users")
        if not isinstance(table, dict):
            raise UsageError(f"--users {path}: expected a [users] table of source = user id")
        pairs = list(table.items())
        where = {key: f"{path}: users.{key}" for key, _ in pairs}
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or {"source", "user_id"} - set(reader.fieldnames):
                raise UsageError(f"--users {path}: the CSV needs a header 'source,user_id'")
            pairs, where = [], {}
            for row in reader:
                pairs.append((row["source"], row["user_id"]))
                where[row["source"]] = f"{path}:{reader.line_num}"
    users: dict[str, int] = {}
    for source, user_id in pairs:
        try:
            users[str(source).strip().lower()] = int(str(user_id).strip())
        except ValueError:
            raise UsageError(f"{where[source]}: user id {user_id!r} is not a number") from None
    return users


class UserDirectory:
    """Resolves agents synchronously from what is known; remembers misses to look them up."""

    def __init__(self, known: dict[str, int], lookup: UserLookup | None = None) -> None:
        self._known = dict(known)  # the --users file, by email or source id
        self._looked_up: dict[str, int | None] = {}  # the users endpoint's answers, by email
        self._lookup = lookup
        self._misses: set[str] = set()
        self.unmatched: set[str] = set()

    def resolve(self, email: str | None, source_id: str | None) -> int | None:
        """The user id of an agent, or None (and a note to look the email up): the ``--users``
        file by email, then by source id, then the users endpoint by email, whatever was looked
        up before (an email looked up for one agent never overrides the file's entry for
        another agent's source id)."""
        email_key = email.strip().lower() if email else None
        source_key = source_id.strip().lower() if source_id else None
        for key in (email_key, source_key):
            if key and key in self._known:
                return self._known[key]
        if email_key and email_key in self._looked_up:
            found = self._looked_up[email_key]
            if found is not None:
                return found
        elif email_key and self._lookup is not None:
            self._misses.add(email_key)
            return None
        if email_key or source_key:
            self.unmatched.add(email_key or source_key or "")
        return None

    @property
    def has_misses(self) -> bool:
        """Whether some agents were asked for and not looked up yet."""
        return bool(self._misses)

    async def fill_misses(self) -> None:
        """Look the missed emails up through the users endpoint (each once per run)."""
        assert self._lookup is not None
        misses, self._misses = sorted(self._misses), set()
        for email in misses:
            user = await self._lookup(email)
            user_id = user.get("id") if isinstance(user, dict) else None
            self._looked_up[email] = int(user_id) if isinstance(user_id, int) else None
            if user_id is None:
                self.unmatched.add(email)
                log.info(
                    "agent %s has no Help Scout user: their messages go to the default user", email
                )
