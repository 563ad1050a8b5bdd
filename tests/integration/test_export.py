"""``export`` through the real client against an in-process sandbox: what it writes, what it
refuses, and that the result plans clean (the CLI end to end is tests/e2e/test_export_cli.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from helpers.adoption import World, seed_world
from helpers.maple import Maple

from maplectl import workflow
from maplectl.errors import UsageError
from maplectl.manifests.loader import validate_paths
from maplectl.maple.reader import Collection, Page, RequestCounter, stream_customers
from maplectl.model import Kind
from maplectl.plan.records import Desired


@pytest.fixture
def world(maple: Maple) -> World:
    def revoke(credit_id: str) -> None:
        answer = maple.http.delete(f"/api/v1/companies/cmp_demo/credits/{credit_id}")
        assert answer.status_code == 200, answer.text

    return seed_world(
        lambda method, path, body: maple.control(method, path, body),
        revoke,
        company="cmp_demo",
        token=maple.box.token,
        credits=120,
        charges=24,
        extra_customers=3,
    )


def export(maple: Maple, out: Path, **options: Any) -> workflow.ExportResult:
    return workflow.export_manifests(maple.client, out, company_id="cmp_demo", **options)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))}


def plan_counts(maple: Maple, folder: Path) -> dict[str, int]:
    resources, problems = validate_paths([folder])
    assert problems == []
    plan = maple.plan([Desired.from_resource(r) for r in resources])
    return {**plan.counts(), "unmanaged": len(plan.unmanaged)}


def test_export_plans_clean_and_is_byte_identical_twice(
    maple: Maple, world: World, tmp_path: Path
) -> None:
    """Every object is adopted unchanged, and a second export writes the same bytes."""
    first = export(maple, tmp_path / "a")
    assert first.documents == {Kind.CREDIT: world.credits, Kind.ONE_TIME_CHARGE: world.billables}
    assert first.skipped == () and first.customers == len(world.customers)
    counts = plan_counts(maple, tmp_path / "a")
    assert counts["unchanged"] == world.credits + world.billables
    assert counts.get("create", 0) == counts.get("drift", 0) == counts["unmanaged"] == 0
    export(maple, tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    export(maple, tmp_path / "a", force=True)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_kind_and_customer_narrow_the_export(maple: Maple, world: World, tmp_path: Path) -> None:
    """--kind writes one folder; --customer writes that customer's files only."""
    credits_only = export(maple, tmp_path / "k", kinds=[Kind.CREDIT])
    assert credits_only.documents == {Kind.CREDIT: world.credits}
    assert {p.parent.name for p in (tmp_path / "k").rglob("*.yaml")} == {"credits"}
    result = export(maple, tmp_path / "c", customers=["cus_globex", "cus_globex"])
    assert result.customers == 1
    assert sorted(str(p.relative_to(tmp_path / "c")) for p in (tmp_path / "c").rglob("*")) == [
        "charges",
        "charges/cus_globex.yaml",
        "credits",
        "credits/cus_globex.yaml",
    ]
    assert (
        tree(tmp_path / "c")["credits/cus_globex.yaml"]
        == (tree(tmp_path / "k")["credits/cus_globex.yaml"])
    )


def test_an_unknown_customer_is_refused_before_writing(maple: Maple, tmp_path: Path) -> None:
    """A typo: exit 1, nothing written."""
    with pytest.raises(UsageError, match="--customer cus_nobody: no such customer"):
        export(maple, tmp_path / "out", customers=["cus_acme", "cus_nobody"])
    assert not (tmp_path / "out").exists()


def test_a_customer_is_taken_by_its_identifier_too(
    maple: Maple, world: World, tmp_path: Path
) -> None:
    """`--customer globex` (cus_globex's identifier) exports cus_globex's files, byte for byte
    what `--customer cus_globex` writes; an identifier and its customer's id given together
    are one customer; existing files of the customer it names are refused without --force."""
    by_id = export(maple, tmp_path / "id", customers=["cus_globex"])
    by_identifier = export(maple, tmp_path / "identifier", customers=["globex", "cus_globex"])
    assert by_identifier.customers == by_id.customers == 1
    assert tree(tmp_path / "identifier") == tree(tmp_path / "id")
    with pytest.raises(UsageError, match=r"credits/cus_globex\.yaml .*already exist"):
        export(maple, tmp_path / "id", customers=["globex"])


def test_an_identifier_two_customers_share_is_refused(maple: Maple, tmp_path: Path) -> None:
    """maplectl never chooses between two customers sharing an identifier: export names both
    and writes nothing."""
    twins = [
        {"id": f"cus_twin_{n}", "identifier": "twin-co", "name": f"Twin {n}", "email": ""}
        for n in (1, 2)
    ]
    maple.control(
        "POST",
        "seed",
        {
            "companies": [
                {"id": "cmp_demo", "name": "Demo", "token": maple.box.token, "customers": twins}
            ]
        },
    )
    with pytest.raises(UsageError, match=r"--customer twin-co: .*cus_twin_1.*cus_twin_2"):
        export(maple, tmp_path / "out", customers=["twin-co"])
    assert not (tmp_path / "out").exists()


def test_existing_files_are_refused_unless_forced(
    maple: Maple, world: World, tmp_path: Path
) -> None:
    """Without --force nothing is written over a previous export, and nothing is read but the
    customers --customer names (looked up first: an identifier decides which files export
    would write); --customer checks only its own files, so customers can be added one by one."""
    out = tmp_path / "out"
    export(maple, out, customers=["cus_acme"])
    before = tree(out)
    maple.control("DELETE", "counters")
    with pytest.raises(
        UsageError, match=r"credits/cus_acme\.yaml and \S+/charges/cus_acme\.yaml already exist;"
    ):
        export(maple, out, customers=["cus_acme"])
    with pytest.raises(UsageError, match="already exist"):
        export(maple, out)
    assert tree(out) == before
    assert set(maple.counters()) <= {"GET /customers/{customer_id}", "POST /customers/find"}
    export(maple, out, customers=["cus_globex"])
    assert "credits/cus_globex.yaml" in tree(out)
    export(maple, out, force=True)
    assert len(tree(out)) > len(before)


def test_a_failed_write_leaves_no_half_file(
    maple: Maple, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file appears whole (temporary file, then rename) or not at all."""
    renames: list[str] = []
    real = workflow.os.replace

    def replace_then_fail(source: Any, target: Any) -> None:
        if len(renames) == 2:
            raise OSError("disk full")
        renames.append(str(target))
        real(source, target)

    monkeypatch.setattr(workflow.os, "replace", replace_then_fail)
    with pytest.raises(OSError, match="disk full"):
        export(maple, tmp_path / "out")
    written = sorted(str(p) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == sorted(renames)  # no temporary file left behind, no partial file
    _, problems = validate_paths([tmp_path / "out"])
    assert problems == []


def test_a_company_without_charges_costs_no_charge_reads(maple: Maple, tmp_path: Path) -> None:
    """One company-wide count per kind first: an empty collection is not read per customer."""
    maple.control("DELETE", "counters")
    result = export(maple, tmp_path / "out")
    assert result.customers == 5 and result.files == 0
    routes = maple.counters()
    assert routes["POST /one_times/find"] == 1 and routes["POST /credits/find"] == 1


class Slow:
    """A reader of 30 customers with one credit each that records which customers were asked
    for, so a test can see how far reading runs ahead of the consumer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.asked: list[str] = []

    def find_page(self, collection: Collection, query: Any, **_: Any) -> Page:
        customer = query["customer_id"]
        with self.lock:
            self.asked.append(customer)
        row = {"id": f"crd_{customer}", "customer_id": customer}
        return Page(results=[row], next_key=None)

    def get_customer(self, customer_id: str) -> dict[str, Any]:
        raise AssertionError("not used")


def test_reading_runs_at_most_parallelism_customers_ahead() -> None:
    """Streaming: when customer k is handed out, at most k + 1 + parallelism were read, so
    memory holds a few customers' objects whatever the company's size."""
    reader = Slow()
    customers = [f"cus_{n:02d}" for n in range(30)]
    seen = []
    for index, (customer, rows) in enumerate(
        stream_customers(
            reader,  # type: ignore[arg-type]
            customers,
            [Collection.CREDITS],
            lambda collection, row: row["id"],
            parallelism=3,
            counter=RequestCounter(None),
        )
    ):
        with reader.lock:
            assert len(reader.asked) <= index + 1 + 3
        seen.append((customer, rows[Collection.CREDITS]))
    assert seen == [(c, [f"crd_{c}"]) for c in customers]
