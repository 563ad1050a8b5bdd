"""The catalog a company's credits and charges point into: items, subscriptions, products and
their pricings. Read-only here; it comes from seed data (``seed.py``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from maplectl.sandbox.session import Session


class Catalog:
    """Lookups of reference data, inside one transaction."""

    def has_item(self, s: Session, company_id: str, item_id: str) -> bool:
        """True if the company has this billable item."""
        return (
            s.one("SELECT 1 FROM items WHERE id = ? AND company_id = ?", item_id, company_id)
            is not None
        )

    def item_json(self, s: Session, company_id: str, item_id: str | None) -> dict[str, Any] | None:
        """The billable item embedded in credits, or None."""
        if item_id is None:
            return None
        row = s.one("SELECT * FROM items WHERE id = ? AND company_id = ?", item_id, company_id)
        if row is None:
            return None
        return {"id": row["id"], "company_id": company_id, "name": row["name"], "type": row["type"]}

    def subscription_owner(self, s: Session, company_id: str, subscription_id: str) -> str | None:
        """The customer a subscription belongs to; None if the company has no such one."""
        row = s.one(
            "SELECT customer_id FROM subscriptions WHERE id = ? AND company_id = ?",
            subscription_id,
            company_id,
        )
        return None if row is None else str(row["customer_id"])

    def has_product(self, s: Session, company_id: str, product_id: str) -> bool:
        """True if the company has this product."""
        return (
            s.one("SELECT 1 FROM products WHERE id = ? AND company_id = ?", product_id, company_id)
            is not None
        )

    def pricing_name(self, s: Session, company_id: str, pricing_id: str) -> str | None:
        """The name of one of the company's product pricings; None if it has no such one."""
        row = s.one(
            "SELECT name FROM product_pricings WHERE id = ? AND company_id = ?",
            pricing_id,
            company_id,
        )
        return None if row is None else str(row["name"])

    def pricing_json(self, s: Session, pricing_id: str) -> dict[str, Any] | None:
        """A product pricing as embedded in billables, or None."""
        row: sqlite3.Row | None = s.one("SELECT * FROM product_pricings WHERE id = ?", pricing_id)
        if row is None:
            return None
        return {
            "id": row["id"],
            "product_id": row["product_id"],
            "name": row["name"],
            "price": {"currency": row["currency"], "value_in_cents": row["value_in_cents"]},
        }
