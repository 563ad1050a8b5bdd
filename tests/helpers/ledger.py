"""Builders for status tests: Maple's credit, ledger and billable rows by hand, and a reader that
serves them (with the ledger the credit rows were read against changing between two reads)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import count
from typing import Any

from maplectl.maple.reader import Collection, Page

_ids = count(1)


def money(currency: str, cents: int) -> dict[str, Any]:
    return {"currency": currency, "value_in_cents": cents}


def amount_credit(
    id_: str,
    customer: str = "cus_acme",
    *,
    name: str = "Goodwill",
    currency: str = "USD",
    issued: int = 5000,
    left: int | None = None,
    state: str = "ACTIVE",
) -> dict[str, Any]:
    """An AMOUNT credit row as /credits/find answers it."""
    return {
        "id": id_,
        "customer_id": customer,
        "name": name,
        "type": "AMOUNT",
        "state": state,
        "issued_amount": money(currency, issued),
        "amount": money(currency, issued if left is None else left),
        "item_id": None,
        "subscription_id": None,
        "expiration_date": None,
        "created_at": "2026-01-01T00:00:00Z",
    }


def units_credit(
    id_: str,
    customer: str = "cus_initech",
    *,
    name: str = "API calls",
    issued: int | float = 1000,
    left: int | float | None = None,
    state: str = "ACTIVE",
    item: str = "itm_api_calls",
) -> dict[str, Any]:
    """A UNITS credit row as /credits/find answers it."""
    return {
        "id": id_,
        "customer_id": customer,
        "name": name,
        "type": "UNITS",
        "state": state,
        "issued_units": issued,
        "units": issued if left is None else left,
        "item_id": item,
        "subscription_id": None,
        "expiration_date": None,
        "created_at": "2026-01-01T00:00:00Z",
    }


def log(
    credit: Mapping[str, Any],
    event: str,
    quantity: int | float,
    *,
    at: str = "2026-01-02T00:00:00Z",
    currency: str | None = None,
    note: str | None = None,
    invoice_id: str | None = None,
) -> dict[str, Any]:
    """A ledger row of ``credit`` as /credits/logs/find answers it (``quantity``: minor units
    of an AMOUNT credit, in its currency unless ``currency`` says otherwise; units of a UNITS
    one)."""
    row: dict[str, Any] = {
        "id": f"clog_{next(_ids)}",
        "action_type": event,
        "type": credit["type"],
        "credit_id": credit["id"],
        "customer_id": credit["customer_id"],
        "invoice_id": invoice_id,
        "item_id": credit.get("item_id"),
        "note": note,
        "created_at": at,
    }
    if credit["type"] == "AMOUNT":
        row["amount_applied"] = money(currency or credit["issued_amount"]["currency"], quantity)  # type: ignore[arg-type]
    else:
        row["units_applied"] = quantity
    return row


def issued(credit: Mapping[str, Any], at: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    """The ISSUED row of ``credit``, for what it says it was issued."""
    if credit["type"] == "AMOUNT":
        return log(credit, "ISSUED", credit["issued_amount"]["value_in_cents"], at=at)
    return log(credit, "ISSUED", credit["issued_units"], at=at)


class RowsReader:
    """A StateReader of fixed rows per collection, filtered by ``customer_id``; one page each.

    ``later`` holds the rows a collection shows a customer once it was read before (by a
    company-wide or a per-customer find): a credit used while status was reading. ``queries``
    records every find.
    """

    def __init__(
        self,
        rows: Mapping[Collection, Sequence[Mapping[str, Any]]],
        later: Mapping[Collection, Sequence[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.rows = rows
        self.later = later or {}
        self.queries: list[tuple[Collection, dict[str, Any]]] = []
        self.customers = {
            str(r["customer_id"]) for rows_ in rows.values() for r in rows_ if "customer_id" in r
        }

    def find_page(
        self,
        collection: Collection,
        query: Mapping[str, Any],
        *,
        from_key: str | None = None,
        limit: int = 100,
        include_meta: bool = False,
    ) -> Page:
        customer = query.get("customer_id")
        seen = sum(
            1
            for c, q in self.queries
            if c is collection and q.get("customer_id") in (None, customer)
        )
        self.queries.append((collection, dict(query)))
        source = self.rows.get(collection, ())
        if customer is not None and seen and collection in self.later:
            source = self.later[collection]
        rows = [dict(r) for r in source if customer is None or r["customer_id"] == customer]
        return Page(results=rows, next_key=None, total=len(rows) if include_meta else None)

    def get_customer(self, customer_id: str) -> dict[str, Any]:
        return {"id": customer_id}
