"""Matching customer by customer as rows arrive gives build_plan's plan, or build_plan's error."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from helpers.planning import NOW, billable, charge, credit, remote_credit

from maplectl.errors import ManifestError
from maplectl.maple.reader import Observed
from maplectl.plan import builder
from maplectl.plan.builder import CustomerMatching, build_plan
from maplectl.plan.records import Desired, Plan

ARGS: dict[str, Any] = {"api_url": "https://maple.test", "now": NOW}


def world() -> tuple[list[Desired], list[dict[str, Any]], list[dict[str, Any]]]:
    amb = credit("hooli-promo", customer="cus_hooli", cents=100, title="Promo")
    retired = credit("acme-retired", cents=5000, title="Retired promo", revoke=True)
    desired = [
        credit("acme-goodwill", cents=5000, title="Goodwill Q4"),
        credit("globex-goodwill", customer="cus_globex", cents=10000, title="Goodwill"),
        credit("initech-renamed", customer="cus_initech", cents=2500, title="New name"),
        amb,
        retired,
        charge("globex-onboarding", customer="cus_globex"),
        charge("acme-onboarding"),
    ]
    credits = [
        remote_credit("crd_10", credit("g", customer="cus_globex", cents=9000, title="Goodwill")),
        remote_credit("crd_11", credit("i", customer="cus_initech", cents=2500, title="Old name")),
        remote_credit("crd_12", amb),
        remote_credit("crd_13", amb),
        remote_credit("crd_15", credit("z", customer="cus_acme", cents=1, title="Unrelated")),
        remote_credit("crd_16", retired, balance=4000),
    ]
    return desired, credits, [billable("otb_20", "cus_globex")]


def by_customer(
    desired: list[Desired], credits: list[dict[str, Any]], charges: list[dict[str, Any]]
) -> tuple[CustomerMatching, Observed]:
    """Feed a CustomerMatching as read_observed would, customers in reverse order."""
    matching = CustomerMatching(desired, company_id="cmp_demo")
    rows: dict[str, tuple[list[Any], list[Any]]] = defaultdict(lambda: ([], []))
    for c in credits:
        rows[c["customer_id"]][0].append(c)
    for b in charges:
        rows[b["customer_id"]][1].append(b)
    customers = {d.customer_id for d in desired}
    for customer in sorted(customers, reverse=True):
        matching.add(customer, *rows[customer])
    observed = Observed(frozenset(customers), tuple(credits), tuple(charges), requests=3)
    return matching, observed


def whole(desired: list[Desired], observed: Observed, **extra: Any) -> Plan:
    return build_plan(desired, observed, company_id="cmp_demo", **ARGS, **extra)


@pytest.mark.parametrize("targets", [(), ("Credit/acme-goodwill", "OneTimeCharge/acme-onboarding")])
def test_per_customer_matching_is_build_plans_plan_without_calling_it(
    monkeypatch: pytest.MonkeyPatch, targets: tuple[str, ...]
) -> None:
    """Creates, drift, revokes, ambiguity, charges and unmanaged rows, customers matched in any
    order, make the plan build_plan makes (targets and held ids too), without build_plan."""
    desired, credits, charges = world()
    expected = whole(desired, *by_customer(desired, credits, charges)[1:], targets=targets)
    matching, observed = by_customer(desired, credits, charges)

    def refuse(*_: Any, **__: Any) -> Plan:
        raise AssertionError("fell back to build_plan")

    monkeypatch.setattr(builder, "build_plan", refuse)
    assert matching.plan(desired, observed, targets=targets, **ARGS) == expected


PROBLEMS = {
    "pin on another customer's credit": [credit("acme-pinned", remote_id="crd_10")],
    "past expiry": [credit("acme-expired", title="Old", expiration_date="2020-01-01T00:00:00Z")],
    "future created_after": [charge("acme-later", created_after="2099-01-01T00:00:00Z")],
    "two entries, one identity": [credit("acme-twin", cents=5000, title="Goodwill Q4")],
    "revoke of nothing": [credit("acme-gone", title="Never issued", revoke=True)],
}


@pytest.mark.parametrize("extra", PROBLEMS.values(), ids=PROBLEMS.keys())
def test_a_problem_gets_build_plans_error(extra: list[Desired]) -> None:
    """Whatever build_plan reports, matching by customer reports: same diagnostics, same order."""
    desired, credits, charges = world()
    desired += extra
    matching, observed = by_customer(desired, credits, charges)
    with pytest.raises(ManifestError) as expected:
        whole(desired, observed)
    with pytest.raises(ManifestError) as got:
        matching.plan(desired, observed, **ARGS)
    assert got.value.diagnostics == expected.value.diagnostics


def test_a_customer_not_matched_or_a_row_read_twice_falls_back_to_build_plan() -> None:
    """Rows the matching did not see, or saw twice, leave the plan to build_plan."""
    desired, credits, charges = world()
    matching, observed = by_customer(desired, credits, charges)
    matching.matched.discard("cus_hooli")
    assert matching.plan(desired, observed, **ARGS) == whole(desired, observed)
    matching, observed = by_customer(desired, credits, charges)
    matching.add("cus_acme", [], [])
    assert not matching.plain
    assert matching.plan(desired, observed, **ARGS) == whole(desired, observed)
