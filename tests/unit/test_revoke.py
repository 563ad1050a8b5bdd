"""Revokes, pure: `metadata.revoke: true` plans a revoke of the entry's ACTIVE credit with a
balance left, and nothing else ever does (docs/plan.md, Revoking a credit)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from helpers.planning import NOW, charge, credit, plan_of, remote_credit

from maplectl.apply import refuse_duplicates
from maplectl.errors import ManifestError, PlanFileError, PolicyRefusal
from maplectl.maple.reader import Observed
from maplectl.model import Money
from maplectl.plan.actions import ActionType, Conflict, Existing, Revoke, Risk
from maplectl.plan.builder import build_plan
from maplectl.plan.records import Desired, Plan, plan_differences
from maplectl.render import plan_json, plan_markdown, plan_text


def units_credit(name: str, **extra: Any) -> Desired:
    d = credit(name, title="Prepaid calls", **extra)
    body = {k: v for k, v in d.body.items() if k != "amount"}
    return replace(d, body={**body, "type": "UNITS", "units": 1000, "item_id": "itm_api_calls"})


def remote_units(id_: str, left: int, state: str = "ACTIVE") -> dict[str, Any]:
    return {
        "id": id_,
        "customer_id": "cus_acme",
        "name": "Prepaid calls",
        "type": "UNITS",
        "state": state,
        "issued_units": 1000,
        "units": left,
        "item_id": "itm_api_calls",
        "subscription_id": None,
        "expiration_date": None,
        "created_at": "2026-01-01T00:00:00Z",
    }


def test_an_active_credit_with_a_balance_left_plans_a_revoke_of_that_balance() -> None:
    """The revoke names the credit and takes back its balance left, not what was issued."""
    d = credit("acme-goodwill", cents=5000, revoke=True)
    plan = plan_of([d], [remote_credit("crd_01", d, balance=4000)])
    (a,) = plan.actions
    assert isinstance(a, Revoke) and a.action is ActionType.REVOKE
    assert a.remote_ids == ("crd_01",) and a.risk is Risk.CREDIT_REVOKE
    assert a.balance == Money("USD", 4000) and a.grant == (Money("USD", 5000),)
    assert a.request is None and a.idempotency_key is None
    assert plan.revokes == [a] and plan.creates == []
    assert plan.revoked() == {"money": {"USD": 4000}, "units": {}}
    assert plan.money() == {}, "money taken back is not money granted"
    assert plan.counts()["revoke"] == 1 and plan.risks()["credit-revoke"] == 1


def test_a_units_credit_is_revoked_as_units_of_its_item() -> None:
    """A UNITS credit's balance left is units of its item, in the summary and every rendering."""
    d = units_credit("calls", revoke=True)
    plan = plan_of([d], [remote_units("crd_01", 250)])
    (a,) = plan.actions
    assert isinstance(a, Revoke) and a.balance is None
    assert (a.balance_units, a.item_id) == (250, "itm_api_calls")
    assert plan.revoked() == {"money": {}, "units": {"itm_api_calls": 250}}
    text = plan_text(plan)
    assert "revoke crd_01 (balance left 250 units of itm_api_calls)" in text
    assert "Taken back: 250 units of itm_api_calls." in text
    markdown = plan_markdown(plan)
    assert "250 units of itm_api_calls · **credit-revoke**" in markdown
    assert "Taken back in units: 250 units of itm_api_calls." in markdown


@pytest.mark.parametrize("state", ["CONSUMED", "EXPIRED", "REVOKED"])
def test_a_used_up_expired_or_revoked_credit_is_unchanged(state: str) -> None:
    """Nothing is left to take back: the entry plans as unchanged, and nothing is sent."""
    d = credit("acme-goodwill", revoke=True)
    plan = plan_of([d], [remote_credit("crd_01", d, state=state, balance=0)])
    (a,) = plan.actions
    assert isinstance(a, Existing) and a.action is ActionType.UNCHANGED and a.state == state
    assert a.risk is Risk.CREDIT_REVOKE and a.meta.revoke
    assert plan.revokes == [] and plan.writes == []


def test_the_pin_names_the_credit_to_revoke_before_its_name_does() -> None:
    """metadata.remote_id picks the credit, even when another one has the entry's name."""
    d = credit("a", revoke=True, remote_id="crd_02")
    plan = plan_of([d], [remote_credit("crd_01", d), remote_credit("crd_02", d, balance=100)])
    (a,) = plan.actions
    assert isinstance(a, Revoke) and a.remote_id == "crd_02" and a.pinned
    assert a.balance == Money("USD", 100)
    assert "pinned to crd_02" in plan_text(plan)
    assert [u.remote_id for u in plan.unmanaged] == ["crd_01"]


def test_nothing_to_revoke_is_an_error_at_the_revoke_field_never_a_create() -> None:
    """A revoke of a credit that was never issued is a wrong identity: the plan stops, naming the
    file, line and field, and no create is planned."""
    d = replace(credit("a", revoke=True), locations={"metadata.revoke": _at(7)})
    with pytest.raises(ManifestError) as info:
        plan_of([d], [remote_credit("crd_09", credit("z", cents=1, title="Unrelated"))])
    (problem,) = info.value.diagnostics
    assert (problem.file, problem.line, problem.field) == (
        "billing/credits.yaml",
        7,
        "metadata.revoke",
    )
    assert problem.message.startswith("nothing to revoke: no credit named 'Credit a'")
    assert "remove metadata.revoke" in (problem.hint or "")


def test_an_expired_expiration_date_does_not_hide_what_is_wrong_with_a_revoke() -> None:
    """A revoke entry is never a create, so a past expiry is not reported as "cannot be
    created"; what is reported is that there is nothing to revoke."""
    d = credit("a", revoke=True, expiration_date="2020-01-01T00:00:00Z")
    with pytest.raises(ManifestError) as info:
        plan_of([d])
    assert [p.field for p in info.value.diagnostics] == ["metadata.revoke"]


def test_a_look_alike_is_never_revoked_by_itself() -> None:
    """No credit has the entry's name, one looks like it: a person must pin it (apply refuses,
    exit 3); the conflict carries no create."""
    d = credit("a", title="Goodwill Q4", revoke=True)
    twin = remote_credit("crd_07", credit("b", title="goodwill  q4"))
    plan = plan_of([d], [twin])
    (a,) = plan.actions
    assert isinstance(a, Conflict) and a.action is ActionType.POSSIBLE_DUPLICATE
    assert a.request is None and a.money == () and a.risk is Risk.CREDIT_REVOKE
    text = plan_text(plan)
    assert "could be the credit to revoke, and a revoke never picks a look-alike" in text
    assert "to revoke it: set metadata.remote_id: crd_07" in text
    with pytest.raises(PolicyRefusal) as info:
        refuse_duplicates(plan)
    assert "for a revoke, set metadata.remote_id to the credit to revoke" in str(info.value.hint)


def test_several_credits_of_the_identity_stay_ambiguous() -> None:
    """Two credits with the entry's name: the revoke asks which one."""
    d = credit("a", revoke=True)
    plan = plan_of([d], [remote_credit("crd_01", d), remote_credit("crd_02", d)])
    (a,) = plan.actions
    assert a.action is ActionType.AMBIGUOUS and plan.revokes == []
    assert "pin the one to revoke with metadata.remote_id" in plan_text(plan)


def test_a_drifted_credit_is_revoked_with_its_differences_shown() -> None:
    """The credit of the entry's identity is the one revoked; how it differs is shown under it."""
    d = credit("a", cents=7500, revoke=True)
    plan = plan_of([d], [remote_credit("crd_01", credit("a", cents=5000))])
    (a,) = plan.actions
    assert isinstance(a, Revoke) and [x.field for x in a.diff] == ["amount.value_in_cents"]
    assert "amount.value_in_cents: manifest 7500, Maple 5000" in plan_text(plan)


def test_a_revoke_on_a_charge_or_with_allow_duplicate_is_refused_without_validation() -> None:
    """The Python API skips manifest validation; planning refuses both at metadata.revoke."""
    bad = [
        replace(charge("c"), revoke=True),
        credit("d", revoke=True, allow_duplicate=True),
    ]
    for d in bad:
        with pytest.raises(ManifestError) as info:
            plan_of([d])
        assert [p.field for p in info.value.diagnostics] == ["metadata.revoke"]


def test_removing_a_manifest_never_plans_a_revoke() -> None:
    """A credit whose manifest was deleted is unmanaged: no action, let alone a revoke."""
    kept, gone = credit("kept"), credit("gone", title="Gone")
    remote = [remote_credit("crd_01", kept), remote_credit("crd_02", gone)]
    plan = plan_of([kept], remote)
    assert [a.action for a in plan.actions] == [ActionType.UNCHANGED]
    assert [u.remote_id for u in plan.unmanaged] == ["crd_02"]
    assert plan.revokes == [] and plan.summary()["revoked"] == {"money": {}, "units": {}}


def test_a_plan_with_revokes_round_trips_through_json() -> None:
    """Amount and units revokes load back as the same records, field for field."""
    money, units = credit("m", revoke=True, remote_id="crd_01"), units_credit("u", revoke=True)
    plan = plan_of([money, units], [remote_credit("crd_01", money), remote_units("crd_02", 9)])
    doc = json.loads(plan_json(plan))
    assert doc["format_version"] == 3
    revokes = [a for a in doc["actions"] if a["action"] == "revoke"]
    assert [(a["remote_ids"], a["reason"], a["risk"]) for a in revokes] == [
        (["crd_01"], "pinned", "credit-revoke"),
        (["crd_02"], None, "credit-revoke"),
    ]
    assert revokes[0]["balance"] == {"currency": "USD", "value_in_cents": 5000}
    assert (revokes[1]["balance_units"], revokes[1]["item_id"]) == (9, "itm_api_calls")
    assert revokes[0]["metadata"]["revoke"] is True and revokes[0]["request"] is None
    again = Plan.from_json(doc)
    assert again.actions == plan.actions
    assert again.to_json() == plan.to_json()


def test_a_version_2_plan_loads_but_cannot_hold_a_revoke() -> None:
    """Version 2 plans (no revokes) still load; one with a revoke in it was edited."""
    plain = plan_of([credit("a")])
    doc = json.loads(plan_json(plain))
    doc["format_version"] = 2
    assert Plan.from_json(_resealed(doc)).actions == plain.actions
    d = credit("r", revoke=True)
    doc = json.loads(plan_json(plan_of([d], [remote_credit("crd_01", d)])))
    doc["format_version"] = 2
    with pytest.raises(PlanFileError, match="format_version 2 plan cannot hold a revoke"):
        Plan.from_json(_resealed(doc))


def test_a_saved_revoke_differs_from_unchanged_and_from_another_credit() -> None:
    """A saved plan's revoke applies only if the plan made again revokes the same credit."""
    d = credit("a", revoke=True, remote_id="crd_01")
    saved = plan_of([d], [remote_credit("crd_01", d), remote_credit("crd_02", d)])
    used_up = plan_of([d], [remote_credit("crd_01", d, state="CONSUMED", balance=0)])
    assert plan_differences(saved, used_up) == [
        "Credit/a: the saved plan says revoke, the manifests and Maple now say unchanged"
    ]
    other = plan_of([replace(d, remote_id="crd_02")], [remote_credit("crd_02", d)])
    assert plan_differences(saved, other) == [
        "Credit/a: the saved plan revokes crd_01, the manifests and Maple now name crd_02"
    ]
    assert plan_differences(saved, saved) == []


def test_the_manifest_digest_moves_with_revoke_and_only_then() -> None:
    """Adding revoke changes the manifest digest; manifests without it keep their digest."""
    d = credit("a")
    remote = [remote_credit("crd_01", d)]
    before = plan_of([d], remote).manifest_digest
    assert plan_of([replace(d, revoke=True)], remote).manifest_digest != before
    assert before == plan_of([d], remote).manifest_digest


def test_revoke_lines_are_announced_on_top_and_highlighted() -> None:
    """A plan that takes money back says so under its first line, in red on a terminal, and in
    the Markdown comment's head, with the revoke table open."""
    d = credit("acme-goodwill", cents=5000, revoke=True)
    plan = plan_of([d], [remote_credit("crd_01", d, balance=4000)])
    text = plan_text(plan).splitlines()
    assert text[1] == (
        "1 credit is revoked (credit-revoke: Credit/acme-goodwill), taking back USD 40.00"
    )
    assert (
        "  - Credit/acme-goodwill  cus_acme  USD 40.00  credit-revoke  revoke crd_01 " in (text[3])
    )
    assert "\033[1;31m  - Credit/acme-goodwill" in plan_text(plan, color=True)
    markdown = plan_markdown(plan)
    assert "> **Revokes:** 1 credit is revoked" in markdown
    assert "| currency | new credits | new charges | taken back |" in markdown
    assert "| USD | USD 0.00 | USD 0.00 | USD 40.00 |" in markdown
    assert "#### - revoke (1)" in markdown


def _at(line: int) -> Any:
    from maplectl.model import SourceLocation

    return SourceLocation("billing/credits.yaml", line, 3)


def _resealed(doc: dict[str, Any]) -> dict[str, Any]:
    from maplectl.plan.keys import digest

    body = {k: v for k, v in doc.items() if k != "plan_digest"}
    return {**body, "plan_digest": digest(body)}


def test_build_plan_reads_balances_from_what_maple_sent() -> None:
    """The balance shown is the credit row's `amount`, whatever the manifest asks for."""
    d = credit("a", cents=999_999, revoke=True)
    row = remote_credit("crd_01", credit("a", cents=5000), balance=1234)
    observed = Observed(customers=frozenset({"cus_acme"}), credits=(row,), charges=())
    plan = build_plan([d], observed, company_id="cmp_demo", api_url="https://m.test", now=NOW)
    assert plan.revokes[0].balance == Money("USD", 1234)
