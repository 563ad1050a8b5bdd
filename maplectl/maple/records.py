"""Maple's objects as maplectl reads them: each row checked once, at the client boundary. Pure.

Every row a ``/find`` returns passes :func:`parse_row` in the client before anything else sees
it. What matching, apply and status rely on is checked there (an id, a customer, money as integer
minor units, a name or quantity of the right type; a ledger row's credit, event and amount), so a
malformed answer is one clear error, not a wrong match or an internal ``TypeError`` deep in
planning. Fields maplectl does not use are kept as Maple sent them. docs/maple-api.md (Credits,
One-time charges) has the shapes.
"""

from __future__ import annotations

import math
from typing import Any

from maplectl.errors import TransportError

_MONEY_FIELDS = {
    "credits": ("amount", "issued_amount"),
    "one_times": (),
    "credits/logs": ("amount_applied",),
}
_NUMBER_FIELDS = {
    "credits": ("units", "issued_units"),
    "one_times": ("aggregate",),
    "credits/logs": ("units_applied",),
}
_ID_FIELDS = {
    "credits": ("id", "customer_id"),
    "one_times": ("id", "customer_id"),
    "credits/logs": ("id", "customer_id", "credit_id", "action_type"),
}
_TEXT_FIELDS = {
    "credits": (
        "name",
        "type",
        "state",
        "item_id",
        "subscription_id",
        "expiration_date",
        "created_at",
    ),
    "one_times": ("name", "type", "state", "product_pricing_id", "created_at"),
    "credits/logs": ("type", "invoice_id", "item_id", "note", "created_at"),
}


def parse_row(collection: str, raw: Any) -> dict[str, Any]:
    """``raw`` checked as a row of ``collection`` (``credits``, ``one_times``,
    ``credits/logs``); other collections pass through. Raises :class:`TransportError` naming the
    row and field."""
    if collection not in _MONEY_FIELDS:
        if not isinstance(raw, dict):
            raise TransportError(f"Maple sent a {collection} row that is not an object")
        return raw
    if not isinstance(raw, dict):
        raise TransportError(
            f"Maple sent a {collection} row that is not an object: {type(raw).__name__}"
        )
    where = f"{collection} row {raw.get('id')!r}"
    for name in _ID_FIELDS[collection]:
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise TransportError(f"Maple sent a {where} without a string {name}")
    for name in _TEXT_FIELDS[collection]:
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise TransportError(f"Maple sent a {where} whose {name} is not a string")
    for name in _NUMBER_FIELDS[collection]:
        value = raw.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TransportError(f"Maple sent a {where} whose {name} is not a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise TransportError(
                f"Maple sent a {where} whose {name} is {value}, not a finite number; nothing "
                "is planned or reconciled from it"
            )
    for name in _MONEY_FIELDS[collection]:
        _check_money(where, name, raw.get(name))
    price = raw.get("custom_price")
    if price is not None:
        if not isinstance(price, dict):
            raise TransportError(f"Maple sent a {where} whose custom_price is not an object")
        _check_money(where, "custom_price.amount", price.get("amount"))
    pricing = raw.get("product_pricing")
    if pricing is not None:
        if not isinstance(pricing, dict):
            raise TransportError(f"Maple sent a {where} whose product_pricing is not an object")
        _check_money(where, "product_pricing.price", pricing.get("price"))
    if collection == "credits/logs":
        _check_applied(where, raw)
    return raw


def _check_applied(where: str, raw: dict[str, Any]) -> None:
    """A ledger row moves money (AMOUNT) or units (UNITS), and says how much."""
    kind = raw.get("type")
    if kind == "AMOUNT" and raw.get("amount_applied") is None:
        raise TransportError(f"Maple sent a {where} of an AMOUNT credit without amount_applied")
    if kind == "UNITS" and raw.get("units_applied") is None:
        raise TransportError(f"Maple sent a {where} of a UNITS credit without units_applied")
    if kind not in ("AMOUNT", "UNITS"):
        raise TransportError(f"Maple sent a {where} whose type is not AMOUNT or UNITS")


def _check_money(where: str, name: str, value: Any) -> None:
    if value is None:
        return
    cents = value.get("value_in_cents") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("currency"), str)
        or isinstance(cents, bool)
        or not isinstance(cents, int)
    ):
        raise TransportError(
            f"Maple sent a {where} whose {name} is not money in integer minor units"
        )
