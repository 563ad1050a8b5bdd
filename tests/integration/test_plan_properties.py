"""Properties of plan and apply over generated manifests, edits between runs and prior state.

Two rounds against a real (in-process) sandbox. Round one applies generated manifests; round two
applies them again after the everyday edits a billing team makes: a changed amount or quantity,
a look-alike or a new name, a later expiry, a typo fixed in a description, a pin added, a copy
that pins another entry's object, ``allow_duplicate`` set. Every metadata key is generated.

What must hold, whatever was generated:

* a plan that fails validation sends nothing;
* a plan holding a possible duplicate or an ambiguity is refused and sends nothing;
* after apply, the next plan is clean: nothing to create, nothing drifted, nothing claimed twice;
* nothing is created twice: an entry gets a second object only when its manifest says
  ``allow_duplicate``, or when the edit made it unrelated to its first object (for a credit a
  new name *and* a new grant; for a charge a new type). This oracle is written from the edit, not
  from maplectl's matching code.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maplectl.apply import Applier
from maplectl.config import Secret
from maplectl.errors import ManifestError
from maplectl.maple.client import MapleClient, wsgi_transport
from maplectl.maple.reader import read_observed
from maplectl.model import Kind, SourceLocation
from maplectl.plan.builder import CustomerMatching, build_plan
from maplectl.plan.records import ActionType, Desired, Plan
from maplectl.sandbox import Sandbox

CUSTOMERS = ["cus_acme", "cus_globex"]
NAMES = ["Café goodwill", "Migration credit", "Promo"]
PRICES = [
    {"product_pricing_id": "pp_onboarding_fee", "aggregate": 1},
    {"product_pricing_id": "pp_training_day", "aggregate": 2},
    {
        "custom_price": {
            "amount": {"currency": "USD", "value_in_cents": 9900},
            "description": "Services",
        },
        "aggregate": 1,
    },
]
PAST = "2026-01-01T00:00:00Z"

# Edits a person makes between two runs, and whether the edited entry may get a second object.
CREDIT_EDITS = {
    "none": False,
    "amount": False,
    "nfd": False,
    "case": False,
    "space": False,
    "zwsp": False,
    "rename": False,
    "rename+expiry": False,
    "rename+amount": True,
    "pin+rename": False,
    "copy-pins": False,
}
CHARGE_EDITS = {
    "none": False,
    "quantity": False,
    "description": False,
    "type": True,
    "pin": False,
    "copy-pins": False,
}


@dataclass(frozen=True)
class Spec:
    kind: Kind
    customer: str
    title: str  # credit name, or index into PRICES
    cents: int
    allow_duplicate: bool
    created_after: str | None
    edit: str
    allow_after_edit: bool


credit_specs = st.builds(
    Spec,
    kind=st.just(Kind.CREDIT),
    customer=st.sampled_from(CUSTOMERS),
    title=st.sampled_from(NAMES),
    cents=st.sampled_from([100, 2500]),
    allow_duplicate=st.booleans(),
    created_after=st.none(),
    edit=st.sampled_from(sorted(CREDIT_EDITS)),
    allow_after_edit=st.booleans(),
)
charge_specs = st.builds(
    Spec,
    kind=st.just(Kind.ONE_TIME_CHARGE),
    customer=st.sampled_from(CUSTOMERS),
    title=st.sampled_from(["0", "1", "2"]),
    cents=st.just(0),
    allow_duplicate=st.booleans(),
    created_after=st.sampled_from([None, PAST]),
    edit=st.sampled_from(sorted(CHARGE_EDITS)),
    allow_after_edit=st.booleans(),
)


def desired_of(specs: list[Spec]) -> list[Desired]:
    out = []
    for i, s in enumerate(specs):
        if s.kind is Kind.CREDIT:
            body: dict[str, Any] = {
                "customer_id": s.customer,
                "name": s.title,
                "type": "AMOUNT",
                "state": "ACTIVE",
                "amount": {"currency": "USD", "value_in_cents": s.cents},
            }
        else:
            body = {
                "customer_id": s.customer,
                "type": "NEXT_INVOICE",
                "onetime_items": [PRICES[int(s.title)]],
            }
        out.append(
            Desired(
                kind=s.kind,
                name=f"e{i}",
                customer_id=s.customer,
                body=body,
                source=SourceLocation("gen.yaml", i + 1),
                allow_duplicate=s.allow_duplicate,
                created_after=s.created_after,
            )
        )
    return out


def edited(d: Desired, spec: Spec, objects: tuple[str, ...]) -> list[Desired]:
    """The entry after ``spec.edit``; a copy that pins this entry's object comes first."""
    body = {**d.body}
    new = replace(d, allow_duplicate=d.allow_duplicate or spec.allow_after_edit)
    name = str(body.get("name", ""))
    if spec.edit == "amount":
        body["amount"] = {"currency": "USD", "value_in_cents": spec.cents + 1}
    elif spec.edit == "nfd":
        body["name"] = unicodedata.normalize("NFD", name)
    elif spec.edit == "case":
        body["name"] = name.upper()
    elif spec.edit == "space":
        body["name"] = name + " "
    elif spec.edit == "zwsp":
        body["name"] = name[:2] + "\u200b" + name[2:]
    elif spec.edit in ("rename", "pin+rename"):
        body["name"] = name + " (renamed)"
    elif spec.edit == "rename+expiry":
        body["name"] = name + " (renamed)"
        body["expiration_date"] = "2031-01-01T00:00:00Z"
    elif spec.edit == "rename+amount":
        body["name"] = name + " (new)"
        body["amount"] = {"currency": "USD", "value_in_cents": spec.cents + 7}
    elif spec.edit == "quantity":
        item = dict(body["onetime_items"][0])
        item["aggregate"] = int(item["aggregate"]) + 1
        body["onetime_items"] = [item]
    elif spec.edit == "description":
        item = dict(body["onetime_items"][0])
        if "custom_price" in item:
            item["custom_price"] = {**item["custom_price"], "description": "Servcies"}
        body["onetime_items"] = [item]
    elif spec.edit == "type":
        body["type"] = "IMMEDIATE"
    new = replace(new, body=body)
    if spec.edit in ("pin", "pin+rename") and objects:
        new = replace(new, remote_id=objects[0])
    if spec.edit == "copy-pins" and objects:
        copy = replace(
            d,
            name=f"a-copy-of-{d.name}",
            remote_id=objects[0],
            body={**d.body, "name": f"Copy {d.name}"} if d.kind is Kind.CREDIT else d.body,
        )
        return [copy, new]
    return [new]


class PartlyRefused(Exception):
    """Apply refused one create (its key replayed another entry's object) and made the rest."""


class World:
    def __init__(self, box: Sandbox, client: MapleClient) -> None:
        self.box, self.client = box, client

    def plan(self, desired: list[Desired]) -> Plan:
        matching = CustomerMatching(desired, company_id=self.box.company_id)
        observed = read_observed(self.client, CUSTOMERS, parallelism=4, on_customer=matching.add)
        now = datetime.now(UTC)
        made = build_plan(
            desired, observed, company_id=self.box.company_id, api_url="sandbox", now=now
        )
        # Matching customer by customer as rows arrive (what make_plan does) is the same plan.
        assert matching.plan(desired, observed, api_url="sandbox", now=now) == made
        return made

    def objects(self) -> dict[str, dict[str, Any]]:
        observed = read_observed(self.client, CUSTOMERS)
        return {str(o["id"]): o for o in (*observed.credits, *observed.charges)}

    def round(self, desired: list[Desired]) -> dict[str, tuple[str, ...]] | None:
        """Plan and apply as the CLI would; the ids each entry holds after, or None if refused."""
        before = self.objects()
        try:
            plan = self.plan(desired)
        except ManifestError as exc:
            assert exc.diagnostics, "a refused plan names what is wrong"
            assert self.objects() == before, "validation failed, yet something was created"
            return None
        if plan.of(ActionType.POSSIBLE_DUPLICATE, ActionType.AMBIGUOUS):
            return None  # apply refuses these plans (tests/e2e) and sends nothing
        result = Applier(self.client, consistency_wait=0).run(plan)
        refused = [r for r in result.failed if r.error and "replayed" in r.error]
        if refused:  # a second object asked for under the key that made another entry's one
            made = [i for r in result.results if r.ok for i in r.remote_ids]
            after = self.objects()
            assert set(after) == set(before) | set(made), "a refused create made something"
            assert len(after) == len(before) + len(made), "an object was created twice"
            raise PartlyRefused
        assert not result.failed and not result.verification_problems, result.to_json()
        after = self.objects()
        created = [i for r in result.results for i in r.remote_ids]
        assert set(after) == set(before) | set(created)
        assert len(after) == len(before) + len(created), "an object was created twice"

        again = self.plan(desired)
        drifted = {a.address for a in plan.of(ActionType.DRIFT)}
        assert [
            a.address
            for a in again.actions
            if a.action is not ActionType.UNCHANGED and a.address not in drifted
        ] == [], "after apply, the plan is not clean"
        held = [rid for a in again.actions for rid in a.remote_ids]
        assert len(held) == len(set(held)), "one remote object claimed by two entries"
        assert Applier(self.client, consistency_wait=0).run(again).results == ()
        return {a.address: a.remote_ids for a in again.actions}


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(st.one_of(credit_specs, charge_specs), min_size=1, max_size=5),
    prior=st.lists(st.one_of(credit_specs, charge_specs), max_size=2),
)
def test_apply_then_plan_is_clean_and_edits_never_create_twice(
    tmp_path_factory: Any, specs: list[Spec], prior: list[Spec]
) -> None:
    """Whatever existed before and whatever was edited, no entry is created twice by accident."""
    box = Sandbox.open(Path(tmp_path_factory.mktemp("prop")) / "s.sqlite")
    client = MapleClient(
        api_url="http://sandbox/api/v1",
        company_id=box.company_id,
        token=Secret(box.token),
        transport=wsgi_transport(box.app),
        sleeper=lambda s: None,
    )
    world = World(box, client)
    try:
        if prior:  # objects someone made by hand, which no manifest of this repo describes
            others = [
                replace(
                    d,
                    name=f"other-{d.name}",
                    allow_duplicate=True,
                    body={**d.body, "name": f"{d.body['name']} {i}"}
                    if d.kind is Kind.CREDIT
                    else d.body,
                )
                for i, d in enumerate(desired_of(prior))
            ]
            world.round(others)
        first = desired_of(specs)
        try:
            held = world.round(first)
        except PartlyRefused:
            return
        if held is None:
            return
        second: list[Desired] = []
        for d, spec in zip(first, specs, strict=True):
            second += edited(d, spec, held.get(d.address, ()))
        before = world.objects()
        try:
            after_held = world.round(second)
        except PartlyRefused:
            return
        if after_held is None:
            assert world.objects() == before, "a refused plan sent something"
            return
        for d, spec in zip(first, specs, strict=True):
            lineage = set(held.get(d.address, ())) | set(after_held.get(d.address, ()))
            may_double = (
                d.allow_duplicate
                or spec.allow_after_edit
                or (CREDIT_EDITS if d.kind is Kind.CREDIT else CHARGE_EDITS)[spec.edit]
            )
            if not may_double:
                assert lineage <= set(held.get(d.address, ())), (
                    f"{d.address} edited by {spec.edit!r} was created a second time"
                )
    finally:
        client.close()
        box.close()
