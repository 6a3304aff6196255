"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fake_clock import FakeClock  # this folder is on sys.path (pytest's rootdir conftest)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock at 1,700,000,000 (2023-11-14) that moves only when the test moves it."""
    return FakeClock()


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask (files 0644, folders 0755 unless told otherwise), inherited by every child
    process the test starts; the process's own umask again after it."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)
