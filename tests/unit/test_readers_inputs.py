"""Input files, folders and zip archives; attachment paths (importer.readers.inputs)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from importer.errors import InputError
from importer.readers.inputs import (
    AttachmentPathError,
    attachment_size,
    list_input_files,
    read_attachment_bytes,
)


def _tree(root: Path) -> None:
    (root / "b").mkdir(parents=True)
    (root / "b" / "two.json").write_text("{}")
    (root / "a.json").write_text("{}")
    (root / ".hidden.json").write_text("{}")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "a.json").write_text("{}")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("x")


def test_directory_lists_every_file_sorted_without_hidden_ones(tmp_path: Path) -> None:
    _tree(tmp_path / "export")
    files = list_input_files([tmp_path / "export"])
    assert [f.name for f in files] == [
        str(tmp_path / "export" / "a.json"),
        str(tmp_path / "export" / "b" / "two.json"),
    ]


def test_a_file_reached_twice_is_read_once(tmp_path: Path) -> None:
    """``export/ export/a.json`` (or the same zip twice) names each file once, in first order."""
    _tree(tmp_path / "export")
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("c.json", "[3]")
    export = tmp_path / "export"
    files = list_input_files([export / "a.json", export, archive, tmp_path / "." / "x.zip"])
    assert [f.name for f in files] == [
        str(export / "a.json"),
        str(export / "b" / "two.json"),
        f"{archive}!c.json",
    ]


def test_zip_is_recognised_by_content_and_streamed(tmp_path: Path) -> None:
    archive = tmp_path / "export.data"  # no .zip extension
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("b/two.json", "[2]")
        zipped.writestr("a.json", "[1]")
        zipped.writestr("__MACOSX/._a.json", "junk")
        zipped.writestr(".DS_Store", "junk")
    files = list_input_files([archive])
    assert [f.name for f in files] == [f"{archive}!a.json", f"{archive}!b/two.json"]
    with files[1].open() as stream:
        assert stream.read() == b"[2]"
    assert files[1].folder == f"{archive}!b"


def test_missing_input_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        list_input_files([tmp_path / "nope.jsonl"])
    assert str(tmp_path / "nope.jsonl") in str(caught.value)
    assert "check the path" in str(caught.value)
    assert caught.value.exit_code == 2


def test_relative_path_resolves_against_the_files_folder(tmp_path: Path) -> None:
    (tmp_path / "export" / "data" / "files").mkdir(parents=True)
    (tmp_path / "export" / "data" / "c.jsonl").write_text("")
    (tmp_path / "export" / "data" / "files" / "a.txt").write_text("hello")
    (tmp_path / "export" / "top.txt").write_text("top")
    (tmp_path / "secret.txt").write_text("secret")
    input_file = next(
        f for f in list_input_files([tmp_path / "export"]) if f.name.endswith("c.jsonl")
    )
    ref = input_file.resolve("files/a.txt")
    assert read_attachment_bytes(ref) == b"hello"
    assert attachment_size(ref) == 5
    assert read_attachment_bytes(input_file.resolve("../top.txt")) == b"top"
    with pytest.raises(AttachmentPathError, match="leaves the export's top folder"):
        input_file.resolve("../../secret.txt")
    with pytest.raises(AttachmentPathError, match="leaves the export's top folder"):
        input_file.resolve(str(tmp_path / "secret.txt"))
    with pytest.raises(AttachmentPathError, match="not found"):
        input_file.resolve("files/missing.txt")


def test_zip_member_paths_resolve_inside_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("data/c.jsonl", "")
        zipped.writestr("data/files/a.txt", "hello")
    input_file = next(f for f in list_input_files([archive]) if f.name.endswith("c.jsonl"))
    ref = input_file.resolve("files/a.txt")
    assert ref == f"{archive}!data/files/a.txt"
    assert read_attachment_bytes(ref) == b"hello"
    assert attachment_size(ref) == 5
    with pytest.raises(AttachmentPathError, match="leaves the archive"):
        input_file.resolve("../../x.txt")


def test_unknown_reference_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_attachment_bytes(str(tmp_path / "gone.pdf"))
