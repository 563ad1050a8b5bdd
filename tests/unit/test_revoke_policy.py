"""Revokes under the policy and the approval digest, pure: the `revokes` rule at both levels,
with and without limits, and a digest that moves with every revoke (docs/policy.md)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers.planning import NOW, credit, remote_credit

from maplectl.apply import refuse_policy
from maplectl.errors import ManifestError, PolicyRefusal
from maplectl.manifests.loader import load_config
from maplectl.maple.reader import Observed
from maplectl.model import Money
from maplectl.plan.builder import build_plan
from maplectl.plan.policy import Policy, RuleName, Severity
from maplectl.plan.records import Desired, Plan
from maplectl.render import plan_text


def planned(
    desired: list[Desired], credits: list[dict[str, Any]], policy: dict[str, Any] | None = None
) -> Plan:
    observed = Observed(
        customers=frozenset(d.customer_id for d in desired), credits=tuple(credits), charges=()
    )
    return build_plan(
        desired,
        observed,
        company_id="cmp_demo",
        api_url="https://api.maplebilling.com/api/v1",
        now=NOW,
        policy=Policy.from_config(policy),
    )


def revoking(
    name: str, cents: int, currency: str = "USD", customer: str = "cus_acme"
) -> tuple[Desired, dict[str, Any]]:
    """A revoke entry and its ACTIVE credit, with ``cents`` left in ``currency``."""
    d = credit(name, customer, cents, title=f"Credit {name}", revoke=True)
    d = replace(d, body={**d.body, "amount": {"currency": currency, "value_in_cents": cents}})
    return d, remote_credit(f"crd_{name}", d)


def units_revoking(name: str, left: int, item: str = "itm_api_calls") -> tuple[Desired, Any]:
    d = credit(name, title=f"Calls {name}", revoke=True)
    body = {k: v for k, v in d.body.items() if k != "amount"}
    d = replace(d, body={**body, "type": "UNITS", "units": 1000, "item_id": item})
    row = {
        **remote_credit(f"crd_{name}", d),
        "type": "UNITS",
        "issued_amount": None,
        "amount": None,
        "issued_units": 1000,
        "units": left,
        "item_id": item,
    }
    return d, row


def both(*pairs: tuple[Desired, dict[str, Any]]) -> tuple[list[Desired], list[dict[str, Any]]]:
    return [d for d, _ in pairs], [r for _, r in pairs]


@pytest.mark.parametrize("level", ["soft", "hard"])
def test_a_revokes_rule_without_limits_makes_every_revoke_a_violation(level: str) -> None:
    """`revokes: {level}`: each revoke breaks it (by address, not by amount); soft passes with
    --override-policy, hard never; a revoke entry with nothing left breaks nothing."""
    desired, rows = both(revoking("a", 4000), revoking("b", 100))
    used = credit("c", title="Credit c", revoke=True)
    desired.append(used)
    rows.append(remote_credit("crd_c", used, state="CONSUMED", balance=0))
    plan = planned(desired, rows, {"revokes": {"level": level}})
    assert [(v.rule, v.severity, v.address, v.actual) for v in plan.violations] == [
        (RuleName.REVOKES, Severity(level), "Credit/a", None),
        (RuleName.REVOKES, Severity(level), "Credit/b", None),
    ]
    with pytest.raises(PolicyRefusal) as refused:
        refuse_policy(plan)
    assert refused.value.exit_code == 3
    overridden = replace(plan, override_reason="churned customer, FIN-12")
    if level == "soft":
        refuse_policy(overridden)
        assert "policy revokes (soft): revokes need --override-policy (overridden)" in plan_text(
            overridden
        )
    else:
        with pytest.raises(PolicyRefusal, match="2 hard policy violations"):
            refuse_policy(overridden)
        assert "policy revokes (hard): revokes are not allowed" in plan_text(plan)


def test_a_per_revoke_violation_does_not_move_with_the_balance() -> None:
    """A saved plan re-checked after the customer used some of the credit finds the same
    violation: it records the revoke, not its amount."""
    d, row = revoking("a", 4000)
    first = planned([d], [row], {"revokes": {"level": "soft"}})
    later = planned(
        [d],
        [{**row, "amount": {"currency": "USD", "value_in_cents": 10}}],
        {"revokes": {"level": "soft"}},
    )
    assert first.violations == later.violations


def test_limits_count_what_the_run_takes_back_per_currency_and_item() -> None:
    """With amounts and units, the run's totals over a limit break it; a currency or item the
    rule does not list allows none; within every limit, nothing breaks it."""
    desired, rows = both(
        revoking("a", 30000),
        revoking("b", 20001, customer="cus_globex"),
        revoking("j", 5, currency="JPY"),
        units_revoking("u", 600),
        units_revoking("x", 1, item="itm_other"),
    )
    rule = {"level": "hard", "amounts": {"USD": 50000}, "units": {"itm_api_calls": 500}}
    plan = planned(desired, rows, {"revokes": rule})
    assert [(v.address, v.currency, v.limit, v.actual) for v in plan.violations[:2]] == [
        (None, "JPY", Money("JPY", 0), Money("JPY", 5)),
        (None, "USD", Money("USD", 50000), Money("USD", 50001)),
    ]
    assert [(v.item_id, v.limit_units, v.actual_units) for v in plan.violations[2:]] == [
        ("itm_api_calls", 500, 600),
        ("itm_other", 0, 1),
    ]
    text = plan_text(plan)
    assert (
        "policy revokes (hard): this run takes back USD 500.01, over the limit of USD 500.00 "
        "per run" in text
    )
    assert "this run takes back 600 units of itm_api_calls, over the limit of 500 per run" in text
    within = planned(desired[:1], rows[:1], {"revokes": rule})
    assert within.violations == ()


def test_revokes_do_not_count_as_money_granted() -> None:
    """Money taken back is not held against the limits on what a run creates."""
    desired, rows = both(revoking("a", 10**9), revoking("e", 10**9, currency="EUR"))
    rules = {
        "max_per_run": {"level": "hard", "amounts": {"USD": 1}},
        "max_per_customer": {"level": "hard", "amounts": {"USD": 1}},
        "allowed_currencies": {"level": "hard", "currencies": ["USD"]},
        "max_per_credit": {"level": "hard", "amounts": {"USD": 1}},
    }
    plan = planned(desired, rows, rules)
    assert len(plan.revokes) == 2 and plan.violations == ()


def test_the_config_schema_takes_a_revokes_rule(tmp_path: Path) -> None:
    """maplectl.yaml accepts `revokes` with level, amounts and units, and refuses a float."""
    good = tmp_path / "maplectl.yaml"
    good.write_text(
        "company_id: cmp_demo\npolicy:\n  revokes: {level: soft, amounts: {USD: 50000}, "
        "units: {itm_api_calls: 10}}\n"
    )
    policy = Policy.from_config(load_config(good)["policy"])
    assert policy.rules[RuleName.REVOKES].amounts == {"USD": 50000}
    good.write_text(
        "company_id: cmp_demo\npolicy:\n  revokes: {level: soft, amounts: {USD: 1.5}}\n"
    )
    with pytest.raises(ManifestError, match=r"revokes\.amounts\.USD"):
        load_config(good)


def test_the_approval_digest_moves_with_every_revoke() -> None:
    """Same world, same digest; a revoke added, removed, aimed at another credit, or gone
    because the credit was used up changes it."""
    d, row = revoking("a", 4000)
    plain = replace(d, revoke=False)
    twin = {**row, "id": "crd_twin"}
    digests = {
        "revoke": planned([d], [row]).approval_digest,
        "again": planned([d], [row]).approval_digest,
        "no revoke": planned([plain], [row]).approval_digest,
        "other credit": planned([replace(d, remote_id="crd_twin")], [row, twin]).approval_digest,
        "used up": planned(
            [d], [{**row, "state": "CONSUMED", "amount": {"currency": "USD", "value_in_cents": 0}}]
        ).approval_digest,
        "a little used": planned(
            [d], [{**row, "amount": {"currency": "USD", "value_in_cents": 3999}}]
        ).approval_digest,
    }
    assert digests["revoke"] == digests["again"]
    assert digests["revoke"] == digests["a little used"], "balances are not in the digest"
    others = [digests[k] for k in ("no revoke", "other credit", "used up")]
    assert digests["revoke"] not in others
    # Without the revoke and after the credit was used up, apply does the same: nothing.
    assert digests["no revoke"] == digests["used up"] != digests["other credit"]


def test_a_revoke_of_an_unknown_balance_breaks_the_limit_and_says_why() -> None:
    """A revoke whose balance Maple did not send breaks a `revokes` rule with limits on its
    own, and the plan says the amount is unknown (not that revokes are not allowed)."""
    d = credit("acme", title="Goodwill", cents=500000, revoke=True)
    plan = planned(
        [d],
        [remote_credit("cr_01", d, amount=None)],
        {"revokes": {"level": "hard", "amounts": {"USD": 1000}}},
    )
    [violation] = plan.violations
    assert (violation.address, violation.currency, violation.actual) == (d.address, "USD", None)
    assert "Maple sent no readable balance" in plan_text(plan)
    with pytest.raises(PolicyRefusal):
        refuse_policy(plan)
