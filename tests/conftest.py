"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest
from fake_clock import FakeClock  # this folder is on sys.path (pytest's rootdir conftest)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock at 1,700,000,000 (2023-11-14) that moves only when the test moves it."""
    return FakeClock()
