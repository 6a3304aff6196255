"""Agents of the old help desk -> Help Scout user ids.

First the ``--users`` file (CSV ``source,user_id`` or a TOML ``[users]`` table, ``source`` being
an agent's email or source id), then the users endpoint by email (primary and alternate
addresses). Agents that match nowhere are reported and their messages go to ``--default-user``.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from importer.errors import UsageError
from importer.mappings import read_toml

log = logging.getLogger("importer.agents")

UserLookup = Callable[[str], Awaitable[dict[str, Any] | None]]


def load_users_file(path: Path) -> dict[str, int]:
    """Read ``--users``: keys are lowercased emails or source ids, values Help Scout user ids."""
    if not path.exists():
        raise UsageError(f"--users {path}: file not found")
    if path.suffix.lower() == ".toml":
        table = read_toml(path).get("users")
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
        self._known: dict[str, int | None] = dict(known)
        self._lookup = lookup
        self._misses: set[str] = set()
        self.unmatched: set[str] = set()

    def resolve(self, email: str | None, source_id: str | None) -> int | None:
        """The user id of an agent, or None (and a note to look the email up)."""
        for key in (email, source_id):
            if key and key.strip().lower() in self._known:
                found = self._known[key.strip().lower()]
                if found is not None:
                    return found
        if email and self._lookup is not None and email.strip().lower() not in self._known:
            self._misses.add(email.strip().lower())
        elif email or source_id:
            self.unmatched.add((email or source_id or "").strip().lower())
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
            self._known[email] = int(user_id) if isinstance(user_id, int) else None
            if user_id is None:
                self.unmatched.add(email)
                log.info(
                    "agent %s has no Help Scout user: their messages go to the default user", email
                )
