"""Review 12, pure: money the policy lets through unseen; a PR comment over its limit."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from helpers.planning import NOW, charge, credit

from maplectl.maple.reader import Observed
from maplectl.plan.builder import build_plan
from maplectl.plan.policy import Policy
from maplectl.plan.records import Desired, Plan
from maplectl.render import MARKDOWN_LIMIT, plan_markdown, plan_markdown_parts


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


def eur_credit() -> Desired:
    d = credit("big-eur", expiration_date="2027-01-01T00:00:00Z")
    return replace(d, body={**d.body, "amount": {"currency": "EUR", "value_in_cents": 10**11}})


def storage_credit() -> Desired:
    d = credit("big-storage", expiration_date="2027-01-01T00:00:00Z")
    body = {k: v for k, v in d.body.items() if k != "amount"}
    return replace(d, body={**body, "type": "UNITS", "units": 10**12, "item_id": "itm_storage"})


@pytest.mark.parametrize(
    "desired",
    [eur_credit(), storage_credit()],
    ids=["allowed currency without a limit", "item without a limit"],
)
def test_a_hard_max_per_credit_does_not_wave_through_unlisted_money(desired: Desired) -> None:
    """Under a hard max_per_credit of USD 1,000.00 and 500,000 itm_api_calls, with EUR an allowed
    currency, a EUR 1,000,000,000.00 credit or 10^12 units of another item is a violation."""
    policy = {
        "max_per_credit": {
            "level": "hard",
            "amounts": {"USD": 100000},
            "units": {"itm_api_calls": 500000},
        },
        "allowed_currencies": {"level": "hard", "currencies": ["USD", "EUR"]},
    }
    plan = planned([desired], policy)
    assert plan.violations, "a billion euros (or a trillion units) passed a hard per-credit rule"


def card_charge(i: int) -> Desired:
    item = {
        "custom_price": {
            "amount": {"currency": "USD", "value_in_cents": 2_500_000},
            "description": "Work",
        },
        "aggregate": 1,
    }
    d = charge(f"card-charge-{i:05d}", f"cus_{i:05d}", items=[item], type_="IMMEDIATE")
    return replace(d, body={**d.body, "auto_charges": True})


def test_a_comment_with_many_card_charges_stays_under_the_limit() -> None:
    """3,000 cards charged at once under a per-customer rule: the comment and every part still
    fit MARKDOWN_LIMIT (GitHub refuses a longer comment, so the reviewer sees nothing)."""
    policy = {"max_per_customer": {"level": "soft", "amounts": {"USD": 100}}}
    plan = planned([card_charge(i) for i in range(3000)], policy)
    assert len(plan_markdown(plan)) <= MARKDOWN_LIMIT
    assert all(len(part) <= MARKDOWN_LIMIT for part in plan_markdown_parts(plan))
