"""Fixtures for every test: a fake clock/sleeper so no test waits on real time, and the guard
that fails a test starting a subprocess without the ``e2e`` marker."""

from __future__ import annotations

import pytest
from helpers.clock import FakeClock
from helpers.processes import forbid_subprocesses


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _subprocesses_only_in_e2e(request: pytest.FixtureRequest,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("e2e") is None:
        forbid_subprocesses(monkeypatch, request.node.nodeid)
