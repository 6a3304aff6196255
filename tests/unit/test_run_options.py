"""Each run records its inputs and payload-shaping options in the checkpoint (schema 3), the
latest run replacing the earlier one's; verify starts from them, an option given overriding."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from importer.commands.recorded import merged_settings, recorded_inputs, recorded_options
from importer.pipeline.checkpoint import SCHEMA_VERSION, Checkpoint, RunHeader
from importer.settings import RunSettings, TransformSettings

URL = "http://127.0.0.1:8765"


def _settings(**transform: object) -> RunSettings:
    return RunSettings(
        transform=TransformSettings(**transform),  # type: ignore[arg-type]
        mailbox=85,
        api_url=URL,
        users_file=Path("users.csv"),
    )


def test_the_latest_run_replaces_the_recorded_options(tmp_path: Path) -> None:
    path = tmp_path / "cp.sqlite"
    first = recorded_options([Path("a")], _settings(tags=("x",)), "csv")
    with Checkpoint.open(path, RunHeader(URL, 85, "csv", options=first)):
        pass
    second = recorded_options([Path("b"), Path("c")], _settings(status_policy="source"), "csv")
    with Checkpoint.open(path, RunHeader(URL, 85, "csv", options=second)):
        pass
    with Checkpoint.open_existing(path) as checkpoint:
        options = checkpoint.header.options
    assert options == second
    assert [str(Path("b").resolve()), str(Path("c").resolve())] == options["inputs"]
    assert str(Path("users.csv").resolve()) == options["users"]
    assert ("source", []) == (options["status_policy"], options["tags"])
    assert not any("secret" in key or "token" in key for key in options)


def test_a_version_2_checkpoint_is_migrated_and_records_none_until_a_run(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with Checkpoint.open(path, RunHeader(URL, 85)):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE run_options")
        conn.execute("UPDATE run SET value = '2' WHERE key = 'schema_version'")
    with Checkpoint.open_existing(path) as checkpoint:  # read only: verify, status
        assert checkpoint.header.options is None
    options = recorded_options([Path("a")], _settings(), "zendesk")
    with Checkpoint.open(path, RunHeader(URL, 85, options=options)):
        pass
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM run WHERE key = 'schema_version'").fetchone()
    assert str(SCHEMA_VERSION) == version[0] == "4"
    with Checkpoint.open_existing(path) as checkpoint:
        assert "zendesk" == checkpoint.header.options["format"]


def test_options_given_override_the_recorded_ones() -> None:
    recorded = recorded_options(
        [Path("/data/export")], _settings(tags=("migrated",), max_request_bytes=5000), "csv"
    )
    recorded["mailbox"] = 86
    given = RunSettings(transform=TransformSettings(status_policy="source"), mailbox=None)
    merged = merged_settings(given, recorded, explicit={"status_policy"})
    assert ("source", ("migrated",), 5000, "csv") == (
        merged.transform.status_policy,
        merged.transform.tags,
        merged.transform.max_request_bytes,
        merged.transform.format,
    )
    assert (86, URL, Path("users.csv").resolve()) == (
        merged.mailbox,
        merged.api_url,
        merged.users_file,
    )
    assert [Path("/data/export")] == recorded_inputs(recorded)
    assert given == merged_settings(given, None, set())
