"""Issue 13: manifests that name their customer by identifier (`customer: {identifier: ...}`),
resolved once per run through the read-only reader, through the real client and an in-process
sandbox whose every request is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.recording import Recorder

from maplectl import MapleClient, Plan, Secret, apply_plan, load_scope, make_plan, plan_for_apply
from maplectl.errors import ManifestError
from maplectl.manifests.loader import validate_paths
from maplectl.maple.client import wsgi_transport
from maplectl.plan.policy import Policy, RuleName
from maplectl.plan.records import ActionType
from maplectl.render import plan_markdown, plan_text
from maplectl.sandbox import Sandbox

# cus_twin's identifier is the Maple id of cus_acme: `customer: {identifier: cus_acme}` means
# cus_twin, never cus_acme. cus_acme itself has the identifier acme (the demo seed).
TWIN = {"id": "cus_twin", "identifier": "cus_acme", "name": "Twin", "email": "t@twin.example"}
HEADER = "apiVersion: maplectl/v1\nkind: Credit\nmetadata:\n  name: {name}\nspec:\n"


def credit(name: str, customer: str, cents: int = 5000, title: str | None = None) -> str:
    """A credit manifest; ``customer`` is ``customer_id: ...`` or ``customer: {...}``."""
    return (
        HEADER.format(name=name)
        + f"  {customer}\n  name: {title or 'Credit ' + name}\n  type: AMOUNT\n"
        f"  amount: {{currency: USD, value_in_cents: {cents}}}\n"
    )


BY_ID = "customer_id: cus_umbrella"
BY_IDENTIFIER = "customer: {identifier: umbrella-health}"


@dataclass
class World:
    box: Sandbox
    client: MapleClient
    recorder: Recorder
    folder: Path

    def write(self, *docs: str, name: str = "credits.yaml") -> Path:
        path = self.folder / name
        path.write_text("---\n".join(docs), encoding="utf-8")
        return path

    def plan(self, *paths: Path, **options: object) -> Plan:
        customers = tuple(options.pop("customers", ()))  # type: ignore[call-overload]
        desired = load_scope(paths, customers=customers)
        return make_plan(
            self.client,
            desired,
            company_id=self.box.company_id,
            api_url="sandbox",
            paths=paths,
            customers=customers,
            **options,  # type: ignore[arg-type]
        )

    def customer_gets(self) -> list[str]:
        return [c for c in self.recorder.calls if c.startswith("GET ") and "/customers/" in c]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    box = Sandbox.open(tmp_path / "s.sqlite")
    box.load_seed(
        {"companies": [{"id": "cmp_demo", "name": "Demo", "token": box.token, "customers": [TWIN]}]}
    )
    recorder = Recorder(wsgi_transport(box.app))
    client = MapleClient(
        api_url="http://sandbox.local/api/v1",
        company_id=box.company_id,
        token=Secret(box.token),
        transport=recorder,
        sleeper=lambda s: None,
    )
    (tmp_path / "m").mkdir()
    try:
        yield World(box, client, recorder, tmp_path / "m")
    finally:
        client.close()
        box.close()


def test_the_plan_shows_the_resolved_id_and_sends_only_customer_id(world: World) -> None:
    """The create carries customer_id (never customer), and text, Markdown and JSON show the id
    with the identifier."""
    plan = world.plan(world.write(credit("pilot", BY_IDENTIFIER)))
    (create,) = plan.creates
    assert create.customer_id == "cus_umbrella"
    assert create.body["customer_id"] == "cus_umbrella" and "customer" not in create.body
    assert "cus_umbrella (umbrella-health)" in plan_text(plan)
    assert "`cus_umbrella (umbrella-health)`" in plan_markdown(plan)
    doc = plan.to_json()
    assert doc["customer_identifiers"] == {"cus_umbrella": "umbrella-health"}
    assert doc["actions"][0]["customer_id"] == "cus_umbrella"
    assert Plan.from_json(doc).customer_identifiers == {"cus_umbrella": "umbrella-health"}


def test_both_forms_give_the_same_body_key_and_digest(world: World, tmp_path: Path) -> None:
    """By identifier or by customer_id, an entry is the same create: same body, same
    idempotency key, same approval digest."""
    by_identifier = world.plan(world.write(credit("pilot", BY_IDENTIFIER), name="a.yaml"))
    by_id = world.plan(world.write(credit("pilot", BY_ID), name="b.yaml"))
    assert by_identifier.creates[0].request == by_id.creates[0].request
    assert by_identifier.approval_digest == by_id.approval_digest


@pytest.mark.parametrize(("first", "then"), [(BY_ID, BY_IDENTIFIER), (BY_IDENTIFIER, BY_ID)])
def test_switching_forms_after_apply_is_clean_and_sends_nothing(
    world: World, first: str, then: str
) -> None:
    """Applied in one form and switched to the other, the plan is clean and apply sends no
    create: switching never issues money twice."""
    path = world.write(credit("pilot", first))
    assert not apply_plan(world.client, world.plan(path)).failed
    assert world.recorder.creates == 1
    world.write(credit("pilot", then))
    again, entries = plan_for_apply(
        world.client, company_id=world.box.company_id, api_url="sandbox", desired=load_scope([path])
    )
    assert [a.action for a in again.actions] == [ActionType.UNCHANGED]
    apply_plan(world.client, again, desired=entries)
    assert world.recorder.creates == 1


def test_an_unknown_identifier_stops_the_plan_at_its_line_before_any_create(
    world: World,
) -> None:
    """An identifier no customer has: file, line and field, what to do, and no create sent."""
    path = world.write(
        credit("fine", BY_ID),
        credit("typo", "customer: {identifier: umbrella-heath}"),
    )
    with pytest.raises(ManifestError) as info:
        plan_for_apply(
            world.client,
            company_id=world.box.company_id,
            api_url="sandbox",
            desired=load_scope([path]),
        )
    (problem,) = info.value.diagnostics
    assert (problem.file, problem.line, problem.field) == (
        str(path),
        16,
        "spec.customer.identifier",
    )
    assert problem.message == "no customer has the identifier 'umbrella-heath' in this company"
    assert problem.hint and "customer_id" in problem.hint
    assert info.value.exit_code == 1 and world.recorder.creates == 0


def test_an_identifier_equal_to_another_customers_id_is_not_that_customer(world: World) -> None:
    """GET /customers/cus_acme answers cus_acme (ids win); its identifier is acme, so maplectl
    asks find and takes cus_twin, whose identifier is cus_acme. An id alone never resolves."""
    plan = world.plan(world.write(credit("twin", "customer: {identifier: cus_acme}")))
    assert plan.creates[0].customer_id == "cus_twin"
    assert plan.creates[0].body["customer_id"] == "cus_twin"

    with pytest.raises(ManifestError) as info:
        world.plan(world.write(credit("g", "customer: {identifier: cus_globex}"), name="g.yaml"))
    (problem,) = info.value.diagnostics
    assert problem.message == (
        "no customer has the identifier 'cus_globex'; it is the Maple id of customer "
        "cus_globex, whose identifier is 'globex'"
    )
    assert (
        problem.hint == "to mean that customer, write customer_id: cus_globex instead of customer"
    )


def test_each_identifier_is_asked_once_per_run(world: World) -> None:
    """Six entries naming two customers by identifier (and one by id): one GET and one
    /customers/find (is the identifier one customer's?) per distinct identifier, none for the
    customers it found, and no other customer request."""
    path = world.write(
        *[credit(f"u{i}", BY_IDENTIFIER, 100 + i) for i in range(3)],
        *[credit(f"a{i}", "customer: {identifier: acme}", 200 + i) for i in range(3)],
        credit("g", "customer_id: cus_globex"),
    )
    world.recorder.calls.clear()
    plan = world.plan(path)
    assert len(plan.creates) == 7
    assert sorted(world.customer_gets()) == [
        "GET /api/v1/companies/cmp_demo/customers/acme",
        "GET /api/v1/companies/cmp_demo/customers/cus_globex",  # nothing yet: does it exist?
        "GET /api/v1/companies/cmp_demo/customers/umbrella-health",
    ]
    finds = [c for c in world.recorder.calls if "/customers/find" in c]
    assert finds == ["POST /api/v1/companies/cmp_demo/customers/find"] * 2


def test_look_alike_credits_by_id_and_by_identifier_clash_at_plan_time(world: World) -> None:
    """Validation cannot know that acme is cus_acme; the plan, once it resolved it, refuses
    two credits of one customer with look-alike names (and with one name)."""
    path = world.write(
        credit("by-id", "customer_id: cus_acme", title="Goodwill Q4"),
        credit("by-identifier", "customer: {identifier: acme}", title="goodwill  q4"),
    )
    assert validate_paths([path])[1] == []
    with pytest.raises(ManifestError) as info:
        world.plan(path)
    (problem,) = info.value.diagnostics
    assert (problem.address, problem.field) == ("Credit/by-identifier", "spec.name")
    assert "looks like 'Goodwill Q4', another credit of the same customer" in problem.message

    world.write(
        credit("by-id", "customer_id: cus_acme", title="Goodwill Q4"),
        credit("by-identifier", "customer: {identifier: acme}", title="Goodwill Q4"),
    )
    with pytest.raises(ManifestError, match="cus_acme already has a credit named 'Goodwill Q4'"):
        world.plan(path)


def test_a_per_customer_limit_counts_both_forms_as_one_customer(world: World) -> None:
    """max_per_customer adds a credit by id and one by identifier of the same customer."""
    path = world.write(credit("by-id", BY_ID, 60000), credit("by-identifier", BY_IDENTIFIER, 60000))
    policy = Policy.from_config({"max_per_customer": {"level": "hard", "amounts": {"USD": 100000}}})
    plan = world.plan(path, policy=policy)
    (violation,) = plan.violations
    assert violation.rule is RuleName.MAX_PER_CUSTOMER
    assert (violation.customer_id, violation.actual.value_in_cents) == ("cus_umbrella", 120000)  # type: ignore[union-attr]
    assert "cus_umbrella (umbrella-health) gets USD 1,200.00 in this run" in plan_text(plan)


@pytest.mark.parametrize("named", ["cus_umbrella", "umbrella-health"])
def test_customer_filter_takes_the_id_or_an_identifier_a_manifest_gives(
    world: World, named: str
) -> None:
    """--customer cus_umbrella and --customer umbrella-health both select every manifest of
    that customer, however each names it, and nothing else."""
    path = world.write(
        credit("by-id", BY_ID, 100),
        credit("by-identifier", BY_IDENTIFIER, 200),
        credit("other", "customer: {identifier: acme}", 300),
        credit("nobody", "customer: {identifier: nobody}", 400),  # out of scope: no error
    )
    plan = world.plan(path, customers=[named])
    assert plan.customers == ("cus_umbrella",)
    assert sorted(a.address for a in plan.actions) == ["Credit/by-id", "Credit/by-identifier"]
    assert plan.customer_filter == (named,)
