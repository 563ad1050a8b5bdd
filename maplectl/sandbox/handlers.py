"""Maple's API handlers: thin, each validates its body against the OpenAPI document, calls one
store operation and returns (status, payload).

Everything around them (auth, faults, idempotency, transactions, expiry) is the app's pipeline,
driven by the flags of their routes in ``routes.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maplectl.sandbox.session import Session
from maplectl.sandbox.store import Store
from maplectl.sandbox.validation import validate_request


@dataclass(frozen=True, slots=True)
class Request:
    """What a handler gets: the company, path parameters, parsed body, and the find lag cut."""

    company_id: str
    params: dict[str, str]
    body: Any = None
    visible_before: str | None = None


def create_credit(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """POST /credits: issue a credit (201)."""
    validate_request("createCredit", r.body)
    return 201, store.credits.create(s, r.company_id, r.body)


def find_credits(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """POST /credits/find: a page of credits."""
    validate_request("findCredits", r.body)
    return 200, store.credits.find(s, r.company_id, r.body, visible_before=r.visible_before)


def get_credit(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """GET /credits/{id}: one credit."""
    return 200, store.credits.get(s, r.company_id, r.params["id"])


def revoke_credit(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """DELETE /credits/{id}: revoke an ACTIVE credit."""
    return 200, store.credits.revoke(s, r.company_id, r.params["id"])


def consume_credits(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """POST /credits/consume: take from the customer's credits; the balance."""
    validate_request("consumeCredits", r.body)
    return 200, store.credits.consume(s, r.company_id, r.body)


def check_balance(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """GET /credits/check_balance/{customer_id}: the customer's balance."""
    return 200, store.credits.balance(s, r.company_id, r.params["customer_id"])


def find_credit_logs(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """POST /credits/logs/find: a page of ledger rows."""
    validate_request("findCreditLogs", r.body)
    return 200, store.credits.find_logs(s, r.company_id, r.body, visible_before=r.visible_before)


def create_one_times(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """POST /one_times: one billable per item (201)."""
    validate_request("createOneTimeCharges", r.body)
    return 201, store.one_times.create(s, r.company_id, r.body)


def find_one_times(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """POST /one_times/find: a page of billables."""
    validate_request("findOneTimeCharges", r.body)
    return 200, store.one_times.find(s, r.company_id, r.body, visible_before=r.visible_before)


def find_customers(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """POST /customers/find: a page of customers."""
    validate_request("findCustomers", r.body)
    return 200, store.customers.find(s, r.company_id, r.body, visible_before=r.visible_before)


def get_customer(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    """GET /customers/{customer_id}: one customer by id or identifier."""
    return 200, store.customers.get(s, r.company_id, r.params["customer_id"])
