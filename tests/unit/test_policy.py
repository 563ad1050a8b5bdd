"""Money guardrails, pure: every policy rule at both levels, risk classes, and how violations
read in each rendering (money in the currency's own minor units: JPY 500, KWD 1.500)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from helpers.planning import NOW, charge, credit

from maplectl.apply import Applier, refuse_policy
from maplectl.errors import PolicyRefusal
from maplectl.maple.reader import Observed
from maplectl.model import Money
from maplectl.plan.actions import Risk
from maplectl.plan.builder import build_plan
from maplectl.plan.policy import Policy, RuleName, Severity, Violation
from maplectl.plan.records import Desired, Plan
from maplectl.render import plan_json, plan_markdown, plan_text

LEVELS = ("soft", "hard")


def planned(desired: list[Desired], policy: dict[str, Any] | None = None) -> Plan:
    observed = Observed(
        customers=frozenset(d.customer_id for d in desired), credits=(), charges=(), requests=1
    )
    return build_plan(
        desired,
        observed,
        company_id="cmp_demo",
        api_url="https://maple.test",
        now=NOW,
        policy=Policy.from_config(policy),
    )


def money_credit(name: str, currency: str, cents: int, customer: str = "cus_acme") -> Desired:
    d = credit(name, customer, cents, expiration_date="2027-01-01T00:00:00Z")
    body = {**d.body, "amount": {"currency": currency, "value_in_cents": cents}}
    return replace(d, body=body)


def units_credit(name: str, units: int, item: str = "itm_api_calls") -> Desired:
    d = credit(name, expiration_date="2027-01-01T00:00:00Z")
    body = {k: v for k, v in d.body.items() if k != "amount"}
    return replace(d, body={**body, "type": "UNITS", "units": units, "item_id": item})


def priced_charge(name: str, currency: str, cents: int, customer: str = "cus_acme", **extra: Any):
    item = {
        "custom_price": {
            "amount": {"currency": currency, "value_in_cents": cents},
            "product_id": "prod_services",
            "description": "Work",
        },
        "aggregate": 1,
    }
    d = charge(name, customer, items=[item])
    return replace(d, body={**d.body, **extra})


# Each case: the policy rule, manifests that break it, and the one violation expected.
CASES: dict[str, tuple[dict[str, Any], list[Desired], dict[str, Any]]] = {
    "max_per_credit amount (JPY, zero decimals)": (
        {"max_per_credit": {"amounts": {"JPY": 500}}},
        [money_credit("ok", "JPY", 500), money_credit("big", "JPY", 501)],
        {"address": "Credit/big", "limit": Money("JPY", 500), "actual": Money("JPY", 501)},
    ),
    "max_per_credit units per item": (
        {"max_per_credit": {"units": {"itm_api_calls": 1000, "itm_x": 10}}},
        [units_credit("ok", 1000), units_credit("big", 1001), units_credit("other", 9, "itm_x")],
        {"address": "Credit/big", "item_id": "itm_api_calls", "actual_units": 1001},
    ),
    "max_per_customer (KWD, three decimals)": (
        {"max_per_customer": {"amounts": {"KWD": 1500}}},
        [
            money_credit("a", "KWD", 1000),
            priced_charge("b", "KWD", 501),
            money_credit("c", "KWD", 1500, customer="cus_globex"),
        ],
        {"customer_id": "cus_acme", "address": None, "actual": Money("KWD", 1501)},
    ),
    "max_per_run": (
        {"max_per_run": {"amounts": {"USD": 10000}}},
        [money_credit("a", "USD", 6000), money_credit("b", "USD", 4001, customer="cus_globex")],
        {"address": None, "customer_id": None, "actual": Money("USD", 10001)},
    ),
    "allowed_currencies": (
        {"allowed_currencies": {"currencies": ["USD", "EUR"]}},
        [money_credit("a", "USD", 100), priced_charge("b", "JPY", 500)],
        {"address": "OneTimeCharge/b", "currency": "JPY", "actual": Money("JPY", 500)},
    ),
    "credit_expiry": (
        {"credit_expiry": {"max_days": 30}},
        [
            credit("soon", expiration_date=(NOW + timedelta(days=30)).isoformat()),
            credit("never"),
        ],
        {"address": "Credit/never", "actual_units": None, "limit_units": 30},
    ),
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_rule_at_both_levels(case: str, level: str) -> None:
    """Each rule finds exactly the create (or total) that breaks it; a soft violation is refused
    without a reason and passes with one, a hard one is refused even with a reason."""
    rules, desired, expected = CASES[case]
    (name, rule), *_ = rules.items()
    plan = planned(desired, {name: {**rule, "level": level}})
    assert len(plan.violations) == 1, plan.violations
    (violation,) = plan.violations
    assert violation.rule is RuleName(name)
    assert violation.severity is Severity(level)
    for field, value in expected.items():
        assert getattr(violation, field) == value, field
    with pytest.raises(PolicyRefusal) as refused:
        refuse_policy(plan)
    assert refused.value.exit_code == 3
    overridden = replace(plan, override_reason="approved in FIN-1")
    if level == "soft":
        refuse_policy(overridden)
    else:
        with pytest.raises(PolicyRefusal, match="1 hard policy violation"):
            refuse_policy(overridden)


def test_without_policy_nothing_is_a_violation() -> None:
    """An empty policy allows any amount, currency and expiry."""
    plan = planned([money_credit("big", "JPY", 10**12), credit("never")])
    assert plan.violations == ()
    refuse_policy(plan)


def test_the_expiry_horizon_counts_whole_days_from_the_plan() -> None:
    """A credit expiring exactly max_days after the plan passes; one second later breaks it."""
    edge = credit("edge", expiration_date=(NOW + timedelta(days=30)).isoformat())
    late = credit("late", expiration_date=(NOW + timedelta(days=30, seconds=1)).isoformat())
    plan = planned([edge, late], {"credit_expiry": {"level": "hard", "max_days": 30}})
    assert [(v.address, v.actual_units) for v in plan.violations] == [("Credit/late", 31)]


@pytest.mark.parametrize(
    ("desired", "risk"),
    [
        (credit("c"), Risk.CREDIT_GRANT),
        (charge("n"), Risk.CHARGE_NEXT_INVOICE),
        (charge("i", type_="IMMEDIATE"), Risk.CHARGE_IMMEDIATE),
        (priced_charge("f", "USD", 1, type="IMMEDIATE", auto_charges=False), Risk.CHARGE_IMMEDIATE),
        (
            priced_charge("a", "USD", 1, type="IMMEDIATE", auto_charges=True),
            Risk.CHARGE_IMMEDIATE_AUTO,
        ),
    ],
)
def test_every_action_has_its_risk_class_in_json_and_text(desired: Desired, risk: Risk) -> None:
    """The risk class comes from the manifest and shows in the JSON plan, text and Markdown."""
    plan = planned([desired])
    (action,) = plan.actions
    assert action.risk is risk
    doc = json.loads(plan_json(plan))
    assert doc["actions"][0]["risk"] == risk.value
    assert doc["summary"]["risks"][risk.value] == 1
    assert risk.value in plan_text(plan)
    assert risk.value in plan_markdown(plan)
    assert Plan.from_json(doc).actions[0].risk is risk


def test_an_existing_charge_keeps_its_risk_class() -> None:
    """Unchanged and drifted actions carry the risk of their manifest too."""
    from helpers.planning import billable

    d = charge("i", type_="IMMEDIATE")
    observed = Observed(
        customers=frozenset({"cus_acme"}),
        credits=(),
        charges=(billable("otb_01", type_="IMMEDIATE"),),
        requests=1,
    )
    plan = build_plan([d], observed, company_id="cmp_demo", api_url="https://maple.test", now=NOW)
    (action,) = plan.actions
    assert action.action.value == "unchanged"
    assert action.risk is Risk.CHARGE_IMMEDIATE
    assert json.loads(plan_json(plan))["actions"][0]["risk"] == "charge-immediate"


def test_a_card_charged_at_once_is_refused_unless_allowed() -> None:
    """IMMEDIATE with auto_charges: true is refused by default, with or without a policy."""
    plan = planned([priced_charge("rush", "USD", 2_500_000, type="IMMEDIATE", auto_charges=True)])
    with pytest.raises(PolicyRefusal, match="OneTimeCharge/rush") as refused:
        refuse_policy(plan)
    assert "--allow-immediate-charges" in (refused.value.hint or "")
    refuse_policy(replace(plan, allow_immediate_charges=True))
    # an invoice sent now without charging the card is shown, not refused
    refuse_policy(planned([priced_charge("inv", "USD", 1, type="IMMEDIATE")]))


def test_applier_refuses_before_sending_anything() -> None:
    """Applier.run (the library's one path) refuses a plan with a violation: no request made."""

    class NoWrites:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"apply touched the writer: {name}")

    plan = planned(
        [money_credit("big", "USD", 10**6)],
        {"max_per_credit": {"level": "hard", "amounts": {"USD": 100}}},
    )
    with pytest.raises(PolicyRefusal):
        Applier(NoWrites()).run(plan)  # type: ignore[arg-type]
    cards = planned([priced_charge("rush", "USD", 1, type="IMMEDIATE", auto_charges=True)])
    with pytest.raises(PolicyRefusal):
        Applier(NoWrites()).run(cards)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("currency", "limit", "cents", "shown_limit", "shown_actual"),
    [
        ("JPY", 500, 501, "JPY 500", "JPY 501"),
        ("KWD", 1500, 1501, "KWD 1.500", "KWD 1.501"),
        ("USD", 100000, 2500000, "USD 1,000.00", "USD 25,000.00"),
    ],
)
def test_violation_money_in_every_rendering(
    currency: str, limit: int, cents: int, shown_limit: str, shown_actual: str
) -> None:
    """Limits and amounts read in the currency's own minor units in text, Markdown and JSON."""
    plan = planned(
        [money_credit("big", currency, cents)],
        {
            "max_per_credit": {"level": "hard", "amounts": {currency: limit}},
            "max_per_run": {"level": "soft", "amounts": {currency: limit}},
        },
    )
    text, markdown = plan_text(plan), plan_markdown(plan)
    for rendering in (text, markdown):
        assert f"{shown_actual}, over the limit of {shown_limit} per credit" in rendering
        assert f"this run creates {shown_actual}, over the limit of {shown_limit}" in rendering
        assert "Policy: 1 hard and 1 soft violation" in rendering
    if currency == "JPY":
        assert "JPY 5.00" not in text and "JPY 5.01" not in text
    doc = json.loads(plan_json(plan))
    assert doc["violations"][0]["limit"] == {"currency": currency, "value_in_cents": limit}
    assert doc["violations"][0]["actual"] == {"currency": currency, "value_in_cents": cents}


def test_violations_and_override_round_trip_through_the_plan_json() -> None:
    """A saved plan keeps its violations, the override reason and the immediate-charge leave."""
    plan = planned(
        [money_credit("big", "KWD", 1501)],
        {"max_per_credit": {"level": "soft", "amounts": {"KWD": 1500}}},
    )
    plan = replace(plan, override_reason="CFO ok, FIN-7", allow_immediate_charges=True)
    doc = json.loads(plan_json(plan))
    assert doc["override_reason"] == "CFO ok, FIN-7"
    assert doc["allow_immediate_charges"] is True
    again = Plan.from_json(doc)
    assert again.violations == plan.violations
    assert again.override_reason == "CFO ok, FIN-7"
    assert again.allow_immediate_charges is True
    assert Violation.from_json(doc["violations"][0]) == plan.violations[0]


def test_markdown_opens_with_the_immediate_charge_banner() -> None:
    """A card charged at once is announced right under the Markdown title, and its risk class
    is bold in its row; on a terminal its line is highlighted."""
    plan = planned([priced_charge("rush", "USD", 2_500_000, type="IMMEDIATE", auto_charges=True)])
    lines = plan_markdown(plan).splitlines()
    assert lines[0].startswith("Approval digest: `sha256:") and lines[2] == "### maplectl plan"
    assert lines[4].startswith("> **Warning:** 1 charge charges the card on file at once")
    assert "OneTimeCharge/rush" in lines[4]
    assert "**charge-immediate-auto**" in plan_markdown(plan)
    coloured = plan_text(plan, color=True)
    (row,) = [
        line for line in coloured.splitlines() if "OneTimeCharge/rush" in line and "+" in line
    ]
    assert row.startswith("\033[1;37;41m")
    assert not plan_text(plan).count("\033[")


def test_units_given_as_a_float_by_the_python_api_do_not_slip_past_the_limit() -> None:
    """Validation refuses `units: 1e12` in a file; a body built in Python skips validation, and
    the per-credit limit still applies to it."""
    policy = {"max_per_credit": {"level": "hard", "units": {"itm_api_calls": 1000}}}
    plan = planned([units_credit("huge", 1e12)], policy)  # type: ignore[arg-type]
    (violation,) = plan.violations
    assert violation.address == "Credit/huge" and violation.limit_units == 1000
