"""The control API under ``/_sandbox/`` (not part of Maple): state, clock, faults, counters.

The app admits a request here only with the sandbox's own Host, a company's token and a JSON
body (``SandboxApp._admit_control``); the server listens on 127.0.0.1 unless told otherwise.
Every endpoint is listed in docs/sandbox.md. Errors use the same envelope as the API.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from maplectl.sandbox.app import Response, parse_json
from maplectl.sandbox.clock import format_ts, render_ts
from maplectl.sandbox.errors import NotFound, ValidationFailed
from maplectl.sandbox.faults import FaultSpec, FaultSpecError
from maplectl.sandbox.seed import expand_template, parse_seed
from maplectl.sandbox.session import units_to_micro

if TYPE_CHECKING:
    from maplectl.sandbox.sandbox import Sandbox

_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def _json(raw: bytes) -> Any:
    return parse_json(raw) if raw else {}


def _object(raw: bytes) -> dict[str, Any]:
    body = _json(raw)
    if not isinstance(body, dict):
        raise ValidationFailed.on("body", "must be a JSON object")
    return body


class ControlApi:
    """Dispatches ``/_sandbox/...`` requests to the sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"^/_sandbox/health$"), self.health),
            ("POST", re.compile(r"^/_sandbox/reset$"), self.reset),
            ("POST", re.compile(r"^/_sandbox/seed$"), self.seed),
            ("POST", re.compile(r"^/_sandbox/credits/bulk$"), self.bulk_credits),
            ("POST", re.compile(r"^/_sandbox/credits/(?P<credit_id>[^/]+)/consume$"),
             self.consume),
            ("GET", re.compile(r"^/_sandbox/clock$"), self.clock),
            ("POST", re.compile(r"^/_sandbox/clock/advance$"), self.advance),
            ("GET", re.compile(r"^/_sandbox/faults$"), self.list_faults),
            ("POST", re.compile(r"^/_sandbox/faults$"), self.add_fault),
            ("DELETE", re.compile(r"^/_sandbox/faults$"), self.clear_faults),
            ("DELETE", re.compile(r"^/_sandbox/faults/(?P<fault_id>[^/]+)$"), self.remove_fault),
            ("GET", re.compile(r"^/_sandbox/counters$"), self.counters),
            ("DELETE", re.compile(r"^/_sandbox/counters$"), self.reset_counters),
            ("PUT", re.compile(r"^/_sandbox/companies/(?P<company_id>[^/]+)/token$"),
             self.set_token),
        ]

    def __call__(self, method: str, path: str, raw: bytes, headers: dict[str, str]) -> Response:
        for route_method, pattern, handler in self._routes:
            found = pattern.match(path)
            if found and route_method == method:
                return handler(raw, **found.groupdict())
        raise NotFound(f"no control route for {method} {path}")

    def health(self, raw: bytes) -> Response:
        return Response.json(200, {"status": "ok", "now": render_ts(format_ts(
            self.sandbox.store.now()))})

    def reset(self, raw: bytes) -> Response:
        self.sandbox.reset()
        return Response.json(200, {"status": "reset",
                                   "companies": [c for c, _ in self.sandbox.store.companies()]})

    def seed(self, raw: bytes) -> Response:
        counts = self.sandbox.store.load_seed(parse_seed(raw))
        return Response.json(200, {"loaded": counts})

    def bulk_credits(self, raw: bytes) -> Response:
        body = _object(raw)
        company_id = body.get("company_id") or self.sandbox.company_id
        if "credits" in body:
            specs = body["credits"]
            if not isinstance(specs, list):
                raise ValidationFailed.on("credits", "must be a list")
        elif isinstance(body.get("template"), dict) and type(body.get("count")) is int:
            specs = expand_template(body["template"], body["count"], body.get("customer_ids"))
        else:
            raise ValidationFailed.on("credits", "give credits: [...] or template + count")
        started = time.perf_counter()
        store = self.sandbox.store
        with store.write() as s:
            loaded = store.seeder.bulk_credits(s, company_id, specs)
        return Response.json(200, {"loaded": loaded, "company_id": company_id,
                                   "seconds": round(time.perf_counter() - started, 3)})

    def consume(self, raw: bytes, credit_id: str) -> Response:
        body = _object(raw)
        store = self.sandbox.store
        with store.read() as s:
            credit_type = store.credits.type_of(s, credit_id)
        if credit_type == "AMOUNT":
            amount = body.get("amount")
            if type(amount) is not int:
                raise ValidationFailed.on("amount", "integer minor units required for AMOUNT")
        else:
            amount = units_to_micro(body.get("units"), "units")
        store.expire_due(store.now())
        with store.write() as s:
            credit = store.credits.consume_one(s, credit_id, amount, note=body.get("note"),
                                   invoice_id=body.get("invoice_id"))
        return Response.json(200, credit)

    def _clock_json(self) -> dict[str, Any]:
        store = self.sandbox.store
        return {"now": render_ts(format_ts(store.now())),
                "offset_seconds": store.offset().total_seconds()}

    def clock(self, raw: bytes) -> Response:
        return Response.json(200, self._clock_json())

    def advance(self, raw: bytes) -> Response:
        body = _object(raw)
        seconds = 0.0
        for unit, factor in _UNITS.items():
            value = body.get(unit)
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValidationFailed.on(unit, "a number >= 0")
                seconds += value * factor
        if seconds <= 0:
            raise ValidationFailed.on("seconds", "give seconds, minutes, hours or days > 0")
        self.sandbox.store.advance(seconds)
        return Response.json(200, self._clock_json())

    def list_faults(self, raw: bytes) -> Response:
        return Response.json(200, {"faults": self.sandbox.faults.list()})

    def add_fault(self, raw: bytes) -> Response:
        try:
            spec = FaultSpec.from_json(_json(raw))
        except FaultSpecError as exc:
            raise ValidationFailed.on(exc.field, exc.message) from exc
        fault_id = self.sandbox.faults.add(spec)
        return Response.json(201, {"id": fault_id, **spec.to_json()})

    def clear_faults(self, raw: bytes) -> Response:
        count = len(self.sandbox.faults.list())
        self.sandbox.faults.clear()
        return Response.json(200, {"cleared": count})

    def remove_fault(self, raw: bytes, fault_id: str) -> Response:
        if not self.sandbox.faults.remove(fault_id):
            raise NotFound(f"fault {fault_id} not found")
        return Response.json(200, {"cleared": 1})

    def counters(self, raw: bytes) -> Response:
        return Response.json(200, self.sandbox.counters.snapshot())

    def reset_counters(self, raw: bytes) -> Response:
        self.sandbox.counters.reset()
        return Response.json(200, self.sandbox.counters.snapshot())

    def set_token(self, raw: bytes, company_id: str) -> Response:
        token = _object(raw).get("token")
        if not isinstance(token, str) or not token.strip():
            raise ValidationFailed.on("token", "a non-empty string")
        try:
            self.sandbox.set_token(company_id, token.strip())
        except KeyError as exc:
            raise NotFound(f"company {company_id} not found") from exc
        return Response.json(200, {"company_id": company_id})
