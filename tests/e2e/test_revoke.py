"""Revoke end to end: the CLI as a subprocess against `maplectl sandbox serve`, planning, saving,
refusing a stale saved plan and applying a revoke exactly once, also with two applies at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.cli import Server, credit_manifest, maplectl, secret_free, start_maplectl

pytestmark = pytest.mark.e2e

DELETE = "DELETE /credits/{id}"


def manifests(folder: Path, *, revoke: bool) -> None:
    """Two credits of cus_acme, USD 50.00 and USD 20.00; with ``revoke`` both are revoked."""
    docs = [credit_manifest("a", cents=5000), credit_manifest("b", cents=2000)]
    if revoke:
        docs = [d.replace("\nspec:", "\n  revoke: true\nspec:") for d in docs]
    folder.mkdir(exist_ok=True)
    (folder / "credits.yaml").write_text("---\n".join(docs), encoding="utf-8")


def granted(server: Server, cwd: Path) -> dict[str, str]:
    manifests(cwd / "billing", revoke=False)
    run = maplectl("apply", "billing", "--auto-approve", "--format", "json", cwd=cwd, server=server)
    assert run.returncode == 0, run.stderr
    return {r["address"]: r["remote_ids"][0] for r in json.loads(run.stdout)["results"]}


def deletes(server: Server) -> int:
    return int(server.control("GET", "counters")["routes"].get(DELETE, 0))


def credit_state(server: Server, credit_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The credit's state and its REVOKED log rows, read through the real API."""
    auth = {"Authorization": f"Bearer {server.token}"}
    base = f"{server.url}/companies/{server.company}/credits"
    row = httpx.get(f"{base}/{credit_id}", headers=auth, timeout=10).json()
    logs = httpx.post(
        f"{base}/logs/find",
        json={"pagination": {"limit": 100}, "query": {"credit_id": credit_id}},
        headers=auth,
        timeout=10,
    ).json()["results"]
    return row["state"], [log for log in logs if log["action_type"] == "REVOKED"]


def test_revoke_is_planned_refused_when_stale_and_applied_once(
    server: Server, tmp_path: Path
) -> None:
    """The plan shows each revoke with the balance left (JSON, and text from the saved plan); a
    saved plan made
    before a credit was used up is stale (exit 4, no DELETE); apply revokes what is left once,
    and the next apply and plan find nothing to do."""
    ids = granted(server, tmp_path)
    a, b = ids["Credit/a"], ids["Credit/b"]
    server.control("POST", f"credits/{a}/consume", {"amount": 1000})
    manifests(tmp_path / "billing", revoke=True)

    run = maplectl(
        "plan", "billing", "--detailed-exitcode", "--out", "plan.json", "--format", "json",
        cwd=tmp_path, server=server,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    doc = json.loads(run.stdout)
    assert [(x["action"], x["remote_ids"], x["balance"]) for x in doc["actions"]] == [
        ("revoke", [a], {"currency": "USD", "value_in_cents": 4000}),
        ("revoke", [b], {"currency": "USD", "value_in_cents": 2000}),
    ]
    assert doc["summary"]["revoked"] == {"money": {"USD": 6000}, "units": {}}
    text = maplectl("show", "plan.json", cwd=tmp_path).stdout
    assert (
        f"  - Credit/a  cus_acme  USD 40.00  credit-revoke  revoke {a} (balance left USD 40.00)"
        in (text)
    )
    assert "Plan: 0 to create, 2 to revoke, 0 unchanged. Taken back: USD 60.00." in text

    server.control("POST", f"credits/{b}/consume", {"amount": 2000})
    stale = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert stale.returncode == 4, stale.stdout + stale.stderr
    assert "Credit/b: the saved plan says revoke, the manifests and Maple now say unchanged" in (
        stale.stderr
    )
    assert deletes(server) == 0 and credit_state(server, a)[0] == "ACTIVE"

    applied = maplectl("apply", "billing", "--auto-approve", cwd=tmp_path, server=server)
    assert applied.returncode == 0, applied.stderr
    assert f"  - Credit/a revoked ({a}; balance left USD 40.00 taken back)  [1/1]" in (
        applied.stdout
    )
    assert "Apply: 1 revoked. Taken back: USD 40.00." in applied.stdout
    assert deletes(server) == 1
    state, logs = credit_state(server, a)
    assert state == "REVOKED" and [log["amount_applied"]["value_in_cents"] for log in logs] == [
        4000
    ]
    assert credit_state(server, b) == ("CONSUMED", [])
    journal = sorted((tmp_path / ".maplectl" / "journal").glob("*.jsonl"))[-1]  # the newest
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(e["event"], e.get("status")) for e in events] == [
        ("intent", None),
        ("outcome", "revoked"),
    ]

    again = maplectl("apply", "billing", "--auto-approve", cwd=tmp_path, server=server)
    assert again.returncode == 0 and "Nothing to do." in again.stdout
    assert "Plan: 0 to create, 2 unchanged." in again.stdout  # the plan after apply is clean
    assert deletes(server) == 1
    secret_free(server, run.stdout, text, stale.stderr, applied.stdout, folder=tmp_path)


def test_two_applies_at_once_revoke_the_credit_once(server: Server, tmp_path: Path) -> None:
    """Two CI jobs applying the same revoke at once: at most one repeated DELETE, which Maple
    treats as a no-op; the credit is revoked once, with one REVOKED log row, and both exit 0."""
    ids = granted(server, tmp_path)
    manifests(tmp_path / "billing", revoke=True)
    jobs = [
        start_maplectl("apply", "billing", "--auto-approve", cwd=tmp_path, server=server)
        for _ in range(2)
    ]
    outputs = [job.communicate(timeout=120) for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], outputs
    assert 2 <= deletes(server) <= 4  # two credits; each DELETE sent by one job or both
    for address in ("Credit/a", "Credit/b"):
        state, logs = credit_state(server, ids[address])
        assert state == "REVOKED" and len(logs) == 1
    for stdout, _ in outputs:
        assert "Nothing to do." in stdout or "revoked" in stdout
