"""Fixtures for every test: a fake clock/sleeper so no test waits on real time."""

from __future__ import annotations

import pytest
from helpers.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
