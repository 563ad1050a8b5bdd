"""The route table: every API endpoint, its handler, and how the pipeline must treat it.

Handlers are thin: validate the body against the OpenAPI document, call one store operation,
return (status, payload). Everything else (auth, faults, idempotency, transactions, expiry)
is the app's pipeline, driven by the flags here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
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


Handler = Callable[[Store, Session, Request], tuple[int, Any]]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint. ``template`` is the path after ``/companies/{company_id}``."""

    method: str
    template: str
    operation_id: str
    handler: Handler
    writes: bool = False  # needs a write transaction
    keyed: bool = False  # honours Idempotency-Key (CONTRACT §3)
    credits: bool = False  # reads credits, so overdue ones expire first
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def key(self) -> str:
        """``"POST /credits"``: how faults and counters name this route."""
        return f"{self.method} {self.template}"


def _create_credit(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    validate_request("createCredit", r.body)
    return 201, store.credits.create(s, r.company_id, r.body)


def _find_credits(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    validate_request("findCredits", r.body)
    return 200, store.credits.find(s, r.company_id, r.body, visible_before=r.visible_before)


def _get_credit(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    return 200, store.credits.get(s, r.company_id, r.params["id"])


def _revoke_credit(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    return 200, store.credits.revoke(s, r.company_id, r.params["id"])


def _consume(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    validate_request("consumeCredits", r.body)
    return 200, store.credits.consume(s, r.company_id, r.body)


def _check_balance(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    return 200, store.credits.balance(s, r.company_id, r.params["customer_id"])


def _find_logs(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    validate_request("findCreditLogs", r.body)
    return 200, store.credits.find_logs(s, r.company_id, r.body, visible_before=r.visible_before)


def _create_one_times(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    validate_request("createOneTimeCharges", r.body)
    return 201, store.one_times.create(s, r.company_id, r.body)


def _find_one_times(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    validate_request("findOneTimeCharges", r.body)
    return 200, store.one_times.find(s, r.company_id, r.body, visible_before=r.visible_before)


def _find_customers(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    validate_request("findCustomers", r.body)
    return 200, store.customers.find(s, r.company_id, r.body, visible_before=r.visible_before)


def _get_customer(store: Store, s: Session, r: Request) -> tuple[int, Any]:
    return 200, store.customers.get(s, r.company_id, r.params["customer_id"])


# Static paths come before parametrised ones with the same prefix.
ROUTES: tuple[Route, ...] = (
    Route("POST", "/credits", "createCredit", _create_credit, writes=True, keyed=True,
          credits=True),
    Route("POST", "/credits/find", "findCredits", _find_credits, credits=True),
    Route("POST", "/credits/consume", "consumeCredits", _consume, writes=True, keyed=True,
          credits=True),
    Route("POST", "/credits/logs/find", "findCreditLogs", _find_logs, credits=True),
    Route("GET", "/credits/check_balance/{customer_id}", "checkCreditBalance", _check_balance,
          credits=True),
    Route("GET", "/credits/{id}", "getCredit", _get_credit, credits=True),
    Route("DELETE", "/credits/{id}", "revokeCredit", _revoke_credit, writes=True, credits=True),
    Route("POST", "/one_times", "createOneTimeCharges", _create_one_times, writes=True,
          keyed=True),
    Route("POST", "/one_times/find", "findOneTimeCharges", _find_one_times),
    Route("POST", "/customers/find", "findCustomers", _find_customers),
    Route("GET", "/customers/{customer_id}", "getCustomer", _get_customer),
)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a path after the company prefix, or None (an unknown route is a 404).

    The first template that matches the path decides; a method it does not have is no route,
    so ``GET /credits/find`` is not read as "the credit called find".
    """
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is None:
            continue
        for candidate in ROUTES:
            if candidate.template == route.template and candidate.method == method:
                return candidate, found.groupdict()
        return None
    return None
