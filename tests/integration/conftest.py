"""Fixtures for the integration tests: the real client against an in-process sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.maple import Maple, open_maple


@pytest.fixture
def maple(tmp_path: Path) -> Iterator[Maple]:
    with open_maple(tmp_path / "sandbox.sqlite") as box:
        yield box
