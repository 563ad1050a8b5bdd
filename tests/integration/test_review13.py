"""Review of issue 13 through the public Python API, the real client and an in-process sandbox:
findings as tests, each failing (as a strict xfail) before its fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.recording import Recorder, recorded_world

from maplectl import (
    MapleClient,
    Secret,
    apply_plan,
    build_plan,
    load_scope,
    make_plan,
    read_observed,
    resolve_customers,
)
from maplectl.errors import ManifestError, PolicyRefusal
from maplectl.maple.client import wsgi_transport
from maplectl.sandbox import Sandbox

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


SHARED = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: shared-goodwill
spec:
  customer: {identifier: shared-co}
  name: Goodwill
  type: AMOUNT
  amount: {currency: USD, value_in_cents: 5000}
"""


def test_an_identifier_two_customers_share_stops_the_plan(tmp_path: Path) -> None:
    """When two customers of the company have the identifier a manifest names (a service that
    lets them share it, as the sandbox does), the plan stops at spec.customer.identifier and
    names both, as docs/maple-api.md (Customers) promises; it never credits whichever customer
    `GET /customers/{identifier}` happens to answer with, which another run may answer
    differently, issuing the credit again to the other one."""
    box = Sandbox.open(tmp_path / "s.sqlite")
    twins = [
        {"id": f"cus_shared_{n}", "identifier": "shared-co", "name": f"Shared {n}", "email": ""}
        for n in (1, 2)
    ]
    box.load_seed(
        {"companies": [{"id": "cmp_demo", "name": "Demo", "token": box.token, "customers": twins}]}
    )
    client = MapleClient(
        api_url="http://sandbox.local/api/v1",
        company_id=box.company_id,
        token=Secret(box.token),
        transport=wsgi_transport(box.app),
        sleeper=lambda s: None,
    )
    manifest = tmp_path / "credits.yaml"
    manifest.write_text(SHARED, encoding="utf-8")
    try:
        with pytest.raises(ManifestError) as caught:
            make_plan(client, load_scope([manifest]), company_id=box.company_id, api_url="sandbox")
    finally:
        client.close()
        box.close()
    [problem] = caught.value.diagnostics
    assert problem.field == "spec.customer.identifier" and problem.line == 6
    assert "cus_shared_1" in problem.message and "cus_shared_2" in problem.message
