"""Fixtures for every test: a fake clock/sleeper so no test waits on real time, SIGINT for the
tests that press Ctrl-C, and the guard that fails a test starting a subprocess without the
``e2e`` marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.clock import FakeClock
from helpers.processes import forbid_subprocesses
from helpers.signals import keyboard_interrupt_on_sigint


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """During the test SIGINT raises KeyboardInterrupt here, even if the run ignores SIGINT."""
    with keyboard_interrupt_on_sigint():
        yield


@pytest.fixture(autouse=True)
def _subprocesses_only_in_e2e(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if request.node.get_closest_marker("e2e") is None:
        forbid_subprocesses(monkeypatch, request.node.nodeid)
