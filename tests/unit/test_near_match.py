"""One near-match rule for credits and charges: what could be this entry is never created again.

Each test is one of the everyday edits or look-alikes that used to plan a plain ``create`` and
so issue money twice (issue 9), and the rule that now stops it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from helpers.planning import billable, charge, credit, plan_of, remote_credit

from maplectl.errors import ManifestError
from maplectl.plan.identity import name_key
from maplectl.plan.records import Action, ActionType
from maplectl.render import notes

SERVICES = {
    "custom_price": {
        "amount": {"currency": "USD", "value_in_cents": 50000},
        "description": "SSO workshop",
    },
    "aggregate": 2,
}


def one(plan: Any) -> Action:
    (action,) = plan.actions
    return action


def with_item(**price: Any) -> dict[str, Any]:
    """SERVICES with some of its custom price's fields replaced."""
    return {**SERVICES, "custom_price": {**SERVICES["custom_price"], **price}}  # type: ignore[dict-item]


# -- charges: edits after billing -----------------------------------------------------------------


def test_charge_quantity_edited_after_billing_is_a_possible_duplicate() -> None:
    """Quantity 2 -> 3 of a billed catalog item: the old billable could be it; nothing is sent."""
    billed = billable("otb_1", product_pricing_id="pp_training_day", aggregate=2)
    edited = charge("training", items=[{"product_pricing_id": "pp_training_day", "aggregate": 3}])
    action = one(plan_of([edited], charges=[billed]))
    assert action.action is ActionType.POSSIBLE_DUPLICATE
    assert action.remote_ids == ("otb_1",)
    assert [(d.field, d.expected, d.actual) for d in action.diff] == [
        ("onetime_items.0.aggregate", 3, 2)
    ]
    assert "metadata.remote_id: otb_1" in notes(action)[-1]
    assert "metadata.allow_duplicate: true" in notes(action)[-1]


def test_custom_price_description_typo_fixed_is_a_possible_duplicate() -> None:
    """Fixing a typo in a custom price's description keeps its amount: a near match."""
    billed = billable("otb_1", **with_item(description="SSO worksohp"))
    action = one(plan_of([charge("sso", items=[SERVICES])], charges=[billed]))
    assert action.action is ActionType.POSSIBLE_DUPLICATE
    assert [d.field for d in action.diff] == ["onetime_items.0.custom_price.description"]


def test_custom_price_amount_changed_is_a_possible_duplicate() -> None:
    """A new price for the same described service is still that service."""
    billed = billable("otb_1", **with_item(amount={"currency": "USD", "value_in_cents": 45000}))
    assert (
        one(plan_of([charge("sso", items=[SERVICES])], charges=[billed])).action
        is ActionType.POSSIBLE_DUPLICATE
    )


def test_a_charge_sharing_nothing_is_unrelated() -> None:
    """Another pricing, another description and amount: neither satisfies nor blocks a create."""
    other = billable("otb_9", product_pricing_id="pp_onboarding_fee", aggregate=1)
    plan = plan_of([charge("sso", items=[SERVICES])], charges=[other])
    assert one(plan).action is ActionType.CREATE
    assert [u.remote_id for u in plan.unmanaged] == ["otb_9"]


def test_billables_older_than_created_after_are_never_candidates() -> None:
    """A charge billed again on purpose names the window it belongs to."""
    last_year = billable(
        "otb_1",
        created_at="2025-12-01T00:00:00Z",
        product_pricing_id="pp_training_day",
        aggregate=2,
    )
    again = charge(
        "training-2026",
        items=[{"product_pricing_id": "pp_training_day", "aggregate": 3}],
        created_after="2026-01-01T00:00:00Z",
    )
    assert one(plan_of([again], charges=[last_year])).action is ActionType.CREATE


def test_allow_duplicate_makes_a_charge_near_match_a_create_and_says_so() -> None:
    """A second charge on purpose is planned, with the look-alike named in its notes."""
    billed = billable("otb_1", product_pricing_id="pp_training_day", aggregate=2)
    edited = charge(
        "training",
        items=[{"product_pricing_id": "pp_training_day", "aggregate": 3}],
        allow_duplicate=True,
    )
    action = one(plan_of([edited], charges=[billed]))
    assert action.action is ActionType.CREATE
    assert "allowed by metadata.allow_duplicate" in notes(action)[-1]


def test_created_after_in_the_future_is_an_error_at_its_field() -> None:
    """The billable made now would be older than the bound: billed again on every run."""
    d = charge("c", created_after="2027-01-01T00:00:00Z")
    with pytest.raises(ManifestError) as info:
        plan_of([d])
    (problem,) = info.value.diagnostics
    assert problem.field == "metadata.created_after"
    assert "later than now" in problem.message and "2027-01-01T00:00:00Z" in problem.message


def test_created_after_in_the_past_is_fine() -> None:
    """The usual case, a bound at the start of this billing period, plans a create."""
    assert (
        one(plan_of([charge("c", created_after="2026-11-01T00:00:00Z")])).action
        is ActionType.CREATE
    )


# -- credits: look-alikes and renames --------

LOOKALIKES = {
    "nfd": unicodedata.normalize("NFD", "Café goodwill"),
    "trailing space": "Café goodwill ",
    "lower case": "café goodwill",
    "zero-width space": "Café\u200b goodwill",
    "double space": "Café  goodwill",
}


@pytest.mark.parametrize("spelling", list(LOOKALIKES), ids=list(LOOKALIKES))
def test_look_alike_names_are_one_name(spelling: str) -> None:
    """NFKC, case folding, white space and zero-width characters do not make a new name."""
    assert name_key(LOOKALIKES[spelling]) == name_key("Café goodwill")
    assert name_key("Cafe goodwill") != name_key("Café goodwill")


@pytest.mark.parametrize("spelling", list(LOOKALIKES), ids=list(LOOKALIKES))
def test_a_look_alike_of_an_existing_credit_is_a_possible_duplicate(spelling: str) -> None:
    """Another grant amount, but a name a person reads as the same: a person must decide."""
    issued = remote_credit("crd_01", credit("a", title="Café goodwill", cents=500))
    action = one(plan_of([credit("a", title=LOOKALIKES[spelling], cents=900)], [issued]))
    assert action.action is ActionType.POSSIBLE_DUPLICATE
    assert action.remote_ids == ("crd_01",)


def test_rename_with_a_later_expiry_is_a_possible_duplicate() -> None:
    """The same grant under a new name and expiry could still be the credit issued before."""
    old = remote_credit(
        "crd_01", credit("a", title="Goodwill Q4", expiration_date="2030-01-01T00:00:00Z")
    )
    renamed = credit("a", title="Goodwill (Q4)", expiration_date="2031-01-01T00:00:00Z")
    action = one(plan_of([renamed], [old]))
    assert action.action is ActionType.POSSIBLE_DUPLICATE
    assert {d.field for d in action.diff} == {"name", "expiration_date"}


def test_new_name_and_new_grant_is_unrelated() -> None:
    """A credit that differs in both name and grant neither satisfies nor blocks the entry."""
    old = remote_credit("crd_01", credit("a", title="Goodwill Q4", cents=5000))
    plan = plan_of([credit("a", title="Migration help", cents=7500)], [old])
    assert one(plan).action is ActionType.CREATE
    assert [u.remote_id for u in plan.unmanaged] == ["crd_01"]


def test_units_credits_compare_units_and_item() -> None:
    """For unit credits the grant is units of an item."""
    units = {"type": "UNITS", "units": 1000, "item_id": "itm_api"}
    old = remote_credit(
        "crd_01",
        credit("a", title="Prepaid"),
        type="UNITS",
        issued_units=1000,
        item_id="itm_api",
        issued_amount=None,
    )
    d = credit("a", title="Prepaid calls", **units)
    d.body.pop("amount")
    assert one(plan_of([d], [old])).action is ActionType.POSSIBLE_DUPLICATE


# -- pins first -----------------------------------------------------------------------------------


def test_a_pin_in_a_file_that_sorts_first_never_makes_the_original_a_create() -> None:
    """Pins resolve before names: the original entry sees the object is already held."""
    original = credit("zz-original", title="Goodwill")
    issued = remote_credit("crd_01", original)
    copy = credit("aa-copy", title="Goodwill again", remote_id="crd_01")
    for order in ([copy, original], [original, copy]):
        plan = plan_of(order, [issued])
        by = {a.address: a for a in plan.actions}
        assert by["Credit/aa-copy"].action is ActionType.UNCHANGED
        assert by["Credit/zz-original"].action is ActionType.POSSIBLE_DUPLICATE
        assert "pinned by Credit/aa-copy" in notes(by["Credit/zz-original"])[0]
        assert plan.creates == []


def test_two_entries_pinning_one_id_is_an_error_naming_both() -> None:
    """An object belongs to one manifest."""
    a = credit("a", title="A", remote_id="crd_01", line=3)
    b = credit("b", title="B", remote_id="crd_01", line=9)
    with pytest.raises(ManifestError) as info:
        plan_of([a, b], [remote_credit("crd_01", a)])
    (problem,) = info.value.diagnostics
    assert problem.field == "metadata.remote_id" and problem.line == 9
    assert "Credit/a at billing/credits.yaml:3" in problem.message


def test_a_pin_to_another_customers_credit_is_an_error_naming_the_owner() -> None:
    """A remote_id in the wrong file would adopt another customer's money."""
    theirs = remote_credit("crd_07", credit("x", customer="cus_globex"))
    mine = credit("a", customer="cus_acme", remote_id="crd_07")
    other = credit("b", customer="cus_globex", title="Other")
    with pytest.raises(ManifestError) as info:
        plan_of([mine, other], [theirs])
    (problem,) = info.value.diagnostics
    assert problem.address == "Credit/a" and problem.field == "metadata.remote_id"
    assert "belongs to customer cus_globex" in problem.message


def test_a_pin_to_another_customers_charge_is_an_error() -> None:
    """The same holds for one-time charges."""
    theirs = billable("otb_7", customer="cus_globex")
    with pytest.raises(ManifestError, match="belongs to customer cus_globex"):
        plan_of(
            [
                charge("c", remote_id="otb_7"),
                charge("g", customer="cus_globex", allow_duplicate=True),
            ],
            charges=[theirs],
        )


def test_unknown_pin_is_an_error() -> None:
    """An id Maple does not have for this customer stops the plan."""
    with pytest.raises(ManifestError, match="crd_nope is not a credit of customer cus_acme"):
        plan_of([credit("a", remote_id="crd_nope")])


# -- within one plan ------------------------------------------------------------------------------


def test_two_look_alike_credits_in_one_plan_are_an_error_unless_one_allows_it() -> None:
    """ "Café goodwill" and "café goodwill " for one customer could be one credit."""
    a = credit("a", title="Café goodwill", line=2)
    b = credit("b", title="café goodwill ", line=8)
    with pytest.raises(ManifestError) as info:
        plan_of([a, b])
    (problem,) = info.value.diagnostics
    assert (problem.address, problem.field, problem.line) == ("Credit/b", "spec.name", 8)
    assert "Credit/a at billing/credits.yaml:2" in problem.message
    assert len(plan_of([a, credit("b", title="café goodwill ", allow_duplicate=True)]).creates) == 2


def test_two_look_alike_charges_in_one_plan_are_an_error_unless_windows_differ() -> None:
    """Two charges sharing a pricing are one unless a window or allow_duplicate says otherwise."""
    with pytest.raises(ManifestError, match="shares product pricing pp_onboarding_fee"):
        plan_of([charge("c1"), charge("c2")])
    assert (
        len(plan_of([charge("c1"), charge("c2", created_after="2026-11-01T00:00:00Z")]).creates)
        == 2
    )
