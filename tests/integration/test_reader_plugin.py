"""A reader from a separate pip package: built, installed into a throwaway virtual environment,
found through the ``importer.readers`` entry point, and nothing else touched.

The package is ``tests/data/plugin/importer-nodesk`` (a made-up platform, NoDesk), the example of
``docs/readers.md``; its export is ``tests/data/plugin/export``. The throwaway environment sees the
importer and its dependencies through a ``.pth`` file naming ``.venv``'s site-packages; pip
installs only the plug-in there, offline.

Building: ``.venv``'s setuptools (65, without the ``wheel`` package) cannot build a wheel, and
nothing may be downloaded, so :func:`build_wheel` writes the wheel from what the package's
``pyproject.toml`` declares (name, version, entry points, packages, package data), as setuptools
would. pip itself installs it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "tests" / "data" / "plugin"
PACKAGE = PLUGIN / "importer-nodesk"
EXPORT = PLUGIN / "export"
GUIDE = REPO / "docs" / "readers.md"


# -- building the wheel ---------------------------------------------------------------------------


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _package_files(project: Path, config: dict) -> dict[str, bytes]:
    """The files setuptools would put in the wheel: every module of the declared packages and
    the package data they declare (a ``mapping.toml`` not declared is left out, as there)."""
    setuptools = config.get("tool", {}).get("setuptools", {})
    files: dict[str, bytes] = {}
    for package in setuptools["packages"]:
        folder = project / package.replace(".", "/")
        patterns = ["*.py", *setuptools.get("package-data", {}).get(package, [])]
        for pattern in patterns:
            for path in sorted(folder.glob(pattern)):
                files[path.relative_to(project).as_posix()] = path.read_bytes()
    return files


def build_wheel(project: Path, out: Path) -> Path:
    """A wheel of ``project`` from its ``pyproject.toml``, written in ``out``."""
    config = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    meta = config["project"]
    name, version = re.sub(r"[-_.]+", "_", meta["name"]), meta["version"]
    dist_info = f"{name}-{version}.dist-info"
    entry_points = "".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items()) + "\n"
        for group, points in meta.get("entry-points", {}).items()
    )
    files = _package_files(project, config)
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {version}\n"
        f"Summary: {meta.get('description', '')}\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: test_reader_plugin\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    files[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    record = [_record_line(path, data) for path, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    wheel = out / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


# -- the throwaway environment --------------------------------------------------------------------


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_env(folder: Path) -> Path:
    """A virtual environment without pip in ``folder`` that sees ``.venv``'s packages (the
    importer among them) through a ``.pth`` file; its python."""
    done = _run(sys.executable, "-m", "venv", "--without-pip", folder, cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    python = folder / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=folder
    )
    ours = sysconfig.get_path("purelib")
    line = f"import site; site.addsitedir({ours!r})\n"
    (Path(purelib.stdout.strip()) / "_importer_venv.pth").write_text(line, encoding="utf-8")
    return python


def _dist_infos() -> list[str]:
    return sorted(p.name for p in Path(sysconfig.get_path("purelib")).iterdir())


#: what installing a plug-in could touch in the repository (the rest of the tree is left out:
#: tests running beside this one in other workers may write their own files)
TOUCHABLE = ("importer", "mappings", "pyproject.toml", "tests/data")


def _git_status() -> str | None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        return None
    done = _run("git", "status", "--porcelain", "--untracked-files=all", "--", *TOUCHABLE, cwd=REPO)
    return done.stdout if done.returncode == 0 else None


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_plugin_reader_installs_and_reads_its_export(tmp_path: Path) -> None:
    """A reader package installed beside the importer is listed, recognises its export without
    --format, and converts it; .venv, the repository and tests/data stay as they were."""
    venv_before, git_before, plugin_before = _dist_infos(), _git_status(), _tree(PLUGIN)
    source = tmp_path / "importer-nodesk"
    shutil.copytree(PACKAGE, source)
    (tmp_path / "dist").mkdir()
    wheel = build_wheel(source, tmp_path / "dist")
    python = make_env(tmp_path / "env")
    pip = "-m", "pip", "--python", python, "install", "--no-index", "--no-deps", wheel
    installed = _run(sys.executable, *pip, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    export = tmp_path / "export"
    shutil.copytree(EXPORT, export)

    formats = _run(python, "-m", "importer", "formats", cwd=tmp_path)
    assert formats.returncode == 0, formats.stderr
    assert re.search(r"^nodesk\s+NoDesk JSON export", formats.stdout, re.MULTILINE)

    validated = _run(python, "-m", "importer", "validate", export, cwd=tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert f"{export} (format nodesk)" in validated.stdout
    counts = dict(re.findall(r"^  ([a-z ]+?)\s+(\d+)$", validated.stdout, re.MULTILINE))
    expected = {"conversations read": "2", "valid": "2", "invalid": "0", "threads": "3"}
    assert {key: counts.get(key) for key in expected} == expected
    assert counts["errors"] == counts["warnings"] == "0"

    out = tmp_path / "out.jsonl"
    converted = _run(python, "-m", "importer", "convert", export, "-o", out, cwd=tmp_path)
    assert converted.returncode == 0, converted.stdout + converted.stderr
    conversations = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [c["source_id"] for c in conversations] == ["T-1", "T-2"]
    assert [[m["source_id"] for m in c["messages"]] for c in conversations] == [
        ["M-1", "M-3"],
        ["M-2"],
    ]
    assert conversations[0]["status"] == "closed"
    assert conversations[0]["source"] == "nodesk"
    assert conversations[0]["customer"]["email"] == "ann@example.com"
    assert [m["author_role"] for m in conversations[0]["messages"]] == ["customer", "agent"]

    ours = _run(sys.executable, "-m", "importer", "formats", cwd=tmp_path)
    assert ours.returncode == 0, ours.stderr
    assert "nodesk" not in ours.stdout
    assert _dist_infos() == venv_before
    assert _git_status() == git_before
    assert _tree(PLUGIN) == plugin_before


# -- the guide builds its example -----------------------------------------------------------------

#: a code block of the guide that is a file of the example: ``<!-- file: path -->`` on the line
#: before its fence (the path relative to tests/data/plugin)
_FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


def _guide_files() -> dict[str, str]:
    return dict(_FILE_BLOCK.findall(GUIDE.read_text(encoding="utf-8")))


def test_guide_shows_the_example_files_the_plugin_test_builds() -> None:
    """Every file docs/readers.md shows is the plug-in's (package or export), byte for byte, and
    the guide shows each file of the package."""
    shown = _guide_files()
    package = {
        path.relative_to(PLUGIN).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert sorted(package - set(shown)) == []
    for path, text in shown.items():
        assert (PLUGIN / path).read_text(encoding="utf-8") == text, path
