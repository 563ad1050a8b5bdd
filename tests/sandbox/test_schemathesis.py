"""Property-based run of the sandbox against its own OpenAPI document (schemathesis, in process).

For every operation of ``maplectl/sandbox/openapi.yaml``, schemathesis generates requests that
follow the document (positive) and requests that break it (negative), sends them straight to the
sandbox's WSGI app, and checks each answer: never a 5xx (no fault is injected here), a documented
status code, the documented content type, headers and body schema; negative requests must be
refused with a 4xx.

Generated ids almost never exist, so three positive bodies in four (and half the path ids) are
steered towards the demo seed's real customers, items, product pricings and credits, which
hold large balances. Without that the happy paths (201, 200 with results) would hardly be
reached; each positive run asserts it reached at least one 2xx. Runs are derandomized, so CI
sees the same cases every time. Two spoiled apps show the checks can fail, and the 500s the
run found are pinned as plain examples at the end.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from maplectl.sandbox import ManualClock, Sandbox
from maplectl.sandbox.validation import OPENAPI_PATH

COMPANY = "cmp_demo"
START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SCHEMA = schemathesis.openapi.from_path(str(OPENAPI_PATH))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI stays deterministic
    database=None,
    # Steering draws extra data, and some bodies are large; neither is a problem here.
    suppress_health_check=list(HealthCheck),
)

# Real ids of the demo seed, used to steer positive cases onto the happy paths.
CUSTOMERS = ["cus_acme", "cus_globex", "cus_initech"]
IDS = {
    "customer_id": CUSTOMERS,
    "item_id": ["itm_api_calls", "itm_seats"],
    "product_pricing_id": ["pp_onboarding_fee", "pp_training_day"],
    "currency": ["USD", "EUR"],
}
FUTURE = "2030-06-30T00:00:00Z"
# Fields whose generated values only ever fail a rule the document cannot express.
TO_NULL = ("subscription_id", "invoice_date", "from_key")


@pytest.fixture
def fuzz_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A fresh demo sandbox on a manual clock, with a few credits whose ids cases can hit."""
    box = Sandbox.open(tmp_path / "sandbox.db", clock=ManualClock(START))
    yield box
    box.close()


def _seed_credits(box: Sandbox) -> list[str]:
    """Large balances for every steered customer, so generated consumptions can succeed."""
    bodies: list[dict[str, Any]] = []
    for customer in CUSTOMERS:
        for currency in IDS["currency"]:
            bodies.append(
                {
                    "customer_id": customer,
                    "name": "Fuzz credit",
                    "type": "AMOUNT",
                    "amount": {"currency": currency, "value_in_cents": 10**14},
                }
            )
        for item in IDS["item_id"]:
            bodies.append(
                {
                    "customer_id": customer,
                    "name": "Fuzz units",
                    "type": "UNITS",
                    "units": 10**9,
                    "item_id": item,
                }
            )
    with httpx.Client(
        transport=httpx.WSGITransport(app=box.app),
        base_url=f"http://sandbox/api/v1/companies/{COMPANY}",
        headers={"Authorization": f"Bearer {box.token}"},
    ) as api:
        ids = []
        for body in bodies:
            answer = api.post("/credits", json=body)
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        return ids


def _steer(value: Any, draw: Callable[[st.SearchStrategy[Any]], Any], credit_ids: list[str]) -> Any:
    """Make a body's generated ids real (recursively) so the store's rules can pass.

    Only values of the generated type are replaced (a null stays null), so the body stays valid
    against the document; units lose digits beyond the sixth decimal (a sandbox rule).
    """
    if isinstance(value, list):
        return [_steer(item, draw, credit_ids) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, item in value.items():
        if isinstance(item, str) and name in IDS:
            out[name] = draw(st.sampled_from(IDS[name]))
        elif isinstance(item, str) and name == "credit_id":
            out[name] = draw(st.sampled_from(credit_ids))
        elif isinstance(item, str) and name == "expiration_date":
            out[name] = FUTURE
        elif name in TO_NULL and item is not None:
            out[name] = None
        elif name in ("units", "aggregate") and isinstance(item, int | float):
            out[name] = round(item, 6) or 1
        else:
            out[name] = _steer(item, draw, credit_ids)
    return out


def _is_positive(case: schemathesis.Case, location: ParameterLocation) -> bool:
    meta = case.meta
    if meta is None:
        return True
    component = meta.components.get(location)
    return component is None or not component.mode.is_negative


def _label(operation: Any) -> str:
    return str(operation.label).replace("/companies/{company_id}", "")


def fuzz(
    operation: Any, mode: GenerationMode, app: Any, box: Sandbox, run_settings: settings = SETTINGS
) -> Counter[int]:
    """Send generated cases of one operation to ``app`` and check every answer; the statuses."""
    credit_ids = _seed_credits(box)
    path_pools = {"id": credit_ids, "customer_id": [*CUSTOMERS, "acme"]}
    fresh_keys = (f"fuzz-{n}" for n in itertools.count())
    auth = {"Authorization": f"Bearer {box.token}"}
    seen: Counter[int] = Counter()
    checks = CONFORMANCE + ([negative_data_rejection] if mode.is_negative else [])

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @run_settings
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        # A path the document makes invalid stays invalid; otherwise talk to the demo company.
        if _is_positive(case, ParameterLocation.PATH):
            case.path_parameters["company_id"] = COMPANY
            if mode.is_positive:
                for name, pool in path_pools.items():
                    if name in case.path_parameters and data.draw(st.booleans()):
                        case.path_parameters[name] = data.draw(st.sampled_from(pool))
        if mode.is_positive:
            if isinstance(case.body, dict) and data.draw(st.integers(0, 3)) > 0:
                case.body = _steer(case.body, data.draw, credit_ids)
            # A generated key is often reused with another body (409); mostly use a fresh one.
            if "Idempotency-Key" in (case.headers or {}) and data.draw(st.booleans()):
                case.headers["Idempotency-Key"] = next(fresh_keys)
        # The sandbox token (schemathesis drops it itself when it tests a missing header).
        response = case.call(app=app, headers=auth)
        seen[response.status_code] += 1
        case.validate_response(response, checks=checks)

    run()
    return seen


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value
)
@pytest.mark.parametrize("operation", OPERATIONS, ids=_label)
def test_operation_conforms_to_the_document(
    operation: Any, mode: GenerationMode, fuzz_sandbox: Sandbox
) -> None:
    """Generated requests never get a 5xx, and every answer matches the OpenAPI document."""
    seen = fuzz(operation, mode, fuzz_sandbox.app, fuzz_sandbox)
    assert seen, "no request was sent"
    if mode.is_positive:
        assert any(200 <= status < 300 for status in seen), f"no 2xx reached: {dict(seen)}"


def _teapot(status: str, body: bytes) -> tuple[str, bytes]:
    return "418 I'm a teapot", body


def _no_results(status: str, body: bytes) -> tuple[str, bytes]:
    return status, b'{"pagination": {"from_key": null, "limit": 20}}'


@pytest.mark.parametrize(
    ("spoil", "finding"),
    [
        (_teapot, "Undocumented status code"),
        (_no_results, "Response violates schema"),
    ],
    ids=["status", "body"],
)
def test_the_run_catches_an_answer_the_document_does_not_allow(
    spoil: Callable[[str, bytes], tuple[str, bytes]], finding: str, fuzz_sandbox: Sandbox
) -> None:
    """An app whose answers break the document fails the run: the checks can fail."""

    def spoiled(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        got: list[str] = []
        body = b"".join(fuzz_sandbox.app(environ, lambda status, headers: got.append(status)))
        status, body = spoil(got[0], body)
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    operation = next(op for op in OPERATIONS if op.label.endswith("/customers/find"))
    few = settings(SETTINGS, max_examples=3, phases=[Phase.generate])
    with pytest.raises(FailureGroup, match=finding):
        fuzz(operation, GenerationMode.POSITIVE, spoiled, fuzz_sandbox, few)


# -- what the run found, pinned as plain examples ------------------------------------------------


def _api(box: Sandbox) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=box.app),
        base_url=f"http://sandbox/api/v1/companies/{COMPANY}",
        headers={"Authorization": f"Bearer {box.token}"},
    )


def test_found_a_limit_written_as_1_0_is_a_page_of_one(fuzz_sandbox: Sandbox) -> None:
    """``"limit": 1.0`` is an integer to JSON Schema, so it pages like 1 (it was a 500)."""
    with _api(fuzz_sandbox) as api:
        answer = api.post("/customers/find", json={"pagination": {"limit": 1.0}})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["results"]) == 1
    assert answer.json()["pagination"]["limit"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"type": "AMOUNT", "amount": {"currency": "USD", "value_in_cents": 2**63}},
        {"type": "UNITS", "units": 1e13, "item_id": "itm_api_calls"},
    ],
    ids=["cents", "units"],
)
def test_found_grants_beyond_the_stores_range_are_refused(
    fuzz_sandbox: Sandbox, body: dict[str, Any]
) -> None:
    """A grant too large for a 64-bit balance is a 400 naming the field (it was a 500)."""
    with _api(fuzz_sandbox) as api:
        answer = api.post("/credits", json={"customer_id": "cus_acme", "name": "Huge", **body})
    assert answer.status_code == 400, answer.text
    fields = [e["field"] for e in answer.json()["validation_errors"]]
    assert fields == ["amount.value_in_cents" if body["type"] == "AMOUNT" else "units"]
