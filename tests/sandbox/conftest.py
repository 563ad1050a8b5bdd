"""Fixtures for the sandbox contract tests: an in-process sandbox on a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers.control import control_http
from helpers.sandbox import COMPANY, START, GateClock

from maplectl.sandbox import Sandbox


@pytest.fixture
def sb_clock() -> GateClock:
    clock = GateClock(START)
    clock.gate.set()  # open unless a test closes it
    return clock


@pytest.fixture
def sandbox(tmp_path: Path, sb_clock: GateClock) -> Iterator[Sandbox]:
    box = Sandbox.open(tmp_path / "sandbox.db", clock=sb_clock, check_responses=True)
    yield box
    box.close()


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A client of the demo company's API, authenticated."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=sandbox.app),
        base_url=f"http://sandbox/api/v1/companies/{COMPANY}",
        headers={"Authorization": f"Bearer {sandbox.token}"},
    ) as client:
        yield client


@pytest.fixture
def control(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """Raw HTTP to the control API, with the sandbox's token and JSON bodies: these tests
    examine the control API itself (its answers and status codes)."""
    with control_http(sandbox.app, sandbox.token) as client:
        yield client
