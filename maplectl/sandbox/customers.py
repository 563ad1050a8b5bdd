"""Customers (docs/maple-api.md, Customers): read-only; they come from seed data.

``Customers`` also answers the lookups other resources make: a customer named in a path (404 when
there is none) or in a body field (400 on that field).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from maplectl.sandbox.clock import render_ts
from maplectl.sandbox.errors import NotFound, ValidationFailed
from maplectl.sandbox.pagination import page_request, query_filter, run_page
from maplectl.sandbox.session import Session


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


class Customers:
    """Customer reads and lookups, inside one transaction."""

    def exists(self, s: Session, company_id: str, customer_id: str) -> bool:
        """True if the company has a customer with this Maple id."""
        return (
            s.one(
                "SELECT 1 FROM customers WHERE id = ? AND company_id = ?", customer_id, company_id
            )
            is not None
        )

    def row(self, s: Session, company_id: str, ref: str) -> sqlite3.Row | None:
        """A customer by Maple id, or else by its own identifier."""
        row = s.one("SELECT * FROM customers WHERE id = ? AND company_id = ?", ref, company_id)
        if row is None:
            row = s.one(
                "SELECT * FROM customers WHERE company_id = ? AND identifier = ? ORDER BY id",
                company_id,
                ref,
            )
        return row

    def require_path(self, s: Session, company_id: str, ref: str) -> sqlite3.Row:
        """A customer named in the path; 404 if there is none."""
        row = self.row(s, company_id, ref)
        if row is None:
            raise NotFound(f"customer {ref} not found")
        return row

    def require_field(
        self, s: Session, company_id: str, customer_id: str, field: str
    ) -> sqlite3.Row:
        """A customer named by id in a body field; 400 on that field if there is none."""
        row = s.one(
            "SELECT * FROM customers WHERE id = ? AND company_id = ?", customer_id, company_id
        )
        if row is None:
            raise ValidationFailed.on(field, f"customer {customer_id} does not exist")
        return row

    def get(self, s: Session, company_id: str, ref: str) -> dict[str, Any]:
        """A customer by Maple id or identifier; 404 if neither matches."""
        return customer_json(self.require_path(s, company_id, ref))

    def find(
        self,
        s: Session,
        company_id: str,
        body: Mapping[str, Any],
        *,
        visible_before: str | None = None,
    ) -> dict[str, Any]:
        """A page of customers matching the query."""
        where, params = query_filter(
            company_id,
            body.get("query") or {},
            exact=("identifier", "email", "name", "status"),
            search_column="name",
            visible_before=visible_before,
        )
        return run_page(
            s.conn,
            table="customers",
            where=where,
            params=params,
            page=page_request("customers", body),
            render=customer_json,
        )
