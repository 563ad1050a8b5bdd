"""Builders for planning tests: desired entries and observed Maple objects, by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from maplectl.maple.reader import Observed
from maplectl.model import Kind, SourceLocation
from maplectl.plan.builder import build_plan
from maplectl.plan.records import Desired, Plan

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def credit(
    name: str,
    customer: str = "cus_acme",
    cents: int = 5000,
    *,
    title: str | None = None,
    line: int = 1,
    **extra: Any,
) -> Desired:
    body = {
        "customer_id": customer,
        "name": title or f"Credit {name}",
        "type": "AMOUNT",
        "amount": {"currency": "USD", "value_in_cents": cents},
        "state": "ACTIVE",
        **extra,
    }
    meta = {k: body.pop(k) for k in ("remote_id", "allow_duplicate", "revoke") if k in body}
    return Desired(
        kind=Kind.CREDIT,
        name=name,
        customer_id=customer,
        body=body,
        source=SourceLocation("billing/credits.yaml", line),
        **meta,
    )


def charge(
    name: str,
    customer: str = "cus_acme",
    items: list[dict[str, Any]] | None = None,
    type_: str = "NEXT_INVOICE",
    **meta: Any,
) -> Desired:
    body = {
        "customer_id": customer,
        "type": type_,
        "onetime_items": items or [{"product_pricing_id": "pp_onboarding_fee", "aggregate": 1}],
    }
    return Desired(
        kind=Kind.ONE_TIME_CHARGE,
        name=name,
        customer_id=customer,
        body=body,
        source=SourceLocation("billing/charges.yaml", 1),
        **meta,
    )


def remote_credit(
    id_: str,
    desired: Desired | None = None,
    *,
    state: str = "ACTIVE",
    balance: int | None = None,
    **over: Any,
) -> dict[str, Any]:
    body = desired.body if desired else {}
    issued = body.get("amount", {"currency": "USD", "value_in_cents": 5000})
    row = {
        "id": id_,
        "customer_id": body.get("customer_id", "cus_acme"),
        "name": body.get("name", "x"),
        "type": body.get("type", "AMOUNT"),
        "state": state,
        "issued_amount": issued,
        "amount": {
            **issued,
            "value_in_cents": issued["value_in_cents"] if balance is None else balance,
        },
        "item_id": None,
        "subscription_id": None,
        "expiration_date": body.get("expiration_date"),
        "created_at": f"2026-01-01T00:00:{id_[-2:]}Z",
    }
    row.update(over)
    return row


def billable(
    id_: str,
    customer: str = "cus_acme",
    *,
    type_: str = "NEXT_INVOICE",
    created_at: str = "2026-01-01T00:00:00Z",
    **item: Any,
) -> dict[str, Any]:
    item = item or {"product_pricing_id": "pp_onboarding_fee", "aggregate": 1}
    return {
        "id": id_,
        "customer_id": customer,
        "type": type_,
        "state": "PENDING",
        "name": "Onboarding fee",
        "custom_price": None,
        "product_pricing_id": None,
        "created_at": created_at,
        **item,
    }


def plan_of(
    desired: list[Desired],
    credits: list[dict[str, Any]] = (),  # type: ignore[assignment]
    charges: list[dict[str, Any]] = (),
) -> Plan:  # type: ignore[assignment]
    observed = Observed(
        customers=frozenset(d.customer_id for d in desired),
        credits=tuple(credits),
        charges=tuple(charges),
        requests=3,
    )
    return build_plan(
        desired, observed, company_id="cmp_demo", api_url="https://maple.test", now=NOW
    )
