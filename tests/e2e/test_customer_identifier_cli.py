"""Issue 13 as a user meets it: the CLI as a subprocess against `sandbox serve`, with manifests
that name their customer by identifier."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import Server, count_credits, maplectl, secret_free

pytestmark = pytest.mark.e2e


def credits(customer: str) -> str:
    """Two credits of one customer, ``customer`` being `customer_id: ...` or `customer: {...}`."""
    return "---\n".join(
        "apiVersion: maplectl/v1\nkind: Credit\nmetadata:\n"
        f"  name: pilot-{n}\nspec:\n  {customer}\n  name: Pilot {n}\n  type: AMOUNT\n"
        f"  amount: {{currency: USD, value_in_cents: {n}00}}\n"
        for n in (1, 2)
    )


def sent(server: Server) -> dict[str, int]:
    return dict(server.control("GET", "counters")["routes"])


def test_identifier_manifests_plan_apply_switch_and_go_stale(
    server: Server, tmp_path: Path
) -> None:
    """apply resolves the identifier with one GET and one find and shows
    `cus_umbrella (umbrella-health)`; switched to customer_id nothing is sent; a saved plan whose
    identifier now names another customer is stale (exit 4); an unknown identifier exits 1 at
    its file, line and field.
    Nothing is ever sent twice. (validate, offline, is tested in process.)"""
    manifest = tmp_path / "credits.yaml"
    manifest.write_text(credits("customer: {identifier: umbrella-health}"))
    server.control("DELETE", "counters")
    applied = maplectl("apply", "credits.yaml", "--auto-approve", cwd=tmp_path, server=server)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "+ Credit/pilot-1  cus_umbrella (umbrella-health)  USD 1.00" in applied.stdout
    assert "Apply: 2 created." in applied.stdout
    routes = sent(server)
    assert routes["GET /customers/{customer_id}"] == 1  # two entries, one identifier, one GET
    assert routes["POST /customers/find"] == 1  # and one find: is it one customer's?
    assert routes["POST /credits"] == 2

    manifest.write_text(credits("customer_id: cus_umbrella"))
    switched = maplectl("apply", "credits.yaml", "--auto-approve", cwd=tmp_path, server=server)
    assert switched.returncode == 0, switched.stdout + switched.stderr
    assert (
        "Plan: 0 to create, 2 unchanged." in switched.stdout and "Nothing to do." in switched.stdout
    )

    manifest.write_text(credits("customer: {identifier: umbrella-health}"))
    made = maplectl("plan", "credits.yaml", "--out", "plan.json", cwd=tmp_path, server=server)
    assert made.returncode == 0 and "Plan: 0 to create, 2 unchanged." in made.stdout, made.stderr
    # Someone gives the identifier to another customer: the same manifest now means cus_newco.
    server.control(
        "POST",
        "seed",
        {
            "companies": [
                {
                    "id": server.company,
                    "name": "Demo SaaS Inc.",
                    "token": server.token,
                    "customers": [
                        {"id": "cus_umbrella", "identifier": "umbrella-old", "name": "U",
                         "email": "u@u.example"},
                        {"id": "cus_newco", "identifier": "umbrella-health", "name": "N",
                         "email": "n@n.example"},
                    ],
                }
            ]
        },
    )  # fmt: skip
    stale = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert stale.returncode == 4, stale.stdout + stale.stderr
    assert "cus_newco" in stale.stderr and "nothing was sent" in stale.stderr

    manifest.write_text(credits("customer: {identifier: umbrella-heath}"))
    unknown = maplectl("apply", "credits.yaml", "--auto-approve", cwd=tmp_path, server=server)
    assert unknown.returncode == 1, unknown.stdout + unknown.stderr
    assert (
        "credits.yaml:6:26: Credit/pilot-1: spec.customer.identifier: no customer has the "
        "identifier 'umbrella-heath' in this company" in unknown.stderr
    )
    assert sent(server)["POST /credits"] == 2 and count_credits(server) == 2
    secret_free(server, *(r.stdout + r.stderr for r in (applied, switched, stale, unknown)))
