"""Credits and their ledger (docs/maple-api.md, Credits): issue, read, expire, revoke, consume,
balance.

Every change of a credit's balance writes one log row in the same transaction, so for any credit
ISSUED − CONSUMED − EXPIRED − REVOKED equals ``amount`` (or ``units``) at every commit.
Expiry is lazy but exact: before credits are read, ACTIVE credits whose ``expiration_date`` has
passed on the sandbox clock are moved to EXPIRED, with a log row dated at the expiry moment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from maplectl.currency import is_currency
from maplectl.sandbox.catalog import Catalog
from maplectl.sandbox.clock import format_ts, parse_ts, render_ts
from maplectl.sandbox.customers import Customers
from maplectl.sandbox.errors import NotFound, ValidationFailed
from maplectl.sandbox.pagination import page_request, query_filter, run_page
from maplectl.sandbox.session import Session, micro_to_units, new_id, units_to_micro

# A credit expires once now > expiration_date; at the instant itself it is still ACTIVE
# (docs/maple-api.md, Credits).
_DUE = "state = 'ACTIVE' AND expires_at IS NOT NULL AND expires_at < ?"


def log_json(row: sqlite3.Row) -> dict[str, Any]:
    """A ledger row on the wire."""
    out: dict[str, Any] = {
        "id": row["id"],
        "action_type": row["action_type"],
        "type": row["type"],
        "credit_id": row["credit_id"],
        "customer_id": row["customer_id"],
    }
    if row["type"] == "AMOUNT":
        out["amount_applied"] = {"currency": row["currency"], "value_in_cents": row["applied"]}
    else:
        out["units_applied"] = micro_to_units(row["applied"])
    out.update(
        invoice_id=row["invoice_id"],
        item_id=row["item_id"],
        note=row["note"],
        created_at=render_ts(row["created_at"]),
    )
    return out


class Credits:
    """Credit rules, inside one transaction; checks against customers and catalog."""

    def __init__(self, customers: Customers, catalog: Catalog) -> None:
        self.customers = customers
        self.catalog = catalog

    # -- rendering ---------------------------------------------------------------------------

    def credit_json(self, s: Session, row: sqlite3.Row) -> dict[str, Any]:
        """A credit on the wire: money fields for AMOUNT, unit fields for UNITS."""
        out: dict[str, Any] = {
            "id": row["id"],
            "company_id": row["company_id"],
            "customer_id": row["customer_id"],
            "name": row["name"],
            "type": row["type"],
            "state": row["state"],
        }
        if row["type"] == "AMOUNT":
            out["amount"] = {"currency": row["currency"], "value_in_cents": row["amount"]}
            out["issued_amount"] = {
                "currency": row["currency"],
                "value_in_cents": row["issued_amount"],
            }
        else:
            out["units"] = micro_to_units(row["amount"])
            out["issued_units"] = micro_to_units(row["issued_amount"])
        expires = row["expires_at"]
        out.update(
            item_id=row["item_id"],
            item=self.catalog.item_json(s, row["company_id"], row["item_id"]),
            subscription_id=row["subscription_id"],
            expiration_date=render_ts(expires) if expires else None,
            created_at=render_ts(row["created_at"]),
            updated_at=render_ts(row["updated_at"]),
            coupon_id=None,
            one_time_billable_id=None,
            metric_record_id=None,
        )
        return out

    # -- ledger ------------------------------------------------------------------------------

    @staticmethod
    def _log(
        s: Session,
        credit: sqlite3.Row,
        action: str,
        applied: int,
        at: str,
        *,
        note: str | None = None,
        invoice_id: str | None = None,
    ) -> None:
        s.conn.execute(
            "INSERT INTO credit_logs (id, company_id, credit_id, customer_id, credit_name,"
            " action_type, type, currency, applied, item_id, invoice_id, note, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new_id("clog"),
                credit["company_id"],
                credit["id"],
                credit["customer_id"],
                credit["name"],
                action,
                credit["type"],
                credit["currency"],
                applied,
                credit["item_id"],
                invoice_id,
                note,
                at,
            ),
        )

    def _take(
        self,
        s: Session,
        credit: sqlite3.Row,
        amount: int,
        *,
        note: str | None,
        invoice_id: str | None = None,
    ) -> None:
        """Take ``amount`` (cents or micro-units) from one ACTIVE credit, logging it."""
        left, at = credit["amount"] - amount, s.stamp()
        s.conn.execute(
            "UPDATE credits SET amount = ?, state = ?, updated_at = ? WHERE id = ?",
            (left, "CONSUMED" if left == 0 else "ACTIVE", at, credit["id"]),
        )
        self._log(s, credit, "CONSUMED", amount, at, note=note, invoice_id=invoice_id)

    # -- expiry ------------------------------------------------------------------------------

    def has_due(self, s: Session) -> bool:
        """True if some ACTIVE credit has passed its expiry on the sandbox clock."""
        return s.one(f"SELECT 1 FROM credits WHERE {_DUE} LIMIT 1", s.now_ts) is not None

    def expire_due(self, s: Session) -> int:
        """Move every overdue ACTIVE credit to EXPIRED, logging what was left. Needs a write."""
        rows = s.conn.execute(f"SELECT * FROM credits WHERE {_DUE}", (s.now_ts,)).fetchall()
        for row in rows:
            s.conn.execute(
                "UPDATE credits SET state = 'EXPIRED', amount = 0, updated_at = ? WHERE id = ?",
                (row["expires_at"], row["id"]),
            )
            self._log(s, row, "EXPIRED", row["amount"], row["expires_at"])
        return len(rows)

    # -- issue -------------------------------------------------------------------------------

    def create(self, s: Session, company_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Issue a credit from a schema-valid create body; rule failures are 400 per field."""
        problems: list[tuple[str, str]] = []
        customer_id = body["customer_id"]
        if not self.customers.exists(s, company_id, customer_id):
            problems.append(("customer_id", f"customer {customer_id} does not exist"))
        currency: str | None = None
        item_id: str | None = body.get("item_id")
        if body["type"] == "AMOUNT":
            currency = body["amount"]["currency"]
            granted = int(body["amount"]["value_in_cents"])
            if not is_currency(currency):
                problems.append(("amount.currency", f"{currency} is not an ISO 4217 code"))
        else:
            granted = units_to_micro(body["units"], "units")
            if item_id is not None and not self.catalog.has_item(s, company_id, item_id):
                problems.append(("item_id", f"item {item_id} does not exist"))
        subscription_id = body.get("subscription_id")
        if subscription_id is not None:
            owner = self.catalog.subscription_owner(s, company_id, subscription_id)
            if owner is None:
                problems.append(("subscription_id", f"{subscription_id} does not exist"))
            elif owner != customer_id:
                problems.append(("subscription_id", "belongs to another customer"))
        expires_at: str | None = None
        if body.get("expiration_date") is not None:
            try:
                moment = parse_ts(body["expiration_date"])
            except ValueError:
                problems.append(("expiration_date", "must be an RFC 3339 date-time"))
            else:
                if moment <= s.now:
                    problems.append(("expiration_date", "must be in the future"))
                expires_at = format_ts(moment)
        if problems:
            raise ValidationFailed(
                "the credit cannot be issued: " + "; ".join(f"{f}: {m}" for f, m in problems),
                fields=problems,
            )
        credit_id = self.insert(
            s,
            company_id=company_id,
            customer_id=customer_id,
            name=body["name"],
            credit_type=body["type"],
            currency=currency,
            granted=granted,
            item_id=item_id,
            subscription_id=subscription_id,
            expires_at=expires_at,
            created_at=s.stamp(),
        )
        return self.get(s, company_id, credit_id)

    def insert(
        self,
        s: Session,
        *,
        company_id: str,
        customer_id: str,
        name: str,
        credit_type: str,
        currency: str | None,
        granted: int,
        item_id: str | None,
        subscription_id: str | None,
        expires_at: str | None,
        created_at: str,
        credit_id: str | None = None,
    ) -> str:
        """Write a new ACTIVE credit and its ISSUED log row; no rule checks (callers do them)."""
        credit_id = credit_id or new_id("crd")
        s.conn.execute(
            "INSERT INTO credits (id, company_id, customer_id, name, type, state, currency,"
            " amount, issued_amount, item_id, subscription_id, expires_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'ACTIVE', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                credit_id,
                company_id,
                customer_id,
                name,
                credit_type,
                currency,
                granted,
                granted,
                item_id,
                subscription_id,
                expires_at,
                created_at,
                created_at,
            ),
        )
        row = s.one("SELECT * FROM credits WHERE id = ?", credit_id)
        assert row is not None
        self._log(s, row, "ISSUED", granted, created_at)
        return credit_id

    # -- read --------------------------------------------------------------------------------

    @staticmethod
    def _row(s: Session, company_id: str, credit_id: str) -> sqlite3.Row:
        row = s.one("SELECT * FROM credits WHERE id = ? AND company_id = ?", credit_id, company_id)
        if row is None:
            raise NotFound(f"credit {credit_id} not found")
        return row

    def get(self, s: Session, company_id: str, credit_id: str) -> dict[str, Any]:
        """One credit; 404 if the company has no such credit."""
        return self.credit_json(s, self._row(s, company_id, credit_id))

    def type_of(self, s: Session, credit_id: str) -> str:
        """AMOUNT or UNITS, of a credit of any company; 404 if there is none."""
        row = s.one("SELECT type FROM credits WHERE id = ?", credit_id)
        if row is None:
            raise NotFound(f"credit {credit_id} not found")
        return str(row["type"])

    def find(
        self,
        s: Session,
        company_id: str,
        body: Mapping[str, Any],
        *,
        visible_before: str | None = None,
    ) -> dict[str, Any]:
        """A page of credits matching the query (``visible_before`` hides newer rows: find_lag)."""
        query = body.get("query") or {}
        where, params = query_filter(
            company_id,
            query,
            exact=("customer_id", "subscription_id", "type", "currency"),
            search_column="name",
            visible_before=visible_before,
        )
        if query.get("status") is not None:
            where.append("state = ?")
            params.append(query["status"])
        if query.get("statuses") is not None:
            statuses = sorted(set(query["statuses"]))  # the enum bounds this to four values
            where.append(f"state IN ({', '.join('?' * len(statuses))})")
            params.extend(statuses)
        return run_page(
            s.conn,
            table="credits",
            where=where,
            params=params,
            page=page_request("credits", body),
            render=lambda row: self.credit_json(s, row),
        )

    def find_logs(
        self,
        s: Session,
        company_id: str,
        body: Mapping[str, Any],
        *,
        visible_before: str | None = None,
    ) -> dict[str, Any]:
        """A page of ledger rows matching the query."""
        where, params = query_filter(
            company_id,
            body.get("query") or {},
            exact=("action_type", "credit_id", "customer_id", "invoice_id", "note", "type"),
            search_column="credit_name",
            visible_before=visible_before,
        )
        return run_page(
            s.conn,
            table="credit_logs",
            where=where,
            params=params,
            page=page_request("credit_logs", body),
            render=log_json,
            has_updated_at=False,
        )

    # -- change ------------------------------------------------------------------------------

    def revoke(self, s: Session, company_id: str, credit_id: str) -> dict[str, Any]:
        """Revoke an ACTIVE credit (logging what was left); any other state: unchanged."""
        row = self._row(s, company_id, credit_id)
        if row["state"] == "ACTIVE":
            at = s.stamp()
            s.conn.execute(
                "UPDATE credits SET state = 'REVOKED', amount = 0, updated_at = ? WHERE id = ?",
                (at, credit_id),
            )
            self._log(s, row, "REVOKED", row["amount"], at)
        return self.get(s, company_id, credit_id)

    def consume(self, s: Session, company_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Take an amount or units from the customer's ACTIVE credits; all or nothing."""
        customer_id = body["customer_id"]
        self.customers.require_field(s, company_id, customer_id, "customer_id")
        credit_type = body["type"]
        if credit_type == "AMOUNT":
            field, currency = "amount", body["amount"]["currency"]
            wanted = int(body["amount"]["value_in_cents"])
        else:
            field, currency = "units", None
            wanted = units_to_micro(body["units"], "units")
        if body.get("credit_id") is not None:
            row = s.one(
                "SELECT * FROM credits WHERE id = ? AND company_id = ? AND customer_id = ?",
                body["credit_id"],
                company_id,
                customer_id,
            )
            if row is None:
                raise ValidationFailed.on("credit_id", "no such credit for this customer")
            if row["type"] != credit_type:
                raise ValidationFailed.on("type", f"credit {row['id']} is {row['type']}")
            candidates = [row] if row["state"] == "ACTIVE" else []
        else:
            sql = (
                "SELECT * FROM credits WHERE company_id = ? AND customer_id = ?"
                " AND state = 'ACTIVE' AND type = ?"
            )
            params: list[Any] = [company_id, customer_id, credit_type]
            if credit_type == "AMOUNT":
                sql += " AND currency = ?"
                params.append(currency)
            elif body.get("item_id") is not None:
                sql += " AND item_id = ?"
                params.append(body["item_id"])
            else:
                raise ValidationFailed.on("item_id", "required to consume UNITS without credit_id")
            # Credits that expire first are used first; those that never expire last.
            sql += " ORDER BY expires_at IS NULL, expires_at, created_at, id"
            candidates = s.conn.execute(sql, params).fetchall()
        if credit_type == "AMOUNT":
            candidates = [c for c in candidates if c["currency"] == currency]
        available = sum(c["amount"] for c in candidates)
        if available < wanted:
            shown = available if credit_type == "AMOUNT" else micro_to_units(available)
            raise ValidationFailed.on(field, f"insufficient credit balance ({shown} available)")
        for credit in candidates:
            if wanted == 0:
                break
            taken = min(wanted, credit["amount"])
            self._take(s, credit, taken, note=body.get("note"))
            wanted -= taken
        return self.balance(s, company_id, customer_id)

    def consume_one(
        self,
        s: Session,
        credit_id: str,
        amount: int,
        *,
        note: str | None = None,
        invoice_id: str | None = None,
    ) -> dict[str, Any]:
        """Control API: take ``amount`` (cents, or micro-units) from one ACTIVE credit."""
        row = s.one("SELECT * FROM credits WHERE id = ?", credit_id)
        if row is None:
            raise NotFound(f"credit {credit_id} not found")
        if row["state"] != "ACTIVE":
            raise ValidationFailed.on("credit_id", f"credit is {row['state']}, not ACTIVE")
        if amount <= 0 or amount > row["amount"]:
            raise ValidationFailed.on("amount", f"must be between 1 and {row['amount']}")
        self._take(s, row, amount, note=note, invoice_id=invoice_id)
        return self.get(s, row["company_id"], credit_id)

    def balance(self, s: Session, company_id: str, customer_ref: str) -> dict[str, Any]:
        """Totals over the customer's ACTIVE credits: money by currency, units by item."""
        customer = self.customers.require_path(s, company_id, customer_ref)
        totals: dict[str, Any] = {
            "customer_id": customer["id"],
            "total_amount": {},
            "total_units": {},
            "total_units_with_meta": {},
        }
        rows = s.conn.execute(
            "SELECT c.type, c.currency, c.item_id, SUM(c.amount) AS left, i.name AS item_name"
            " FROM credits c LEFT JOIN items i ON i.id = c.item_id"
            " WHERE c.company_id = ? AND c.customer_id = ? AND c.state = 'ACTIVE'"
            " GROUP BY c.type, c.currency, c.item_id ORDER BY c.currency, c.item_id",
            (company_id, customer["id"]),
        ).fetchall()
        for row in rows:
            if row["type"] == "AMOUNT":
                totals["total_amount"][row["currency"]] = {
                    "currency": row["currency"],
                    "value_in_cents": row["left"],
                }
            else:
                units = micro_to_units(row["left"])
                totals["total_units"][row["item_id"]] = units
                totals["total_units_with_meta"][row["item_id"]] = {
                    "item_id": row["item_id"],
                    "item_name": row["item_name"] or "",
                    "units": units,
                }
        return totals
