"""The checks, rewritten for speed, give the answers the plain ones gave.

``document_problems`` runs plain loops instead of generators; ``problems_across`` reads each
document once for names used twice and for look-alikes; ``clashes`` keeps only the traits it
compares and each ``created_after`` instant once. The plain versions they replaced are written
out here and compared with them on random documents, broken ones included. Resources are built
with positional arguments, so a test checks that every metadata field lands in its own place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from maplectl.currency import ISO_4217, is_currency
from maplectl.errors import Diagnostic
from maplectl.manifests import rules
from maplectl.manifests.documents import (
    LocatedDocument,
    _customer_of,
    _pinned,
    _where,
    problems_across,
)
from maplectl.manifests.loader import load_manifests
from maplectl.manifests.messages import Problem, did_you_mean
from maplectl.model import Kind, Metadata, SourceLocation
from maplectl.plan import identity
from maplectl.plan.identity import Clash, Entry, charge_traits, instant_text, name_key

# -- the plain versions --------------------------------------------------------------------------


def plain_clashes(entries: Sequence[Entry]) -> Iterator[Clash]:
    pins: dict[tuple[Kind, str], int] = {}
    names: dict[tuple[str, str], int] = {}
    traits: dict[tuple[Any, ...], int] = {}
    for index, entry in enumerate(entries):
        if entry.remote_id is not None:
            first = pins.setdefault((entry.kind, entry.remote_id), index)
            if first != index:
                yield Clash(
                    index,
                    first,
                    "metadata.remote_id",
                    f"pins {entry.remote_id}, which another entry pins too",
                    exact=True,
                )
                continue
        both = identity._both_pinned
        if entry.kind is Kind.CREDIT:
            key = name_key(entry.spec.get("name"))
            first = names.setdefault((entry.customer_id, key), index)
            other = entries[first]
            if first == index or both(entry, other):
                continue
            if other.spec.get("name") == entry.spec.get("name"):
                yield Clash(
                    index,
                    first,
                    "spec.name",
                    f"{entry.customer_id} already has a credit named {entry.spec.get('name')!r}",
                    exact=True,
                )
            elif not (entry.allow_duplicate or other.allow_duplicate):
                yield Clash(
                    index,
                    first,
                    "spec.name",
                    f"{entry.spec.get('name')!r} looks like {other.spec.get('name')!r}, "
                    "another credit of the same customer",
                )
            continue
        if entry.allow_duplicate:
            continue
        group = (entry.customer_id, entry.spec.get("type"), instant_text(entry.created_after))
        found = None
        shared = (t for t in charge_traits(entry.spec) if t[0] != "amount")
        for trait in sorted(shared, key=repr):
            first = traits.setdefault((*group, trait), index)
            if first != index and found is None and not both(entry, entries[first]):
                found = Clash(
                    index,
                    first,
                    "spec.onetime_items",
                    f"shares {identity._trait_text(trait)} with another charge of the same "
                    "customer and type",
                )
        if found is not None:
            yield found


def plain_uniqueness(docs: Sequence[LocatedDocument]) -> Iterator[tuple[Any, Diagnostic]]:
    names: dict[tuple[str, str], LocatedDocument] = {}
    credits: dict[tuple[str, str], LocatedDocument] = {}
    for doc in docs:
        value = doc.value
        if not isinstance(value, dict) or value.get("kind") not in ("Credit", "OneTimeCharge"):
            continue
        kind = value["kind"]
        meta, spec = value.get("metadata"), value.get("spec")
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(name, str):
            first = names.setdefault((kind, name), doc)
            if first is not doc:
                message = (
                    f'"{name}" is already the name of the {kind} at '
                    f"{_where(first, 'metadata.name')}"
                )
                hint = f"names are addresses; give each {kind} its own name"
                yield doc, doc.diagnostic(Problem("metadata.name", message, hint))
        if kind != Kind.CREDIT or not isinstance(spec, dict):
            continue
        customer, title = _customer_of(spec), spec.get("name")
        if customer is not None and isinstance(title, str):
            first = credits.setdefault((customer[0], title), doc)
            if first is not doc and not (_pinned(doc) and _pinned(first)):
                message = (
                    f'{customer[1]} already has a credit named "{title}": '
                    f"{first.address()} at {_where(first, 'spec.name')}"
                )
                hint = "maplectl tells credits apart by customer and name; give each its own name"
                yield doc, doc.diagnostic(Problem("spec.name", message, hint))


def plain_entry(doc: LocatedDocument) -> Entry | None:
    value = doc.value
    if not isinstance(value, dict) or value.get("kind") not in ("Credit", "OneTimeCharge"):
        return None
    meta, spec = value.get("metadata"), value.get("spec")
    if not isinstance(meta, dict) or not isinstance(spec, dict):
        return None
    customer, remote_id = _customer_of(spec), meta.get("remote_id")
    after = meta.get("created_after")
    if customer is None:
        return None
    return Entry(
        kind=Kind(value["kind"]),
        customer_id=customer[0],
        spec=spec,
        remote_id=remote_id if isinstance(remote_id, str) else None,
        allow_duplicate=meta.get("allow_duplicate") is True,
        created_after=after if isinstance(after, str) else None,
    )


def plain_across(docs: Sequence[LocatedDocument]) -> list[tuple[Any, Diagnostic]]:
    out = list(plain_uniqueness(docs))
    located = [(doc, entry) for doc in docs if (entry := plain_entry(doc)) is not None]
    for clash in plain_clashes([entry for _, entry in located]):
        if clash.exact and clash.field == "spec.name":
            continue
        doc, other = located[clash.later][0], located[clash.earlier][0]
        hint = (
            "an object belongs to one manifest: remove one of the pins"
            if clash.exact
            else "if both are wanted, set metadata.allow_duplicate: true on one; else "
            "delete or rename one"
        )
        message = f"{clash.reason}: {other.address()} at {_where(other, clash.field)}"
        out.append((doc, doc.diagnostic(Problem(clash.field, message, hint))))
    return out


# -- random groups of documents ------------------------------------------------------------------

TITLES = ["Goodwill", "goodwill ", "GOODWILL", "Good will", "Café", "Cafe\u0301", ""]
WHEN = ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00", "2026-02-01T00:00:00Z", "soon"]
item = st.fixed_dictionaries(
    {},
    optional={
        "product_pricing_id": st.sampled_from(["pp_a", "pp_b", "pp_a", 7]),
        "custom_price": st.fixed_dictionaries(
            {},
            optional={
                "description": st.sampled_from(["Workshop", "workshop", "Setup", "", None]),
                "amount": st.sampled_from([{"currency": "USD", "value_in_cents": 100}, None]),
            },
        )
        | st.none(),
    },
) | st.sampled_from([None, "item"])
# Items that meet: a pricing or a described price, often the same.
shared_item = st.fixed_dictionaries(
    {"product_pricing_id": st.sampled_from(["pp_a", "pp_b"])},
    optional={
        "custom_price": st.fixed_dictionaries(
            {"description": st.sampled_from(["Workshop", "workshop "])}
        )
    },
)
broken_spec = st.fixed_dictionaries(
    {},
    optional={
        "customer_id": st.sampled_from(["cus_a", "cus_b", 3]),
        "customer": st.sampled_from([{"identifier": "acme"}, {"identifier": 1}, "acme"]),
        "name": st.sampled_from([*TITLES, None]),
        "type": st.sampled_from(["AMOUNT", "NEXT_INVOICE", "IMMEDIATE"]),
        "onetime_items": st.lists(item, max_size=3) | st.just("items"),
    },
) | st.sampled_from([None, [], "spec"])
# Mostly one customer and one type, so that names, pins and items meet.
spec = st.fixed_dictionaries(
    {
        "customer_id": st.sampled_from(["cus_a", "cus_a", "cus_b"]),
        "name": st.sampled_from(TITLES),
        "type": st.sampled_from(["NEXT_INVOICE", "NEXT_INVOICE", "NEXT_INVOICE", "IMMEDIATE"]),
        "onetime_items": st.lists(
            st.one_of(shared_item, shared_item, item), min_size=1, max_size=3
        ),
    }
)
metadata = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "c", "d"]),
        "remote_id": st.sampled_from([None, None, None, None, "crd_1", "crd_2", "otc_1", 9]),
        "allow_duplicate": st.sampled_from([None, None, None, True, False, "yes"]),
        "created_after": st.sampled_from([None, *WHEN[:2], *WHEN[:2], *WHEN[2:]]),
    },
)
broken_metadata = metadata | st.fixed_dictionaries({"name": st.just(5)}) | st.just("meta")
well_formed = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["Credit", "OneTimeCharge", "OneTimeCharge", "Coupon"]),
        "metadata": metadata,
        "spec": spec,
    }
)
broken = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["Credit", "OneTimeCharge"]),
        "metadata": broken_metadata,
        "spec": broken_spec,
    }
)
document = st.one_of(
    well_formed, well_formed, well_formed, broken, st.sampled_from([None, "text", ["list"]])
)


@settings(max_examples=300, deadline=None)
@given(st.lists(document, min_size=4, max_size=14))
def test_problems_across_says_what_the_plain_checks_said(values: list[Any]) -> None:
    """On random groups of documents (look-alike names and items, shared pins, equal instants
    written two ways, broken metadata and specs), the one-pass checks give the same
    diagnostics, for the same documents, in the same order, as the plain ones."""
    fields = ("metadata", "metadata.name", "metadata.remote_id", "spec", "spec.name")
    docs = [
        LocatedDocument(
            f"f{i % 3}.yaml", (i + 1, 1), value, {f: (i + 1, n + 2) for n, f in enumerate(fields)}
        )
        for i, value in enumerate(values)
    ]
    fast = [(id(doc), diagnostic) for doc, diagnostic in problems_across(docs)]
    plain = [(id(doc), diagnostic) for doc, diagnostic in plain_across(docs)]
    assert fast == plain


@given(st.fixed_dictionaries({"onetime_items": st.lists(item, max_size=4) | st.just("x")}))
def test_clashes_compare_the_traits_charge_traits_names_but_amounts(body: dict[str, Any]) -> None:
    """The traits clashes compares are charge_traits without the amounts, exactly."""
    expected = {t for t in charge_traits(body) if t[0] != "amount"}
    assert identity._lasting_traits(body) == expected


def test_every_metadata_field_lands_in_its_place(tmp_path: Path) -> None:
    """Each metadata field of a loaded document is the Metadata field of the same name, and
    kind, spec and source are the Resource's own (Resources are built positionally)."""
    (tmp_path / "a.yaml").write_text(
        """apiVersion: maplectl/v1
kind: OneTimeCharge
metadata:
  name: fee
  remote_id: otc_1
  allow_duplicate: true
  created_after: "2026-01-01T00:00:00Z"
  labels: {z: last, a: first}
  description: why
spec:
  customer_id: cus_a
  type: NEXT_INVOICE
  onetime_items: [{product_pricing_id: pp_a, aggregate: 1}]
---
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: gone
  revoke: true
spec:
  customer_id: cus_a
  name: Goodwill
  type: AMOUNT
  amount: {currency: USD, value_in_cents: 100}
""",
        encoding="utf-8",
    )
    credit, charge = load_manifests([tmp_path / "a.yaml"])
    assert charge.metadata == Metadata(
        name="fee",
        remote_id="otc_1",
        allow_duplicate=True,
        created_after="2026-01-01T00:00:00Z",
        revoke=False,
        labels=(("a", "first"), ("z", "last")),
        description="why",
    )
    assert credit.metadata == Metadata(name="gone", revoke=True)
    assert (charge.kind, charge.spec["type"], charge.source) == (
        Kind.ONE_TIME_CHARGE,
        "NEXT_INVOICE",
        SourceLocation(str(tmp_path / "a.yaml"), 1, 1),
    )
    assert credit.kind is Kind.CREDIT and credit.source.line == 15
    assert charge.field_locations["spec.type"].line == 12


# -- the per-document rules ----------------------------------------------------------------------


def plain_document_problems(kind: str, document: dict[str, Any]) -> list[Problem]:
    """rules.document_problems as it was written, with generators of (field, value)."""

    def items(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    yield index, item

    def currency(field: str, money: Any) -> Problem | None:
        if not isinstance(money, dict):
            return None
        code = money.get("currency")
        if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code) or is_currency(code):
            return None
        hint = (
            did_you_mean(code, ISO_4217, prefix=2) or "use an ISO 4217 code such as USD, EUR or GBP"
        )
        return Problem(f"{field}.currency", f'unknown currency code "{code}"', hint)

    def money_fields(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        if kind == Kind.CREDIT:
            yield "spec.amount", spec.get("amount")
            return
        for index, item in items(spec.get("onetime_items")):
            price = item.get("custom_price")
            if isinstance(price, dict):
                yield f"spec.onetime_items.{index}.custom_price.amount", price.get("amount")
        for index, discount in items(spec.get("discounts")):
            yield f"spec.discounts.{index}.amount", discount.get("amount")
            yield f"spec.discounts.{index}.cap", discount.get("cap")

    def timestamp_fields() -> Iterator[tuple[str, Any]]:
        metadata = document.get("metadata")
        if isinstance(metadata, dict) and kind == Kind.ONE_TIME_CHARGE:
            yield "metadata.created_after", metadata.get("created_after")
        spec = document.get("spec")
        if not isinstance(spec, dict):
            return
        if kind == Kind.CREDIT:
            yield "spec.expiration_date", spec.get("expiration_date")
            return
        yield "spec.invoice_date", spec.get("invoice_date")
        for index, discount in items(spec.get("discounts")):
            yield f"spec.discounts.{index}.expiration_date", discount.get("expiration_date")

    problems: list[Problem] = []
    for field, value in timestamp_fields():
        if problem := rules._timestamp_problem(field, value):
            problems.append(problem)
    metadata = document.get("metadata")
    if (
        isinstance(metadata, dict)
        and metadata.get("revoke") is True
        and metadata.get("allow_duplicate") is True
    ):
        problems.append(rules._REVOKE_AND_DUPLICATE)
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return problems
    for field, money in money_fields(spec):
        if problem := currency(field, money):
            problems.append(problem)
    for index, item in items(spec.get("onetime_items")):
        limits = item.get("quantity_config")
        if not isinstance(limits, dict):
            continue
        low, high = limits.get("min_quantity"), limits.get("max_quantity")
        if type(low) is int and type(high) is int and low > high:
            problems.append(
                Problem(
                    f"spec.onetime_items.{index}.quantity_config.min_quantity",
                    f"is {low}, more than max_quantity {high}",
                )
            )
    return problems


money = st.fixed_dictionaries(
    {"currency": st.sampled_from(["USD", "USX", "usd", "EURO", 5]), "value_in_cents": st.just(1)}
) | st.sampled_from([None, "USD", {}])
stamp = st.sampled_from(
    [None, 5, "2030-12-31T23:59:59Z", "2030-02-30T00:00:00Z", "2030-12-31", "2030-12-31 10:00:00",
     "tomorrow", " 2030-12-31T23:59:59Z"]
)  # fmt: skip
limits = st.fixed_dictionaries(
    {},
    optional={
        "min_quantity": st.sampled_from([0, 2, 5, True, 2.0]),
        "max_quantity": st.sampled_from([1, 2, 10, None]),
    },
) | st.sampled_from([None, "q"])
rules_item = st.fixed_dictionaries(
    {},
    optional={
        "custom_price": st.fixed_dictionaries({}, optional={"amount": money}) | st.just("p"),
        "quantity_config": limits,
    },
) | st.sampled_from([None, 3])
rules_discount = st.fixed_dictionaries(
    {}, optional={"amount": money, "cap": money, "expiration_date": stamp}
) | st.just("d")
rules_spec = st.fixed_dictionaries(
    {},
    optional={
        "amount": money,
        "expiration_date": stamp,
        "invoice_date": stamp,
        "onetime_items": st.lists(rules_item, max_size=3) | st.just({}),
        "discounts": st.lists(rules_discount, max_size=3) | st.just("x"),
    },
) | st.sampled_from([None, []])
rules_metadata = st.fixed_dictionaries(
    {},
    optional={
        "created_after": stamp,
        "revoke": st.sampled_from([True, False, 1]),
        "allow_duplicate": st.sampled_from([True, False, "true"]),
    },
) | st.just(None)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["Credit", "OneTimeCharge"]),
    st.fixed_dictionaries({"metadata": rules_metadata, "spec": rules_spec}),
)
def test_the_rules_say_what_the_plain_rules_said(kind: str, document: dict[str, Any]) -> None:
    """On documents of either kind with odd timestamps, currency codes, revoke flags and
    quantity limits where either kind may hold them, the rules give the same problems, in the
    same order, as the plain version."""
    assert rules.document_problems(kind, document) == plain_document_problems(kind, document)
