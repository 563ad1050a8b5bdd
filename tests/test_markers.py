"""Every test that runs maplectl in a subprocess is marked ``e2e``, and stays so."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.processes import marked_e2e, starts_processes

TESTS = Path(__file__).parent
# This module imports subprocess only to prove that the guard refuses it; it starts nothing.
PROVES_THE_GUARD = {"test_markers.py"}


def test_every_module_that_starts_processes_is_marked_e2e() -> None:
    """A test module importing subprocess, pty, the e2e CLI runners (helpers.cli) or the
    benchmark harness carries a module-level ``pytestmark`` with ``pytest.mark.e2e``."""
    modules = sorted(TESTS.rglob("test_*.py"))
    assert len(modules) > 40, "the test modules were not found"
    unmarked = []
    for path in modules:
        rel = path.relative_to(TESTS).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        found = starts_processes(tree)
        if found and rel not in PROVES_THE_GUARD and not marked_e2e(tree):
            unmarked.append(f"{rel} (imports {', '.join(found)})")
    assert unmarked == [], "add `pytestmark = pytest.mark.e2e` to: " + "; ".join(unmarked)


def test_the_check_sees_the_e2e_runner_and_the_marker() -> None:
    """The check finds an import of the CLI runner inside a function, and reads the marker
    whether it stands alone or in a list."""
    runner = ast.parse("def test_x():\n    from helpers.cli import maplectl\n")
    assert starts_processes(runner) == ["helpers.cli"]
    assert starts_processes(ast.parse("import helpers.clock\nimport bench_plan\n")) == [
        "bench_plan"
    ]
    assert marked_e2e(ast.parse("import pytest\npytestmark = pytest.mark.e2e\n"))
    assert marked_e2e(ast.parse("pytestmark = [pytest.mark.slow, pytest.mark.e2e]\n"))
    assert not marked_e2e(ast.parse("pytestmark = pytest.mark.slow\n"))
    assert not marked_e2e(ast.parse("import subprocess\n"))


def test_a_test_not_marked_e2e_cannot_start_a_subprocess() -> None:
    """Outside e2e, starting a process (here the CLI itself) fails the test before it starts."""
    with pytest.raises(pytest.fail.Exception, match="not marked e2e"):
        subprocess.Popen([sys.executable, "-m", "maplectl", "--version"])
