"""The control API's handlers, under ``/_sandbox/`` (not part of Maple): state, clock, faults,
counters. Their routes are in ``routes.py`` with the API's; every endpoint is listed in
docs/sandbox.md.

The app admits a request here only with the sandbox's own Host, a company's token and a JSON
body (``SandboxApp._admit_control``); the server listens on 127.0.0.1 unless told otherwise.
Errors use the same envelope as the API. A handler acts on a ``ControlTarget``: what a
``Sandbox`` offers, named here so this module need not import the sandbox that serves it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from maplectl.sandbox.clock import format_ts, render_ts
from maplectl.sandbox.errors import NotFound, ValidationFailed
from maplectl.sandbox.faults import Counters, FaultBook, FaultSpec, FaultSpecError
from maplectl.sandbox.seed import expand_template, parse_seed
from maplectl.sandbox.session import units_to_micro
from maplectl.sandbox.store import Store
from maplectl.sandbox.wire import parse_json

_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class ControlTarget(Protocol):
    """What the control endpoints act on (``Sandbox`` is one)."""

    @property
    def store(self) -> Store:
        """The state and rules."""
        ...

    @property
    def faults(self) -> FaultBook:
        """The armed faults."""
        ...

    @property
    def counters(self) -> Counters:
        """Requests per route."""
        ...

    @property
    def company_id(self) -> str:
        """The first company of the seed."""
        ...

    def reset(self) -> None:
        """Back to the seed: data, clock offset, keys, faults and counters."""
        ...

    def set_token(self, company_id: str, token: str) -> None:
        """Give a company a new token (kept across ``reset``); ``KeyError`` if it is unknown."""
        ...


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """What a control handler gets: path parameters and the raw body (parsed by the handler,
    as JSON or, for the seed, YAML)."""

    params: dict[str, str]
    raw: bytes = b""


def _json(raw: bytes) -> Any:
    return parse_json(raw) if raw else {}


def _object(raw: bytes) -> dict[str, Any]:
    body = _json(raw)
    if not isinstance(body, dict):
        raise ValidationFailed.on("body", "must be a JSON object")
    return body


def health(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """GET /health: the sandbox answers, and its time (needs no token)."""
    return 200, {"status": "ok", "now": render_ts(format_ts(box.store.now()))}


def reset(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """POST /reset: back to the seed."""
    box.reset()
    return 200, {"status": "reset", "companies": [c for c, _ in box.store.companies()]}


def seed(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """POST /seed: load more seed data (YAML or JSON)."""
    counts = box.store.load_seed(parse_seed(r.raw))
    return 200, {"loaded": counts}


def bulk_credits(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """POST /credits/bulk: many credits at once, listed or from a template."""
    body = _object(r.raw)
    company_id = body.get("company_id") or box.company_id
    if "credits" in body:
        specs = body["credits"]
        if not isinstance(specs, list):
            raise ValidationFailed.on("credits", "must be a list")
    elif isinstance(body.get("template"), dict) and type(body.get("count")) is int:
        specs = expand_template(body["template"], body["count"], body.get("customer_ids"))
    else:
        raise ValidationFailed.on("credits", "give credits: [...] or template + count")
    started = time.perf_counter()
    store = box.store
    with store.write() as s:
        loaded = store.seeder.bulk_credits(s, company_id, specs)
    return 200, {
        "loaded": loaded,
        "company_id": company_id,
        "seconds": round(time.perf_counter() - started, 3),
    }


def consume(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """POST /credits/{credit_id}/consume: take from one credit, as an invoice would."""
    body = _object(r.raw)
    credit_id = r.params["credit_id"]
    store = box.store
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
        credit = store.credits.consume_one(
            s, credit_id, amount, note=body.get("note"), invoice_id=body.get("invoice_id")
        )
    return 200, credit


def _clock_json(store: Store) -> dict[str, Any]:
    return {
        "now": render_ts(format_ts(store.now())),
        "offset_seconds": store.offset().total_seconds(),
    }


def clock(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """GET /clock: the sandbox time and its offset from the base clock."""
    return 200, _clock_json(box.store)


def advance(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """POST /clock/advance: move the sandbox clock forward."""
    body = _object(r.raw)
    seconds = 0.0
    for unit, factor in _UNITS.items():
        value = body.get(unit)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValidationFailed.on(unit, "a number >= 0")
            seconds += value * factor
    if seconds <= 0:
        raise ValidationFailed.on("seconds", "give seconds, minutes, hours or days > 0")
    box.store.advance(seconds)
    return 200, _clock_json(box.store)


def list_faults(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """GET /faults: the armed faults."""
    return 200, {"faults": box.faults.list()}


def add_fault(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """POST /faults: arm a fault (201)."""
    try:
        spec = FaultSpec.from_json(_json(r.raw))
    except FaultSpecError as exc:
        raise ValidationFailed.on(exc.field, exc.message) from exc
    fault_id = box.faults.add(spec)
    return 201, {"id": fault_id, **spec.to_json()}


def clear_faults(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """DELETE /faults: disarm every fault."""
    count = len(box.faults.list())
    box.faults.clear()
    return 200, {"cleared": count}


def remove_fault(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """DELETE /faults/{fault_id}: disarm one fault."""
    fault_id = r.params["fault_id"]
    if not box.faults.remove(fault_id):
        raise NotFound(f"fault {fault_id} not found")
    return 200, {"cleared": 1}


def counters(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """GET /counters: requests per route."""
    return 200, box.counters.snapshot()


def reset_counters(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """DELETE /counters: back to zero."""
    box.counters.reset()
    return 200, box.counters.snapshot()


def set_token(box: ControlTarget, r: ControlRequest) -> tuple[int, Any]:
    """PUT /companies/{company_id}/token: replace a company's token."""
    company_id = r.params["company_id"]
    token = _object(r.raw).get("token")
    if not isinstance(token, str) or not token.strip():
        raise ValidationFailed.on("token", "a non-empty string")
    try:
        box.set_token(company_id, token.strip())
    except KeyError as exc:
        raise NotFound(f"company {company_id} not found") from exc
    return 200, {"company_id": company_id}
