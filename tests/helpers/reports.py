"""Plans for the HTML report's tests: one with every kind of row, at any size, and one whose
every text is an attack."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from helpers.planning import NOW, charge, credit, remote_credit
from maplectl.maple.reader import Observed
from maplectl.model import Kind, SourceLocation
from maplectl.plan.builder import build_plan
from maplectl.plan.policy import Policy
from maplectl.plan.records import Desired, Plan, Unmanaged

CURRENCIES = ("USD", "JPY", "KWD", "EUR")
POLICY = {
    "max_per_credit": {
        "level": "soft",
        "amounts": {"USD": 140_000, "JPY": 140_000, "KWD": 1_000_000, "EUR": 1_000_000},
    },
    "max_per_customer": {
        "level": "hard",
        "amounts": {"USD": 10**9, "JPY": 10**9, "KWD": 10**9, "EUR": 300_000},
    },
}


def _money_credit(name: str, customer: str, currency: str, cents: int) -> Desired:
    d = credit(name, customer, cents, title=f"Goodwill {name}")
    return replace(d, body={**d.body, "amount": {"currency": currency, "value_in_cents": cents}})


def _priced_charge(
    name: str, customer: str, currency: str, cents: int, type_: str, **extra: Any
) -> Desired:
    item = {
        "custom_price": {
            "amount": {"currency": currency, "value_in_cents": cents},
            "product_id": f"prod_{name}",
            "description": f"Services {name}",
        },
        "aggregate": 2,
    }
    d = charge(name, customer, items=[item], type_=type_)
    return replace(d, body={**d.body, **extra})


def varied_plan(count: int = 1000, customers: int = 61) -> Plan:
    """``count`` actions over ``customers`` customers: creates in USD, JPY, KWD and EUR (soft and
    hard policy violations among them), unit credits, catalog-priced and custom-priced charges
    (next invoice, immediate, immediate with auto-charge), unchanged, drift, ambiguity and
    possible duplicates."""
    desired: list[Desired] = []
    remote: list[dict[str, Any]] = []
    for i in range(count):
        customer = f"cus_{i % customers:03d}"
        currency = CURRENCIES[i % len(CURRENCIES)]
        kind = i % 20
        name = f"item-{i:05d}"
        if kind < 8:
            cents = (i * 7919) % 150_000 + 100
            desired.append(_money_credit(name, customer, currency, cents))
        elif kind < 9:
            d = credit(name, customer)
            body = {k: v for k, v in d.body.items() if k != "amount"}
            units = {**body, "type": "UNITS", "units": 1000 + i, "item_id": "itm_api_calls"}
            desired.append(replace(d, body=units))
        elif kind < 10:
            items = [{"product_pricing_id": f"pp_day_{i}", "aggregate": 3}]
            desired.append(charge(name, customer, items=items))
        elif kind < 12:
            desired.append(_priced_charge(name, customer, currency, 50_000 + i, "NEXT_INVOICE"))
        elif kind < 13:
            desired.append(_priced_charge(name, customer, currency, 20_000, "IMMEDIATE"))
        elif kind < 14:
            desired.append(
                _priced_charge(name, customer, currency, 9_900, "IMMEDIATE", auto_charges=True)
            )
        elif kind < 17:
            kept = credit(name, customer, 2_000, title=f"Kept {i}")
            desired.append(kept)
            remote.append(remote_credit(f"crd_{i:05d}", kept, balance=1_000))
        elif kind < 18:
            drifted = credit(name, customer, 3_000, title=f"Drift {i}")
            desired.append(drifted)
            remote.append(
                remote_credit(f"crd_{i:05d}", credit("x", customer, 1, title=f"Drift {i}"))
            )
        elif kind < 19:
            twice = credit(name, customer, 400, title=f"Twice {i}")
            desired.append(twice)
            remote += [remote_credit(f"crd_{i:05d}a", twice), remote_credit(f"crd_{i:05d}b", twice)]
        else:
            renamed = credit(name, customer, 77_700, title=f"New {i}")
            desired.append(renamed)
            old = credit("y", customer, 77_700, title=f"Old {i}")
            remote.append(remote_credit(f"crd_{i:05d}", old))
    observed = Observed(
        customers=frozenset(d.customer_id for d in desired),
        credits=tuple(remote),
        charges=(),
        requests=12,
    )
    plan = build_plan(
        desired,
        observed,
        company_id="cmp_demo",
        api_url="https://api.maplebilling.com/api/v1",
        now=NOW,
        policy=Policy.from_config(POLICY),
    )
    return replace(plan, environment="production", paths=("billing/",))


def hostile_plan(payload: str) -> Plan:
    """A plan in which every text a manifest, a file name or Maple controls holds ``payload``."""
    where = SourceLocation(f"billing/{payload}.yaml", 3)
    made = credit(f"new-{payload}", f"cus_{payload}", 5000, title=payload)
    near = credit(f"dup-{payload}", f"cus_{payload}", 7000, title=f"{payload} new")
    old = credit("old", f"cus_{payload}", 7000, title=f"{payload} old")
    kept = credit(f"kept-{payload}", f"cus_{payload}", 100, title=f"kept {payload}")
    drifted = credit(f"drift-{payload}", f"cus_{payload}", 300, title=f"drift {payload}")
    was = credit("was", f"cus_{payload}", 200, title=f"drift {payload}")
    services = _priced_charge(f"charge-{payload}", f"cus_{payload}", "USD", 999, "IMMEDIATE")
    services = replace(
        services,
        body={
            **services.body,
            "auto_charges": True,
            "onetime_items": [
                {
                    "custom_price": {
                        "amount": {"currency": "USD", "value_in_cents": 999},
                        "product_id": payload,
                        "description": payload,
                    },
                    "aggregate": 1,
                },
                {"product_pricing_id": payload, "aggregate": 2},
            ],
        },
    )
    desired = [replace(d, source=where) for d in (made, near, kept, drifted, services)]
    remote = [
        remote_credit(f"crd_{payload}1", old, state=payload),
        remote_credit(f"crd_{payload}2", kept, state=payload),
        remote_credit(f"crd_{payload}3", was),
    ]
    observed = Observed(
        customers=frozenset(d.customer_id for d in desired),
        credits=tuple(remote),
        charges=(),
        requests=1,
    )
    plan = build_plan(
        desired,
        observed,
        company_id=f"cmp_{payload}",
        api_url=f"https://{payload}/api/v1",
        now=NOW,
        policy=Policy.from_config({"max_per_credit": {"level": "soft", "amounts": {"USD": 1}}}),
    )
    unmanaged = (Unmanaged(f"crd_{payload}9", Kind.CREDIT, f"cus_{payload}", payload, payload),)
    return replace(
        plan,
        unmanaged=unmanaged,
        override_reason=payload,
        paths=(payload,),
        manifest_digest=payload,
    )
