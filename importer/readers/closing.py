"""A context manager that calls ``close()`` on the way out: the stores and the ordered work
each reader holds while it reads."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """A context manager that calls ``close()`` on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
