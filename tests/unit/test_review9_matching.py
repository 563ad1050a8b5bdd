"""Review of issue 9: inputs that still plan or apply money twice, or block everyday manifests.

Each test states the behaviour a user needs; each failed before its fix.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers.fake_maple import FakeMaple
from helpers.planning import NOW, billable, charge, credit, plan_of, remote_credit

from maplectl.apply import Applier
from maplectl.errors import PartialApplyError
from maplectl.maple.reader import Collection, Observed
from maplectl.model import Kind
from maplectl.plan.builder import build_plan
from maplectl.plan.records import ActionType, Desired, Plan
from maplectl.results import ActionResult, ApplyResult, Outcome

TRAINING = [{"product_pricing_id": "pp_training_day", "aggregate": 3}]


def targeted(
    desired: list[Desired], targets: list[str], *, charges: list[dict[str, Any]] = ()
) -> Plan:  # type: ignore[assignment]
    """A plan of every entry of the customers, narrowed to ``targets`` as --target does."""
    observed = Observed(
        customers=frozenset(d.customer_id for d in desired),
        credits=(),
        charges=tuple(charges),
        requests=3,
    )
    return build_plan(
        desired,
        observed,
        company_id="cmp_demo",
        api_url="https://maple.test",
        now=NOW,
        targets=targets,
    )


# -- pins and near matches ------------------------------------------------------------------------


def test_a_look_alike_of_a_credit_another_entry_pins_is_a_possible_duplicate() -> None:
    """Pin in a copy plus a case-only edit of the original must not grant the credit again."""
    issued = remote_credit("crd_01", credit("x", title="Goodwill"))
    copy = credit("aa-copy", title="Goodwill again", remote_id="crd_01")
    original = credit("zz-original", title="goodwill")  # was "Goodwill"; someone fixed the case
    by = {a.address: a for a in plan_of([copy, original], [issued]).actions}
    assert by["Credit/zz-original"].action is ActionType.POSSIBLE_DUPLICATE


def test_a_charge_whose_billable_another_entry_pins_is_not_billed_again() -> None:
    """The issue's pin case for charges: the original entry must not bill its billable again."""
    billed = billable("otb_01", product_pricing_id="pp_training_day", aggregate=3)
    copy = charge(
        "aa-copy",
        items=[{"product_pricing_id": "pp_onboarding_fee", "aggregate": 1}],
        remote_id="otb_01",
    )
    original = charge("zz-training", items=TRAINING)
    by = {a.address: a for a in plan_of([copy, original], charges=[billed]).actions}
    assert by["OneTimeCharge/aa-copy"].action is ActionType.DRIFT
    assert by["OneTimeCharge/zz-training"].action is not ActionType.CREATE


def test_a_billed_charge_whose_type_is_edited_is_a_possible_duplicate() -> None:
    """NEXT_INVOICE -> IMMEDIATE after billing is an edit of that charge, not a second one."""
    billed = billable("otb_1", product_pricing_id="pp_training_day", aggregate=3)
    edited = charge("training", items=TRAINING, type_="IMMEDIATE")
    (action,) = plan_of([edited], charges=[billed]).actions
    assert action.action is ActionType.POSSIBLE_DUPLICATE


# -- look-alike names -----------------------------------------------------------------------------

INVISIBLE = {
    "hangul filler": "Goodwill\u3164",
    "halfwidth hangul filler": "Goodwill\uffa0",
    "combining grapheme joiner": "Good\u034fwill",
    "variation selector": "Goodwill\ufe0f",
}


@pytest.mark.parametrize("spelling", list(INVISIBLE), ids=list(INVISIBLE))
def test_invisible_non_format_characters_do_not_make_a_new_name(spelling: str) -> None:
    """A name with an invisible filler is the credit already issued, not a new grant."""
    issued = remote_credit("crd_01", credit("a", title="Goodwill", cents=500))
    (action,) = plan_of([credit("a", title=INVISIBLE[spelling], cents=900)], [issued]).actions
    assert action.action is ActionType.POSSIBLE_DUPLICATE


# -- created_after --------------------------------------------------------------------------------


def test_a_lower_case_rfc3339_created_after_still_bounds_the_window() -> None:
    """'2026-01-01t00:00:00z' is valid RFC 3339: last year's billable is not this year's charge."""
    last_year = billable(
        "otb_1",
        created_at="2025-12-01T00:00:00Z",
        product_pricing_id="pp_training_day",
        aggregate=3,
    )
    again = charge("training-2026", items=TRAINING, created_after="2026-01-01t00:00:00z")
    (action,) = plan_of([again], charges=[last_year]).actions
    assert action.action is ActionType.CREATE


# -- two entries of one plan ----------------------------------------------------------------------


def _custom(description: str, cents: int) -> dict[str, Any]:
    return {
        "custom_price": {
            "amount": {"currency": "USD", "value_in_cents": cents},
            "description": description,
        },
        "aggregate": 1,
    }


def test_two_different_services_at_the_same_price_plan_as_two_creates() -> None:
    """'Onboarding' and 'Custom report', both USD 1,000.00: not one object, both are billed."""
    plan = plan_of(
        [
            charge("onboarding", items=[_custom("Onboarding", 100000)]),
            charge("report", items=[_custom("Custom report", 100000)]),
        ]
    )
    assert len(plan.creates) == 2


# -- --target and apply ---------------------------------------------------------------------------


def test_targeted_apply_after_a_500_never_adopts_another_entrys_billable(clock: Any) -> None:
    """A second training charge on purpose meets a 500: it must be created, not 'adopted'."""
    fake = FakeMaple(clock)
    first = charge("training", items=TRAINING)
    fake._insert(first.kind, first.body)
    existing = [dict(fake.rows[Collection.ONE_TIMES][0])]
    extra = charge("training-extra", items=TRAINING, allow_duplicate=True)
    plan = targeted([first, extra], ["OneTimeCharge/training-extra"], charges=existing)
    assert [a.action for a in plan.actions] == [ActionType.CREATE]
    fake.faults = ["500_before"]
    result = Applier(fake, clock=clock, sleeper=clock.sleep, consistency_wait=5).run(plan)
    (r,) = result.results
    assert r.outcome is Outcome.CREATED and len(fake.rows[Collection.ONE_TIMES]) == 2


def test_racing_versions_that_rename_a_credit_are_reported(clock: Any) -> None:
    """Version 1 'Goodwil Q4', version 2 fixes the typo; both applied at once: two grants."""
    fake = FakeMaple(clock)
    plan = plan_of([credit("a", title="Goodwill Q4")])  # version 2, planned on an empty Maple
    version_1 = credit("a", title="Goodwil Q4")
    fake._insert(version_1.kind, version_1.body)  # the other run's create lands first
    result = Applier(fake, clock=clock, sleeper=clock.sleep).run(plan)
    assert len(fake.rows[Collection.CREDITS]) == 2
    assert result.verification_problems  # exit 6, both ids named


def test_an_interrupted_run_with_an_unknown_outcome_never_calls_a_rerun_safe() -> None:
    """Ctrl-C during the wait after a 500: that entry is unknown, so the run is not 'safe'."""
    from maplectl.cli.commands import report

    plan = plan_of([credit("a", title="A"), credit("b", title="B")])
    first = plan.creates[0]
    unknown = ActionResult(
        first,
        Outcome.UNKNOWN,
        (),
        "mctl1.c.0.x",
        0,
        error="outcome unknown: the run was interrupted",
        spent=("mctl1.c.0.x at 2026-11-25T09:30:00Z",),
    )
    result = ApplyResult(plan=plan, results=(unknown,), not_started=1)
    with pytest.raises(PartialApplyError) as info:
        report(result, "json")
    assert "safe" not in f"{info.value.message} {info.value.hint}"


# -- scale ----------------------------------------------------------------------------------------


class CountingRow(dict[str, Any]):
    """A Maple row that counts how often the planner looks into it."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        CountingRow.reads += 1
        return super().get(key, default)


@pytest.mark.parametrize("kind", [Kind.CREDIT, Kind.ONE_TIME_CHARGE], ids=["credits", "charges"])
def test_matching_one_customers_objects_is_linear(kind: Kind) -> None:
    """1,000 unchanged entries of one customer: a bounded number of reads per object."""
    n = 1000
    if kind is Kind.CREDIT:
        desired = [credit(f"c{i:04d}", title=f"Goodwill {i}", cents=100 + i) for i in range(n)]
        credits = [CountingRow(remote_credit(f"crd_{i:04d}", d)) for i, d in enumerate(desired)]
        charges: list[dict[str, Any]] = []
    else:
        desired = [charge(f"c{i:04d}", items=[_custom(f"Service {i}", 100 + i)]) for i in range(n)]
        credits = []
        charges = [
            CountingRow(billable(f"otb_{i:04d}", **_custom(f"Service {i}", 100 + i)))
            for i in range(n)
        ]
    CountingRow.reads = 0
    plan = plan_of(desired, credits, charges)
    assert plan.creates == []
    assert CountingRow.reads < 100 * n
