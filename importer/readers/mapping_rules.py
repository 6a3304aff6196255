"""The checks every reader's mapping shares (``mappings/<format>.toml`` with ``--mapping`` merged
over): a wrong key or value is one :class:`~importer.errors.MappingError` naming the table and key.

Two ways to write a reader's mapping, both from here:

- a pydantic model of :class:`Table` tables, checked by :func:`checked` (every problem named:
  ``[table] key: unknown key``); :func:`lowered_keys` for tables looked up by a word;
- hand-written checks of a plain dict, through :class:`KeyChecks` (``KeyChecks("intercom")``):
  unknown top-level keys, a choice among words, tables, lists of words, ``word = "target"`` and
  ``target = ["word", ...]`` tables, custom field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from importer.errors import MappingError

ModelT = TypeVar("ModelT", bound=BaseModel)

#: ``body_format`` of a reader's mapping: ``auto`` (what the reader knows of each body field),
#: ``html`` or ``text`` (see :func:`importer.readers.text.body_key`)
BodyFormat = Literal["auto", "html", "text"]
BODY_FORMATS: tuple[str, ...] = ("auto", "html", "text")


class Table(BaseModel):
    """A table of a mapping file: unknown keys are an error, the checked values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def lowered_keys(value: Any) -> Any:
    """A table with its keys stripped and lower-cased (anything else as it is), for a
    ``mode="before"`` field validator of tables looked up by a word."""
    if isinstance(value, dict):
        return {str(key).strip().lower(): target for key, target in value.items()}
    return value


def _where(error: dict[str, Any]) -> str:
    path = [str(part) for part in error.get("loc", ())]
    if len(path) > 1:
        return f"[{path[0]}] {'.'.join(path[1:])}"
    return path[0] if path else "the file"


def mapping_problems(error: ValidationError) -> str:
    """The problems of a mapping, each naming its table and key."""
    problems = []
    for item in error.errors():
        found = dict(item)
        if found["type"] == "extra_forbidden":
            problems.append(f"{_where(found)}: unknown key")
        else:
            problems.append(f"{_where(found)}: {found['msg']} (got {found['input']!r})")
    return "; ".join(problems)


def checked(model: type[ModelT], mapping: dict[str, Any], name: str) -> ModelT:
    """``mapping`` checked by ``model``; a wrong one is a ``MappingError`` naming every problem
    and the file that lists the keys of format ``name``."""
    try:
        return model.model_validate(mapping)
    except ValidationError as exc:
        raise MappingError(
            f"the {name} mapping (mappings/{name}.toml with --mapping merged over) is wrong: "
            f"{mapping_problems(exc)}; fix the --mapping file (mappings/{name}.toml lists every "
            "key)"
        ) from exc


@dataclass(frozen=True)
class KeyChecks:
    """Hand-written checks of the ``name`` mapping (a plain dict), each error naming the key."""

    name: str

    def _error(self, where: str, problem: str) -> MappingError:
        return MappingError(f"{where} in the {self.name} mapping {problem}")

    def known(self, mapping: dict[str, Any], keys: frozenset[str]) -> None:
        """No top-level key but ``keys``."""
        unknown = sorted(set(mapping) - keys)
        if unknown:
            raise MappingError(
                f"the {self.name} mapping names unknown key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(keys))}"
            )

    def choice(
        self, mapping: dict[str, Any], key: str, choices: tuple[str, ...], *, default: str
    ) -> str:
        """The word of ``key`` (lower-cased), one of ``choices``."""
        value = mapping.get(key, default)
        if not isinstance(value, str) or value.strip().lower() not in choices:
            raise self._error(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value.strip().lower()

    def table(self, mapping: dict[str, Any], name: str) -> dict[str, Any]:
        """The table ``[name]`` (empty when not given)."""
        table = mapping.get(name, {})
        if not isinstance(table, dict):
            raise self._error(f"[{name}]", f"must be a table, not {table!r}")
        return table

    def words(self, value: Any, where: str) -> list[str]:
        """A list of words in quotes, stripped, blank ones left out."""
        if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
            raise self._error(where, "must be a list of words in quotes")
        return [word.strip() for word in value if word.strip()]

    def lists(self, mapping: dict[str, Any], name: str, targets: tuple[str, ...]) -> dict[str, str]:
        """A ``target = ["word", ...]`` table turned into word (lower-cased) -> target."""
        indexed: dict[str, str] = {}
        for target, listed in self.table(mapping, name).items():
            if target not in targets:
                raise self._error(
                    f"[{name}]", f"has keys among {', '.join(targets)}, not {target!r}"
                )
            for word in self.words(listed, f"[{name}] {target}"):
                indexed[word.lower()] = target
        return indexed

    def value_map(
        self, mapping: dict[str, Any], name: str, targets: tuple[str, ...] | None
    ) -> dict[str, str]:
        """A ``word = "target"`` table, keys lower-cased, targets checked when ``targets`` is
        given."""
        indexed: dict[str, str] = {}
        for word, target in self.table(mapping, name).items():
            if not isinstance(target, str) or (targets is not None and target not in targets):
                allowed = f"one of {', '.join(targets)}" if targets else "a word in quotes"
                raise self._error(f"[{name}] {word}", f"must be {allowed}, not {target!r}")
            indexed[word.strip().lower()] = target
        return indexed

    def field_names(
        self, mapping: dict[str, Any], name: str = "custom_field_names"
    ) -> dict[str, str]:
        """A ``field = "name to give it"`` table."""
        names = self.table(mapping, name)
        for field, target in names.items():
            if not isinstance(target, str) or not target.strip():
                raise self._error(
                    f"[{name}] {field!r}", f"must be a field name in quotes, not {target!r}"
                )
        return {field: str(target).strip() for field, target in names.items()}
