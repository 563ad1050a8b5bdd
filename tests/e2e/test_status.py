"""`maplectl status` as a user runs it, against `maplectl sandbox serve` over HTTP: credits used,
expired and revoked in Maple, each balance reproduced from its ledger, in text and in JSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.cli import Server, cli_env, maplectl, secret_free
from helpers.terminal import run_in_pty

pytestmark = pytest.mark.e2e

MANIFESTS = """\
apiVersion: maplectl/v1
kind: Credit
metadata: {name: acme-goodwill}
spec:
  customer_id: cus_acme
  name: Goodwill
  type: AMOUNT
  amount: {currency: USD, value_in_cents: 50000}
---
apiVersion: maplectl/v1
kind: Credit
metadata: {name: acme-euro}
spec:
  customer_id: cus_acme
  name: Euro goodwill
  type: AMOUNT
  amount: {currency: EUR, value_in_cents: 10000}
---
apiVersion: maplectl/v1
kind: Credit
metadata: {name: globex-yen}
spec:
  customer_id: cus_globex
  name: Welcome yen
  type: AMOUNT
  amount: {currency: JPY, value_in_cents: 5000}
  expiration_date: "EXPIRES"
---
apiVersion: maplectl/v1
kind: Credit
metadata: {name: initech-calls}
spec:
  customer_id: cus_initech
  name: API calls
  type: UNITS
  units: 1000
  item_id: itm_api_calls
---
apiVersion: maplectl/v1
kind: OneTimeCharge
metadata: {name: acme-workshop}
spec:
  customer_id: cus_acme
  type: NEXT_INVOICE
  onetime_items:
    - custom_price:
        amount: {currency: USD, value_in_cents: 180000}
        description: Workshop day
      aggregate: 2
---
apiVersion: maplectl/v1
kind: OneTimeCharge
metadata: {name: hooli-onboarding}
spec:
  customer_id: cus_hooli
  type: IMMEDIATE
  onetime_items:
    - product_pricing_id: pp_onboarding_fee
      aggregate: 1
"""

LATER = """\
apiVersion: maplectl/v1
kind: Credit
metadata: {name: acme-later}
spec:
  customer_id: cus_acme
  name: Not granted yet
  type: AMOUNT
  amount: {currency: USD, value_in_cents: 700}
"""


def api(server: Server, method: str, path: str, body: Any = None) -> Any:
    """One request to the sandbox's Maple API, as a person acting in Maple would make it."""
    response = httpx.request(
        method,
        f"{server.url}/companies/{server.company}{path}",
        json=body,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def credit_ids(server: Server) -> dict[str, str]:
    found = api(server, "POST", "/credits/find", {"pagination": {"limit": 100}})
    return {c["name"]: c["id"] for c in found["results"]}


def test_status_reproduces_each_balance_from_its_ledger(server: Server, tmp_path: Path) -> None:
    """After invoices consume credits, one expires (sandbox clock moved) and one is revoked
    (DELETE /credits/{id}), status shows each credit's state and ledger, every balance adds
    up, totals go per customer and currency (JPY without decimals, units per item), charges
    show their state and amount, an entry not yet applied is `not created`; in text (on a
    terminal, with progress while reading) and JSON, exit 0, and the token is nowhere."""
    now = datetime.fromisoformat(server.control("GET", "clock")["now"].replace("Z", "+00:00"))
    expires = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "billing.yaml").write_text(MANIFESTS.replace("EXPIRES", expires))
    applied = maplectl("apply", "billing.yaml", "--auto-approve", cwd=tmp_path, server=server)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    (tmp_path / "later.yaml").write_text(LATER)

    ids = credit_ids(server)
    usd, yen, calls = ids["Goodwill"], ids["Welcome yen"], ids["API calls"]
    consume = {"note": "March usage", "invoice_id": "inv_march"}
    server.control("POST", f"credits/{usd}/consume", {"amount": 12000, **consume})
    server.control("POST", f"credits/{usd}/consume", {"amount": 3000, "invoice_id": "inv_april"})
    api(server, "DELETE", f"/credits/{usd}")  # revoked: USD 350.00 left at that moment
    server.control("POST", f"credits/{yen}/consume", {"amount": 1200, "invoice_id": "inv_y"})
    server.control("POST", "clock/advance", {"days": 2})  # the yen credit expires with 3,800
    server.control("POST", f"credits/{calls}/consume", {"units": 250})

    # On a terminal (NO_COLOR keeps it plain to read): progress while reading, then the report.
    code, shown = run_in_pty(["status", "."], tmp_path, cli_env(server) | {"TERM": "xterm"})
    assert code == 0, shown
    progress, _, report = shown.partition("\r\x1b[K")
    assert "reading Maple: 5 requests" in progress, "progress on a terminal while reading"
    lines = report.replace("\r\n", "\n").splitlines()

    def line_of(*words: str) -> list[str]:
        [found] = [line for line in lines if all(w in line for w in words)]
        return found.split()

    def total(customer: str, unit: str) -> list[str]:
        [found] = [s for line in lines if (s := line.split())[:2] == [customer, unit]]
        return found[2:]

    assert line_of("Credit/acme-goodwill")[3:] == [
        "REVOKED", "USD", "500.00", "USD", "0.00", "adds", "up"
    ]  # fmt: skip
    assert line_of("CONSUMED", "inv_march")[1:] == [
        "CONSUMED", "USD", "120.00", "invoice", "inv_march", "note", "'March", "usage'"
    ]  # fmt: skip
    assert line_of("CONSUMED", "inv_april")[1:] == [
        "CONSUMED", "USD", "30.00", "invoice", "inv_april"
    ]  # fmt: skip
    assert line_of("REVOKED", "USD 350.00")[1:] == ["REVOKED", "USD", "350.00"]
    assert line_of("Credit/globex-yen")[3:] == [
        "EXPIRED", "JPY", "5,000", "JPY", "0", "adds", "up"
    ]  # fmt: skip
    assert line_of("CONSUMED", "JPY")[1:] == ["CONSUMED", "JPY", "1,200", "invoice", "inv_y"]
    expired = line_of("EXPIRED", "JPY 3,800")
    assert expired[0] == expires, "the EXPIRED row is dated at the expiry moment"
    assert line_of("Credit/initech-calls")[3:] == [
        "ACTIVE", "1,000", "units", "of", "itm_api_calls", "750", "units", "adds", "up"
    ]  # fmt: skip
    assert line_of("Credit/acme-later")[2:] == ["not", "created"]
    assert line_of("OneTimeCharge/acme-workshop")[3:6] == ["PENDING", "USD", "3,600.00"]
    assert line_of("OneTimeCharge/hooli-onboarding")[3:6] == ["INVOICED", "USD", "1,500.00"]
    # totals: customer, currency, credits, issued, consumed, expired, revoked, remaining
    assert total("cus_acme", "EUR") == ["1", "100.00", "0.00", "0.00", "0.00", "100.00"]
    assert total("cus_globex", "JPY") == ["1", "5,000", "1,200", "3,800", "0", "0"]
    assert total("cus_initech", "itm_api_calls") == ["1", "1,000", "250", "0", "0", "750"]
    assert total("cus_hooli", "USD") == ["INVOICED", "1", "1,500.00"]
    usd_credits, usd_charges = [
        s for line in lines if (s := line.split())[:2] == ["cus_acme", "USD"]
    ]
    assert usd_credits[2:] == ["1", "500.00", "150.00", "0.00", "350.00", "0.00"]
    assert usd_charges[2:] == ["PENDING", "1", "3,600.00"]
    assert lines[-1] == (
        "Status: 7 entries: 6 in Maple, 1 not created. 4 credits: every ledger adds up."
    )

    as_json = maplectl("status", ".", "--format", "json", cwd=tmp_path, server=server)
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["format_version"] == 1 and doc["ok"] is True
    assert doc["company_id"] == server.company
    entries = {e["address"]: e for e in doc["entries"]}
    [goodwill] = entries["Credit/acme-goodwill"]["credits"]
    assert goodwill["remote_id"] == usd and goodwill["state"] == "REVOKED"
    assert [(r["event"], r["quantity"], r["invoice_id"]) for r in goodwill["ledger"]] == [
        ("ISSUED", 50000, None),
        ("CONSUMED", 12000, "inv_march"),
        ("CONSUMED", 3000, "inv_april"),
        ("REVOKED", 35000, None),
    ]
    assert goodwill["ledger_totals"] == {
        "issued": 50000,
        "consumed": 15000,
        "expired": 0,
        "revoked": 35000,
        "remaining": 0,
    }
    [yen_credit] = entries["Credit/globex-yen"]["credits"]
    assert (yen_credit["currency"], yen_credit["issued"], yen_credit["remaining"]) == (
        "JPY",
        5000,
        0,
    )
    assert [(r["event"], r["quantity"]) for r in yen_credit["ledger"]] == [
        ("ISSUED", 5000),
        ("CONSUMED", 1200),
        ("EXPIRED", 3800),
    ]
    [calls_credit] = entries["Credit/initech-calls"]["credits"]
    assert calls_credit["ledger_totals"]["remaining"] == calls_credit["remaining"] == 750
    assert entries["Credit/acme-later"]["standing"] == "not_created"
    [hooli] = entries["OneTimeCharge/hooli-onboarding"]["billables"]
    assert (hooli["state"], hooli["currency"], hooli["amount"]) == ("INVOICED", "USD", 150000)
    totals = {
        (t["customer_id"], t["currency"] or t["item_id"]): t for t in doc["totals"]["credits"]
    }
    assert totals["cus_globex", "JPY"]["expired"] == 3800
    assert totals["cus_acme", "USD"]["revoked"] == 35000
    assert doc["summary"]["mismatched"] == 0 and doc["summary"]["credits"] == 4

    secret_free(server, shown, as_json.stdout, as_json.stderr)
