"""The sandbox's compiled request check never accepts a body its OpenAPI schema rejects.

The fast path exists for speed (jsonschema cost half of each request); strictness must not pay
for it. Valid bodies for every operation are mutated field by field (removed, retyped, an unknown
field added) and the compiled check is compared with jsonschema on each.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from maplectl.sandbox.validation import fast_request_check, request_validator

MONEY = {"currency": "USD", "value_in_cents": 5000}
FIND = {
    "pagination": {"from_key": None, "limit": 100},
    "include_meta": True,
    "sort_key": "createdAtAsc",
}
VALID: dict[str, list[dict[str, Any]]] = {
    "createCredit": [
        {
            "customer_id": "cus_acme",
            "name": "n",
            "type": "AMOUNT",
            "state": "ACTIVE",
            "amount": MONEY,
            "expiration_date": "2030-01-01T00:00:00Z",
            "subscription_id": "sub_acme_pro",
            "apply_to_open_invoices": {"enable": False},
        },
        {
            "customer_id": "cus_acme",
            "name": "u",
            "type": "UNITS",
            "units": 10,
            "item_id": "itm_api_calls",
        },
    ],
    "findCredits": [
        {
            **FIND,
            "query": {
                "customer_id": "cus_acme",
                "statuses": ["ACTIVE"],
                "type": "AMOUNT",
                "currency": "USD",
            },
        }
    ],
    "findCreditLogs": [{**FIND, "query": {"credit_id": "crd_1", "action_type": "ISSUED"}}],
    "findOneTimeCharges": [{**FIND, "query": {"customer_id": "cus_acme", "state": "PENDING"}}],
    "findCustomers": [{**FIND, "query": {"identifier": "acme", "search": "ac"}}],
    "consumeCredits": [
        {"customer_id": "cus_acme", "type": "AMOUNT", "amount": MONEY, "note": "usage"}
    ],
    "createOneTimeCharges": [
        {
            "customer_id": "cus_acme",
            "type": "NEXT_INVOICE",
            "onetime_items": [
                {"product_pricing_id": "pp_onboarding_fee", "aggregate": 1},
                {"custom_price": {"amount": MONEY, "description": "Services"}, "aggregate": 2},
            ],
            "discounts": [{"name": "d", "type": "DISCOUNT_AMOUNT", "amount": MONEY}],
            "metadata": {"po": "123"},
            "notes": "n",
        }
    ],
}
ODD_VALUES: list[Any] = [None, "x", "", 0, -1, 1.5, 10**20, True, [], {}, [1], {"k": 1}]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield (*prefix, key)
            yield from paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield (*prefix, index)
            yield from paths(sub, (*prefix, index))


def mutations(body: dict[str, Any]) -> Iterator[Any]:
    yield body
    for path in list(paths(body)):
        for new in (*ODD_VALUES, "DELETE"):
            copy_ = copy.deepcopy(body)
            parent = copy_
            for part in path[:-1]:
                parent = parent[part]
            if new == "DELETE":
                if isinstance(parent, dict):
                    del parent[path[-1]]
            else:
                parent[path[-1]] = new
            yield copy_
        container = copy.deepcopy(body)
        target = container
        for part in path:
            target = target[part]
        if isinstance(target, dict):
            target["unexpected_field"] = 1
            yield container


@pytest.mark.parametrize("operation", sorted(VALID))
def test_compiled_check_agrees_with_jsonschema(operation: str) -> None:
    """Every body the fast path accepts is one jsonschema accepts; valid seeds pass both."""
    fast = fast_request_check(operation)
    validator = request_validator(operation)
    assert fast is not None and validator is not None
    checked = 0
    seeds = VALID[operation]
    # Fields valid in one seed but forbidden in another (units on an AMOUNT credit, ...).
    crossed = [{**a, k: v} for a in seeds for b in seeds for k, v in b.items() if k not in a]
    for body in seeds + crossed:
        if body in seeds:
            assert fast(body) and validator.is_valid(body), body
        for mutated in mutations(body):
            if fast(mutated):
                assert validator.is_valid(mutated), mutated
            checked += 1
    assert checked > 50
