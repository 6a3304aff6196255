"""``mappings/`` holds, byte for byte, the default mapping each built-in reader ships as package
data (``importer/readers/<name>/mapping.toml``): the copies users read and start an override from
are the files the readers load."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from importer.readers.base import READERS

ROOT = Path(__file__).resolve().parents[2]
COPIES = ROOT / "mappings"
#: the readers of this repository (a plug-in installed beside it ships its own mapping)
BUILT_IN = [
    name
    for name in READERS.names
    if type(READERS.get(name)).__module__.startswith(f"importer.readers.{name}.")
]


def _packaged(name: str) -> bytes | None:
    """The ``mapping.toml`` of reader ``name``'s package, ``None`` when it has none."""
    reader = READERS.get(name)
    assert reader is not None
    package = type(reader).__module__.rpartition(".")[0]
    resource = resources.files(package) / "mapping.toml"
    return resource.read_bytes() if resource.is_file() else None


@pytest.mark.parametrize("copy", sorted(COPIES.glob("*.toml")), ids=lambda path: path.name)
def test_each_copy_is_its_readers_default(copy: Path) -> None:
    """``mappings/<name>.toml`` is the default mapping of the registered reader ``<name>``."""
    assert copy.stem in BUILT_IN, f"{copy.name}: no built-in reader is named {copy.stem!r}"
    assert copy.read_bytes() == _packaged(copy.stem)
    reader = READERS.get(copy.stem)
    assert reader is not None
    assert reader.default_mapping() == tomllib.loads(copy.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_default_mapping_has_its_copy(name: str) -> None:
    """A built-in reader with a default mapping has its copy in ``mappings/``."""
    packaged = _packaged(name)
    if packaged is None:
        pytest.skip(f"the {name} reader has no default mapping")
    assert (COPIES / f"{name}.toml").is_file(), f"mappings/{name}.toml is missing"
