"""Keyset pagination on every /find (docs/maple-api.md, Pagination)."""

from __future__ import annotations

import base64

import httpx
import pytest
from helpers.sandbox import credit_body, find, find_all


def _make(api: httpx.Client, count: int, **overrides: object) -> list[str]:
    ids = []
    for n in range(count):
        body = credit_body(name=f"Credit {n}", **overrides)
        response = api.post("/credits", json=body)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_default_order_is_newest_first_with_default_limit(api: httpx.Client) -> None:
    """Without sort_key results are newest first, 20 per page by default."""
    ids = _make(api, 23)
    page = api.post("/credits/find", json={"pagination": {}}).json()
    assert [c["id"] for c in page["results"]] == list(reversed(ids))[:20]
    assert page["pagination"]["limit"] == 20
    assert page["pagination"]["from_key"] is not None


def test_pages_cover_everything_once_and_last_cursor_is_null(api: httpx.Client) -> None:
    """Following cursors yields every object exactly once; the last page's from_key is null."""
    ids = _make(api, 7)
    seen = find_all(api, "/credits/find", limit=3)
    assert sorted(c["id"] for c in seen) == sorted(ids)
    assert len(seen) == len(ids)


@pytest.mark.parametrize("sort_key", ["createdAtDesc", "createdAtAsc"])
def test_stable_under_inserts_while_paging(api: httpx.Client, sort_key: str) -> None:
    """Objects created while a client pages cause no duplicates and no skips among those that
    existed when paging began."""
    before = set(_make(api, 10))
    seen: list[str] = []
    cursor = None
    while True:
        page = find(api, "/credits/find", limit=3, from_key=cursor, sort_key=sort_key).json()
        seen.extend(c["id"] for c in page["results"])
        _make(api, 2)  # inserts between pages
        cursor = page["pagination"]["from_key"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "duplicates"
    assert before <= set(seen), "skips"


def test_include_meta_gives_total_of_matches(api: httpx.Client) -> None:
    """include_meta adds pagination.total, the number of matches, not of the page."""
    _make(api, 5)
    _make(api, 2, customer_id="cus_globex")
    page = find(
        api, "/credits/find", {"customer_id": "cus_acme"}, limit=2, include_meta=True
    ).json()
    assert page["pagination"]["total"] == 5
    assert len(page["results"]) == 2
    assert "total" not in find(api, "/credits/find").json()["pagination"]


@pytest.mark.parametrize("limit", [0, 101, -1])
def test_limit_outside_1_to_100_is_400(api: httpx.Client, limit: int) -> None:
    """limit must be 1..100; anything else is 400 validation_error on pagination.limit."""
    response = find(api, "/credits/find", limit=limit)
    assert response.status_code == 400
    assert response.json()["validation_errors"][0]["field"] == "pagination.limit"


def test_limit_100_is_allowed(api: httpx.Client) -> None:
    """The cap itself is accepted."""
    assert find(api, "/credits/find", limit=100).status_code == 200


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        base64.urlsafe_b64encode(b'["customers","createdAtDesc","2030","cus_x"]').decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    ],
)
def test_bad_cursor_is_400_request_error(api: httpx.Client, cursor: str) -> None:
    """A from_key this endpoint did not issue is 400 request_error."""
    response = find(api, "/credits/find", from_key=cursor)
    assert response.status_code == 400
    assert response.json()["error_type"] == "request_error"


def test_cursor_of_another_sort_order_is_400(api: httpx.Client) -> None:
    """A cursor only continues the sort order it was made for."""
    _make(api, 3)
    cursor = find(api, "/credits/find", limit=1).json()["pagination"]["from_key"]
    response = find(api, "/credits/find", from_key=cursor, sort_key="createdAtAsc")
    assert response.status_code == 400


def test_missing_pagination_is_400(api: httpx.Client) -> None:
    """pagination is required in every find body."""
    response = api.post("/credits/find", json={"query": {}})
    assert response.status_code == 400
    assert response.json()["validation_errors"] == [{"field": "pagination", "message": "required"}]


def test_updated_at_sort(api: httpx.Client) -> None:
    """updatedAtDesc puts the most recently changed credit first."""
    first, _second = _make(api, 2)
    api.delete(f"/credits/{first}")
    page = find(api, "/credits/find", sort_key="updatedAtDesc").json()
    assert page["results"][0]["id"] == first


def test_credit_filters(api: httpx.Client) -> None:
    """Credit filters match exactly; search is a case-insensitive substring; null matches all."""
    acme = _make(api, 2)
    globex = api.post(
        "/credits",
        json=credit_body(
            customer_id="cus_globex", name="Big PROMO", subscription_id="sub_globex_team"
        ),
    ).json()
    eur = api.post(
        "/credits", json=credit_body(amount={"currency": "EUR", "value_in_cents": 100})
    ).json()
    units = api.post(
        "/credits",
        json={
            "customer_id": "cus_acme",
            "name": "Calls",
            "type": "UNITS",
            "units": 10,
            "item_id": "itm_api_calls",
        },
    ).json()
    api.delete(f"/credits/{acme[0]}")

    def ids(query: dict[str, object]) -> set[str]:
        return {c["id"] for c in find_all(api, "/credits/find", query)}

    assert ids({"customer_id": "cus_globex"}) == {globex["id"]}
    assert ids({"subscription_id": "sub_globex_team"}) == {globex["id"]}
    assert ids({"search": "promo"}) == {globex["id"]}
    assert ids({"status": "REVOKED"}) == {acme[0]}
    assert ids({"statuses": ["REVOKED", "ACTIVE"]}) == {*acme, globex["id"], eur["id"], units["id"]}
    assert ids({"type": "UNITS"}) == {units["id"]}
    assert ids({"currency": "EUR"}) == {eur["id"]}
    assert ids({"customer_id": None, "search": None}) == ids({})
