"""Issue 2's vertical slice: validate, plan, apply, plan again, as a user runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.cli import CANARY, Server, credit_manifest, maplectl

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_plan_apply_plan_against_sandbox_serve(server: Server, tmp_path: Path) -> None:
    """Against `sandbox serve` over HTTP: plan shows creates, apply makes them, plan is clean."""
    (tmp_path / "credits.yaml").write_text(
        credit_manifest("acme-goodwill")
        + "---\n"
        + credit_manifest("globex-goodwill", "cus_globex", 12500)
    )
    first = maplectl("plan", "credits.yaml", "--api-url", server.url, cwd=tmp_path, server=server)
    assert first.returncode == 0, first.stderr
    assert "+ Credit/acme-goodwill" in first.stdout
    assert "Plan: 2 to create, 0 unchanged. New credits: USD 175.00." in first.stdout

    applied = maplectl(
        "apply",
        "credits.yaml",
        "--api-url",
        server.url,
        "--auto-approve",
        cwd=tmp_path,
        server=server,
    )
    assert applied.returncode == 0, applied.stderr
    assert "Apply: 2 created. New credits: USD 175.00." in applied.stdout

    again = maplectl(
        "plan",
        "credits.yaml",
        "--api-url",
        server.url,
        "--detailed-exitcode",
        cwd=tmp_path,
        server=server,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Plan: 0 to create, 2 unchanged." in again.stdout
    credits = server.control("GET", "counters")
    assert credits["routes"].get("POST /credits", 0) == 2
    for run in (first, applied, again):
        assert CANARY not in run.stdout + run.stderr


def test_examples_apply_on_the_embedded_sandbox_twice(tmp_path: Path) -> None:
    """The README's first command: apply examples/ to --sandbox; run again, nothing is created."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    first = maplectl("apply", "examples", "--sandbox", "--auto-approve", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert " created" in first.stdout
    assert (tmp_path / ".maplectl" / "sandbox.sqlite").exists()
    second = maplectl("apply", "examples", "--sandbox", "--auto-approve", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Nothing to do." in second.stdout and " created" not in second.stdout


def test_apply_without_terminal_or_approval_sends_nothing(server: Server, tmp_path: Path) -> None:
    """In CI without --auto-approve, apply refuses (exit 1) and creates nothing."""
    (tmp_path / "c.yaml").write_text(credit_manifest("acme-goodwill"))
    run = maplectl("apply", "c.yaml", cwd=tmp_path, server=server)
    assert run.returncode == 1
    assert "--auto-approve" in run.stderr
    assert server.control("GET", "counters")["routes"].get("POST /credits", 0) == 0
