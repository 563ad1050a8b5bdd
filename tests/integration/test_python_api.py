"""The supported Python API (maplectl.__all__) runs the whole flow, as its docstring shows."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import maplectl
from maplectl import (
    Applier,
    Desired,
    MapleClient,
    Outcome,
    Secret,
    build_plan,
    load_manifests,
    plan_text,
    read_observed,
    resolve_customers,
)
from maplectl.maple.client import wsgi_transport
from maplectl.sandbox import Sandbox

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_library_flow_plans_and_applies_the_examples(tmp_path: Path) -> None:
    """load -> resolve customers named by identifier -> read -> plan -> render -> apply, then a
    second plan has nothing to create."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    box = Sandbox.open(tmp_path / "s.sqlite")
    with MapleClient(
        api_url="http://sandbox/api/v1",
        company_id=box.company_id,
        token=Secret(box.token),
        transport=wsgi_transport(box.app),
    ) as client:

        def plan_now() -> maplectl.Plan:
            loaded = [Desired.from_resource(r) for r in load_manifests([tmp_path / "examples"])]
            desired = resolve_customers(client, loaded)
            observed = read_observed(client, {d.customer_id for d in desired})
            return build_plan(
                desired,
                observed,
                company_id=box.company_id,
                api_url="sandbox",
                now=datetime.now(UTC),
            )

        plan = plan_now()
        assert "Plan: 7 to create" in plan_text(plan)
        result = Applier(client).run(plan)
        assert {r.outcome for r in result.results} == {Outcome.CREATED}
        assert plan_now().creates == []
    box.close()
