"""`maplectl export` as a user runs it, against `sandbox serve` holding an account with history:
export, validate, plan (nothing to create, no drift), apply (nothing sent)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from helpers.adoption import World, credit_id, seed_world
from helpers.cli import CANARY, Server, maplectl
from helpers.control import control_client
from helpers.terminal import env_for, run_in_pty

from maplectl.manifests.loader import validate_paths

pytestmark = pytest.mark.e2e


def seed(server: Server, **size: int) -> World:
    """The world of helpers/adoption.py, through one control client and one API client (a
    client per request would spend most of the time setting up connections)."""
    control = control_client(server.url, server.token)
    api = httpx.Client(headers={"Authorization": f"Bearer {server.token}"}, timeout=10)

    def revoke(credit: str) -> None:
        answer = api.delete(f"{server.url}/companies/{server.company}/credits/{credit}")
        assert answer.status_code == 200, answer.text

    try:
        return seed_world(control.call, revoke, company=server.company, token=server.token, **size)
    finally:
        control.close()
        api.close()


def test_export_then_plan_is_clean_and_apply_sends_nothing(server: Server, tmp_path: Path) -> None:
    """1,000 credits (used up, expired, revoked, duplicated) and 200 one-time charges (custom
    and catalog priced, both types): the export validates, plans with nothing to create and no
    drift, and apply sends nothing."""
    world = seed(server)
    assert world.credits == 1000 and world.billables == 250
    assert all(len(ids) >= 50 for ids in world.states.values())

    run = maplectl("export", "--out", "adopted", cwd=tmp_path, server=server)
    assert run.returncode == 0, run.stderr
    assert run.stdout == (
        "Exported 1,000 credits and 250 one-time charges of 25 customers to adopted/ (50 files).\n"
    )
    assert run.stderr == ""  # no progress when piped

    plan = maplectl(
        "plan",
        "adopted",
        "--detailed-exitcode",
        "--fail-on-drift",
        "--show-unmanaged",
        "--format",
        "json",
        cwd=tmp_path,
        server=server,
    )
    assert plan.returncode == 0, plan.stderr
    doc = json.loads(plan.stdout)
    assert {a["action"] for a in doc["actions"]} == {"unchanged"}
    assert len(doc["actions"]) == 1250 and doc["unmanaged"] == []

    # Valid (what `maplectl validate` runs; the CLI's own run is docs/adopting.md's example),
    # and the grants as they were: issued amounts, past expiries, whatever the state now.
    resources, problems = validate_paths([tmp_path / "adopted"])
    assert problems == [] and len(resources) == 1250
    specs = {r.metadata.remote_id: r.spec for r in resources}
    states = {a["remote_ids"][0]: a["state"] for a in doc["actions"] if a["kind"] == "Credit"}
    for state in ("CONSUMED", "REVOKED", "EXPIRED"):
        assert {states[i] for i in world.states[state]} == {state}
    clock = server.control("GET", "clock")["now"]
    for state in ("CONSUMED", "PARTLY", "REVOKED", "EXPIRED"):
        for remote_id in world.states[state]:
            granted, exported = world.grants[remote_id], specs[remote_id]
            for field in ("name", "type", "amount", "units", "item_id", "subscription_id"):
                assert exported.get(field) == granted.get(field), (remote_id, field)
            if state == "EXPIRED":
                assert exported["expiration_date"] < clock  # in the past, and kept
    assert specs[credit_id(0)]["name"] == "grant 0 "  # a look-alike, kept as Maple has it

    server.control("DELETE", "counters")
    applied = maplectl("apply", "adopted", "--auto-approve", cwd=tmp_path, server=server)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.endswith("Nothing to do.\n")
    routes = server.control("GET", "counters")["routes"]
    assert routes.get("POST /credits", 0) == routes.get("POST /one_times", 0) == 0

    for result in (run, plan, applied):
        assert CANARY not in result.stdout + result.stderr


def test_export_shows_progress_on_a_terminal_and_takes_kind_and_customer(
    server: Server, tmp_path: Path
) -> None:
    """On a terminal a customer counter runs on stderr; --kind and --customer narrow."""
    seed(server, credits=40, charges=8, extra_customers=0)
    code, out = run_in_pty(
        ["export", "--out", "one", "--kind", "credit", "--customer", "cus_globex"],
        tmp_path,
        env_for(server),
    )
    assert code == 0, out
    assert "exporting: 1 customer, 8 manifests" in out
    assert "Exported 8 credits of 1 customer to one/ (1 file)." in out
    assert [p.name for p in (tmp_path / "one").rglob("*.yaml")] == ["cus_globex.yaml"]
