"""The route table: every endpoint the sandbox serves, under its prefix, and how each is treated.

::

    /api/v1/companies/{company_id}  + ROUTES          Maple's API; handlers in handlers.py
    /_sandbox                       + CONTROL_ROUTES  the control API; handlers in control.py

An API route names its OpenAPI operation and tells the app's pipeline what it needs (a write
transaction, an Idempotency-Key, overdue credits expired first). A control route says whether it
needs a token and which body types it takes. ``match_api`` and ``match_control`` find the route
of a whole path by one rule; a path that no route serves is None, which the app answers with 404,
never with a made-up success.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from maplectl.sandbox import control, handlers
from maplectl.sandbox.control import ControlRequest, ControlTarget
from maplectl.sandbox.handlers import Request
from maplectl.sandbox.session import Session
from maplectl.sandbox.store import Store

API_PREFIX = "/api/v1"
CONTROL_PREFIX = "/_sandbox"
_COMPANY_PATH = re.compile(r"^/api/v1/companies/([^/]+)(/.*)$")

JSON_TYPES = frozenset({"application/json"})
SEED_TYPES = frozenset({"application/json", "application/yaml", "application/x-yaml"})

Handler = Callable[[Store, Session, Request], tuple[int, Any]]
ControlHandler = Callable[[ControlTarget, ControlRequest], tuple[int, Any]]


def _pattern(template: str) -> re.Pattern[str]:
    """``/credits/{id}`` -> a regex with one named group per ``{parameter}``."""
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


@dataclass(frozen=True, slots=True)
class Route:
    """One API endpoint. ``template`` is the path after ``/companies/{company_id}``."""

    method: str
    template: str
    operation_id: str
    handler: Handler
    writes: bool = False  # needs a write transaction
    keyed: bool = False  # honours Idempotency-Key (docs/maple-api.md, Idempotency)
    credits: bool = False  # reads credits, so overdue ones expire first
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _pattern(self.template))

    @property
    def key(self) -> str:
        """``"POST /credits"``: how faults and counters name this route."""
        return f"{self.method} {self.template}"


@dataclass(frozen=True, slots=True)
class ControlRoute:
    """One control endpoint. ``template`` is the path after ``/_sandbox``."""

    method: str
    template: str
    handler: ControlHandler
    open: bool = False  # answers without a token (readiness probes)
    body_types: frozenset[str] = JSON_TYPES  # what a POST or PUT may declare
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _pattern(self.template))


# Static paths come before parametrised ones with the same prefix.
ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/credits",
        "createCredit",
        handlers.create_credit,
        writes=True,
        keyed=True,
        credits=True,
    ),
    Route("POST", "/credits/find", "findCredits", handlers.find_credits, credits=True),
    Route(
        "POST",
        "/credits/consume",
        "consumeCredits",
        handlers.consume_credits,
        writes=True,
        keyed=True,
        credits=True,
    ),
    Route("POST", "/credits/logs/find", "findCreditLogs", handlers.find_credit_logs, credits=True),
    Route(
        "GET",
        "/credits/check_balance/{customer_id}",
        "checkCreditBalance",
        handlers.check_balance,
        credits=True,
    ),
    Route("GET", "/credits/{id}", "getCredit", handlers.get_credit, credits=True),
    Route(
        "DELETE", "/credits/{id}", "revokeCredit", handlers.revoke_credit, writes=True, credits=True
    ),
    Route(
        "POST",
        "/one_times",
        "createOneTimeCharges",
        handlers.create_one_times,
        writes=True,
        keyed=True,
    ),
    Route("POST", "/one_times/find", "findOneTimeCharges", handlers.find_one_times),
    Route("POST", "/customers/find", "findCustomers", handlers.find_customers),
    Route("GET", "/customers/{customer_id}", "getCustomer", handlers.get_customer),
)

CONTROL_ROUTES: tuple[ControlRoute, ...] = (
    ControlRoute("GET", "/health", control.health, open=True),
    ControlRoute("POST", "/reset", control.reset),
    ControlRoute("POST", "/seed", control.seed, body_types=SEED_TYPES),
    ControlRoute("POST", "/credits/bulk", control.bulk_credits),
    ControlRoute("POST", "/credits/{credit_id}/consume", control.consume),
    ControlRoute("GET", "/clock", control.clock),
    ControlRoute("POST", "/clock/advance", control.advance),
    ControlRoute("GET", "/faults", control.list_faults),
    ControlRoute("POST", "/faults", control.add_fault),
    ControlRoute("DELETE", "/faults", control.clear_faults),
    ControlRoute("DELETE", "/faults/{fault_id}", control.remove_fault),
    ControlRoute("GET", "/counters", control.counters),
    ControlRoute("DELETE", "/counters", control.reset_counters),
    ControlRoute("PUT", "/companies/{company_id}/token", control.set_token),
)


@dataclass(frozen=True, slots=True)
class ApiMatch:
    """The API route of a request, with the company and path parameters it names."""

    route: Route
    company_id: str
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class ControlMatch:
    """The control route of a request, with its path parameters."""

    route: ControlRoute
    params: dict[str, str]


class _Routed(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def pattern(self) -> re.Pattern[str]: ...


_R = TypeVar("_R", bound=_Routed)


def _lookup(table: tuple[_R, ...], method: str, path: str) -> tuple[_R, dict[str, str]] | None:
    """The one matching rule: the first template that matches the path decides, and a method it
    does not have is no route (so ``GET /credits/find`` is not "the credit called find")."""
    for route in table:
        found = route.pattern.match(path)
        if found is None:
            continue
        for candidate in table:
            if candidate.template == route.template and candidate.method == method:
                return candidate, found.groupdict()
        return None
    return None


def match_api(method: str, path: str) -> ApiMatch | None:
    """The API route of a whole path (``/api/v1/companies/{id}/...``), or None: a 404."""
    found = _COMPANY_PATH.match(path)
    if found is None:
        return None
    matched = _lookup(ROUTES, method, found.group(2))
    if matched is None:
        return None
    return ApiMatch(matched[0], found.group(1), matched[1])


def is_control(path: str) -> bool:
    """True for ``/_sandbox`` and every path under it."""
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def match_control(method: str, path: str) -> ControlMatch | None:
    """The control route of a whole path (``/_sandbox/...``), or None: a 404."""
    matched = _lookup(CONTROL_ROUTES, method, path.removeprefix(CONTROL_PREFIX))
    return None if matched is None else ControlMatch(*matched)


def control_body_types(path: str) -> frozenset[str]:
    """The body types a POST or PUT to a control path may declare. They belong to the path, not
    to a method: the gate checks them before it asks for a route."""
    rest = path.removeprefix(CONTROL_PREFIX)
    for route in CONTROL_ROUTES:
        if route.pattern.match(rest):
            return route.body_types
    return JSON_TYPES
