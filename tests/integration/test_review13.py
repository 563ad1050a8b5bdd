"""Review of issue 13 through the public Python API, the real client and an in-process sandbox:
findings as strict xfail tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.recording import Recorder, recorded_world

from maplectl import (
    MapleClient,
    apply_plan,
    build_plan,
    load_scope,
    make_plan,
    read_observed,
    resolve_customers,
)
from maplectl.errors import PolicyRefusal

CREDIT = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: acme-goodwill
{revoke}spec:
  customer: {{identifier: acme}}
  name: Goodwill
  type: AMOUNT
  amount: {{currency: USD, value_in_cents: 5000}}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[MapleClient, Recorder, str]]:
    with recorded_world(tmp_path / "s.sqlite") as made:
        yield made


def _deletes(recorder: Recorder) -> int:
    return sum(1 for call in recorder.calls if call.startswith("DELETE "))


@pytest.mark.xfail(
    strict=True,
    reason="review-13: read_observed + build_plan + apply_plan revokes despite a hard revokes rule",
)
def test_planning_with_build_plan_keeps_the_hard_revokes_rule(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """The package docstring's other route (resolve_customers, read_observed, build_plan, then
    apply_plan) still refuses a revoke that the maplectl.yaml beside the manifests forbids with
    `revokes: {level: hard}`: apply_plan refuses a plan breaking that policy, whoever built it,
    and no DELETE is sent."""
    client, recorder, company = world
    billing = tmp_path / "billing"
    billing.mkdir()
    (billing / "maplectl.yaml").write_text("policy:\n  revokes: {level: hard}\n", encoding="utf-8")
    manifest = billing / "credits.yaml"
    manifest.write_text(CREDIT.format(revoke=""), encoding="utf-8")
    granted = make_plan(client, load_scope([billing]), company_id=company, api_url="sandbox")
    assert not apply_plan(client, granted).failed

    manifest.write_text(CREDIT.format(revoke="  revoke: true\n"), encoding="utf-8")
    desired = resolve_customers(client, load_scope([billing]))
    observed = read_observed(client, {d.customer_id for d in desired})
    plan = build_plan(
        desired, observed, company_id=company, api_url="sandbox", now=datetime.now(UTC)
    )
    assert [a.action.value for a in plan.actions] == ["revoke"]
    with pytest.raises(PolicyRefusal):
        apply_plan(client, plan, desired=desired)
    assert _deletes(recorder) == 0
