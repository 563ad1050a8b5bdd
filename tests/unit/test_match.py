"""Matching manifests to Maple (docs/plan.md): what is created, what is in place, what drifted."""

from __future__ import annotations

import pytest
from helpers.planning import NOW, billable, charge, credit, plan_of, remote_credit

from maplectl.errors import ManifestError
from maplectl.maple.reader import Observed
from maplectl.model import Money
from maplectl.plan.actions import ActionType, Existing
from maplectl.plan.builder import build_plan
from maplectl.render import notes


def actions(plan: object) -> dict[str, str]:
    return {a.address: a.action.value for a in plan.actions}  # type: ignore[attr-defined]


def test_missing_credit_is_created_with_its_key_and_money() -> None:
    """A credit Maple lacks is a create carrying the exact request, key and amount."""
    d = credit("acme-goodwill")
    plan = plan_of([d])
    (a,) = plan.actions
    assert a.action is ActionType.CREATE and a.body == d.body
    assert a.idempotency_key and a.idempotency_key.startswith("mctl1.c.0.")
    assert plan.money() == {"USD": {"credits": 5000, "charges": 0}}


@pytest.mark.parametrize("state", ["ACTIVE", "CONSUMED", "EXPIRED", "REVOKED"])
def test_a_grant_that_was_made_is_never_made_again(state: str) -> None:
    """Used, expired or revoked: the credit is unchanged, with its state and balance shown."""
    d = credit("acme-goodwill")
    plan = plan_of([d], [remote_credit("crd_01", d, state=state, balance=0)])
    (a,) = plan.actions
    assert a.action is ActionType.UNCHANGED and a.remote_ids == ("crd_01",)
    assert isinstance(a, Existing) and a.state == state and a.balance == Money("USD", 0)
    assert plan.creates == []


def test_changed_amount_is_drift_with_a_field_diff() -> None:
    """Editing an issued credit's amount shows drift, never a second grant."""
    d = credit("acme-goodwill", cents=7500)
    remote = remote_credit("crd_01", credit("acme-goodwill", cents=5000))
    (a,) = plan_of([d], [remote]).actions
    assert a.action is ActionType.DRIFT
    assert [(x.field, x.expected, x.actual) for x in a.diff] == [
        ("amount.value_in_cents", 7500, 5000)
    ]


def test_expiration_compares_as_an_instant() -> None:
    """+01:00 and Z spellings of the same instant are not drift."""
    d = credit("a", expiration_date="2030-01-01T01:00:00+01:00")
    remote = remote_credit("crd_01", d, expiration_date="2030-01-01T00:00:00Z")
    assert actions(plan_of([d], [remote])) == {"Credit/a": "unchanged"}


def test_two_remote_credits_with_the_name_are_ambiguous() -> None:
    """Two candidates: the plan will not guess; it asks for metadata.remote_id."""
    d = credit("a")
    plan = plan_of([d], [remote_credit("crd_01", d), remote_credit("crd_02", d)])
    (a,) = plan.actions
    assert a.action is ActionType.AMBIGUOUS and a.remote_ids == ("crd_01", "crd_02")
    assert "remote_id" in notes(a)[0]


def test_pinning_with_remote_id_resolves_ambiguity() -> None:
    """metadata.remote_id picks the credit to manage."""
    d = credit("a", remote_id="crd_02")
    plan = plan_of([d], [remote_credit("crd_01", d), remote_credit("crd_02", d)])
    assert [(a.action, a.remote_ids) for a in plan.actions] == [(ActionType.UNCHANGED, ("crd_02",))]
    assert [u.remote_id for u in plan.unmanaged] == ["crd_01"]


def test_unknown_remote_id_is_an_error_at_its_manifest() -> None:
    """Pinning an id Maple does not have stops the plan with the file and field."""
    with pytest.raises(ManifestError) as info:
        plan_of([credit("a", remote_id="crd_nope")])
    assert (
        "billing/credits.yaml:1:1: Credit/a: metadata.remote_id: crd_nope is not a credit of "
        "customer cus_acme (unknown id"
    ) in str(info.value)


def test_renamed_credit_is_a_possible_duplicate() -> None:
    """Renaming spec.name of an issued credit would grant twice: flagged, naming the twin."""
    old = remote_credit("crd_01", credit("a", title="Old title"))
    (a,) = plan_of([credit("a", title="New title")], [old]).actions
    assert a.action is ActionType.POSSIBLE_DUPLICATE and a.remote_ids == ("crd_01",)
    assert "crd_01" in notes(a)[-2]
    assert notes(a)[-1] == (
        "the same credit: set metadata.remote_id: crd_01; another credit on "
        "purpose: set metadata.allow_duplicate: true"
    )


def test_allow_duplicate_makes_it_a_create() -> None:
    """metadata.allow_duplicate: true says a second grant is intended."""
    old = remote_credit("crd_01", credit("a", title="Old title"))
    (a,) = plan_of([credit("a", title="New", allow_duplicate=True)], [old]).actions
    assert a.action is ActionType.CREATE and "allow_duplicate" in notes(a)[-1]


def test_claimed_credit_is_not_a_duplicate_of_another() -> None:
    """A credit claimed by its own manifest is never someone else's twin."""
    a, b = credit("a", title="A"), credit("b", title="B")
    plan = plan_of([a, b], [remote_credit("crd_01", a)])
    assert actions(plan) == {"Credit/a": "unchanged", "Credit/b": "create"}


def test_past_expiry_is_an_error_only_for_a_create() -> None:
    """An expired manifest keeps validating once its credit exists; creating it is refused."""
    d = credit("a", expiration_date="2020-01-01T00:00:00Z")
    assert actions(plan_of([d], [remote_credit("crd_01", d, state="EXPIRED")])) == {
        "Credit/a": "unchanged"
    }
    with pytest.raises(ManifestError, match=r"spec\.expiration_date: 2020-01-01T00:00:00Z is not"):
        plan_of([d])


def test_unrelated_credits_are_unmanaged_not_matched() -> None:
    """Other credits of the customer are counted as unmanaged and never claimed."""
    other = remote_credit("crd_09", credit("x", title="Promo", cents=1))
    plan = plan_of([credit("a")], [other])
    assert actions(plan) == {"Credit/a": "create"}
    assert [u.remote_id for u in plan.unmanaged] == ["crd_09"]


def test_charge_present_when_each_item_matches() -> None:
    """A one-time charge whose billable exists is unchanged."""
    plan = plan_of([charge("acme-onboarding")], charges=[billable("otb_1")])
    (a,) = plan.actions
    assert a.action is ActionType.UNCHANGED and a.remote_ids == ("otb_1",)


def test_identical_charges_claim_distinct_billables() -> None:
    """Two identical manifests and one billable: one is in place, the other is created."""
    plan = plan_of([charge("c1"), charge("c2", allow_duplicate=True)], charges=[billable("otb_1")])
    assert actions(plan) == {"OneTimeCharge/c1": "unchanged", "OneTimeCharge/c2": "create"}


def test_charge_type_must_match() -> None:
    """An IMMEDIATE billable does not satisfy a NEXT_INVOICE charge: it is not unchanged (and
    being a near match, it is a possible duplicate a person decides on)."""
    plan = plan_of([charge("c1")], charges=[billable("otb_1", type_="IMMEDIATE")])
    assert actions(plan) == {"OneTimeCharge/c1": "possible_duplicate"}


def test_partial_charge_is_drift() -> None:
    """A charge with one of two items in Maple is drift, never half re-created."""
    items = [
        {"product_pricing_id": "pp_onboarding_fee", "aggregate": 1},
        {"product_pricing_id": "pp_training_day", "aggregate": 2},
    ]
    (a,) = plan_of([charge("c", items=items)], charges=[billable("otb_1")]).actions
    assert a.action is ActionType.DRIFT and "onetime_items.1" in notes(a)[0]


def test_created_after_narrows_the_match() -> None:
    """metadata.created_after ignores older look-alike billables (a charge billed yearly)."""
    d = charge("c", created_after="2026-06-01T00:00:00Z")
    plan = plan_of([d], charges=[billable("otb_1", created_at="2026-01-01T00:00:00Z")])
    assert actions(plan) == {"OneTimeCharge/c": "create"}


def test_custom_price_money_counts_quantity() -> None:
    """Custom-price items count amount x aggregate into the charges total."""
    items = [
        {
            "custom_price": {
                "amount": {"currency": "EUR", "value_in_cents": 12500},
                "description": "Consulting",
            },
            "aggregate": 4,
        }
    ]
    plan = plan_of([charge("c", items=items), credit("a", customer="cus_globex")])
    assert plan.money() == {
        "EUR": {"credits": 0, "charges": 50000},
        "USD": {"credits": 5000, "charges": 0},
    }
    assert plan.money_per_customer()["cus_acme"] == {"EUR": {"credits": 0, "charges": 50000}}


def test_plan_is_deterministic() -> None:
    """The same inputs give the same plan, action order included."""
    ds = [credit("b"), charge("c"), credit("a", customer="cus_globex")]
    one, two = plan_of(ds), plan_of(list(reversed(ds)))
    assert one.to_json() == two.to_json()
    assert [a.address for a in one.actions] == ["Credit/a", "Credit/b", "OneTimeCharge/c"]
    assert one.created_at == NOW


def test_target_keeps_other_manifests_claims() -> None:
    """--target shows only the target, but other manifests still claim their objects."""
    a, b = credit("a", title="A"), credit("b", title="Same grant")
    remote_b = remote_credit("crd_02", b)
    observed = Observed(customers=frozenset({"cus_acme"}), credits=(remote_b,), charges=())
    plan = build_plan(
        [a, b], observed, company_id="cmp_demo", api_url="x", now=NOW, targets=["Credit/a"]
    )
    assert [(x.address, x.action) for x in plan.actions] == [("Credit/a", ActionType.CREATE)]
    assert plan.unmanaged == ()


def test_two_pinned_credits_with_one_name_are_each_unchanged() -> None:
    """Maple's own duplicates (one name twice), each pinned by its manifest: both unchanged."""
    a = credit("dup-a", title="Goodwill", remote_id="crd_01")
    b = credit("dup-b", title="Goodwill", remote_id="crd_02")
    plan = plan_of([a, b], [remote_credit("crd_01", a), remote_credit("crd_02", b)])
    assert actions(plan) == {"Credit/dup-a": "unchanged", "Credit/dup-b": "unchanged"}
    assert plan.unmanaged == ()


def test_an_unpinned_credit_beside_pinned_namesakes_is_refused() -> None:
    """Through the Python API too (no validation): a third, unpinned credit with the name of
    two pinned ones is an error, not a create."""
    a = credit("dup-a", title="Goodwill", remote_id="crd_01")
    b = credit("dup-b", title="Goodwill", remote_id="crd_02")
    new = credit("dup-c", title="goodwill")
    with pytest.raises(ManifestError, match="looks like 'Goodwill'"):
        plan_of([a, b, new], [remote_credit("crd_01", a), remote_credit("crd_02", b)])
