"""Review 12: the CLI's money guardrails against a real sandbox server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import Server, count_credits, credit_manifest, maplectl

from maplectl.plan.keys import digest

pytestmark = pytest.mark.e2e


def project(tmp_path: Path) -> None:
    """billing/maplectl.yaml (a hard USD 10.00 per-credit rule) over billing/credits/."""
    (tmp_path / "billing" / "credits").mkdir(parents=True)
    (tmp_path / "billing" / "maplectl.yaml").write_text(
        "policy:\n  max_per_credit:\n    level: hard\n    amounts: {USD: 1000}\n",
        encoding="utf-8",
    )
    (tmp_path / "billing" / "credits" / "goodwill.yaml").write_text(
        credit_manifest("acme-goodwill", cents=5_000_000), encoding="utf-8"
    )


def test_applying_a_subfolder_keeps_the_policy_of_the_root(server: Server, tmp_path: Path) -> None:
    """`apply billing/credits` (CI with MAPLE_COMPANY_ID set) is refused by the hard rule in
    billing/maplectl.yaml, as `apply billing` is; nothing is sent."""
    project(tmp_path)
    whole = maplectl("apply", "billing", "--auto-approve", cwd=tmp_path, server=server)
    assert whole.returncode == 3, whole.stderr
    run = maplectl("apply", "billing/credits", "--auto-approve", cwd=tmp_path, server=server)
    assert count_credits(server) == 0
    assert run.returncode == 3, run.stderr


def test_a_saved_plan_edited_to_a_subfolder_keeps_the_hard_rule(
    server: Server, tmp_path: Path
) -> None:
    """A plan file whose `paths` were edited from billing to billing/credits (the same
    manifests, plan_digest recomputed) is still refused by billing/maplectl.yaml's hard rule."""
    project(tmp_path)
    run = maplectl("plan", "billing", "--out", "plan.json", cwd=tmp_path, server=server)
    assert run.returncode == 0, run.stderr
    doc = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert [v["rule"] for v in doc["violations"]] == ["max_per_credit"]
    doc.pop("plan_digest")
    doc["paths"] = ["billing/credits"]
    doc["plan_digest"] = digest(doc)
    (tmp_path / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    run = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert count_credits(server) == 0
    assert run.returncode == 3, run.stderr
