"""The idempotency-key scheme is a promise across versions: golden vectors pin it."""

from __future__ import annotations

import pytest

from maplectl.keys import KEY_PATTERN, canonical_json, digest, idempotency_key
from maplectl.model import Kind

CREDIT = {
    "customer_id": "cus_acme",
    "name": "Goodwill credit Q4",
    "type": "AMOUNT",
    "amount": {"currency": "USD", "value_in_cents": 5000},
    "state": "ACTIVE",
}
CHARGE = {
    "customer_id": "cus_acme",
    "type": "NEXT_INVOICE",
    "onetime_items": [{"product_pricing_id": "pp_onboarding_fee", "aggregate": 1}],
}

GOLDEN = [
    (Kind.CREDIT, "Credit/acme-goodwill", CREDIT, 0,
     "mctl1.c.0.8fa717523d6bbd7f4d849450953d72fc02d4e1cecd061743"),
    (Kind.CREDIT, "Credit/acme-goodwill", CREDIT, 1,
     "mctl1.c.1.00096dfe683b03728a6e1c7adc69c55b7668d7f6bc1b0cae"),
    (Kind.ONE_TIME_CHARGE, "OneTimeCharge/acme-onboarding", CHARGE, 0,
     "mctl1.o.0.7af5e595946663bed85d16ee63bfc7735a2b41b60ac64d7e"),
    (Kind.CREDIT, "Credit/é", {"name": "Crédit ✓"}, 0,
     "mctl1.c.0.2f1ff030a68e884a77c760302a62e3c7e56877e506635c36"),
]


@pytest.mark.parametrize(("kind", "address", "body", "generation", "expected"), GOLDEN)
def test_golden_vectors(kind: Kind, address: str, body: dict[str, object], generation: int,
                        expected: str) -> None:
    """A key derived today equals the key derived by every earlier release."""
    key = idempotency_key(company_id="cmp_demo", kind=kind, address=address, body=body,
                          generation=generation)
    assert key == expected
    assert KEY_PATTERN.match(key) and len(key) <= 64


def test_key_ignores_dict_order_but_not_content() -> None:
    """Reordering YAML keys keeps the key; changing a cent changes it."""
    reordered = dict(reversed(list(CREDIT.items())))
    base = idempotency_key(company_id="cmp_demo", kind=Kind.CREDIT, address="Credit/a", body=CREDIT)
    assert idempotency_key(company_id="cmp_demo", kind=Kind.CREDIT, address="Credit/a",
                           body=reordered) == base
    changed = {**CREDIT, "amount": {"currency": "USD", "value_in_cents": 5001}}
    assert idempotency_key(company_id="cmp_demo", kind=Kind.CREDIT, address="Credit/a",
                           body=changed) != base


@pytest.mark.parametrize("field", ["company_id", "address"])
def test_key_depends_on_company_and_address(field: str) -> None:
    """The same body for another company or another manifest entry gets another key."""
    args = {"company_id": "cmp_demo", "kind": Kind.CREDIT, "address": "Credit/a", "body": CREDIT}
    other = {**args, field: args[field] + "x"}
    assert idempotency_key(**other) != idempotency_key(**args)  # type: ignore[arg-type]


def test_canonical_json_and_digest_are_stable() -> None:
    """Canonical JSON sorts keys, drops whitespace and keeps UTF-8."""
    assert canonical_json({"b": 1, "a": ["é", None]}) == '{"a":["é",null],"b":1}'
    assert digest({"a": 1}) == digest({"a": 1})
    assert digest({"a": 1}).startswith("sha256:")


def test_generation_bounds() -> None:
    """A negative generation is a programming error, not a key."""
    with pytest.raises(ValueError):
        idempotency_key(company_id="cmp_demo", kind=Kind.CREDIT, address="Credit/a", body={},
                        generation=-1)
