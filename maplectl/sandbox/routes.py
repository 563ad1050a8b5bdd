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

from maplectl.sandbox.store import Session
from maplectl.sandbox.validation import validate_request


@dataclass(frozen=True, slots=True)
class Request:
    """What a handler gets: the company, path parameters, parsed body, and the find lag cut."""

    company_id: str
    params: dict[str, str]
    body: Any = None
    visible_before: str | None = None


Handler = Callable[[Session, Request], tuple[int, Any]]


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


def _create_credit(s: Session, r: Request) -> tuple[int, Any]:
    validate_request("createCredit", r.body)
    return 201, s.create_credit(r.company_id, r.body)


def _find_credits(s: Session, r: Request) -> tuple[int, Any]:
    validate_request("findCredits", r.body)
    return 200, s.find_credits(r.company_id, r.body, visible_before=r.visible_before)


def _get_credit(s: Session, r: Request) -> tuple[int, Any]:
    return 200, s.get_credit(r.company_id, r.params["id"])


def _revoke_credit(s: Session, r: Request) -> tuple[int, Any]:
    return 200, s.revoke_credit(r.company_id, r.params["id"])


def _consume(s: Session, r: Request) -> tuple[int, Any]:
    validate_request("consumeCredits", r.body)
    return 200, s.consume_credits(r.company_id, r.body)


def _check_balance(s: Session, r: Request) -> tuple[int, Any]:
    return 200, s.balance(r.company_id, r.params["customer_id"])


def _find_logs(s: Session, r: Request) -> tuple[int, Any]:
    validate_request("findCreditLogs", r.body)
    return 200, s.find_credit_logs(r.company_id, r.body, visible_before=r.visible_before)


def _create_one_times(s: Session, r: Request) -> tuple[int, Any]:
    validate_request("createOneTimeCharges", r.body)
    return 201, s.create_one_times(r.company_id, r.body)


def _find_one_times(s: Session, r: Request) -> tuple[int, Any]:
    validate_request("findOneTimeCharges", r.body)
    return 200, s.find_one_times(r.company_id, r.body, visible_before=r.visible_before)


def _find_customers(s: Session, r: Request) -> tuple[int, Any]:
    validate_request("findCustomers", r.body)
    return 200, s.find_customers(r.company_id, r.body, visible_before=r.visible_before)


def _get_customer(s: Session, r: Request) -> tuple[int, Any]:
    return 200, s.get_customer(r.company_id, r.params["customer_id"])


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
