"""Revokes applied with the real client against the sandbox: one DELETE, journaled, read back;
never a second one; an honest report when the credit was used up first (docs/apply.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpers.maple import Maple
from helpers.planning import credit

from maplectl.apply import Applier
from maplectl.journal import Journal
from maplectl.maple.reader import read_observed
from maplectl.model import Money
from maplectl.plan.actions import ActionType, Revoke
from maplectl.plan.builder import build_plan
from maplectl.plan.records import Desired
from maplectl.render import apply_line, apply_summary
from maplectl.results import Outcome

DELETE = "DELETE /credits/{id}"


def granted(maple: Maple, *desired: Desired) -> dict[str, str]:
    """Apply ``desired`` as grants; their credit ids by address."""
    result = maple.apply(maple.plan(list(desired)))
    assert not result.failed and not result.verification_problems
    return {r.action.address: r.remote_ids[0] for r in result.results}


def deletes(maple: Maple) -> int:
    return maple.counters().get(DELETE, 0)


def credit_row(maple: Maple, credit_id: str) -> dict[str, Any]:
    answer = maple.http.get(f"/api/v1/companies/cmp_demo/credits/{credit_id}")
    assert answer.status_code == 200, answer.text
    row: dict[str, Any] = answer.json()
    return row


def test_a_revoke_is_sent_once_journaled_and_read_back(maple: Maple, tmp_path: Path) -> None:
    """The plan shows the balance left after use, apply sends one DELETE with intent and outcome
    journaled, the credit reads back REVOKED, the plan after it is clean, and the next apply
    sends no DELETE."""
    d = credit("acme-goodwill", cents=5000, title="Goodwill")
    ids = granted(maple, d)
    maple.control("POST", f"credits/{ids['Credit/acme-goodwill']}/consume", {"amount": 1000})
    revoke = replace(d, revoke=True)
    plan = maple.plan([revoke])
    (action,) = plan.actions
    assert isinstance(action, Revoke) and action.balance == Money("USD", 4000)
    journal = Journal.open(tmp_path / "journal")
    result = Applier(maple.client, journal=journal, consistency_wait=0.0).run(plan)
    journal.close()
    (r,) = result.results
    assert (r.outcome, r.remote_ids, r.state) == (Outcome.REVOKED, (action.remote_id,), "REVOKED")
    assert result.verification_problems == () and deletes(maple) == 1
    assert result.taken_back() == {"money": {"USD": 4000}, "units": {}}
    assert apply_summary(result).startswith("Apply: 1 revoked. Taken back: USD 40.00.")
    assert json.loads(json.dumps(result.to_json()))["summary"]["counts"]["revoked"] == 1
    row = credit_row(maple, action.remote_id)
    assert row["state"] == "REVOKED" and row["amount"]["value_in_cents"] == 0
    lines = [json.loads(x) for x in Path(str(journal.path)).read_text().splitlines()]
    assert [(x["event"], x.get("action"), x.get("status")) for x in lines] == [
        ("intent", "revoke", None),
        ("outcome", None, "revoked"),
    ]
    assert lines[0]["remote_id"] == action.remote_id
    assert lines[0]["money"] == [{"currency": "USD", "value_in_cents": 4000}]

    after = maple.plan([revoke])
    assert [(a.action, a.state) for a in after.actions] == [(ActionType.UNCHANGED, "REVOKED")]
    again = maple.apply(after)
    assert again.results == () and deletes(maple) == 1


def test_a_credit_used_up_after_the_plan_is_reported_as_not_revoked(maple: Maple) -> None:
    """Maple answers the DELETE of a consumed credit with it unchanged: the outcome says so,
    nothing is counted as taken back, and the check after apply is content."""
    d = credit("acme-goodwill", cents=5000, title="Goodwill")
    ids = granted(maple, d)
    plan = maple.plan([replace(d, revoke=True)])
    assert [a.action for a in plan.actions] == [ActionType.REVOKE]
    maple.control("POST", f"credits/{ids['Credit/acme-goodwill']}/consume", {"amount": 5000})
    result = maple.apply(plan)
    (r,) = result.results
    assert (r.outcome, r.state, r.ok) == (Outcome.NOT_REVOKED, "CONSUMED", True)
    assert result.verification_problems == () and result.taken_back()["money"] == {}
    line = apply_line(r, 1, 1)
    assert "not revoked" in line and "it was already CONSUMED, so nothing was revoked" in line
    assert "Taken back" not in apply_summary(result)
    assert credit_row(maple, ids["Credit/acme-goodwill"])["state"] == "CONSUMED"


def test_a_delete_whose_answer_was_lost_is_sent_again_and_reported_once(maple: Maple) -> None:
    """Maple revoked the credit but answered 500: the client sends the DELETE again (it changes
    nothing the second time) and reports the credit revoked."""
    d = credit("acme-goodwill", cents=5000, title="Goodwill")
    granted(maple, d)
    plan = maple.plan([replace(d, revoke=True)])
    maple.control("POST", "faults", {"kind": "error_after_commit", "route": DELETE, "count": 1})
    result = maple.apply(plan)
    assert [r.outcome for r in result.results] == [Outcome.REVOKED]
    assert deletes(maple) == 2 and not result.verification_problems


def test_deleting_a_manifest_never_sends_a_delete(maple: Maple) -> None:
    """Planning and applying without a credit's manifest leaves the credit ACTIVE and unmanaged;
    no DELETE is ever sent."""
    kept, gone = credit("kept", title="Kept"), credit("gone", title="Gone")
    ids = granted(maple, kept, gone)
    plan = maple.plan([kept])
    assert [u.remote_id for u in plan.unmanaged] == [ids["Credit/gone"]]
    assert maple.apply(plan).results == ()
    assert deletes(maple) == 0 and credit_row(maple, ids["Credit/gone"])["state"] == "ACTIVE"


def test_target_narrows_a_plan_to_one_revoke(maple: Maple) -> None:
    """--target keeps one revoke of two; apply sends that one DELETE only."""
    a, b = credit("a", title="A", revoke=True), credit("b", title="B", revoke=True)
    ids = granted(maple, replace(a, revoke=False), replace(b, revoke=False))
    observed = read_observed(maple.client, {"cus_acme"})
    plan = build_plan(
        [a, b],
        observed,
        company_id="cmp_demo",
        api_url="sandbox",
        now=datetime.now(UTC),
        targets=["Credit/b"],
    )
    assert [(x.address, x.action) for x in plan.actions] == [("Credit/b", ActionType.REVOKE)]
    assert plan.held == (ids["Credit/a"],)
    maple.apply(plan)
    assert deletes(maple) == 1
    assert credit_row(maple, ids["Credit/a"])["state"] == "ACTIVE"
    assert credit_row(maple, ids["Credit/b"])["state"] == "REVOKED"


class _Answering:
    """The real client, but the DELETE is never sent: it is answered with ``state``."""

    def __init__(self, maple: Maple, state: str) -> None:
        self.maple, self.state = maple, state

    def __getattr__(self, name: str) -> Any:
        return getattr(self.maple.client, name)

    def revoke_credit(self, credit_id: str) -> dict[str, Any]:
        return {**credit_row(self.maple, credit_id), "state": self.state}


def test_an_answer_maple_does_not_stand_by_is_a_failure_or_a_verification_problem(
    maple: Maple,
) -> None:
    """A DELETE answered with the credit still ACTIVE fails that revoke; one answered REVOKED
    while Maple still shows the credit ACTIVE is caught by the check after apply (exit 6)."""
    d = credit("acme-goodwill", cents=5000, title="Goodwill")
    granted(maple, d)
    plan = maple.plan([replace(d, revoke=True)])
    active = Applier(_Answering(maple, "ACTIVE"), consistency_wait=0.0).run(plan)  # type: ignore[arg-type]
    (r,) = active.results
    assert r.outcome is Outcome.FAILED and "still ACTIVE" in str(r.error)
    lying = Applier(_Answering(maple, "REVOKED"), consistency_wait=0.0).run(plan)  # type: ignore[arg-type]
    assert [x.outcome for x in lying.results] == [Outcome.REVOKED]
    (problem,) = lying.verification_problems
    assert problem.startswith("Credit/acme-goodwill: crd_") and "not REVOKED in Maple" in problem
    assert deletes(maple) == 0
