"""`maplectl validate` and `schema` as a user runs them; bad manifests never reach Maple."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import Server, credit_manifest, maplectl

pytestmark = pytest.mark.e2e

BAD_CENTS = credit_manifest("acme-goodwill").replace(
    "value_in_cents: 5000", "value_in_cents: 19.99"
)
BAD_KEY = credit_manifest("globex-goodwill", "cus_globex").replace(
    "  type: AMOUNT", "  tpye: AMOUNT"
)


def write_bad(folder: Path) -> None:
    (folder / "billing").mkdir()
    (folder / "billing" / "acme.yaml").write_text(BAD_CENTS)
    (folder / "billing" / "globex.yaml").write_text(BAD_KEY)


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    """Two broken files: both problems, with file:line:col, field and hint; exit 1."""
    write_bad(tmp_path)
    run = maplectl("validate", "billing", cwd=tmp_path)
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert (
        "billing/acme.yaml:9:43: Credit/acme-goodwill: spec.amount.value_in_cents: must be a "
        "whole number of cents, got 19.99 (write 1999)"
    ) in lines
    assert any(
        line.startswith("billing/globex.yaml:8:3: Credit/globex-goodwill: spec.tpye:")
        and "did you mean" in line
        for line in lines
    )
    assert lines[-1].endswith("problems found.")


def test_validate_json_lists_the_same_problems(tmp_path: Path) -> None:
    """--format json gives the problems as data, versioned."""
    write_bad(tmp_path)
    run = maplectl("validate", "billing", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1
    doc = json.loads(run.stdout)
    assert doc["format_version"] == 1 and doc["ok"] is False
    fields = {(p["file"], p["field"]) for p in doc["problems"]}
    assert ("billing/acme.yaml", "spec.amount.value_in_cents") in fields


def test_invalid_manifests_send_nothing(server: Server, tmp_path: Path) -> None:
    """plan and apply on a broken manifest stop before the first request (exit 1)."""
    write_bad(tmp_path)
    (tmp_path / "billing" / "ok.yaml").write_text(credit_manifest("initech-ok", "cus_initech"))
    server.control("DELETE", "counters")
    for args in (["plan", "billing"], ["apply", "billing", "--auto-approve"]):
        run = maplectl(*args, cwd=tmp_path, server=server)
        assert run.returncode == 1 and "nothing was sent" in run.stderr
    assert server.control("GET", "counters")["total"] == 0


def test_schema_prints_a_draft_2020_12_document(tmp_path: Path) -> None:
    """`maplectl schema Credit` prints the JSON Schema editors can use; unknown kinds list known."""
    run = maplectl("schema", "Credit", cwd=tmp_path)
    doc = json.loads(run.stdout)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema" and doc["$id"]
    bad = maplectl("schema", "Invoice", cwd=tmp_path)
    assert bad.returncode == 1 and "OneTimeCharge" in bad.stderr.replace(
        "onetimecharge", "OneTimeCharge"
    )
