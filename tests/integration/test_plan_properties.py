"""Properties of plan and apply over generated manifests and pre-existing Maple state.

For any manifests (look-alike credits, identical charges included) and any objects already in
Maple: apply creates exactly the plan's creates, a second plan has nothing to create, no remote
object is claimed by two entries, and a second apply sends nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maplectl.apply import Applier
from maplectl.client import MapleClient, wsgi_transport
from maplectl.config import Secret
from maplectl.match import build_plan
from maplectl.model import Kind, SourceLocation
from maplectl.plan import ActionType, Desired, Plan
from maplectl.sandbox import Sandbox
from maplectl.state import read_observed

CUSTOMERS = ["cus_acme", "cus_globex", "cus_initech"]
ITEMS = [{"product_pricing_id": "pp_onboarding_fee", "aggregate": 1},
         {"product_pricing_id": "pp_training_day", "aggregate": 2},
         {"custom_price": {"amount": {"currency": "USD", "value_in_cents": 9900},
                           "description": "Services"}, "aggregate": 1}]

credit_specs = st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(["A", "B", "C"]),
                         st.sampled_from([100, 2500]))
charge_specs = st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(["NEXT_INVOICE"]),
                         st.lists(st.sampled_from(range(len(ITEMS))), min_size=1, max_size=2))


def desired_of(credits: list[tuple[str, str, int]],
               charges: list[tuple[str, str, list[int]]]) -> list[Desired]:
    out: list[Desired] = []
    seen: set[tuple[str, str]] = set()
    for customer, title, cents in credits:
        if (customer, title) in seen:  # validation forbids a repeated (customer, name)
            continue
        seen.add((customer, title))
        out.append(Desired(
            kind=Kind.CREDIT, name=f"credit-{len(out)}", customer_id=customer,
            body={"customer_id": customer, "name": title, "type": "AMOUNT", "state": "ACTIVE",
                  "amount": {"currency": "USD", "value_in_cents": cents}},
            source=SourceLocation("gen.yaml", len(out) + 1), allow_duplicate=True))
    for customer, kind, items in charges:
        out.append(Desired(
            kind=Kind.ONE_TIME_CHARGE, name=f"charge-{len(out)}", customer_id=customer,
            body={"customer_id": customer, "type": kind,
                  "onetime_items": [ITEMS[i] for i in items]},
            source=SourceLocation("gen.yaml", len(out) + 1)))
    return out


def plan_for(client: MapleClient, box: Sandbox, desired: list[Desired]) -> Plan:
    observed = read_observed(client, {d.customer_id for d in desired}, parallelism=4)
    return build_plan(desired, observed, company_id=box.company_id, api_url="sandbox",
                      now=datetime.now(UTC))


def count(client: MapleClient, box: Sandbox) -> int:
    observed = read_observed(client, CUSTOMERS)
    return len(observed.credits) + len(observed.charges)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(credits=st.lists(credit_specs, max_size=6), charges=st.lists(charge_specs, max_size=4),
       applied_first=st.integers(min_value=0, max_value=10))
def test_apply_then_plan_is_clean_and_nothing_is_created_twice(
        tmp_path_factory: Any, credits: list[Any], charges: list[Any],
        applied_first: int) -> None:
    """Whatever existed before, after apply each entry has its own object and replan is empty."""
    desired = desired_of(credits, charges)
    box = Sandbox.open(Path(tmp_path_factory.mktemp("prop")) / "s.sqlite")
    client = MapleClient(api_url="http://sandbox/api/v1", company_id=box.company_id,
                         token=Secret(box.token), transport=wsgi_transport(box.app),
                         sleeper=lambda s: None)
    try:
        # Some entries exist already (applied earlier, perhaps under other manifests).
        earlier = desired[:applied_first]
        if earlier:
            Applier(client, consistency_wait=0).run(plan_for(client, box, earlier))
        before = count(client, box)

        plan = plan_for(client, box, desired)
        claimed = [rid for a in plan.actions for rid in a.remote_ids
                   if a.action in (ActionType.UNCHANGED, ActionType.DRIFT)]
        assert len(claimed) == len(set(claimed)), "one remote object claimed twice"
        assert not plan.of(ActionType.AMBIGUOUS, ActionType.POSSIBLE_DUPLICATE)

        result = Applier(client, consistency_wait=0).run(plan)
        assert not result.failed and not result.verification_problems
        created = sum(len(r.remote_ids) for r in result.results)
        assert count(client, box) == before + created

        again = plan_for(client, box, desired)
        assert again.creates == [], [a.address for a in again.creates]
        assert Applier(client, consistency_wait=0).run(again).results == ()
        assert count(client, box) == before + created
    finally:
        client.close()
        box.close()
