"""Auth, the error envelope, strict bodies and routing (docs/maple-api.md, Requests and money,
Authentication and Errors)."""

from __future__ import annotations

import httpx
from helpers.sandbox import COMPANY, credit_body, find

from maplectl.sandbox import Sandbox


def _envelope(response: httpx.Response, status: int, error_type: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_status"] == status
    assert body["error_type"] == error_type
    assert isinstance(body["error_message"], str) and body["error_message"]
    return dict(body)


def test_missing_token_is_401(api: httpx.Client) -> None:
    """A request without Authorization is 401 auth_error."""
    response = api.get("/customers/cus_acme", headers={"Authorization": ""})
    _envelope(response, 401, "auth_error")


def test_wrong_token_is_401(api: httpx.Client) -> None:
    """An unknown bearer token is 401 auth_error."""
    response = api.get("/customers/cus_acme", headers={"Authorization": "Bearer nope"})
    _envelope(response, 401, "auth_error")


def test_other_company_token_is_403(api: httpx.Client) -> None:
    """A valid token of another company is 403 auth_error, also for an unknown company."""
    other = {"Authorization": "Bearer sandbox-other-token"}
    _envelope(api.get("/customers/cus_acme", headers=other), 403, "auth_error")
    response = api.get("http://sandbox/api/v1/companies/cmp_nope/customers/x")
    _envelope(response, 403, "auth_error")


def test_second_company_sees_only_its_own_data(sandbox: Sandbox) -> None:
    """Each company's token reaches its own customers and not the other's."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=sandbox.app),
        base_url="http://sandbox/api/v1/companies/cmp_other",
        headers={"Authorization": "Bearer sandbox-other-token"},
    ) as other:
        assert other.get("/customers/other").json()["id"] == "cus_other"
        assert other.get("/customers/cus_acme").status_code == 404


def test_unknown_route_is_404_request_error(api: httpx.Client) -> None:
    """Unknown paths and unknown methods on known paths are 404 request_error, never success."""
    _envelope(api.get("/invoices"), 404, "request_error")
    _envelope(api.get("/credits/find"), 404, "request_error")
    _envelope(api.put("/credits/crd_x", json={}), 404, "request_error")
    _envelope(api.get("http://sandbox/elsewhere"), 404, "request_error")


def test_unknown_path_id_is_404(api: httpx.Client) -> None:
    """A credit id that does not exist is 404 request_error."""
    _envelope(api.get("/credits/crd_missing"), 404, "request_error")
    _envelope(api.delete("/credits/crd_missing"), 404, "request_error")
    _envelope(api.get("/customers/nobody"), 404, "request_error")


def test_malformed_json_is_400_request_error(api: httpx.Client) -> None:
    """A body that is not JSON is 400 request_error."""
    response = api.post(
        "/credits/find", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _envelope(response, 400, "request_error")


def test_unknown_fields_are_named(api: httpx.Client) -> None:
    """Unknown fields, top level and nested, are 400 validation_error naming each field."""
    body = credit_body(colour="red", amount={"currency": "USD", "value_in_cents": 1, "x": 1})
    response = api.post("/credits", json=body)
    envelope = _envelope(response, 400, "validation_error")
    fields = {e["field"] for e in envelope["validation_errors"]}  # type: ignore[attr-defined]
    assert fields == {"colour", "amount.x"}
    response = find(api, "/credits/find", {"customer": "cus_acme"})
    envelope = _envelope(response, 400, "validation_error")
    assert envelope["validation_errors"] == [
        {"field": "query.customer", "message": "unknown field"}
    ]


def test_missing_and_mistyped_fields_are_named(api: httpx.Client) -> None:
    """Required and badly typed fields are listed one by one."""
    response = api.post("/credits", json={"name": 5, "type": "AMOUNT"})
    envelope = _envelope(response, 400, "validation_error")
    fields = {e["field"] for e in envelope["validation_errors"]}  # type: ignore[attr-defined]
    assert {"customer_id", "name", "amount"} <= fields


def test_float_money_is_rejected(api: httpx.Client) -> None:
    """Money in minor units is an integer: a float value is a validation error."""
    body = credit_body(amount={"currency": "USD", "value_in_cents": 10.5})
    envelope = _envelope(api.post("/credits", json=body), 400, "validation_error")
    assert envelope["validation_errors"][0]["field"] == "amount.value_in_cents"  # type: ignore[index]


def test_responses_are_compact_json(api: httpx.Client) -> None:
    """Answers are application/json with a Content-Length and RFC 3339 Z timestamps."""
    response = api.get("/customers/acme")
    assert response.headers["content-type"] == "application/json"
    assert response.json()["created_at"].endswith("Z")
    assert response.json()["company_id"] == COMPANY


def test_non_json_constants_and_lone_surrogates_are_400(api: httpx.Client) -> None:
    """NaN/Infinity and lone surrogate escapes are refused as bad JSON, never a 500."""
    bodies = [
        b'{"customer_id": "cus_acme", "name": "\\ud800", "type": "AMOUNT",'
        b' "amount": {"currency": "USD", "value_in_cents": 1}}',
        b'{"customer_id": "cus_acme", "type": "IMMEDIATE", "onetime_items":'
        b' [{"product_pricing_id": "pp_training_day", "aggregate": Infinity}]}',
    ]
    for path, raw in zip(("/credits", "/one_times"), bodies, strict=True):
        response = api.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["error_type"] == "request_error"


def test_out_of_range_dates_are_400(api: httpx.Client) -> None:
    """A date that cannot be represented in UTC is a validation error, not a crash."""
    body = credit_body(expiration_date="9999-12-31T23:59:59-01:00")
    response = api.post("/credits", json=body)
    assert response.status_code == 400
    assert response.json()["validation_errors"][0]["field"] == "expiration_date"
