"""Export's pure half (maplectl/manifests/export.py): Maple rows -> manifest text that loads,
validates and plans as unchanged."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from helpers.planning import NOW
from hypothesis import given, settings
from hypothesis import strategies as st

from maplectl.manifests import export
from maplectl.manifests.export import (
    Compact,
    compact,
    customer_file,
    customer_stem,
    scalar,
    unique_name,
)
from maplectl.manifests.loader import validate_paths
from maplectl.maple.reader import Observed
from maplectl.model import Kind
from maplectl.plan.builder import build_plan
from maplectl.plan.records import Desired

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def credit_row(id_: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": id_,
        "customer_id": "cus_acme",
        "name": "Goodwill credit",
        "type": "AMOUNT",
        "state": "ACTIVE",
        "issued_amount": {"currency": "USD", "value_in_cents": 5000},
        "amount": {"currency": "USD", "value_in_cents": 5000},
        "item_id": None,
        "subscription_id": None,
        "expiration_date": None,
        "created_at": "2026-01-01T00:00:00.000000Z",
    }
    row.update(over)
    return row


def billable_row(id_: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": id_,
        "customer_id": "cus_acme",
        "name": "Training day",
        "type": "NEXT_INVOICE",
        "state": "PENDING",
        "aggregate": 3,
        "custom_price": None,
        "product_pricing_id": "pp_training_day",
        "quantity_config": None,
        "created_at": "2026-01-01T00:00:00.000000Z",
    }
    row.update(over)
    return row


def exported(kind: Kind, rows: list[dict[str, Any]], customer: str = "cus_acme") -> Any:
    return customer_file("cmp_demo", customer, kind, [compact(kind, r) for r in rows])


def load(tmp_path: Path, *texts: str) -> tuple[list[Desired], list[str]]:
    """Write ``texts`` as files and load them as ``validate`` does; the entries and problems."""
    paths = []
    for number, text in enumerate(texts):
        path = tmp_path / f"f{number}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    resources, problems = validate_paths(paths)
    return [Desired.from_resource(r) for r in resources], [str(p) for p in problems]


def plan_actions(
    desired: list[Desired], credits: list[dict[str, Any]], charges: list[dict[str, Any]] = ()
) -> dict[str, str]:
    observed = Observed(
        customers=frozenset({"cus_acme"} | {d.customer_id for d in desired}),
        credits=tuple(credits),
        charges=tuple(charges),
    )
    plan = build_plan(desired, observed, company_id="cmp_demo", api_url="https://x.test", now=NOW)
    assert plan.unmanaged == ()
    return {a.address: a.action.value for a in plan.actions}


def test_a_used_up_expired_credit_is_exported_as_the_grant_it_was(tmp_path: Path) -> None:
    """Issued amount (not the balance 0), past expiry, subscription and item: plans unchanged."""
    row = credit_row(
        "crd_01",
        state="EXPIRED",
        amount={"currency": "USD", "value_in_cents": 0},
        subscription_id="sub_acme_pro",
        item_id="itm_seats",
        expiration_date="2020-06-30T23:59:59.000000Z",
    )
    units = credit_row(
        "crd_02",
        type="UNITS",
        state="CONSUMED",
        issued_units=1000.0,
        units=0,
        item_id="itm_api_calls",
        issued_amount=None,
        amount=None,
    )
    made = exported(Kind.CREDIT, [row, units])
    (text,) = made.parts
    assert "amount: {currency: USD, value_in_cents: 5000}" in text
    assert 'expiration_date: "2020-06-30T23:59:59Z"' in text
    assert "subscription_id: sub_acme_pro" in text and "item_id: itm_seats" in text
    assert "units: 1000\n" in text and "remote_id: crd_02" in text
    desired, problems = load(tmp_path, text)
    assert problems == []
    assert plan_actions(desired, [row, units]) == {
        "Credit/cus_acme.goodwill-credit": "unchanged",
        "Credit/cus_acme.goodwill-credit-2": "unchanged",
    }


def test_billables_become_one_charge_each_priced_as_the_row_is(tmp_path: Path) -> None:
    """A catalog-priced and a custom-priced billable (of either type) plan as unchanged."""
    catalog = billable_row("otb_01")
    custom = billable_row(
        "otb_02",
        name="SSO workshop",
        type="IMMEDIATE",
        state="INVOICED",
        aggregate=2,
        product_pricing_id=None,
        custom_price={
            "amount": {"currency": "USD", "value_in_cents": 180000},
            "description": "SSO workshop",
            "product_id": "prod_services",
        },
        quantity_config={"allow_custom_quantity": False, "min_quantity": 1, "max_quantity": 5},
    )
    (text,) = exported(Kind.ONE_TIME_CHARGE, [custom, catalog]).parts
    assert text.index("remote_id: otb_01") < text.index("remote_id: otb_02")  # id breaks the tie
    assert "    - product_pricing_id: pp_training_day\n      aggregate: 3\n" in text
    assert "        amount: {currency: USD, value_in_cents: 180000}\n" in text
    assert "quantity_config: {allow_custom_quantity: false, min_quantity: 1, max_quantity: 5}" in (
        text
    )
    desired, problems = load(tmp_path, text)
    assert problems == []
    assert plan_actions(desired, [], [catalog, custom]) == {
        "OneTimeCharge/cus_acme.training-day": "unchanged",
        "OneTimeCharge/cus_acme.sso-workshop": "unchanged",
    }


def test_maple_duplicates_and_look_alikes_export_to_manifests_that_plan_clean(
    tmp_path: Path,
) -> None:
    """Two credits with one name, look-alike names, two billables of one pricing: every one is
    its own pinned manifest, the set validates, and nothing is created or ambiguous."""
    credits = [
        credit_row("crd_01", name="Goodwill"),
        credit_row("crd_02", name="Goodwill"),
        credit_row("crd_03", name="goodwill "),
        credit_row("crd_04", name="Goodwill\u200b"),
    ]
    charges = [billable_row("otb_01"), billable_row("otb_02")]
    (credit_text,) = exported(Kind.CREDIT, credits).parts
    (charge_text,) = exported(Kind.ONE_TIME_CHARGE, charges).parts
    desired, problems = load(tmp_path, credit_text, charge_text)
    assert problems == []
    actions = plan_actions(desired, credits, charges)
    assert set(actions.values()) == {"unchanged"} and len(actions) == 6
    assert sorted(actions)[:4] == [
        "Credit/cus_acme.goodwill",
        "Credit/cus_acme.goodwill-2",
        "Credit/cus_acme.goodwill-3",
        "Credit/cus_acme.goodwill-4",
    ]


def test_names_follow_creation_order_and_stay_stable_as_objects_are_added() -> None:
    """Oldest first, then by id; a later object never renames an earlier one."""
    older = credit_row("crd_b", created_at="2026-01-01T00:00:00.000000Z")
    newer = credit_row("crd_a", created_at="2026-02-01T00:00:00.000000Z")
    first = exported(Kind.CREDIT, [newer, older]).parts[0]
    assert first.index("remote_id: crd_b") < first.index("remote_id: crd_a")
    assert "name: cus_acme.goodwill-credit\n  remote_id: crd_b" in first
    later = credit_row("crd_0", created_at="2026-03-01T00:00:00.000000Z")
    again = exported(Kind.CREDIT, [later, newer, older]).parts[0]
    assert again.startswith(first) and again != first


@pytest.mark.parametrize(
    ("customer", "stem"),
    [
        ("cus_acme", "cus_acme"),
        ("cus_ACME", "cus_acme-"),
        ("cus_acme.eu", "cus_acme-eu-"),
        ("Cus/../x", "cus-x-"),
        ("cus_" + "a" * 40, "cus_" + "a" * 19 + "-"),
        ("ü", ""),
    ],
)
def test_customer_stems_are_names_and_file_names(customer: str, stem: str) -> None:
    """A valid lower-case id is its own stem; any other id gets a hash; never a dot or a slash."""
    made = customer_stem(customer)
    assert made.startswith(stem) and NAME.fullmatch(made) and "." not in made
    assert len(made) <= 32 and (made == customer or re.search(r"[0-9a-f]{8}$", made))


def test_ids_differing_only_in_case_get_different_files() -> None:
    """cus_abc and cus_ABC are two customers, also on a case-insensitive file system."""
    stems = {customer_stem(c).lower() for c in ("cus_abc", "cus_ABC", "cus_Abc", "cus-abc")}
    assert len(stems) == 4


@given(
    titles=st.lists(st.text(max_size=80), min_size=1, max_size=30),
    customer=st.sampled_from(["cus_acme", "cus_" + "x" * 32, "CUS.ü", "a"]),
)
@settings(max_examples=60, deadline=None)
def test_names_are_valid_and_unique_whatever_the_titles(titles: list[str], customer: str) -> None:
    """Within 63 characters of a-z 0-9 . _ -, unique, and always starting with the customer."""
    used: set[str] = set()
    stem = customer_stem(customer)
    names = [unique_name(stem, title, "credit", used) for title in titles]
    assert len(set(names)) == len(names)
    assert all(NAME.fullmatch(n) and n.startswith(stem + ".") for n in names)


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60))
@settings(max_examples=150, deadline=None)
def test_any_name_reads_back_exactly_through_the_strict_loader(value: str) -> None:
    """Quoting and escapes: a credit named with any text validates and loads back with that
    very name, through the loader ``validate`` uses."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.yaml"
        text = exported(Kind.CREDIT, [credit_row("crd_01", name=value)]).parts[0]
        path.write_text(text, encoding="utf-8")
        resources, problems = validate_paths([path])
    assert problems == [] and resources[0].spec["name"] == value


@pytest.mark.parametrize("word", ["yes", "No", "on", "OFF", "null", "true", "y", "NaN"])
def test_words_yaml_would_read_as_something_else_are_quoted(word: str) -> None:
    """YAML 1.1 reads yes/no/on/off/null as booleans or nothing: such text is quoted."""
    assert scalar(word) == f'"{word}"'
    assert scalar("Goodwill credit Q4 2026") == "Goodwill credit Q4 2026"


def test_invisible_characters_are_escaped_for_the_reviewer() -> None:
    """A zero-width space, a no-break space or a line separator shows as an escape."""
    assert scalar("Goodwill\u200b") == '"Goodwill\\u200B"'
    assert scalar("a\u00a0b\u2028") == '"a\\xA0b\\u2028"'
    assert scalar("Café") == '"Café"'


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (credit_row("crd_x", type="UNITS", issued_units=1.5, item_id="i"), "whole numbers only"),
        (credit_row("crd_x", type="PERCENT"), "neither AMOUNT nor UNITS"),
        (credit_row("crd_x", name="x" * 256), "spec.name"),
        (credit_row("crd_x", name=""), "spec.name"),
        (credit_row("crd_x", issued_amount={"currency": "XYZ", "value_in_cents": 1}), "XYZ"),
        (credit_row("crd_x", name="bad \ud800"), "lone surrogate"),
        (credit_row("crd_x", expiration_date="soon"), "expiration_date"),
    ],
)
def test_objects_no_manifest_can_hold_are_skipped_with_the_reason(
    row: dict[str, Any], reason: str
) -> None:
    """What would not validate is left out (it stays unmanaged), and says why."""
    made = exported(Kind.CREDIT, [row, credit_row("crd_ok")])
    assert made.documents == 1 and "remote_id: crd_ok" in made.parts[0]
    (skipped,) = made.skipped
    assert skipped.remote_id == "crd_x" and reason in skipped.reason


def test_a_billable_without_a_price_or_with_a_fractional_quantity_is_skipped() -> None:
    """Maple may hold quantities a manifest cannot write."""
    made = exported(
        Kind.ONE_TIME_CHARGE,
        [billable_row("otb_1", product_pricing_id=None), billable_row("otb_2", aggregate=2.5)],
    )
    assert made.parts == () and [s.remote_id for s in made.skipped] == ["otb_1", "otb_2"]


def test_a_large_customer_is_split_into_parts_below_the_loader_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Beyond the part size a customer's file continues in <stem>+2.yaml; each part loads."""
    monkeypatch.setattr(export, "MAX_PART_BYTES", 2000)
    rows = [credit_row(f"crd_{n:03d}", name=f"Credit {n}") for n in range(20)]
    made = exported(Kind.CREDIT, rows)
    assert len(made.parts) > 2 and made.file_names()[:2] == ["cus_acme.yaml", "cus_acme+2.yaml"]
    assert all(len(p.encode()) <= 2000 for p in made.parts)
    desired, problems = load(tmp_path, *made.parts)
    assert problems == [] and len(desired) == 20


def test_compact_keeps_what_export_needs_only() -> None:
    """A page of full rows (nested items, pricings) is dropped as it is read."""
    row = credit_row("crd_01", item={"id": "itm", "name": "big nested object"})
    kept = compact(Kind.CREDIT, row)
    assert isinstance(kept, Compact) and kept.spec is not None and "item" not in kept.spec
