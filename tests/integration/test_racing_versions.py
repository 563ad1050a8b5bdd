"""Two applies of consecutive versions of one manifest at once: detected, both ids named."""

from __future__ import annotations

from helpers.maple import Maple

from maplectl.model import Kind, SourceLocation
from maplectl.plan.records import Desired


def version(cents: int) -> Desired:
    body = {
        "customer_id": "cus_acme",
        "name": "Goodwill Q4",
        "type": "AMOUNT",
        "state": "ACTIVE",
        "amount": {"currency": "USD", "value_in_cents": cents},
    }
    return Desired(
        kind=Kind.CREDIT,
        name="acme-goodwill",
        customer_id="cus_acme",
        body=body,
        source=SourceLocation("credits.yaml", 1),
    )


def test_racing_versions_are_reported_by_the_run_that_sees_both(maple: Maple) -> None:
    """Both runs planned before either created: the second's read-back names both credits."""
    first, second = maple.plan([version(10000)]), maple.plan([version(20000)])
    assert [a.action.value for a in (*first.actions, *second.actions)] == ["create", "create"]
    one = maple.apply(first)
    assert not one.verification_problems
    two = maple.apply(second)
    (problem,) = two.verification_problems
    ids = {*one.results[0].remote_ids, *two.results[0].remote_ids}
    assert len(ids) == 2 and all(i in problem for i in ids)
    assert "two objects with one identity" in problem
    # and the next plan, seeing both, asks a person to pick one
    assert [a.action.value for a in maple.plan([version(20000)]).actions] == ["ambiguous"]
