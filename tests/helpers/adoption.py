"""A Maple account with history, for the export tests: credits in every state, one-time charges
of every kind, and Maple's own duplicates and look-alikes, seeded in bulk through the control API.

The world (``seed_world``), for ``credits`` credits and ``charges`` charges over the five demo
customers and ``extra_customers`` more:

* credits: AMOUNT in USD, EUR or JPY, or UNITS of ``itm_api_calls``; names repeat within a
  customer (``Grant 3`` five times) and some are look-alikes (``grant 3 ``); some are attached to
  ``sub_acme_pro``; every 5th expires one day after seeding and the clock is then moved two days
  (EXPIRED, with a past ``expiration_date``); of the others some are used up (CONSUMED), some
  partly used, some revoked (``DELETE /credits/{id}``, REVOKED);
* charges: NEXT_INVOICE or IMMEDIATE, catalog-priced (``pp_training_day``, ``pp_onboarding_fee``)
  or custom-priced (with and without a product), every 4th with two items (two billables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

DEMO_CUSTOMERS = ("cus_acme", "cus_globex", "cus_initech", "cus_umbrella", "cus_hooli")

Control = Callable[[str, str, Any], Any]
Revoke = Callable[[str], None]


@dataclass(frozen=True)
class World:
    """What was seeded: customers, credit ids by the state they end in, billables expected,
    and each credit's create body by id (what was granted)."""

    customers: tuple[str, ...]
    credits: int
    billables: int
    states: dict[str, list[str]]
    grants: dict[str, dict[str, Any]]


def credit_id(n: int) -> str:
    return f"crd_w{n:05d}"


def seed_world(
    control: Control,
    revoke: Revoke,
    *,
    company: str,
    token: str,
    credits: int = 1000,
    charges: int = 200,
    extra_customers: int = 20,
) -> World:
    """Seed the world; returns what to expect of it."""
    extra = [f"cus_w{n:02d}" for n in range(extra_customers)]
    customers = (*DEMO_CUSTOMERS, *extra)
    now = datetime.fromisoformat(control("GET", "clock", None)["now"].replace("Z", "+00:00"))
    soon = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    company_doc: dict[str, Any] = {
        "id": company,
        "name": "Demo SaaS Inc.",
        "token": token,
        "customers": [
            {"id": c, "identifier": c.removeprefix("cus_"), "name": c, "email": f"{c}@x.example"}
            for c in extra
        ],
        "one_time_charges": [_charge(j, customers) for j in range(charges)],
    }
    control("POST", "seed", {"companies": [company_doc]})
    specs = [_credit(n, customers, soon) for n in range(credits)]
    control("POST", "credits/bulk", {"company_id": company, "credits": specs})
    states: dict[str, list[str]] = {"CONSUMED": [], "PARTLY": [], "REVOKED": [], "EXPIRED": []}
    for n, spec in enumerate(specs):
        if n % 5 == 0:
            states["EXPIRED"].append(spec["id"])
        elif n % 20 in (3, 4):
            whole = n % 20 == 3
            if spec["type"] == "AMOUNT":
                granted = spec["amount"]["value_in_cents"]
                body = {"amount": granted if whole else granted // 2}
            else:
                body = {"units": spec["units"] if whole else spec["units"] // 2}
            control("POST", f"credits/{spec['id']}/consume", body)
            states["CONSUMED" if whole else "PARTLY"].append(spec["id"])
        elif n % 20 == 6:
            revoke(spec["id"])
            states["REVOKED"].append(spec["id"])
    control("POST", "clock/advance", {"days": 2})
    billables = sum(2 if j % 4 == 0 else 1 for j in range(charges))
    return World(
        customers=customers,
        credits=credits,
        billables=billables,
        states=states,
        grants={spec["id"]: spec for spec in specs},
    )


def _credit(n: int, customers: tuple[str, ...], soon: str) -> dict[str, Any]:
    customer = customers[n % len(customers)]
    name = f"Grant {n % 40}"
    if n % 7 == 0:
        name = name.lower() + " "  # a look-alike of "Grant k" for the same customer
    spec: dict[str, Any] = {"id": credit_id(n), "customer_id": customer, "name": name}
    if n % 4 == 1:
        spec.update(type="UNITS", units=100 * (n + 1), item_id="itm_api_calls")
    else:
        currency = ("USD", "EUR", "JPY")[n % 3]
        spec.update(type="AMOUNT", amount={"currency": currency, "value_in_cents": 1000 + n})
    if n % 5 == 0:
        spec["expiration_date"] = soon
    elif n % 5 == 1:
        spec["expiration_date"] = "2099-12-31T23:59:59Z"
    if customer == "cus_acme" and n % 2 == 0:
        spec["subscription_id"] = "sub_acme_pro"
    return spec


def _charge(j: int, customers: tuple[str, ...]) -> dict[str, Any]:
    customer = customers[(j * 7) % len(customers)]
    catalog = {
        "product_pricing_id": ("pp_training_day", "pp_onboarding_fee")[j % 2],
        "aggregate": j % 3 + 1,
    }
    price: dict[str, Any] = {
        "amount": {"currency": "USD", "value_in_cents": 10000 + j % 5},
        "description": f"Service {j % 10}",
    }
    if j % 3 == 0:
        price["product_id"] = "prod_services"
    custom = {"custom_price": price, "aggregate": 1 + j % 2}
    items = [catalog, custom] if j % 4 == 0 else [catalog if j % 4 in (1, 2) else custom]
    return {
        "customer_id": customer,
        "type": "IMMEDIATE" if j % 3 == 0 else "NEXT_INVOICE",
        "onetime_items": items,
    }
