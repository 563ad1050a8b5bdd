"""Money guardrails through the CLI against a real sandbox server: policy rules (soft and hard),
the override reason in the plan JSON and the journal, saved plans checked against the policy
again, and cards charged at once refused unless allowed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import Server, count_credits, credit_manifest, maplectl

from maplectl.plan.keys import digest

pytestmark = pytest.mark.e2e

REASON = "Goodwill for INC-2291, approved by finance (FIN-88)"


def project(tmp_path: Path, level: str) -> None:
    """billing/: a USD 50.00 credit under a policy allowing USD 10.00 per credit."""
    billing = tmp_path / "billing"
    billing.mkdir()
    (billing / "maplectl.yaml").write_text(
        f"policy:\n  max_per_credit:\n    level: {level}\n    amounts: {{USD: 1000}}\n",
        encoding="utf-8",
    )
    (billing / "credits.yaml").write_text(credit_manifest("acme-goodwill", cents=5000))


def journal_lines(tmp_path: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for path in sorted((tmp_path / ".maplectl" / "journal").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_soft_rule_needs_a_reason_which_lands_in_the_plan_and_the_journal(
    server: Server, tmp_path: Path
) -> None:
    """A soft violation: plan --detailed-exitcode and apply exit 3 sending nothing; with
    --override-policy the reason is in the saved plan, apply runs, and the journal records it."""
    project(tmp_path, "soft")
    run = maplectl("plan", "billing", "--detailed-exitcode", cwd=tmp_path, server=server)
    assert run.returncode == 3, run.stderr
    assert "policy max_per_credit (soft): USD 50.00, over the limit of USD 10.00" in run.stdout
    run = maplectl("apply", "billing", "--auto-approve", cwd=tmp_path, server=server)
    assert run.returncode == 3, run.stderr
    assert "1 soft policy violation; nothing was sent" in run.stderr
    assert count_credits(server) == 0

    run = maplectl(
        "plan", "billing", "--override-policy", REASON, "--out", "plan.json",
        "--detailed-exitcode", cwd=tmp_path, server=server,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr  # changes pending, none refused
    doc = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert doc["override_reason"] == REASON
    assert [(v["rule"], v["severity"], v["address"]) for v in doc["violations"]] == [
        ("max_per_credit", "soft", "Credit/acme-goodwill")
    ]

    # The reason in the file is not trusted: apply must be given it again.
    run = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert run.returncode == 3, run.stderr
    assert count_credits(server) == 0

    run = maplectl("apply", "plan.json", "--override-policy", REASON, cwd=tmp_path, server=server)
    assert run.returncode == 0, run.stderr
    assert count_credits(server) == 1
    (policy,) = [line for line in journal_lines(tmp_path) if line["event"] == "policy"]
    assert policy["override_reason"] == REASON
    assert policy["violations"][0]["actual"] == {"currency": "USD", "value_in_cents": 5000}  # type: ignore[index]


def test_hard_rule_is_refused_even_with_a_reason(server: Server, tmp_path: Path) -> None:
    """A hard violation: apply exits 3 and sends nothing, with --override-policy too, from
    manifests and from a saved plan."""
    project(tmp_path, "hard")
    run = maplectl(
        "apply", "billing", "--auto-approve", "--override-policy", REASON,
        cwd=tmp_path, server=server,
    )  # fmt: skip
    assert run.returncode == 3, run.stderr
    assert "1 hard policy violation; nothing was sent" in run.stderr
    run = maplectl(
        "plan", "billing", "--override-policy", REASON, "--out", "plan.json",
        "--detailed-exitcode", cwd=tmp_path, server=server,
    )  # fmt: skip
    assert run.returncode == 3
    run = maplectl("apply", "plan.json", "--override-policy", REASON, cwd=tmp_path, server=server)
    assert run.returncode == 3, run.stderr
    assert count_credits(server) == 0
    assert not (tmp_path / ".maplectl" / "journal").exists() or not journal_lines(tmp_path)


def test_a_saved_plan_stripped_of_its_violations_is_checked_again(
    server: Server, tmp_path: Path
) -> None:
    """Apply evaluates the policy again from maplectl.yaml: a plan file whose violations were
    removed (digest recomputed) is still refused, nothing sent."""
    project(tmp_path, "hard")
    maplectl("plan", "billing", "--out", "plan.json", cwd=tmp_path, server=server)
    doc = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert doc["violations"]
    doc["violations"] = []
    doc["plan_digest"] = digest({k: v for k, v in doc.items() if k != "plan_digest"})
    (tmp_path / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    run = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert run.returncode == 4, run.stderr  # the file is not the plan that was reviewed
    assert "policy violations are not the ones the plan was reviewed with" in run.stderr
    assert count_credits(server) == 0


CARD_NOW = """\
apiVersion: maplectl/v1
kind: OneTimeCharge
metadata:
  name: acme-rush-order
spec:
  customer_id: cus_acme
  type: IMMEDIATE
  auto_charges: true
  onetime_items:
    - custom_price:
        amount: {currency: USD, value_in_cents: 2500000}
        product_id: prod_services
        description: Rush order
      aggregate: 1
"""


def test_a_card_charged_at_once_is_refused_unless_allowed(server: Server, tmp_path: Path) -> None:
    """IMMEDIATE + auto_charges: plan --detailed-exitcode and apply exit 3 and nothing is sent;
    with --allow-immediate-charges apply creates it (its risk class in the apply JSON)."""
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "charges.yaml").write_text(CARD_NOW, encoding="utf-8")
    run = maplectl("plan", "billing", "--detailed-exitcode", cwd=tmp_path, server=server)
    assert run.returncode == 3, run.stderr
    assert "charge-immediate-auto" in run.stdout
    assert "1 charge charges the card on file at once" in run.stdout
    run = maplectl("plan", "billing", "--format", "json", cwd=tmp_path, server=server)
    assert json.loads(run.stdout)["actions"][0]["risk"] == "charge-immediate-auto"

    run = maplectl("apply", "billing", "--auto-approve", cwd=tmp_path, server=server)
    assert run.returncode == 3, run.stderr
    assert "--allow-immediate-charges" in run.stderr
    allowed = ("--allow-immediate-charges", "--detailed-exitcode")
    still = maplectl("plan", "billing", *allowed, cwd=tmp_path, server=server)
    assert still.returncode == 2, still.stderr  # nothing was sent: still to create

    run = maplectl(
        "apply", "billing", "--auto-approve", "--allow-immediate-charges", "--format", "json",
        cwd=tmp_path, server=server,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (result,) = json.loads(run.stdout)["results"]
    assert (result["address"], result["outcome"], result["risk"]) == (
        "OneTimeCharge/acme-rush-order",
        "created",
        "charge-immediate-auto",
    )
    done = maplectl("plan", "billing", *allowed, cwd=tmp_path, server=server)
    assert done.returncode == 0, done.stdout + done.stderr
    (policy,) = [line for line in journal_lines(tmp_path) if line["event"] == "policy"]
    assert policy["immediate_charges"] == ["OneTimeCharge/acme-rush-order"]
    assert policy["allow_immediate_charges"] is True


def test_an_empty_override_reason_is_a_usage_error(tmp_path: Path) -> None:
    """--override-policy needs a real reason: a blank one is refused (exit 1) before any request."""
    project(tmp_path, "soft")
    run = maplectl("plan", "billing", "--sandbox", "--override-policy", "  ", cwd=tmp_path)
    assert run.returncode == 1
    assert "--override-policy needs a reason" in run.stderr
