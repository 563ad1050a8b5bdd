"""`maplectl validate --format github` as a GitHub Actions step runs it: one workflow command
per problem on stdout, escaped, and the exit codes of the text format."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import credit_manifest, maplectl

pytestmark = pytest.mark.e2e


def test_one_escaped_annotation_per_problem_and_exit_1(tmp_path: Path) -> None:
    """A file whose name holds ',' and ':' and whose problems quote '%': one `::error` line
    each, file name escaped as a property (%2C, %3A), '%' as %25 in the message; the count on
    stderr; exit 1 as with --format text. A valid folder prints no annotation and exits 0."""
    billing = tmp_path / "billing"
    billing.mkdir()
    bad = credit_manifest("acme-100%").replace("value_in_cents: 5000", "value_in_cents: 19.99")
    (billing / "q4,acme:v2.yaml").write_text(bad)
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.yaml").write_text(credit_manifest("acme-ok"))

    run = maplectl("validate", "billing", "ok", "--format", "github", cwd=tmp_path)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    prefix = "::error file=billing/q4%2Cacme%3Av2.yaml,"
    assert len(lines) == 2 and all(line.startswith(prefix) for line in lines)
    assert lines[0].startswith(f"{prefix}line=4,col=9::Credit/acme-100%25: metadata.name: ")
    assert lines[1] == (
        f"{prefix}line=9,col=43::Credit/acme-100%25: spec.amount.value_in_cents: must be a "
        "whole number of cents, got 19.99 (write 1999)"
    )
    assert run.stderr == "2 problems found.\n"

    valid = maplectl("validate", "ok", "--format", "github", cwd=tmp_path)
    assert (valid.returncode, valid.stdout) == (0, "1 document valid.\n")
