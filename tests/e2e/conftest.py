"""Fixtures for the end-to-end tests: `maplectl sandbox serve` as a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import Server, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "sandbox.sqlite")
    try:
        yield srv
    finally:
        srv.stop()
