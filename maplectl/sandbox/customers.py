"""Customers (CONTRACT §8): read-only; they come from seed data."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from maplectl.sandbox.base import SessionBase
from maplectl.sandbox.clock import render_ts
from maplectl.sandbox.pagination import page_request, query_filter, run_page


def customer_json(row: sqlite3.Row) -> dict[str, Any]:
    """A customer on the wire."""
    return {
        "id": row["id"],
        "company_id": row["company_id"],
        "identifier": row["identifier"],
        "name": row["name"],
        "email": row["email"],
        "status": row["status"],
        "metadata": json.loads(row["metadata"]),
        "created_at": render_ts(row["created_at"]),
        "updated_at": render_ts(row["updated_at"]),
    }


class CustomerOps(SessionBase):
    """Customer lookups, inside one transaction."""

    def get_customer(self, company_id: str, ref: str) -> dict[str, Any]:
        """A customer by Maple id or identifier; 404 if neither matches."""
        return customer_json(self.require_customer_path(company_id, ref))

    def find_customers(self, company_id: str, body: Mapping[str, Any], *,
                       visible_before: str | None = None) -> dict[str, Any]:
        """A page of customers matching the query."""
        where, params = query_filter(
            company_id, body.get("query") or {}, exact=("identifier", "email", "name", "status"),
            search_column="name", visible_before=visible_before)
        return run_page(self.conn, table="customers", where=where, params=params,
                        page=page_request("customers", body), render=customer_json)
