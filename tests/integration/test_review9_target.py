"""Review of issue 9 against the sandbox: a targeted apply must judge only what it did."""

from __future__ import annotations

from datetime import UTC, datetime

from helpers.maple import Maple
from helpers.planning import charge

from maplectl.maple.reader import read_observed
from maplectl.plan.builder import build_plan
from maplectl.plan.records import ActionType, Desired, Plan

TRAINING = [{"product_pricing_id": "pp_training_day", "aggregate": 3}]


def targeted(maple: Maple, desired: list[Desired], targets: list[str]) -> Plan:
    """What `maplectl apply --target` plans: every manifest of the customer, some actions."""
    observed = read_observed(maple.client, {d.customer_id for d in desired}, parallelism=4)
    return build_plan(
        desired,
        observed,
        company_id=maple.box.company_id,
        api_url="sandbox",
        now=datetime.now(UTC),
        targets=targets,
    )


def test_targeted_apply_of_an_intended_second_charge_verifies_clean(maple: Maple) -> None:
    """A second training charge on purpose, applied with --target, is a clean run (exit 0)."""
    first = charge("globex-training", customer="cus_globex", items=TRAINING)
    assert not maple.apply(maple.plan([first])).verification_problems
    extra = charge(
        "globex-training-extra", customer="cus_globex", items=TRAINING, allow_duplicate=True
    )
    plan = targeted(maple, [first, extra], ["OneTimeCharge/globex-training-extra"])
    assert [a.action for a in plan.actions] == [ActionType.CREATE]
    result = maple.apply(plan)
    assert [r.outcome.value for r in result.results] == ["created"]
    assert result.verification_problems == ()
