"""A saved plan is made again from the manifests it records and applied only if it is that
plan: a forged plan file (plan_digest recomputed) moves no money the manifests do not ask for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Server, count_credits, many_credits, maplectl, secret_free

from maplectl.model import Kind
from maplectl.plan.keys import digest, idempotency_key

pytestmark = pytest.mark.e2e

Doc = dict[str, Any]


def raise_amount(doc: Doc) -> str:
    create = doc["actions"][0]
    create["request"]["body"]["amount"]["value_in_cents"] = 5_000_000
    create["request"]["money"][0]["value_in_cents"] = 5_000_000
    return create["address"]


def change_key(doc: Doc) -> str:
    create = doc["actions"][1]
    create["request"]["idempotency_key"] = create["request"]["idempotency_key"].replace(
        ".c.0.", ".c.1."
    )
    return create["address"]


def add_action(doc: Doc) -> str:
    """A careful forger: a new address with a well-formed request and its proper key."""
    extra = json.loads(json.dumps(doc["actions"][0]))
    extra["address"] = "Credit/bulk-extra"
    extra["request"]["body"]["name"] = "Credit bulk-extra"
    extra["request"]["body"]["amount"]["value_in_cents"] = 9_900_000
    extra["request"]["idempotency_key"] = idempotency_key(
        company_id=doc["company_id"],
        kind=Kind.CREDIT,
        address=extra["address"],
        body=extra["request"]["body"],
    )
    doc["actions"].append(extra)
    return "Credit/bulk-extra"


def drop_action(doc: Doc) -> str:
    return str(doc["actions"].pop(2)["address"])


@pytest.mark.parametrize("forge", [raise_amount, change_key, add_action, drop_action])
def test_forged_saved_plan_is_stale_and_sends_nothing(
    server: Server, tmp_path: Path, forge: Callable[[Doc], str]
) -> None:
    """Edited by hand with its plan_digest recomputed: exit 4 naming the entry, nothing sent;
    the plan as made still applies afterwards."""
    many_credits(tmp_path / "credits.yaml", 3)
    made = maplectl("plan", "credits.yaml", "--out", "plan.json", cwd=tmp_path, server=server)
    assert made.returncode == 0, made.stderr
    honest = (tmp_path / "plan.json").read_text()
    doc = json.loads(honest)
    assert doc["paths"] == ["credits.yaml"]
    address = forge(doc)
    doc["plan_digest"] = digest({k: v for k, v in doc.items() if k != "plan_digest"})
    (tmp_path / "plan.json").write_text(json.dumps(doc))

    forged = maplectl("apply", "plan.json", "--debug", cwd=tmp_path, server=server)
    secret_free(server, forged.stdout, forged.stderr, folder=tmp_path)
    assert forged.returncode == 4, forged.stdout + forged.stderr
    assert "is not what the manifests at credits.yaml ask for" in forged.stderr
    assert address in forged.stderr and "nothing was sent" in forged.stderr
    assert count_credits(server) == 0

    (tmp_path / "plan.json").write_text(honest)
    applied = maplectl("apply", "plan.json", "--format", "json", cwd=tmp_path, server=server)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert json.loads(applied.stdout)["summary"]["money"] == {
        "USD": {"credits": 100 + 101 + 102, "charges": 0}
    }
    assert count_credits(server) == 3


def test_manifest_edited_after_the_plan_makes_it_stale(server: Server, tmp_path: Path) -> None:
    """The reviewed plan said USD 1.00; the manifest now says USD 50.00: exit 4, nothing sent."""
    many_credits(tmp_path / "credits.yaml", 2)
    assert (
        maplectl(
            "plan", "credits.yaml", "--out", "plan.json", cwd=tmp_path, server=server
        ).returncode
        == 0
    )
    text = (tmp_path / "credits.yaml").read_text()
    (tmp_path / "credits.yaml").write_text(
        text.replace("value_in_cents: 100}", "value_in_cents: 5000}")
    )
    stale = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert stale.returncode == 4, stale.stdout + stale.stderr
    assert (
        "Credit/bulk-0000: the saved plan's request is not the one the manifest asks for"
        in stale.stderr
    )
    assert count_credits(server) == 0


def test_saved_plan_applies_from_the_directory_it_was_made_in(
    server: Server, tmp_path: Path
) -> None:
    """Manifest paths are recorded as given: from another directory apply says where to run
    it (exit 1, nothing sent); from the right one it applies."""
    many_credits(tmp_path / "credits.yaml", 2)
    assert (
        maplectl(
            "plan", "credits.yaml", "--out", "plan.json", cwd=tmp_path, server=server
        ).returncode
        == 0
    )
    (tmp_path / "elsewhere").mkdir()
    lost = maplectl("apply", "../plan.json", cwd=tmp_path / "elsewhere", server=server)
    assert lost.returncode == 1, lost.stdout + lost.stderr
    assert "credits.yaml cannot be found from" in lost.stderr
    assert "from the directory `maplectl plan --out` ran in" in lost.stderr
    assert count_credits(server) == 0
    done = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert count_credits(server) == 2
