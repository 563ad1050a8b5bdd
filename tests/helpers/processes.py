"""Which test modules start processes, and the guard that keeps every such test marked ``e2e``.

The ``e2e`` marker means "runs maplectl (the CLI or ``sandbox serve``) in a subprocess", so that
``pytest -m "not e2e"`` runs everything in-process. Two checks keep that true:
tests/test_markers.py reads each test module's imports (:func:`starts_processes`) and asks for a
module-level ``pytestmark`` with ``pytest.mark.e2e`` (:func:`marked_e2e`); and
:func:`forbid_subprocesses`, armed by tests/conftest.py for every test not marked ``e2e``, fails
the test the moment it starts a subprocess, however indirectly.
"""

from __future__ import annotations

import ast
import subprocess
from typing import Any

import pytest

# Importing any of these means the module starts processes: the standard modules, the e2e
# runners (helpers.cli), and the benchmark harness and scripts (their workers and servers).
PROCESS_MODULES = ("subprocess", "pty", "multiprocessing", "helpers.cli", "harness", "bench_")


def imported(tree: ast.Module) -> set[str]:
    """Every module an ``import`` anywhere in ``tree`` names (top level or inside a function)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def starts_processes(tree: ast.Module) -> list[str]:
    """The imports of ``tree`` that start processes (empty if none)."""
    return sorted(
        name
        for name in imported(tree)
        if any(
            name == p or name.startswith(p if p.endswith("_") else p + ".") for p in PROCESS_MODULES
        )
    )


def marked_e2e(tree: ast.Module) -> bool:
    """True if the module assigns ``pytestmark`` at top level and it holds ``pytest.mark.e2e``."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return any(
                isinstance(n, ast.Attribute)
                and n.attr == "e2e"
                and isinstance(n.value, ast.Attribute)
                and n.value.attr == "mark"
                for n in ast.walk(node.value)
            )
    return False


def forbid_subprocesses(monkeypatch: pytest.MonkeyPatch, test_id: str) -> None:
    """Until the test ends, starting a subprocess fails it: it is not marked ``e2e``."""

    def refuse(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        pytest.fail(
            f"{test_id} starts a subprocess ({args!r}) but is not marked e2e: add "
            "`pytestmark = pytest.mark.e2e` to its module",
            pytrace=False,
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
