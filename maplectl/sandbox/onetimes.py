"""One-time charges (docs/maple-api.md, One-time charges): one billable per item, named from its
price, created in request order."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from maplectl.currency import is_currency
from maplectl.sandbox.catalog import Catalog
from maplectl.sandbox.clock import render_ts
from maplectl.sandbox.customers import Customers
from maplectl.sandbox.errors import ValidationFailed
from maplectl.sandbox.pagination import page_request, query_filter, run_page
from maplectl.sandbox.session import Session, new_id

# IMMEDIATE charges are invoiced at once; NEXT_INVOICE ones wait for the next invoice.
STATE_FOR_TYPE = {"IMMEDIATE": "INVOICED", "NEXT_INVOICE": "PENDING"}


class OneTimeCharges:
    """One-time charge rules, inside one transaction; checks against customers and catalog."""

    def __init__(self, customers: Customers, catalog: Catalog) -> None:
        self.customers = customers
        self.catalog = catalog

    def billable_json(self, s: Session, row: sqlite3.Row) -> dict[str, Any]:
        """A billable on the wire, with its product pricing expanded."""
        pricing = None
        if row["product_pricing_id"] is not None:
            pricing = self.catalog.pricing_json(s, row["product_pricing_id"])
        return {
            "id": row["id"],
            "company_id": row["company_id"],
            "customer_id": row["customer_id"],
            "name": row["name"],
            "type": row["type"],
            "state": row["state"],
            "aggregate": json.loads(row["aggregate"]),
            "custom_price": json.loads(row["custom_price"]) if row["custom_price"] else None,
            "product_pricing_id": row["product_pricing_id"],
            "product_pricing": pricing,
            "quantity_config": (
                json.loads(row["quantity_config"]) if row["quantity_config"] else None
            ),
            "created_at": render_ts(row["created_at"]),
            "updated_at": render_ts(row["updated_at"]),
        }

    def create(
        self, s: Session, company_id: str, body: Mapping[str, Any], *, created_at: str | None = None
    ) -> list[dict[str, Any]]:
        """Create one billable per item of a schema-valid body, in request order."""
        problems: list[tuple[str, str]] = []
        customer_id = body["customer_id"]
        if not self.customers.exists(s, company_id, customer_id):
            problems.append(("customer_id", f"customer {customer_id} does not exist"))
        names: list[str] = []
        for index, item in enumerate(body["onetime_items"]):
            where = f"onetime_items[{index}]"
            if item.get("product_pricing_id") is not None:
                name = self.catalog.pricing_name(s, company_id, item["product_pricing_id"])
                if name is None:
                    problems.append(
                        (
                            f"{where}.product_pricing_id",
                            f"{item['product_pricing_id']} does not exist",
                        )
                    )
                names.append(name or "")
            else:
                price = item["custom_price"]
                currency = price["amount"]["currency"]
                if not is_currency(currency):
                    problems.append(
                        (
                            f"{where}.custom_price.amount.currency",
                            f"{currency} is not an ISO 4217 code",
                        )
                    )
                product_id = price.get("product_id")
                if product_id is not None and not self.catalog.has_product(
                    s, company_id, product_id
                ):
                    problems.append(
                        (f"{where}.custom_price.product_id", f"{product_id} does not exist")
                    )
                names.append(price["description"])
        if problems:
            raise ValidationFailed(
                "the one-time charge cannot be created: "
                + "; ".join(f"{f}: {m}" for f, m in problems),
                fields=problems,
            )
        charge_id = new_id("otc")
        ids = []
        for position, (item, name) in enumerate(zip(body["onetime_items"], names, strict=True)):
            billable_id = new_id("otb")
            stamp = created_at or s.stamp()
            s.conn.execute(
                "INSERT INTO billables (id, company_id, customer_id, charge_id, position, name,"
                " type, state, aggregate, custom_price, product_pricing_id, quantity_config,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    billable_id,
                    company_id,
                    customer_id,
                    charge_id,
                    position,
                    name,
                    body["type"],
                    STATE_FOR_TYPE[body["type"]],
                    json.dumps(item["aggregate"]),
                    json.dumps(item["custom_price"]) if item.get("custom_price") else None,
                    item.get("product_pricing_id"),
                    json.dumps(item["quantity_config"]) if item.get("quantity_config") else None,
                    stamp,
                    stamp,
                ),
            )
            ids.append(billable_id)
        rows = [s.one("SELECT * FROM billables WHERE id = ?", i) for i in ids]
        return [self.billable_json(s, row) for row in rows if row is not None]

    def find(
        self,
        s: Session,
        company_id: str,
        body: Mapping[str, Any],
        *,
        visible_before: str | None = None,
    ) -> dict[str, Any]:
        """A page of billables matching the query."""
        where, params = query_filter(
            company_id,
            body.get("query") or {},
            exact=("customer_id", "state", "type"),
            visible_before=visible_before,
        )
        return run_page(
            s.conn,
            table="billables",
            where=where,
            params=params,
            page=page_request("one_times", body),
            render=lambda row: self.billable_json(s, row),
        )
