"""The apply engine's failure handling (docs/maple-api.md, Idempotency) against a scripted
in-memory Maple."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import pytest
from helpers.fake_maple import FakeMaple
from helpers.planning import charge, credit, plan_of

from maplectl.apply import Applier
from maplectl.journal import Journal
from maplectl.maple.reader import Collection, CreateResult
from maplectl.model import Kind
from maplectl.results import Outcome


def run(fake: FakeMaple, clock: Any, desired: list[Any], **kw: Any) -> Any:
    stream = io.BytesIO()
    applier = Applier(
        fake,
        journal=Journal(stream, run_id="t"),
        clock=clock,
        sleeper=clock.sleep,
        parallelism=1,
        **kw,
    )
    result = applier.run(plan_of(desired))
    return result, [json.loads(line) for line in stream.getvalue().decode().splitlines()]


def test_creates_each_entry_once_and_journals_intent_then_outcome(clock: Any) -> None:
    """Every create is sent once with its key; the journal has intent before outcome."""
    fake = FakeMaple(clock)
    result, journal = run(fake, clock, [credit("a"), charge("c")])
    assert [r.outcome for r in result.results] == [Outcome.CREATED, Outcome.CREATED]
    assert fake.creates == 2 and not result.verification_problems
    assert [j["event"] for j in journal] == ["intent", "outcome", "intent", "outcome"]
    assert journal[0]["key"].startswith("mctl1.c.0.")


def test_500_after_commit_adopts_the_object(clock: Any) -> None:
    """The 500 spent the key, but the credit exists: adopt it, create nothing more."""
    fake = FakeMaple(clock)
    fake.faults = ["500_after"]
    result, journal = run(fake, clock, [credit("a")])
    (r,) = result.results
    assert r.outcome is Outcome.ADOPTED and r.generation == 0
    assert len(fake.rows[Collection.CREDITS]) == 1
    assert [j.get("status") for j in journal if j["event"] == "outcome"] == [
        "server_error",
        "adopted",
    ]


def test_500_before_commit_waits_then_uses_the_next_generation(clock: Any) -> None:
    """Absence is confirmed over the consistency wait; only then does generation 1 go out."""
    fake = FakeMaple(clock)
    fake.faults = ["500_before"]
    result, _ = run(fake, clock, [credit("a")], consistency_wait=5.0)
    (r,) = result.results
    assert r.outcome is Outcome.CREATED and r.generation == 1 and ".1." in r.key
    assert len(fake.rows[Collection.CREDITS]) == 1
    assert sum(clock.sleeps) >= 5.0


def test_search_lag_after_500_is_waited_out(clock: Any) -> None:
    """A committed credit that search shows 2 s late is adopted, not created again."""
    fake = FakeMaple(clock)
    fake.faults = ["500_after"]
    fake.lag = 2.0
    result, _ = run(fake, clock, [credit("a")], consistency_wait=5.0)
    assert result.results[0].outcome is Outcome.ADOPTED
    assert len(fake.rows[Collection.CREDITS]) == 1


def test_400_fails_that_entry_with_its_file_and_field(clock: Any) -> None:
    """Maple's field error is reported at the manifest's file, line and spec field."""
    fake = FakeMaple(clock)
    fake.faults = ["400"]
    result, _ = run(fake, clock, [credit("a"), credit("b", title="B")])
    failed = result.failed
    assert len(failed) == 1 and failed[0].action.address == "Credit/a"
    assert str(failed[0].diagnostics[0]).startswith(
        "billing/credits.yaml:1:1: Credit/a: spec.customer_id: Maple rejected it: no such"
    )
    assert [r.outcome for r in result.results] == [Outcome.FAILED, Outcome.CREATED]


def test_rerun_after_success_replays_instead_of_creating(clock: Any) -> None:
    """The same plan applied twice: the second run's creates are replays, still one credit."""
    fake = FakeMaple(clock)
    plan = plan_of([credit("a")])
    Applier(fake, clock=clock, sleeper=clock.sleep).run(plan)
    again = Applier(fake, clock=clock, sleeper=clock.sleep).run(plan)
    assert again.results[0].outcome is Outcome.REPLAYED
    assert len(fake.rows[Collection.CREDITS]) == 1


def test_verification_reports_an_object_that_does_not_match(clock: Any) -> None:
    """If Maple shows something other than what was asked, verification says so."""
    fake = FakeMaple(clock)
    original = fake._insert

    def tamper(kind: Kind, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = original(kind, body)
        fake.rows[Collection.CREDITS][-1]["issued_amount"] = {
            "currency": "USD",
            "value_in_cents": 1,
        }
        return out

    fake._insert = tamper  # type: ignore[method-assign]
    result, _ = run(fake, clock, [credit("a")])
    assert result.verification_problems and "does not match" in result.verification_problems[0]


def test_money_moved_counts_only_what_was_created(clock: Any) -> None:
    """The summary's money is the sum of successful creates, per currency."""
    fake = FakeMaple(clock)
    fake.faults = ["400"]
    result, _ = run(fake, clock, [credit("a", cents=100), credit("b", cents=250, title="B")])
    assert result.money_moved() == {"USD": {"credits": 250, "charges": 0}}


def test_a_lookup_after_500_claims_what_it_finds(clock: Any) -> None:
    """Two identical charges searching at once after 500s must not adopt the same billable.

    The search and the claim are one step: a second lookup no longer sees what the first found.
    """
    fake = FakeMaple(clock)
    plan = plan_of([charge("c1"), charge("c2", allow_duplicate=True)])
    for action in plan.creates:  # both committed, both answered 500
        fake._insert(action.kind, action.body)
    applier = Applier(fake, clock=clock, sleeper=clock.sleep, consistency_wait=0)
    first, second = (applier._lookup(a) for a in plan.creates)
    assert first and second and first != second


def test_ctrl_c_sends_nothing_new_and_reports_what_finished(
    clock: Any, sigint_raises: None
) -> None:
    """SIGINT during apply: the create in flight finishes and is kept; queued ones are not sent."""
    import os
    import signal

    fake = FakeMaple(clock)
    original = fake.create

    def create_then_interrupt(kind: Kind, body: Mapping[str, Any], key: str) -> CreateResult:
        result = original(kind, body, key)
        if fake.creates == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C now,
            assert applier._stopping.wait(timeout=10)  # while this create is in flight
        return result

    fake.create = create_then_interrupt  # type: ignore[method-assign]
    applier = Applier(fake, clock=clock, sleeper=clock.sleep, parallelism=1)
    result = applier.run(plan_of([credit(f"c{i}", title=f"T{i}") for i in range(10)]))
    assert result.interrupted and result.not_started == 10 - len(result.results)
    assert len(result.results) == 2 and fake.creates == 2
    assert all(r.outcome is Outcome.CREATED for r in result.results)


# -- after a 500 the key is spent (issue 9) -------------------------------------------------------


def test_default_wait_outlasts_a_search_lag_of_20s(clock: Any) -> None:
    """With the default 30 s wait a credit search shows 20 s late is adopted, not issued again."""
    fake = FakeMaple(clock)
    fake.faults = ["500_after"]
    fake.lag = 20.0
    stream = io.BytesIO()
    result = Applier(
        fake, journal=Journal(stream, run_id="t"), clock=clock, sleeper=clock.sleep
    ).run(plan_of([credit("a")]))
    assert result.results[0].outcome is Outcome.ADOPTED
    assert len(fake.rows[Collection.CREDITS]) == 1


def test_after_a_500_a_same_grant_credit_under_another_name_is_not_adopted(clock: Any) -> None:
    """The allow_duplicate case: an unclaimed twin of the grant is someone else's credit."""
    fake = FakeMaple(clock)
    twin = credit("old", title="Old goodwill")
    fake._insert(twin.kind, twin.body)
    wanted = credit("a", title="Second goodwill", allow_duplicate=True)
    plan = plan_of([wanted], credits=[dict(fake.rows[Collection.CREDITS][0])])
    assert [a.action.value for a in plan.actions] == ["create"]
    fake.faults = ["500_before"]
    result = Applier(fake, clock=clock, sleeper=clock.sleep, consistency_wait=5).run(plan)
    (r,) = result.results
    assert r.outcome is Outcome.CREATED and r.generation == 1
    assert "crd_0" not in r.remote_ids and len(fake.rows[Collection.CREDITS]) == 2


def test_500s_on_every_generation_leave_an_unknown_outcome_not_a_safe_rerun(clock: Any) -> None:
    """When keys run out the entry is reported unknown, with its spent key and the time."""
    from datetime import UTC, datetime

    from maplectl.cli.commands import report
    from maplectl.errors import PartialApplyError

    fake = FakeMaple(clock)
    fake.faults = ["500_before"] * 3
    applier = Applier(
        fake,
        clock=clock,
        sleeper=clock.sleep,
        consistency_wait=30,
        wall=lambda: datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
    )
    result = applier.run(plan_of([credit("a")]))
    (r,) = result.results
    assert r.outcome is Outcome.UNKNOWN and result.unknown == [r]
    assert r.key is not None and r.key in (r.error or "")
    assert "2026-11-25T09:30:00Z" in (r.error or "")
    assert len(r.spent) == 3 and fake.creates == 3
    with pytest.raises(PartialApplyError) as info:
        report(result, "json")
    assert "unknown outcome" in info.value.message
    assert "safe" not in f"{info.value.message} {info.value.hint}"


def test_lag_beyond_the_wait_is_caught_by_verification_not_reported_as_success(clock: Any) -> None:
    """A 500's object that shows after the next key created another: exit 6 with both ids."""
    fake = FakeMaple(clock)
    fake.faults = ["500_after"]
    fake.lag = 40.0  # longer than the 30 s wait: generation 1 goes out
    original = fake._insert

    def later_ones_show_at_once(kind: Kind, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = original(kind, body)
        fake.lag = 0.0
        return out

    fake._insert = later_ones_show_at_once  # type: ignore[method-assign]
    result = Applier(fake, clock=clock, sleeper=clock.sleep).run(plan_of([credit("a")]))
    (r,) = result.results
    assert r.outcome is Outcome.CREATED and r.generation == 1 and len(r.spent) == 1
    (problem,) = result.verification_problems
    assert "two objects with one identity" in problem
    assert "crd_0" in problem and "crd_1" in problem


def test_verification_rematches_an_adopted_credit_against_its_entry(clock: Any) -> None:
    """An object adopted by name whose grant differs is not what the manifest asked for."""
    fake = FakeMaple(clock)
    plan = plan_of([credit("a", cents=5000)])
    other_version = credit("a", cents=9999)
    fake.faults = ["500_before"]
    original = fake.create

    def create_then_someone_else(kind: Kind, body: Mapping[str, Any], key: str) -> CreateResult:
        try:
            return original(kind, body, key)
        finally:
            if not fake.rows[Collection.CREDITS]:
                fake._insert(other_version.kind, other_version.body)

    fake.create = create_then_someone_else  # type: ignore[method-assign]
    result = Applier(fake, clock=clock, sleeper=clock.sleep, consistency_wait=5).run(plan)
    (r,) = result.results
    assert r.outcome is Outcome.ADOPTED and fake.creates == 1
    (problem,) = result.verification_problems
    assert "does not match its manifest entry" in problem


def test_racing_versions_of_one_manifest_are_reported_with_both_ids(clock: Any) -> None:
    """Another apply created version 2 after this plan was made: verification names both."""
    fake = FakeMaple(clock)
    plan = plan_of([credit("a", cents=100)])  # version 1, planned while Maple had nothing
    version_2 = credit("a", cents=200)
    fake._insert(version_2.kind, version_2.body)  # the other run's create lands first
    result = Applier(fake, clock=clock, sleeper=clock.sleep).run(plan)
    (r,) = result.results
    assert r.outcome is Outcome.CREATED
    (problem,) = result.verification_problems
    assert "two objects with one identity" in problem and "crd_0" in problem
    assert r.remote_ids[0] in problem


def test_charge_versions_racing_are_reported_too(clock: Any) -> None:
    """Quantity 2 and 3 of one charge applied at once: two billables, both named."""
    fake = FakeMaple(clock)
    v1 = charge("c", items=[{"product_pricing_id": "pp_training_day", "aggregate": 2}])
    v2 = charge("c", items=[{"product_pricing_id": "pp_training_day", "aggregate": 3}])
    plan = plan_of([v1])
    fake._insert(v2.kind, v2.body)
    result = Applier(fake, clock=clock, sleeper=clock.sleep).run(plan)
    (problem,) = result.verification_problems
    assert "two objects with one identity" in problem and "otb_0_0" in problem


def test_a_key_that_replays_another_entrys_object_is_a_failure_not_a_success(clock: Any) -> None:
    """The original's key replays the object a copy now pins: no second object, and not 'done'."""
    from helpers.planning import remote_credit

    fake = FakeMaple(clock)
    original = credit("orig", title="Goodwill", allow_duplicate=True)
    copy = credit("copy", title="Goodwill copy", remote_id="crd_x")
    held = remote_credit("crd_x", original)
    plan = plan_of([original, copy], credits=[held])
    (create,) = plan.creates
    fake.stored[create.idempotency_key] = [held]  # the key made crd_x in an earlier run
    result = Applier(fake, clock=clock, sleeper=clock.sleep).run(plan)
    (r,) = result.results
    assert r.outcome is Outcome.FAILED and "crd_x" in (r.error or "")
    assert "another entry" in (r.error or "")
