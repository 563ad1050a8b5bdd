"""The idempotency-key scheme is a promise across versions: golden vectors pin it."""

from __future__ import annotations

import pytest

from maplectl.model import Kind
from maplectl.plan.keys import KEY_PATTERN, canonical_json, digest, generation_key, idempotency_key

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
    (
        Kind.CREDIT,
        "Credit/acme-goodwill",
        CREDIT,
        0,
        "mctl1.c.0.8fa717523d6bbd7f4d849450953d72fc02d4e1cecd061743",
    ),
    (
        Kind.ONE_TIME_CHARGE,
        "OneTimeCharge/acme-onboarding",
        CHARGE,
        0,
        "mctl1.o.0.7af5e595946663bed85d16ee63bfc7735a2b41b60ac64d7e",
    ),
    (
        Kind.CREDIT,
        "Credit/é",
        {"name": "Crédit ✓"},
        0,
        "mctl1.c.0.2f1ff030a68e884a77c760302a62e3c7e56877e506635c36",
    ),
]


@pytest.mark.parametrize(("kind", "address", "body", "generation", "expected"), GOLDEN)
def test_golden_vectors(
    kind: Kind, address: str, body: dict[str, object], generation: int, expected: str
) -> None:
    """A key derived today equals the key derived by every earlier release."""
    key = idempotency_key(company_id="cmp_demo", kind=kind, address=address, body=body)
    assert key == expected
    assert KEY_PATTERN.match(key) and len(key) <= 64


def test_later_generations_derive_from_the_plans_key() -> None:
    """Generation 1 and 2 follow from the generation-0 key alone (pinned golden vectors)."""
    base = "mctl1.c.0.8fa717523d6bbd7f4d849450953d72fc02d4e1cecd061743"
    assert generation_key(base, 1) == "mctl1.c.1.b170a718a2bbd9f40fc8e53877d75a828d32711e1d511566"
    assert generation_key(base, 2) != generation_key(base, 1)
    assert all(KEY_PATTERN.match(generation_key(base, g)) for g in (1, 2, 9999))


def test_key_ignores_dict_order_but_not_content() -> None:
    """Reordering YAML keys keeps the key; changing a cent changes it."""
    reordered = dict(reversed(list(CREDIT.items())))
    base = idempotency_key(company_id="cmp_demo", kind=Kind.CREDIT, address="Credit/a", body=CREDIT)
    assert (
        idempotency_key(company_id="cmp_demo", kind=Kind.CREDIT, address="Credit/a", body=reordered)
        == base
    )
    changed = {**CREDIT, "amount": {"currency": "USD", "value_in_cents": 5001}}
    assert (
        idempotency_key(company_id="cmp_demo", kind=Kind.CREDIT, address="Credit/a", body=changed)
        != base
    )


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
    """Only a well-formed generation-0 key has later generations, and only 1 to 9999."""
    base = "mctl1.c.0.8fa717523d6bbd7f4d849450953d72fc02d4e1cecd061743"
    for bad_generation in (0, -1, 10000):
        with pytest.raises(ValueError):
            generation_key(base, bad_generation)
    for bad_base in ("mctl1.c.1.8fa7", "other.c.0.8fa7", "mctl1.c.0"):
        with pytest.raises(ValueError):
            generation_key(bad_base, 1)


def test_document_digest_is_the_digest_of_the_whole_document() -> None:
    """Hashing a document's top-level lists element by element gives ``digest`` of the whole,
    non-ASCII text, nested objects and empty lists included."""
    from maplectl.plan.keys import digest, document_digest

    doc = {
        "b": [{"z": 1, "a": "é"}, [1, 2], "x"],
        "a": [],
        "c": {"k": [None, True, 1.5]},
        "ü": "ß",
    }
    assert document_digest(doc) == digest(doc)
    assert document_digest({}) == digest({})
