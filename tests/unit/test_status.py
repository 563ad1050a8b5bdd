"""`maplectl status` without a server: ledgers reconciled with balances (maplectl/status.py),
the report in words and JSON (render_status.py), the read path (workflow.make_status), and the
exit code of a ledger that does not add up."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from helpers.ledger import RowsReader, amount_credit, issued, log, money, units_credit
from helpers.planning import NOW, billable, charge, credit, plan_of, remote_credit

from maplectl.cli import cli
from maplectl.config import Secret
from maplectl.errors import TransportError
from maplectl.maple.client import MapleClient
from maplectl.maple.reader import Collection
from maplectl.plan.records import Desired
from maplectl.render_status import mismatch_text, status_json, status_text
from maplectl.status import (
    FORMAT_VERSION,
    Problem,
    Standing,
    StatusReport,
    Tally,
    build_status,
    credit_status,
)
from maplectl.workflow import make_status

# -- reconciliation (pure) -----------------------------------------------------------------------


def test_issued_minus_consumed_expired_revoked_is_the_balance() -> None:
    """A credit used twice and revoked reconciles: its ledger summed per event leaves exactly
    the balance Maple shows, and the rows come back in date order."""
    row = amount_credit("crd_1", issued=50000, left=0, state="REVOKED")
    rows = [
        log(row, "REVOKED", 35000, at="2026-03-01T00:00:00Z"),
        issued(row),
        log(row, "CONSUMED", 12000, at="2026-01-31T00:00:00Z", invoice_id="inv_1", note="Jan"),
        log(row, "CONSUMED", 3000, at="2026-02-28T00:00:00Z", invoice_id="inv_2"),
    ]
    status = credit_status(row, rows)
    assert status.reconciled and status.mismatches == ()
    assert status.tally == Tally(issued=50000, consumed=15000, expired=0, revoked=35000)
    assert status.tally.remaining == status.remaining == 0
    assert [r.event for r in status.ledger] == ["ISSUED", "CONSUMED", "CONSUMED", "REVOKED"]
    assert (status.ledger[1].invoice_id, status.ledger[1].note) == ("inv_1", "Jan")


def test_a_balance_the_ledger_does_not_explain_is_a_mismatch() -> None:
    """Maple shows USD 50.00 left but the ledger leaves USD 40.00: flagged with both sums."""
    row = amount_credit("crd_1", issued=5000, left=5000)
    status = credit_status(row, [issued(row), log(row, "CONSUMED", 1000)])
    assert not status.reconciled
    [mismatch] = status.mismatches
    assert (mismatch.problem, mismatch.ledger, mismatch.maple) == (Problem.BALANCE, 4000, 5000)


def test_issued_rows_must_sum_to_the_grant() -> None:
    """A ledger without its ISSUED row (or with two) does not explain the grant."""
    row = amount_credit("crd_1", issued=5000, left=0, state="CONSUMED")
    status = credit_status(row, [log(row, "CONSUMED", 5000)])
    problems = {m.problem for m in status.mismatches}
    assert problems == {Problem.ISSUED, Problem.BALANCE}
    doubled = credit_status(row, [issued(row), issued(row), log(row, "CONSUMED", 5000)])
    assert {m.problem for m in doubled.mismatches} == {Problem.ISSUED, Problem.BALANCE}


def test_rows_in_another_currency_or_of_unknown_events_are_flagged_not_counted() -> None:
    """A EUR row on a USD credit, or an event none of the four, is never added to the sums."""
    row = amount_credit("crd_1", issued=5000, left=4000)
    rows = [
        issued(row),
        log(row, "CONSUMED", 1000),
        log(row, "CONSUMED", 700, currency="EUR"),
        log(row, "REFUNDED", 300),
    ]
    status = credit_status(row, rows)
    assert status.tally.remaining == 4000
    found = {(m.problem, m.detail) for m in status.mismatches}
    assert found == {(Problem.FOREIGN_ROW, "EUR"), (Problem.UNKNOWN_EVENT, "REFUNDED")}


def test_ledger_rows_go_by_time_not_by_text_and_show_in_utc() -> None:
    """`...:00Z` is before `...:00.5Z` (a text sort says after); `+01:00` is shown in UTC."""
    row = amount_credit("crd_1", issued=5000, left=3000)
    rows = [
        log(row, "CONSUMED", 600, at="2026-01-02T00:00:00.500000Z"),
        log(row, "CONSUMED", 400, at="2026-01-02T00:00:00Z"),
        issued(row, at="2026-01-01T02:00:01+01:00"),
    ]
    status = credit_status(row, rows)
    assert [r.quantity for r in status.ledger] == [5000, 400, 600]
    plan = plan_of([credit("acme", title="Goodwill")], [row])
    text = status_text(build_status(plan, [row], [], rows, read_at=NOW))
    assert "2026-01-01T01:00:01Z  ISSUED" in text


def test_units_reconcile_exactly_even_in_fractions() -> None:
    """UNITS credits are summed as decimals: 0.1 + 0.2 units consumed from 1 leaves exactly 0.7
    (floats would leave 0.7000000000000001 and cry mismatch)."""
    row = units_credit("crd_u", issued=1, left=0.7)
    status = credit_status(row, [issued(row), log(row, "CONSUMED", 0.1), log(row, "CONSUMED", 0.2)])
    assert status.reconciled, status.mismatches
    assert status.remaining == Decimal("0.7") and status.item_id == "itm_api_calls"
    assert status.to_json()["ledger_totals"] == {
        "issued": 1,
        "consumed": 0.3,
        "expired": 0,
        "revoked": 0,
        "remaining": 0.7,
    }


# -- the report: entries, totals, words and JSON ---------------------------------------------------


def world() -> tuple[list[Desired], list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    """Credits in USD, EUR, JPY and units over two customers, charges priced two ways, and an
    entry not yet in Maple."""
    usd = credit("acme-usd", cents=50000, title="Goodwill USD")
    eur = credit("acme-eur", cents=10000, title="Goodwill EUR", amount=money("EUR", 10000))
    jpy = credit(
        "globex-jpy", customer="cus_globex", title="Welcome JPY", amount=money("JPY", 5000)
    )
    units = replace(
        credit("initech-units", customer="cus_initech", title="API calls"),
        body={
            "customer_id": "cus_initech",
            "name": "API calls",
            "type": "UNITS",
            "units": 1000,
            "item_id": "itm_api_calls",
            "state": "ACTIVE",
        },
    )
    fresh = credit("acme-new", title="Not issued yet")
    workshop = charge(
        "acme-workshop",
        items=[
            {
                "custom_price": {"amount": money("USD", 180000), "description": "Workshop day"},
                "aggregate": 2,
            }
        ],
    )
    fee = charge("globex-fee", customer="cus_globex", type_="IMMEDIATE")
    credits = [
        amount_credit("crd_usd", name="Goodwill USD", issued=50000, left=0, state="REVOKED"),
        amount_credit("crd_eur", name="Goodwill EUR", currency="EUR", issued=10000),
        amount_credit(
            "crd_jpy", "cus_globex", name="Welcome JPY", currency="JPY", issued=5000, left=0
        ),
        units_credit("crd_units", name="API calls", issued=1000, left=750),
    ]
    credits[2]["state"] = "EXPIRED"
    logs = [
        issued(credits[0]),
        log(credits[0], "CONSUMED", 15000, invoice_id="inv_7", note="March usage"),
        log(credits[0], "REVOKED", 35000, at="2026-04-01T00:00:00Z"),
        issued(credits[1]),
        issued(credits[2]),
        log(credits[2], "CONSUMED", 1200),
        log(credits[2], "EXPIRED", 3800, at="2026-06-01T00:00:00Z"),
        issued(credits[3]),
        log(credits[3], "CONSUMED", 250),
    ]
    charges = [
        billable(
            "otb_w",
            custom_price={"amount": money("USD", 180000), "description": "Workshop day"},
            aggregate=2,
            name="Workshop day",
        ),
        {
            **billable("otb_f", "cus_globex", type_="IMMEDIATE"),
            "state": "INVOICED",
            "product_pricing": {"id": "pp_onboarding_fee", "price": money("USD", 150000)},
        },
    ]
    return [usd, eur, jpy, units, fresh, workshop, fee], credits, charges, logs


def report_of_world() -> StatusReport:
    desired, credits, charges, logs = world()
    plan = plan_of(desired, credits, charges)
    return build_status(plan, credits, charges, logs, read_at=NOW)


def test_each_entry_shows_what_it_holds_and_totals_go_per_customer_and_currency() -> None:
    """Every credit reconciles; the totals split USD from EUR, JPY and each item's units."""
    report = report_of_world()
    by_address = {e.address: e for e in report.entries}
    assert by_address["Credit/acme-new"].standing is Standing.NOT_CREATED
    assert by_address["Credit/acme-usd"].credits[0].state == "REVOKED"
    assert report.mismatched == []
    totals = {(t.customer_id, t.unit): t for t in report.credit_totals()}
    assert set(totals) == {
        ("cus_acme", "EUR"),
        ("cus_acme", "USD"),
        ("cus_globex", "JPY"),
        ("cus_initech", "itm_api_calls"),
    }
    usd = totals["cus_acme", "USD"]
    assert (usd.tally.issued, usd.tally.consumed, usd.tally.revoked, usd.remaining) == (
        50000,
        15000,
        35000,
        0,
    )
    jpy = totals["cus_globex", "JPY"]
    assert (jpy.tally.consumed, jpy.tally.expired, jpy.remaining) == (1200, 3800, 0)
    assert totals["cus_initech", "itm_api_calls"].remaining == 750
    charges = {(t.customer_id, t.state): (t.currency, t.amount) for t in report.charge_totals()}
    assert charges == {
        ("cus_acme", "PENDING"): ("USD", 360000),
        ("cus_globex", "INVOICED"): ("USD", 150000),
    }


def test_text_shows_ledgers_and_money_in_each_currencys_own_digits() -> None:
    """JPY has no minor digits: 5,000 yen is `JPY 5,000`, never `JPY 50.00`; units are units."""
    text = status_text(report_of_world())
    assert "Status of cmp_demo (environment not pinned) at https://maple.test" in text
    lines = text.splitlines()
    [jpy] = [line for line in lines if "Credit/globex-jpy" in line]
    assert "EXPIRED" in jpy and "JPY 5,000" in jpy and "JPY 0" in jpy and "adds up" in jpy
    assert any("CONSUMED" in line and "JPY 1,200" in line for line in lines)
    assert any("EXPIRED" in line and "JPY 3,800" in line for line in lines)
    assert "JPY 50.00" not in text and "JPY 12.00" not in text
    [usage] = [line for line in lines if "inv_7" in line]
    assert "USD 150.00" in usage and "'March usage'" in usage
    [units] = [line for line in lines if "Credit/initech-units" in line]
    assert "1,000 units of itm_api_calls" in units and "750 units" in units
    [total] = [line for line in lines if line.split()[:2] == ["cus_globex", "JPY"]]
    assert total.split() == ["cus_globex", "JPY", "1", "5,000", "1,200", "3,800", "0", "0"]
    [total, _] = [line for line in lines if line.split()[:2] == ["cus_acme", "USD"]]
    assert total.split() == ["cus_acme", "USD", "1", "500.00", "150.00", "0.00", "350.00", "0.00"]
    [fresh] = [line for line in lines if "Credit/acme-new" in line]
    assert fresh.split()[-2:] == ["not", "created"]
    [fee] = [line for line in lines if "otb_f" in line]
    assert "INVOICED" in fee and "USD 1,500.00" in fee and "(catalog price)" in fee
    assert lines[-1] == (
        "Status: 7 entries: 6 in Maple, 1 not created. 4 credits: every ledger adds up."
    )


def test_json_is_versioned_with_stable_keys_and_integer_minor_units() -> None:
    """format_version, sorted keys, money as integers beside its currency, a mismatch-free `ok`."""
    text = status_json(report_of_world())
    doc = json.loads(text)
    assert doc["format_version"] == FORMAT_VERSION == 1
    assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    assert doc["ok"] is True and doc["summary"]["mismatched"] == 0
    assert doc["read_at"] == "2026-11-22T12:00:00Z"
    entry = next(e for e in doc["entries"] if e["address"] == "Credit/globex-jpy")
    [jpy] = entry["credits"]
    assert (jpy["currency"], jpy["issued"], jpy["remaining"]) == ("JPY", 5000, 0)
    assert [(r["event"], r["quantity"], r["currency"]) for r in jpy["ledger"]] == [
        ("ISSUED", 5000, "JPY"),
        ("CONSUMED", 1200, "JPY"),
        ("EXPIRED", 3800, "JPY"),
    ]
    assert jpy["ledger_totals"] == {
        "issued": 5000,
        "consumed": 1200,
        "expired": 3800,
        "revoked": 0,
        "remaining": 0,
    }
    assert {"customer_id": "cus_globex", "type": "AMOUNT", "currency": "JPY", "item_id": None,
            "credits": 1, "issued": 5000, "consumed": 1200, "expired": 3800, "revoked": 0,
            "remaining": 0} in doc["totals"]["credits"]  # fmt: skip
    fee = next(e for e in doc["entries"] if e["address"] == "OneTimeCharge/globex-fee")
    assert fee["billables"][0] | {"name": None} == {
        "remote_id": "otb_f",
        "name": None,
        "type": "IMMEDIATE",
        "state": "INVOICED",
        "quantity": 1,
        "product_pricing_id": "pp_onboarding_fee",
        "priced_by": "catalog",
        "currency": "USD",
        "unit_price": 150000,
        "amount": 150000,
    }
    not_created = next(e for e in doc["entries"] if e["address"] == "Credit/acme-new")
    assert not_created["standing"] == "not_created" and not_created["credits"] == []

    def no_floats_for_money(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                no_floats_for_money(v, k)
        elif isinstance(value, list):
            for v in value:
                no_floats_for_money(v, key)
        elif key in ("value_in_cents", "unit_price", "amount"):
            assert value is None or type(value) is int, (key, value)

    no_floats_for_money(doc)


def test_ambiguous_and_possible_duplicate_entries_say_so() -> None:
    """Two credits with one entry's identity are both shown (and reconciled); a look-alike under
    another name is not the entry's, so the entry is not created and names the look-alike."""
    twin = credit("acme-promo", title="Promo", cents=100)
    renamed = credit("acme-renamed", title="New name", cents=2500)
    rows = [
        remote_credit("crd_12", twin),
        remote_credit("crd_13", twin),
        remote_credit("crd_14", credit("x", title="Old name", cents=2500)),
    ]
    plan = plan_of([twin, renamed], rows)
    report = build_status(plan, rows, [], [issued(r) for r in rows], read_at=NOW)
    by_address = {e.address: e for e in report.entries}
    promo = by_address["Credit/acme-promo"]
    assert promo.standing is Standing.AMBIGUOUS
    assert [c.remote_id for c in promo.credits] == ["crd_12", "crd_13"]
    dup = by_address["Credit/acme-renamed"]
    assert dup.standing is Standing.POSSIBLE_DUPLICATE and dup.credits == ()
    assert dup.candidates == ("crd_14",)
    text = status_text(report)
    assert "pin one with metadata.remote_id" in text and "could be crd_14" in text
    assert "1 ambiguous, 1 possible duplicate" in text


def test_a_mismatch_is_said_loudly_in_text_and_json() -> None:
    """The credit's row says DOES NOT ADD UP, a line shows the sums, the summary names it."""
    desired = [credit("acme-usd", title="Goodwill", cents=5000)]
    row = amount_credit("crd_1", issued=5000, left=5000)
    plan = plan_of(desired, [row])
    report = build_status(plan, [row], [], [issued(row), log(row, "CONSUMED", 1000)], read_at=NOW)
    text = status_text(report, color=True)
    assert "DOES NOT ADD UP" in text and "\x1b[1;31m" in text
    assert (
        "!! the ledger leaves USD 40.00 (issued USD 50.00 - consumed USD 10.00 - expired "
        "USD 0.00 - revoked USD 0.00), but Maple shows USD 50.00 remaining"
    ) in text
    assert text.rstrip().endswith(
        "1 credit: 1 ledger DOES NOT ADD UP: Credit/acme-usd (crd_1).\x1b[0m"
    )
    doc = json.loads(status_json(report))
    assert doc["ok"] is False and doc["summary"]["mismatched"] == 1
    [entry] = doc["entries"]
    assert entry["credits"][0]["reconciled"] is False
    assert entry["credits"][0]["mismatches"] == [
        {"problem": "balance", "ledger": 4000, "maple": 5000, "log_id": None, "detail": None}
    ]


# -- reading (workflow.make_status) ----------------------------------------------------------------


def test_ledgers_are_read_per_customer_holding_credits_and_only_theirs_count() -> None:
    """Ledgers of customers holding credits are read customer by customer; rows of credits no
    entry holds are ignored; charges-only customers cost no ledger read."""
    row = amount_credit("crd_1", issued=5000, left=4000)
    stranger = amount_credit("crd_9", name="Unmanaged", issued=999, left=0)
    reader = RowsReader(
        {
            Collection.CREDITS: [row, stranger],
            Collection.ONE_TIMES: [billable("otb_1", "cus_hooli")],
            Collection.CREDIT_LOGS: [
                issued(row),
                log(row, "CONSUMED", 1000),
                issued(stranger),
            ],
        }
    )
    desired = [credit("acme", title="Goodwill"), charge("hooli-fee", customer="cus_hooli")]
    report = make_status(
        reader, desired, company_id="cmp_demo", api_url="https://maple.test", now=lambda: NOW
    )
    assert report.mismatched == [] and report.reread == ()
    [(_, status)] = report.credits
    assert [r.event for r in status.ledger] == ["ISSUED", "CONSUMED"]
    log_queries = [q for c, q in reader.queries if c is Collection.CREDIT_LOGS]
    assert log_queries == [{"customer_id": "cus_acme"}]
    assert report.requests == len(reader.queries)


def test_a_credit_used_while_status_reads_is_read_again_not_flagged() -> None:
    """The ledger shows an invoice the credit row read a moment earlier did not: that customer
    is read once more, credits then ledger, and agrees."""
    before = amount_credit("crd_1", issued=5000, left=5000)
    after = amount_credit("crd_1", issued=5000, left=4000)
    ledger = [issued(before), log(before, "CONSUMED", 1000)]
    reader = RowsReader(
        {Collection.CREDITS: [before], Collection.CREDIT_LOGS: ledger},
        later={Collection.CREDITS: [after]},
    )
    report = make_status(
        reader,
        [credit("acme", title="Goodwill")],
        company_id="cmp_demo",
        api_url="https://maple.test",
        now=lambda: NOW,
    )
    assert report.mismatched == [] and report.reread == ("cus_acme",)
    assert report.credits[0][1].remaining == 4000
    assert [c for c, _ in reader.queries].count(Collection.CREDIT_LOGS) == 2


def test_progress_counts_on_across_the_ledger_reads() -> None:
    """The progress callback sees every find, the ledger's included, in one rising count."""
    row = amount_credit("crd_1")
    reader = RowsReader({Collection.CREDITS: [row], Collection.CREDIT_LOGS: [issued(row)]})
    seen: list[int] = []
    make_status(
        reader,
        [credit("acme", title="Goodwill")],
        company_id="cmp_demo",
        api_url="https://maple.test",
        progress=lambda done, _: seen.append(done),
        now=lambda: NOW,
    )
    assert seen == list(range(1, len(reader.queries) + 1))


# -- the boundary: ledger rows are checked like every other row ----------------------------------


def logs_page(row: Any) -> MapleClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [row], "pagination": {"from_key": None}})

    return MapleClient(
        api_url="https://maple.test/api/v1",
        company_id="cmp_x",
        token=Secret("tok-123456"),
        transport=httpx.MockTransport(handler),
        sleeper=lambda s: None,
    )


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("credit_id", None, "without a string credit_id"),
        ("action_type", 3, "without a string action_type"),
        ("amount_applied", money("USD", 5.0), "integer minor units"),  # type: ignore[arg-type]
        ("amount_applied", None, "without amount_applied"),
        ("type", "POINTS", "type is not AMOUNT or UNITS"),
        ("note", ["x"], "note is not a string"),
    ],
)
def test_a_malformed_ledger_row_is_a_transport_error_naming_the_field(
    field: str, value: Any, says: str
) -> None:
    """A float amount, a row of no credit or of no known type never reaches reconciliation."""
    row = log(amount_credit("crd_1"), "CONSUMED", 100) | {field: value}
    with logs_page(row) as client, pytest.raises(TransportError, match=says):
        client.find_page(Collection.CREDIT_LOGS, {"customer_id": "cus_acme"})


def test_a_units_ledger_row_needs_its_units() -> None:
    """A UNITS row without units_applied is refused; with them it passes unchanged."""
    row = log(units_credit("crd_u"), "CONSUMED", 10)
    with logs_page(row) as client:
        assert client.find_page(Collection.CREDIT_LOGS, {}).results == [row]
    with logs_page(row | {"units_applied": None}) as client, pytest.raises(TransportError):
        client.find_page(Collection.CREDIT_LOGS, {})


# -- the command: exit 7 when a ledger does not add up --------------------------------------------

TOKEN = "status-token-5e3a9c-never-print"


def maple_answering(credits: list[dict[str, Any]], logs: list[dict[str, Any]]) -> Any:
    """A MockTransport Maple serving these credits and ledger rows, and no charges."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        path = request.url.path
        body = json.loads(request.content or b"{}")
        customer = (body.get("query") or {}).get("customer_id")
        rows = (
            credits
            if path.endswith("/credits/find")
            else logs
            if path.endswith("/credits/logs/find")
            else []
        )
        rows = [r for r in rows if customer in (None, r["customer_id"])]
        page = {"from_key": None, "limit": 100, "total": len(rows)}
        return httpx.Response(200, json={"results": rows, "pagination": page})

    return httpx.MockTransport(handler)


def run_status(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, transport: Any, *args: str) -> Any:
    """`maplectl status` in-process, its client talking to ``transport``."""
    import contextlib

    import maplectl.cli.status as status_cli

    @contextlib.contextmanager
    def connect(settings: Any, opts: Any, **_: Any) -> Any:
        client = MapleClient(
            api_url=settings.api_url,
            company_id=settings.company_id,
            token=settings.token,
            transport=transport,
            sleeper=lambda s: None,
        )
        try:
            yield client
        finally:
            client.close()

    monkeypatch.setattr(status_cli, "connect", connect)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(
        "apiVersion: maplectl/v1\nkind: Credit\nmetadata:\n  name: acme-goodwill\nspec:\n"
        "  customer_id: cus_acme\n  name: Goodwill\n  type: AMOUNT\n"
        "  amount: {currency: USD, value_in_cents: 5000}\n"
    )
    runner = CliRunner(env={"MAPLE_API_TOKEN": TOKEN, "NO_COLOR": "1"})
    return runner.invoke(
        cli,
        ["status", "c.yaml", "--company", "cmp_x", "--api-url", "https://maple.test/api/v1", *args],
    )


def test_a_ledger_that_does_not_add_up_exits_7_after_the_report(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Maple's rows disagree (and still do when read again): the report is printed, the error
    names the credit, the exit code is 7 (docs/cli.md), and the token is nowhere."""
    row = amount_credit("crd_1", name="Goodwill", issued=5000, left=5000)
    transport = maple_answering([row], [issued(row), log(row, "CONSUMED", 1000)])
    result = run_status(monkeypatch, tmp_path, transport)
    assert result.exit_code == 7, result.output
    assert "crd_1" in result.stdout and "DOES NOT ADD UP" in result.stdout
    assert (
        "Error: the ledger of 1 of 1 credit does not add up: Credit/acme-goodwill (crd_1)"
        in result.stderr
    )
    as_json = run_status(monkeypatch, tmp_path, transport, "--format", "json")
    assert as_json.exit_code == 7
    doc = json.loads(as_json.stdout)
    assert doc["ok"] is False and doc["reread"] == ["cus_acme"]
    for out in (result.stdout, result.stderr, as_json.stdout, as_json.stderr):
        assert TOKEN not in out


def test_a_ledger_that_adds_up_exits_0(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same credit with its ledger complete: exit 0, `adds up`."""
    row = amount_credit("crd_1", name="Goodwill", issued=5000, left=4000)
    result = run_status(
        monkeypatch, tmp_path, maple_answering([row], [issued(row), log(row, "CONSUMED", 1000)])
    )
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if "crd_1" in line]
    assert line.split()[-2:] == ["adds", "up"]
    assert result.stdout.rstrip().endswith("1 credit: every ledger adds up.")


def test_closing_rows_and_states_that_agree_reconcile_and_others_are_worded() -> None:
    """A fully used credit that expired logs EXPIRED of nothing and reconciles; an ACTIVE credit
    with a closing row, a balance in another currency and a negative row are each flagged, in
    words, and a balance in another currency stays out of the grant currency's totals."""
    used = amount_credit("crd_1", issued=5000, left=0, state="EXPIRED")
    done = [issued(used), log(used, "CONSUMED", 5000), log(used, "EXPIRED", 0)]
    assert credit_status(used, done).reconciled

    active = amount_credit("crd_2", issued=5000, left=4000)
    flagged = credit_status(active, [issued(active), log(active, "REVOKED", 1000)])
    assert [m.problem.value for m in flagged.mismatches] == ["state"]

    euro = amount_credit("crd_3", issued=5000)
    euro["amount"] = money("EUR", 5000)
    shown = credit_status(euro, [issued(euro)])
    assert [m.problem.value for m in shown.mismatches] == ["currency"]
    assert shown.counted_remaining == 0 and shown.to_json()["balance_currency"] == "EUR"

    negative = amount_credit("crd_4", issued=5000, left=6000)
    odd = credit_status(negative, [issued(negative), log(negative, "CONSUMED", -1000)])
    assert [m.problem.value for m in odd.mismatches] == ["not_positive", "balance"]
    words = [mismatch_text(c, m) for c in (flagged, shown, odd) for m in c.mismatches]
    assert "active one none" in words[0] and "balance in EUR" in words[1]
    assert "negative (or no) amount" in words[2]
