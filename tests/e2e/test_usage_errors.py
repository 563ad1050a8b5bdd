"""A mistyped option or path exits 1 on every command, so it never looks like exit 2, which
``plan --detailed-exitcode`` reserves for "changes pending"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.cli import maplectl

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "examples", "--detailed-exitcode", "--sandbox", "--formt", "markdown"],
        ["plan", "exmaples/", "--detailed-exitcode", "--sandbox"],
        ["apply", "examples", "--sandbox", "--auto-aprove"],
        ["apply", "plan-typo.json", "--sandbox"],
        ["validate", "examples", "--fromat", "json"],
        ["validate", "exmaples/"],
        ["show", "plan.json", "--formt", "json"],
        ["show", "plan-typo.json"],
        ["plna", "examples"],
    ],
    ids=lambda args: " ".join(args),
)
def test_usage_error_exits_1_not_2(tmp_path: Path, args: list[str]) -> None:
    """A typo in a CI step fails the step (exit 1) and says what was wrong; nothing is sent."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    (tmp_path / "plan.json").write_text("{}")  # exists; the typo is elsewhere
    run = maplectl(*args, cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Error:" in run.stderr and run.stdout == ""
    if args[0] == "apply":
        pending = maplectl("plan", "examples", "--sandbox", "--detailed-exitcode", cwd=tmp_path)
        assert pending.returncode == 2  # still everything to create: nothing was sent
