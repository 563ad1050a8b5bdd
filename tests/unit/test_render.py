"""The three renderings of a plan, pinned by golden files (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.planning import billable, charge, credit, plan_of, remote_credit

from maplectl.errors import PlanFileError
from maplectl.plan.records import Plan
from maplectl.render import plan_json, plan_markdown, plan_text

GOLDEN = Path(__file__).parent / "golden"


def sample_plan() -> Plan:
    """One of everything: create, revoke, unchanged (consumed), drift, duplicate, ambiguous,
    charges."""
    acme = credit("acme-goodwill", cents=5000, title="Goodwill Q4")
    drifted = credit("globex-goodwill", customer="cus_globex", cents=10000, title="Goodwill")
    renamed = credit("initech-renamed", customer="cus_initech", cents=2500, title="New name")
    amb = credit("hooli-promo", customer="cus_hooli", cents=100, title="Promo")
    consumed = credit("umbrella-prepaid", customer="cus_umbrella", cents=20000, title="Prepaid")
    retired = credit("acme-retired", cents=5000, title="Retired promo", revoke=True)
    services = charge(
        "acme-services",
        items=[
            {
                "custom_price": {
                    "amount": {"currency": "USD", "value_in_cents": 125000},
                    "description": "Implementation services",
                },
                "aggregate": 4,
            }
        ],
    )
    onboarding = charge("globex-onboarding", customer="cus_globex")
    remote = [
        remote_credit("crd_10", credit("g", customer="cus_globex", cents=9000, title="Goodwill")),
        remote_credit("crd_11", credit("i", customer="cus_initech", cents=2500, title="Old name")),
        remote_credit("crd_12", amb),
        remote_credit("crd_13", amb),
        remote_credit("crd_14", consumed, state="CONSUMED", balance=0),
        remote_credit("crd_15", credit("z", customer="cus_acme", cents=1, title="Unrelated")),
        remote_credit("crd_16", retired, balance=4000),
    ]
    made = plan_of(
        [acme, drifted, renamed, amb, consumed, retired, services, onboarding],
        remote,
        [billable("otb_20", "cus_globex")],
    )
    return replace(made, paths=("billing/",))  # as `maplectl plan billing/` records it


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; UPDATE_GOLDEN=1 to accept"


def test_text_golden() -> None:
    """Aligned lines with markers, diffs and notes under them, and the summary line."""
    check("plan.txt", plan_text(sample_plan(), show_unmanaged=True))


def test_json_golden() -> None:
    """The versioned JSON document is stable, key for key."""
    check("plan.json", plan_json(sample_plan()))


def test_markdown_golden() -> None:
    """The PR comment: money per currency and per customer first, creates open, the rest
    folded."""
    check("plan.md", plan_markdown(sample_plan()))


def test_summary_line_states_money_per_currency() -> None:
    """Reviewers approve money: the last line totals new credits and charges per currency."""
    last = plan_text(sample_plan()).strip().splitlines()[-2]
    assert last == (
        "Plan: 2 to create, 1 to revoke, 2 unchanged, 1 drifted, 1 ambiguous, "
        "1 possible duplicate, 2 unmanaged. New credits: USD 50.00. "
        "New charges: USD 5,000.00. Taken back: USD 40.00."
    )


def test_color_only_when_asked() -> None:
    """ANSI colour appears with color=True and never otherwise."""
    assert "\033[" not in plan_text(sample_plan())
    assert "\033[32m" in plan_text(sample_plan(), color=True)


def test_json_has_the_fixed_fields() -> None:
    """format_version 3 and every field the issue fixes are present."""
    doc = json.loads(plan_json(sample_plan()))
    assert doc["format_version"] == 3
    assert doc["paths"] == ["billing/"] and doc["customer_filter"] == []
    for key in (
        "company_id",
        "api_url",
        "created_at",
        "expires_at",
        "manifest_digest",
        "observation_digest",
        "actions",
        "unmanaged",
        "summary",
    ):
        assert key in doc
    action = doc["actions"][0]
    for key in (
        "address",
        "kind",
        "action",
        "reason",
        "customer_id",
        "source",
        "request",
        "remote_ids",
        "candidates",
        "diff",
        "missing",
        "state",
        "grant",
        "balance",
        "balance_units",
        "item_id",
        "metadata",
    ):
        assert key in action
    assert set(action["request"]) == {"body", "idempotency_key", "money", "catalog", "discounted"}
    assert "notes" not in action, "wording belongs to the renderings, not the data"
    assert doc["summary"]["money"] == {"USD": {"credits": 5000, "charges": 500000}}
    assert doc["summary"]["per_customer"]["cus_acme"] == {
        "USD": {"credits": 5000, "charges": 500000}
    }
    assert doc["summary"]["revoked"] == {"money": {"USD": 4000}, "units": {}}
    assert doc["summary"]["counts"]["revoke"] == 1
    assert doc["summary"]["risks"]["credit-revoke"] == 1


def test_plan_round_trips_through_json() -> None:
    """A saved plan loads back to the same plan."""
    plan = sample_plan()
    again = Plan.from_json(json.loads(plan_json(plan)))
    assert again.to_json() == plan.to_json()


def test_edited_plan_is_refused() -> None:
    """Raising an amount in a saved plan by hand is detected."""
    doc = json.loads(plan_json(sample_plan()))
    doc["actions"][0]["request"]["body"]["amount"]["value_in_cents"] = 9_999_999
    with pytest.raises(PlanFileError, match="changed after it was made"):
        Plan.from_json(doc)


def test_unknown_format_version_is_refused() -> None:
    """A plan from a future maplectl is not guessed at."""
    doc = json.loads(plan_json(sample_plan()))
    doc["format_version"] = 4
    with pytest.raises(PlanFileError, match="format_version 4 is not supported"):
        Plan.from_json(doc)


def test_a_version_1_plan_is_refused_with_a_hint_to_plan_again() -> None:
    """A plan from before saved plans recorded their manifests cannot be re-derived: re-plan."""
    doc = json.loads(plan_json(sample_plan()))
    doc["format_version"] = 1
    del doc["paths"], doc["customer_filter"]
    with pytest.raises(PlanFileError, match="format_version 1 was made by an older") as info:
        Plan.from_json(doc)
    assert "maplectl plan --out" in str(info.value)


def test_an_api_url_read_from_a_file_heads_the_plan() -> None:
    """An API URL that came from maplectl.yaml (and is not Maple's) is a warning line over the
    text plan, in bold on a terminal, and the first thing in the Markdown comment under its
    approval digest and title."""
    plan = replace(sample_plan(), api_url="https://evil.example/api/v1")
    text = plan_text(plan, api_url_from="maplectl.yaml")
    assert text.splitlines()[0] == (
        "warning: the API URL https://evil.example/api/v1 is not "
        "Maple's own and comes from maplectl.yaml; the token is sent "
        "there"
    )
    coloured = plan_text(plan, color=True, api_url_from="maplectl.yaml")
    assert "at \033[1mhttps://evil.example/api/v1\033[0m:" in coloured
    markdown = plan_markdown(plan, api_url_from="maplectl.yaml")
    assert markdown.splitlines()[4].startswith(
        "> **Warning:** the API URL `https://evil.example/api/v1` is not Maple's own"
    )
    assert "Warning" not in plan_markdown(plan) and "warning" not in plan_text(plan)


@pytest.mark.parametrize("size", [1, 64, 1 << 16])
def test_json_in_chunks_is_the_whole_document_and_each_chunk_ends_a_line(size: int) -> None:
    """The plan JSON written in pieces is byte for byte ``json.dumps`` of the plan, and every
    piece but the last ends at a newline (so redacting piece by piece masks the same text)."""
    from maplectl.render import plan_json_chunks

    plan = sample_plan()
    chunks = list(plan_json_chunks(plan, size=size))
    assert "".join(chunks) == json.dumps(plan.to_json(), indent=2, sort_keys=True) + "\n"
    assert all(c.endswith("\n") for c in chunks[:-1])
    assert plan_json(plan) == "".join(chunks)
    if size == 1:
        assert len(chunks) > 20
