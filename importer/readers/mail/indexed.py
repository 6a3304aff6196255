"""A parsed mail (or MIME part) whose header look-ups are answered from an index.

``email.message.Message.get`` scans every header of the part, lower-casing each name, at every
look-up, and the parser and the reader look up a part's ``Content-Type`` alone about seven times
(its type, main type, parameters, charset), its ``Content-Disposition`` twice: a fifth of reading
a mail. :class:`IndexedMessage` answers ``get`` from a dictionary of the first occurrence of
each name, and keeps its content type and the parameters of a header once parsed; all are built
when first asked and built again whenever the headers changed (a header added, deleted or
replaced: the list's length, the list itself, or :meth:`replace_header`) or the default type
did. Answers are exactly ``Message``'s: the same header (the first of its name), through the
same policy, parsed by ``Message``'s own code.
"""

from __future__ import annotations

from email.message import Message
from typing import Any

_MISSING = object()


class IndexedMessage(Message):
    """``Message`` with its header look-ups indexed (module doc)."""

    _index: dict[str, tuple[str, Any]] | None = None
    #: the header list indexed (held: a list made later cannot take its place) and its length
    _indexed: tuple[list[tuple[str, Any]] | None, int] = (None, -1)
    _kept: dict[str | None, Any] | None = None  # parameters by header, the type under None

    def _header_index(self) -> dict[str, tuple[str, Any]]:
        headers: list[tuple[str, Any]] = self._headers  # type: ignore[attr-defined]  # private
        index = self._index
        indexed, length = self._indexed
        if index is None or indexed is not headers or length != len(headers):
            index = {}
            for name, value in headers:
                index.setdefault(name.lower(), (name, value))
            self._index, self._indexed, self._kept = index, (headers, len(headers)), None
        return index

    def get(self, name: str, failobj: Any = None) -> Any:
        found = self._header_index().get(name.lower())
        if found is None:
            return failobj
        return self.policy.header_fetch_parse(*found)

    def _kept_facts(self) -> dict[str | None, Any]:
        self._header_index()  # forgets what was kept when the headers changed
        kept = self._kept
        if kept is None:
            kept = self._kept = {}
        return kept

    def get_content_type(self) -> str:
        kept = self._kept_facts()
        found: str | None = kept.get(None)
        if found is None:
            found = kept[None] = super().get_content_type()
        return found

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        kept = self._kept_facts()
        key = header.lower()
        found = kept.get(key, _MISSING)
        if found is _MISSING:
            found = kept[key] = super()._get_params_preserve(_MISSING, header)  # type: ignore[misc]
        return failobj if found is _MISSING else found

    def replace_header(self, _name: str, _value: Any) -> None:
        super().replace_header(_name, _value)
        self._index = self._kept = None  # the list kept its length: forget what was read

    def set_default_type(self, ctype: str) -> None:
        super().set_default_type(ctype)
        self._kept = None  # the content type of a part without Content-Type changed
