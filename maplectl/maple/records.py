"""Maple's objects as maplectl reads them: each row checked once, at the client boundary. Pure.

Every row a ``/find`` returns passes :func:`parse_row` in the client before anything else sees
it. What matching and apply rely on is checked there (an id, a customer, money as integer minor
units, a name or quantity of the right type), so a malformed answer is one clear error, not a
wrong match or an internal ``TypeError`` deep in planning. Fields maplectl does not use are kept
as Maple sent them. docs/maple-api.md (Credits, One-time charges) has the shapes.
"""

from __future__ import annotations

from typing import Any

from maplectl.errors import TransportError

_MONEY_FIELDS = {"credits": ("amount", "issued_amount"), "one_times": ()}
_NUMBER_FIELDS = {"credits": ("units", "issued_units"), "one_times": ("aggregate",)}
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
}


def parse_row(collection: str, raw: Any) -> dict[str, Any]:
    """``raw`` checked as a row of ``collection`` (``credits``, ``one_times``); other
    collections pass through. Raises :class:`TransportError` naming the row and field."""
    money_fields = _MONEY_FIELDS.get(collection)
    if money_fields is None:
        if not isinstance(raw, dict):
            raise TransportError(f"Maple sent a {collection} row that is not an object")
        return raw
    if not isinstance(raw, dict):
        raise TransportError(
            f"Maple sent a {collection} row that is not an object: {type(raw).__name__}"
        )
    get = raw.get
    # The checks run for every row of every page; the message is built only for a bad one.
    for name in ("id", "customer_id"):
        value = get(name)
        if not isinstance(value, str) or not value:
            raise TransportError(f"Maple sent a {_where(collection, raw)} without a string {name}")
    for name in _TEXT_FIELDS[collection]:
        value = get(name)
        if value is not None and not isinstance(value, str):
            raise TransportError(
                f"Maple sent a {_where(collection, raw)} whose {name} is not a string"
            )
    for name in _NUMBER_FIELDS[collection]:
        value = get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TransportError(
                f"Maple sent a {_where(collection, raw)} whose {name} is not a number"
            )
    for name in money_fields:
        value = get(name)
        if value is not None:
            _check_money(collection, raw, name, value)
    price = get("custom_price")
    if price is not None:
        if not isinstance(price, dict):
            raise TransportError(
                f"Maple sent a {_where(collection, raw)} whose custom_price is not an object"
            )
        amount = price.get("amount")
        if amount is not None:
            _check_money(collection, raw, "custom_price.amount", amount)
    return raw


def _where(collection: str, raw: dict[str, Any]) -> str:
    return f"{collection} row {raw.get('id')!r}"


def _check_money(collection: str, raw: dict[str, Any], name: str, value: Any) -> None:
    cents = value.get("value_in_cents") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("currency"), str)
        or isinstance(cents, bool)
        or not isinstance(cents, int)
    ):
        raise TransportError(
            f"Maple sent a {_where(collection, raw)} whose {name} is not money in integer minor "
            "units"
        )
