"""Seed data and bulk loads: companies, customers, catalog, and optionally credits and charges.

A seed document is ``{"companies": [{id, name, token, customers, items, subscriptions,
products, product_pricings, credits?, one_time_charges?}, ...]}`` (YAML or JSON). Loading is
additive: reference data with a known id is replaced, credits with a known id are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from maplectl.currency import is_currency
from maplectl.sandbox.clock import format_ts, parse_ts
from maplectl.sandbox.errors import ValidationFailed
from maplectl.sandbox.onetimes import OneTimeCharges
from maplectl.sandbox.session import Session, new_id, units_to_micro

DEMO_SEED = Path(__file__).with_name("demo_seed.yaml")
DEMO_SEED_COMPANY = "cmp_demo"  # the first company of the demo seed


class SeedError(ValidationFailed):
    """A seed document that cannot be loaded; names the entry and field."""


def parse_seed(text: str | bytes) -> dict[str, Any]:
    """Parse a YAML (or JSON, which is YAML) seed document and check its outline."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SeedError(f"seed is not valid YAML or JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("companies"), list):
        raise SeedError.on("companies", "a seed document needs a list of companies")
    return doc


MIN_TOKEN_LENGTH = 4
"""A sandbox holds no token maplectl would refuse to send (it refuses tokens it could not mask
in its output, maplectl.redaction.MIN_LENGTH)."""


def check_token(token: str, where: str = "token") -> None:
    """Refuse a company token shorter than :data:`MIN_TOKEN_LENGTH` (400)."""
    if len(token.strip()) < MIN_TOKEN_LENGTH:
        raise SeedError.on(
            where, f"at least {MIN_TOKEN_LENGTH} characters (maplectl refuses shorter tokens)"
        )


def _need(entry: Mapping[str, Any], where: str, *fields: str) -> None:
    for field in fields:
        if not isinstance(entry.get(field), str) or not entry[field]:
            raise SeedError.on(f"{where}.{field}", "required string")


def _ts(value: Any, where: str) -> str:
    try:
        return format_ts(parse_ts(str(value)))
    except ValueError as exc:
        raise SeedError.on(where, "must be an RFC 3339 date-time") from exc


class Seeder:
    """Loading seed documents and bulk credits, inside one write transaction.

    Seed charges go through the one-time charge rules; bulk credits skip the per-request checks
    of ``Credits.create`` for speed and write the same rows (credit and ISSUED log).
    """

    def __init__(self, one_times: OneTimeCharges) -> None:
        self.one_times = one_times

    def load(self, s: Session, doc: Mapping[str, Any]) -> dict[str, int]:
        """Load every company of a parsed seed; returns counts of what was loaded."""
        counts = dict.fromkeys(
            (
                "companies",
                "customers",
                "items",
                "subscriptions",
                "products",
                "product_pricings",
                "credits",
                "one_time_charges",
            ),
            0,
        )
        position = s.one("SELECT COUNT(*) AS n FROM companies")
        next_position = position["n"] if position else 0
        for index, company in enumerate(doc["companies"]):
            where = f"companies[{index}]"
            if not isinstance(company, dict):
                raise SeedError.on(where, "must be a mapping")
            _need(company, where, "id", "name", "token")
            if not company["id"].startswith("cmp_"):
                raise SeedError.on(f"{where}.id", "company ids start with cmp_")
            check_token(company["token"], f"{where}.token")
            known = s.one("SELECT position FROM companies WHERE id = ?", company["id"])
            s.conn.execute(
                "INSERT OR REPLACE INTO companies (id, name, token, position) VALUES (?, ?, ?, ?)",
                (
                    company["id"],
                    company["name"],
                    company["token"],
                    known["position"] if known else next_position,
                ),
            )
            next_position += 0 if known else 1
            counts["companies"] += 1
            self._load_company(s, company["id"], company, where, counts)
        return counts

    def _load_company(
        self, s: Session, cid: str, company: Mapping[str, Any], where: str, counts: dict[str, int]
    ) -> None:
        for i, c in enumerate(company.get("customers") or []):
            _need(c, f"{where}.customers[{i}]", "id", "name")
            created = (
                _ts(c["created_at"], f"{where}.customers[{i}].created_at")
                if c.get("created_at")
                else s.stamp()
            )
            s.conn.execute(
                "INSERT OR REPLACE INTO customers (id, company_id, identifier, name, email,"
                " status, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    c["id"],
                    cid,
                    c.get("identifier") or c["id"],
                    c["name"],
                    c.get("email") or "",
                    c.get("status") or "ACTIVE",
                    json.dumps(c.get("metadata") or {}),
                    created,
                    created,
                ),
            )
            counts["customers"] += 1
        for i, it in enumerate(company.get("items") or []):
            _need(it, f"{where}.items[{i}]", "id", "name")
            s.conn.execute(
                "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?)",
                (it["id"], cid, it["name"], it.get("type") or "CUSTOM_OBJ"),
            )
            counts["items"] += 1
        for i, sub in enumerate(company.get("subscriptions") or []):
            _need(sub, f"{where}.subscriptions[{i}]", "id", "customer_id")
            s.conn.execute(
                "INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?)",
                (sub["id"], cid, sub["customer_id"]),
            )
            counts["subscriptions"] += 1
        for i, p in enumerate(company.get("products") or []):
            _need(p, f"{where}.products[{i}]", "id", "name")
            s.conn.execute(
                "INSERT OR REPLACE INTO products VALUES (?, ?, ?)", (p["id"], cid, p["name"])
            )
            counts["products"] += 1
        for i, pp in enumerate(company.get("product_pricings") or []):
            at = f"{where}.product_pricings[{i}]"
            _need(pp, at, "id", "product_id", "name")
            price = pp.get("price") or {}
            if not is_currency(str(price.get("currency"))) or not isinstance(
                price.get("value_in_cents"), int
            ):
                raise SeedError.on(f"{at}.price", "needs an ISO 4217 currency and integer cents")
            s.conn.execute(
                "INSERT OR REPLACE INTO product_pricings VALUES (?, ?, ?, ?, ?, ?)",
                (
                    pp["id"],
                    cid,
                    pp["product_id"],
                    pp["name"],
                    price["currency"],
                    price["value_in_cents"],
                ),
            )
            counts["product_pricings"] += 1
        credits = company.get("credits") or []
        if credits:
            counts["credits"] += self.bulk_credits(s, cid, credits, where=f"{where}.credits")
        for i, charge in enumerate(company.get("one_time_charges") or []):
            at = f"{where}.one_time_charges[{i}]"
            stamp: str | None = None
            if charge.get("created_at"):
                stamp = _ts(charge["created_at"], f"{at}.created_at")
            body = {k: v for k, v in charge.items() if k != "created_at"}
            try:
                self.one_times.create(s, cid, body, created_at=stamp)
            except (KeyError, TypeError) as exc:
                raise SeedError.on(at, f"not a one-time charge body ({exc})") from exc
            counts["one_time_charges"] += 1

    def bulk_credits(
        self,
        s: Session,
        company_id: str,
        specs: Sequence[Mapping[str, Any]],
        *,
        where: str = "credits",
    ) -> int:
        """Insert many ACTIVE credits (and their ISSUED logs) with two ``executemany`` calls.

        Each spec is a create body plus optional ``id`` and ``created_at``. Checks are the
        cheap ones (customer, item, currency, positive grant); bodies are not schema-validated.
        """
        customers = {
            r[0]
            for r in s.conn.execute("SELECT id FROM customers WHERE company_id = ?", (company_id,))
        }
        items = {
            r[0] for r in s.conn.execute("SELECT id FROM items WHERE company_id = ?", (company_id,))
        }
        existing = (
            {
                r[0]
                for r in s.conn.execute(
                    "SELECT id FROM credits WHERE company_id = ?", (company_id,)
                )
            }
            if any("id" in s for s in specs)
            else set()
        )
        credit_rows: list[tuple[Any, ...]] = []
        log_rows: list[tuple[Any, ...]] = []
        for i, spec in enumerate(specs):
            at = f"{where}[{i}]"
            if not isinstance(spec, Mapping):
                raise SeedError.on(at, "must be a mapping")
            if spec.get("customer_id") not in customers:
                raise SeedError.on(f"{at}.customer_id", "unknown customer")
            credit_type = spec.get("type")
            currency, item_id = None, spec.get("item_id")
            if credit_type == "AMOUNT":
                amount = spec.get("amount") or {}
                currency, granted = amount.get("currency"), amount.get("value_in_cents")
                if not is_currency(str(currency)) or not isinstance(granted, int) or granted < 1:
                    raise SeedError.on(f"{at}.amount", "needs an ISO 4217 currency and cents > 0")
            elif credit_type == "UNITS":
                if item_id not in items:
                    raise SeedError.on(f"{at}.item_id", "unknown item")
                granted = units_to_micro(spec.get("units"), f"{at}.units")
                if granted < 1:
                    raise SeedError.on(f"{at}.units", "must be > 0")
            else:
                raise SeedError.on(f"{at}.type", "must be AMOUNT or UNITS")
            credit_id = str(spec.get("id") or new_id("crd"))
            if credit_id in existing:
                continue
            created = (
                _ts(spec["created_at"], f"{at}.created_at") if spec.get("created_at") else s.stamp()
            )
            expires = (
                _ts(spec["expiration_date"], f"{at}.expiration_date")
                if spec.get("expiration_date")
                else None
            )
            name = str(spec.get("name") or f"Credit {i}")
            customer_id = spec["customer_id"]
            credit_rows.append(
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
                    spec.get("subscription_id"),
                    expires,
                    created,
                    created,
                )
            )
            log_rows.append(
                (
                    new_id("clog"),
                    company_id,
                    credit_id,
                    customer_id,
                    name,
                    "ISSUED",
                    credit_type,
                    currency,
                    granted,
                    item_id,
                    None,
                    None,
                    created,
                )
            )
        s.conn.executemany(
            "INSERT INTO credits (id, company_id, customer_id, name, type, state, currency,"
            " amount, issued_amount, item_id, subscription_id, expires_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'ACTIVE', ?, ?, ?, ?, ?, ?, ?, ?)",
            credit_rows,
        )
        s.conn.executemany(
            "INSERT INTO credit_logs (id, company_id, credit_id, customer_id, credit_name,"
            " action_type, type, currency, applied, item_id, invoice_id, note, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            log_rows,
        )
        return len(credit_rows)


def expand_template(
    template: Mapping[str, Any], count: int, customer_ids: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """``count`` copies of a credit spec, named ``<name> #<n>``, customers taken in turn."""
    customers = list(customer_ids or [])
    base_name = str(template.get("name") or "Bulk credit")
    specs = []
    for n in range(count):
        spec = dict(template, name=f"{base_name} #{n}")
        if customers:
            spec["customer_id"] = customers[n % len(customers)]
        specs.append(spec)
    return specs
