"""The PR comment: money first, quantities shown, and every table still a table when it is long."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
from helpers.planning import charge, credit, plan_of, remote_credit
from markdown_it import MarkdownIt

from maplectl.currency import format_minor
from maplectl.plan.records import Desired, Plan
from maplectl.render import MARKDOWN_LIMIT, plan_json, plan_markdown, plan_markdown_parts, plan_text
from maplectl.render_markdown import Table, fit_comment, row, split_parts

PARSER = MarkdownIt("commonmark").enable("table")
DELIMITER = re.compile(r"^\|( ?-+:? ?\|)+$")


def money(currency: str, value: int) -> dict[str, object]:
    return {"currency": currency, "value_in_cents": value}


def units_credit(name: str, customer: str = "cus_acme", units: int = 1_000_000) -> Desired:
    made = credit(name, customer=customer, type="UNITS", units=units, item_id="itm_api_calls")
    body = {k: v for k, v in made.body.items() if k != "amount"}
    return Desired(made.kind, made.name, made.customer_id, body, made.source)


def check_tables(text: str) -> int:
    """Parse ``text`` as CommonMark + GFM tables; every table we wrote is one; return how many.

    A table is counted by its delimiter row (``| --- |``) in the source. Every line that starts
    with ``|`` must lie inside a table the parser found (else GitHub shows it as raw text), and
    each ``<details>`` is closed.
    """
    tokens = PARSER.parse(text)
    tables = [t.map for t in tokens if t.type == "table_open"]
    lines = text.splitlines()
    emitted = sum(1 for line in lines if DELIMITER.match(line))
    assert len(tables) == emitted, f"{emitted} tables written, {len(tables)} parsed"
    inside = {n for start, end in (m for m in tables if m) for n in range(start, end)}
    stray = [n for n, line in enumerate(lines) if line.startswith("|") and n not in inside]
    assert not stray, f"lines outside any table: {[lines[n] for n in stray[:3]]}"
    assert text.count("<details>") == text.count("</details>")
    return emitted


@cache
def big_plan() -> Plan:
    """10,000 actions: creates in USD, JPY and KWD, unit credits, catalog charges, unchanged,
    drift, ambiguity, possible duplicates, over 700 customers."""
    desired: list[Desired] = []
    remote: list[dict[str, object]] = []
    for i in range(10_000):
        customer = f"cus_{i % 700:04d}"
        kind = i % 20
        if kind < 10:
            cur = ("USD", "JPY", "KWD")[i % 3]
            desired.append(
                credit(f"c{i:05d}", customer=customer, title=f"Grant {i}", amount=money(cur, 500))
            )
        elif kind < 12:
            desired.append(units_credit(f"n{i:05d}", customer=customer))
        elif kind < 13:
            desired.append(
                charge(
                    f"o{i:05d}",
                    customer=customer,
                    items=[{"product_pricing_id": f"pp_day_{i}", "aggregate": 3}],
                )
            )
        elif kind < 17:
            kept = credit(f"u{i:05d}", customer=customer, cents=200, title=f"Kept {i}")
            desired.append(kept)
            remote.append(remote_credit(f"crd_{i:05d}", kept))
        elif kind < 18:
            drifted = credit(f"d{i:05d}", customer=customer, cents=300, title=f"Drift {i}")
            desired.append(drifted)
            was = credit("x", customer=customer, cents=1, title=f"Drift {i}")
            remote.append(remote_credit(f"crd_{i:05d}", was))
        elif kind < 19:
            twice = credit(f"a{i:05d}", customer=customer, cents=400, title=f"Twice {i}")
            desired.append(twice)
            remote += [remote_credit(f"crd_{i:05d}a", twice), remote_credit(f"crd_{i:05d}b", twice)]
        else:
            renamed = credit(f"r{i:05d}", customer=customer, cents=777_00 + i, title=f"New {i}")
            desired.append(renamed)
            old = credit("y", customer=customer, cents=777_00 + i, title=f"Old | {i}\n</details>")
            remote.append(remote_credit(f"crd_{i:05d}", old))
    return plan_of(desired, remote)


def test_a_10000_action_comment_is_cut_between_rows_and_every_table_stays_a_table() -> None:
    """Over the limit, whole rows are left out, each table closed, and the end says what is
    missing and where to read everything; a GFM parser finds every table we wrote."""
    plan = big_plan()
    assert len(plan.actions) == 10_000
    counts = plan.counts()
    assert all(counts[k] for k in ("create", "unchanged", "drift", "ambiguous"))
    assert counts["possible_duplicate"] > 0
    text = plan_markdown(plan)
    assert len(text) <= MARKDOWN_LIMIT
    assert check_tables(text) == 7  # totals, per customer and the five action types
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("> **Left out to fit a comment:** ")
    assert "create rows" in last and "per-customer rows" in last
    assert "Run `maplectl plan` or read the JSON plan for everything" in last
    # Every action type shows its first rows, each in its own table.
    for title in ("+ create", "= unchanged", "~ drift", "? ambiguous", "! possible duplicate"):
        assert title in text
    drift = text[text.index("~ drift") : text.index("? ambiguous")]
    assert "`Credit/d00017`" in drift and "`Credit/c" not in drift
    assert "USD 5.00" in text and "JPY 500" in text and "KWD 0.500" in text


def test_every_part_of_a_10000_action_comment_is_a_whole_document() -> None:
    """--out-dir parts keep every row: each part under the limit, each table in it a table,
    each action in exactly one part."""
    plan = big_plan()
    parts = plan_markdown_parts(plan)
    assert len(parts) > 1
    seen: list[str] = []
    for number, part in enumerate(parts, 1):
        assert len(part) <= MARKDOWN_LIMIT, f"part {number} is {len(part)} characters"
        assert part.startswith("Approval digest: `sha256:") and "### maplectl plan" in part
        assert f"*Part {number} of {len(parts)}.*" in part
        assert check_tables(part) >= 1
        seen += re.findall(r"^\| `((?:Credit|OneTimeCharge)/[^`]+)` \|", part, flags=re.M)
    assert sorted(seen) == sorted(a.address for a in plan.actions)
    assert "Left out" not in "".join(parts)


def test_a_plan_that_fits_is_one_part_equal_to_the_comment() -> None:
    """A short plan is one part, the same as the comment, without a part number."""
    plan = plan_of([credit("acme-goodwill")])
    assert plan_markdown_parts(plan) == [plan_markdown(plan)]
    assert "Part 1" not in plan_markdown(plan)


def test_creates_are_open_below_50_rows_and_folded_from_50() -> None:
    """A reviewer sees up to 49 creates without a click; 50 or more are folded."""
    for n, folded in ((49, False), (50, True)):
        plan = plan_of([credit(f"c{i:03d}", customer=f"cus_{i:03d}") for i in range(n)])
        text = plan_markdown(plan)
        assert (f"<summary>+ create ({n})</summary>" in text) is folded
        assert (f"#### + create ({n})" in text) is not folded
        check_tables(text)


def test_money_comes_first_per_currency_then_per_customer() -> None:
    """Totals per currency, then customer by currency, come before any action table."""
    plan = plan_of(
        [
            credit("a", customer="cus_a", amount=money("USD", 5000)),
            credit("b", customer="cus_a", amount=money("JPY", 500)),
            credit("c", customer="cus_b", amount=money("KWD", 1500)),
            charge(
                "d",
                customer="cus_b",
                items=[{"custom_price": {"amount": money("KWD", 250)}, "aggregate": 2}],
            ),
        ]
    )
    text = plan_markdown(plan)
    totals = text.index("| currency | new credits | new charges |")
    per_customer = text.index("| customer | currency | new credits | new charges |")
    assert totals < per_customer < text.index("+ create")
    for line in (
        "| JPY | JPY 500 | JPY 0 |",
        "| KWD | KWD 1.500 | KWD 0.500 |",
        "| USD | USD 50.00 | USD 0.00 |",
        "| `cus_a` | JPY | JPY 500 | JPY 0 |",
        "| `cus_a` | USD | USD 50.00 | USD 0.00 |",
        "| `cus_b` | KWD | KWD 1.500 | KWD 0.500 |",
    ):
        assert line in text.splitlines(), line
    check_tables(text)


def test_unit_credits_and_catalog_items_show_quantity_and_item() -> None:
    """A unit credit and a catalog-priced charge say how many of what, not "-"."""
    plan = plan_of(
        [
            units_credit("api", customer="cus_a"),
            charge(
                "training",
                customer="cus_a",
                items=[{"product_pricing_id": "pp_training_day", "aggregate": 3}],
            ),
        ]
    )
    text = plan_markdown(plan)
    lines = text.splitlines()
    assert (
        "| `Credit/api` | `cus_a` | 1,000,000 units of itm_api_calls · credit-grant | - "
        "| billing/credits.yaml:1 |" in lines
    )
    assert (
        "| `OneTimeCharge/training` | `cus_a` | pp_training_day x3 (catalog price) · "
        "charge-next-invoice | - "
        "| billing/charges.yaml:1 |" in lines
    )
    assert (
        "| `cus_a` | units / catalog | 1,000,000 units of itm_api_calls "
        "| pp_training_day x3 (catalog price) |" in lines
    )
    assert (
        "Also created, priced by units or Maple's catalog (not in the totals): 1,000,000 units "
        "of itm_api_calls; pp_training_day x3 (catalog price)." in lines
    )
    check_tables(text)


def test_text_from_maple_cannot_break_a_table() -> None:
    """A remote name with a pipe, a newline and a closing tag stays inside its cell."""
    renamed = credit("renamed", cents=2500, title="New")
    old = credit("x", cents=2500, title="Old | name\n</details><b>x</b>")
    text = plan_markdown(plan_of([renamed], [remote_credit("crd_11", old)]))
    assert "Old \\| name &lt;/details&gt;&lt;b&gt;x&lt;/b&gt;" in text
    check_tables(text)


@pytest.mark.parametrize(
    ("currency", "value", "shown"),
    [
        ("JPY", 500, "JPY 500"),
        ("JPY", 1_234_567, "JPY 1,234,567"),
        ("KWD", 1500, "KWD 1.500"),
        ("KWD", 5, "KWD 0.005"),
        ("KWD", -1500, "KWD -1.500"),
        ("USD", 500, "USD 5.00"),
        ("CLF", 12345, "CLF 1.2345"),
    ],
)
def test_format_minor_follows_the_currency_exponent(currency: str, value: int, shown: str) -> None:
    """Minor units are shown with the currency's own number of decimals."""
    assert format_minor(currency, value) == shown


def test_zero_and_three_decimal_currencies_in_every_rendering() -> None:
    """JPY 500 is JPY 500 and KWD 1500 minor units is KWD 1.500 in text, Markdown and JSON."""
    plan = plan_of(
        [
            credit("yen", amount=money("JPY", 500)),
            charge(
                "dinar",
                items=[{"custom_price": {"amount": money("KWD", 1500)}, "aggregate": 1}],
            ),
        ]
    )
    text = plan_text(plan)
    assert "JPY 500 " in text and "KWD 1.500" in text and "JPY 5.00" not in text
    assert "New credits: JPY 500. New charges: KWD 1.500.\n" in text
    markdown = plan_markdown(plan)
    assert "| JPY | JPY 500 | JPY 0 |" in markdown
    assert "| KWD | KWD 0.000 | KWD 1.500 |" in markdown
    assert "JPY 5.00" not in markdown and "KWD 15.00" not in markdown
    summary = json.loads(plan_json(plan))["summary"]
    assert summary["money"] == {
        "JPY": {"credits": 500, "charges": 0},
        "KWD": {"credits": 0, "charges": 1500},
    }
    assert summary["per_customer"]["cus_acme"] == summary["money"]


def test_the_layout_never_splits_a_row_group() -> None:
    """An action's line and the lines under it stay together, whether left out or moved on."""
    groups = tuple((row("a", str(i)), row("", f"note {i}")) for i in range(400))
    table = Table("things", "thing", ("x", "y"), ("---", "---"), groups)
    for doc in [
        fit_comment(["# head"], [table], 2000),
        *split_parts(["# h"], ["# h"], [table], 2000),
    ]:
        assert len(doc) <= 2000
        check_tables(doc)
        numbers = re.findall(r"^\| a \| (\d+) \|\n\|  \| note (\d+) \|$", doc, flags=re.M)
        assert numbers and all(a == b for a, b in numbers)
        assert doc.count("| a |") == len(numbers)


def test_the_line_of_unpriced_items_stays_short() -> None:
    """Hundreds of catalog prices in the totals line are cut to ten and a count of the rest."""
    charges = [
        charge(f"o{i:03d}", items=[{"product_pricing_id": f"pp_{i:03d}", "aggregate": 1}])
        for i in range(300)
    ]
    (line,) = [
        line for line in plan_markdown(plan_of(charges)).splitlines() if "not in the totals" in line
    ]
    assert line.endswith("pp_009 x1 (catalog price), and 290 more.")


def test_unmanaged_objects_are_a_folded_table_with_show_unmanaged_only() -> None:
    """The nightly drift check's comment lists what no manifest claims, when asked to."""
    d = credit("acme-goodwill")
    stray = remote_credit("crd_stray01", name="Hand-made | credit")
    plan = plan_of([d], [remote_credit("crd_01", d), stray])
    assert "Unmanaged" not in plan_markdown(plan)
    shown = plan_markdown(plan, show_unmanaged=True)
    assert "<details><summary>Unmanaged: in Maple, in no manifest (1)</summary>" in shown
    assert (
        "| `crd_stray01` | Credit | `cus_acme` | 'Hand-made \\| credit' USD 50.00 | ACTIVE |"
        in (shown)
    )
    (part,) = plan_markdown_parts(plan, show_unmanaged=True)
    assert part == shown
