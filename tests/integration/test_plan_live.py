"""Issue 5 against the sandbox: plans stay right as credits are used, and reads stay cheap."""

from __future__ import annotations

import math

import pytest
from helpers.maple import Maple
from helpers.planning import charge, credit

from maplectl.config import Secret
from maplectl.errors import AuthError, ManifestError
from maplectl.maple.client import MapleClient, wsgi_transport
from maplectl.plan.records import ActionType


def test_apply_then_plan_is_clean_after_consume_expire_and_revoke(maple: Maple) -> None:
    """Used, expired and revoked grants stay 'unchanged': nothing is ever issued twice."""
    desired = [
        credit("acme-used", "cus_acme", 5000, title="Used"),
        credit(
            "acme-expiring",
            "cus_acme",
            2000,
            title="Expiring",
            expiration_date="2031-01-01T00:00:00Z",
        ),
        credit("globex-revoked", "cus_globex", 3000, title="Revoked"),
        charge("acme-onboarding"),
    ]
    result = maple.apply(maple.plan(desired))
    assert not result.failed and not result.verification_problems
    ids = {r.action.address: r.remote_ids[0] for r in result.results}

    maple.control("POST", f"credits/{ids['Credit/acme-used']}/consume", {"amount": 5000})
    revoked = maple.http.delete(
        f"/api/v1/companies/cmp_demo/credits/{ids['Credit/globex-revoked']}",
        headers={"Authorization": f"Bearer {maple.box.token}"},
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "REVOKED"
    maple.control("POST", "clock/advance", {"days": 365 * 6})
    # Unrelated credits of the same customers, some of them identical to managed ones but named
    # differently, must not be matched.
    maple.control(
        "POST",
        "credits/bulk",
        {
            "count": 30,
            "customer_ids": ["cus_acme", "cus_globex"],
            "template": {
                "name": "Promo",
                "type": "AMOUNT",
                "amount": {"currency": "USD", "value_in_cents": 700},
            },
        },
    )

    again = maple.plan(desired)
    states = {a.address: (a.action, a.state) for a in again.actions}
    assert states == {
        "Credit/acme-used": (ActionType.UNCHANGED, "CONSUMED"),
        "Credit/acme-expiring": (ActionType.UNCHANGED, "EXPIRED"),
        "Credit/globex-revoked": (ActionType.UNCHANGED, "REVOKED"),
        "OneTimeCharge/acme-onboarding": (ActionType.UNCHANGED, "PENDING"),
    }
    assert again.creates == [] and len(again.unmanaged) == 30


def _requests(maple: Maple) -> int:
    return sum(n for route, n in maple.counters().items() if route.endswith("/find"))


def _cheaper(per_customer_counts: list[int], total: int) -> int:
    """Requests of the cheaper strategy for one collection."""
    per_customer = sum(max(1, math.ceil(n / 100)) for n in per_customer_counts)
    scan = max(1, math.ceil(total / 100))
    return min(per_customer, scan)


def test_few_customers_in_a_big_account_read_per_customer(maple: Maple) -> None:
    """3 customers among 5,000 credits: a handful of requests, not 50 pages of scan."""
    others = [f"cus_o{i}" for i in range(50)]
    maple.add_customers(others)
    maple.control(
        "POST",
        "credits/bulk",
        {
            "count": 5000,
            "customer_ids": others,
            "template": {
                "name": "Other",
                "type": "AMOUNT",
                "amount": {"currency": "USD", "value_in_cents": 1},
            },
        },
    )
    maple.control(
        "POST",
        "credits/bulk",
        {
            "count": 250,
            "customer_ids": ["cus_acme"],
            "template": {
                "name": "Mine",
                "type": "AMOUNT",
                "amount": {"currency": "USD", "value_in_cents": 1},
            },
        },
    )
    maple.control("DELETE", "counters")
    desired = [credit("a", "cus_acme"), credit("g", "cus_globex"), credit("i", "cus_initech")]
    plan = maple.plan(desired)
    credits_cost = _cheaper([250, 0, 0], 5250)  # 3 + 2 extra pages of acme = 5
    charges_cost = _cheaper([0, 0, 0], 0)  # 1 (an empty company-wide page)
    assert _requests(maple) <= credits_cost + charges_cost + 2
    assert len(plan.unmanaged) == 250


def test_many_customers_with_few_credits_use_one_scan(maple: Maple) -> None:
    """300 customers holding 400 credits: 4 scan pages beat 300 per-customer requests."""
    customers = [f"cus_m{i:03d}" for i in range(300)]
    maple.add_customers(customers)
    maple.control(
        "POST",
        "credits/bulk",
        {
            "count": 400,
            "customer_ids": customers,
            "template": {
                "name": "Existing",
                "type": "AMOUNT",
                "amount": {"currency": "USD", "value_in_cents": 1},
            },
        },
    )
    maple.control("DELETE", "counters")
    desired = [credit(f"c{i}", c, title=f"New {i}") for i, c in enumerate(customers)]
    plan = maple.plan(desired)
    assert _requests(maple) <= _cheaper([2] * 100 + [1] * 200, 400) + _cheaper([0] * 300, 0) + 2
    assert len(plan.creates) == 300


def test_pagination_reads_every_page(maple: Maple) -> None:
    """A customer with 1,234 credits: every one is seen (13 pages), none twice."""
    maple.control(
        "POST",
        "credits/bulk",
        {
            "count": 1234,
            "customer_ids": ["cus_acme"],
            "template": {
                "name": "Many",
                "type": "AMOUNT",
                "amount": {"currency": "USD", "value_in_cents": 1},
            },
        },
    )
    plan = maple.plan([credit("a", "cus_acme")])
    ids = [u.remote_id for u in plan.unmanaged]
    assert len(ids) == 1234 == len(set(ids))


def test_wrong_token_is_an_auth_error(maple: Maple) -> None:
    """A token for no company is refused with a clear error, before anything is read."""
    bad = MapleClient(
        api_url="http://sandbox.local/api/v1",
        company_id="cmp_demo",
        token=Secret("nope"),
        transport=wsgi_transport(maple.box.app),
    )
    with pytest.raises(AuthError):
        bad.get_customer("cus_acme")


def test_unknown_customer_fails_the_plan_at_its_field(maple: Maple) -> None:
    """A typo in customer_id stops the plan (nothing to approve), pointing at the field."""
    with pytest.raises(ManifestError) as info:
        maple.plan([credit("a", "cus_acme"), credit("typo", "cus_acmee")])
    (problem,) = info.value.diagnostics
    assert (problem.address, problem.field) == ("Credit/typo", "spec.customer_id")
    assert problem.message == "no customer cus_acmee in this company"


def test_customer_identifier_instead_of_id_says_which_id(maple: Maple) -> None:
    """`customer_id: acme` (the customer's own identifier) is caught with the id to write."""
    with pytest.raises(ManifestError) as info:
        maple.plan([credit("a", "acme")])
    (problem,) = info.value.diagnostics
    assert problem.message == "acme is the identifier of customer cus_acme, not its Maple id"
    assert problem.hint == "write customer_id: cus_acme, or customer: {identifier: acme}"


def test_existence_is_only_checked_for_customers_with_nothing(maple: Maple) -> None:
    """Customers that already hold objects cost no extra request; empty ones cost one each."""
    desired = [credit("a", "cus_acme")]
    maple.apply(maple.plan(desired))
    maple.control("DELETE", "counters")
    maple.plan([*desired, credit("g", "cus_globex")])
    routes = maple.counters()
    assert routes.get("GET /customers/{customer_id}") == 1
