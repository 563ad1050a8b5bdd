"""The control API under /_sandbox/ and the store used without HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from helpers.control import control_http
from helpers.sandbox import COMPANY, START, credit_body, find_all

from maplectl.sandbox import ManualClock, Sandbox


def test_health_needs_no_token(control: httpx.Client) -> None:
    """Control endpoints answer without a token."""
    assert control.get("/health").json()["status"] == "ok"
    assert control.get("/nope").status_code == 404


def test_reset_returns_to_the_seed(api: httpx.Client, control: httpx.Client) -> None:
    """reset removes created objects, keys, faults, counters and the clock offset."""
    api.post("/credits", json=credit_body(), headers={"Idempotency-Key": "k"})
    control.post("/clock/advance", json={"days": 2})
    control.post("/faults", json={"kind": "latency", "ms": 1})
    assert control.post("/reset").json()["companies"] == ["cmp_demo", "cmp_other"]
    assert find_all(api, "/credits/find") == []
    assert control.get("/faults").json() == {"faults": []}
    assert control.get("/clock").json()["offset_seconds"] == 0
    fresh = api.post("/credits", json=credit_body(), headers={"Idempotency-Key": "k"})
    assert "Idempotency-Used" not in fresh.headers
    assert control.get("/counters").json()["total"] == 2  # since the reset: a find, a create


def test_reset_keeps_a_replaced_token(sandbox: Sandbox, control: httpx.Client) -> None:
    """A token set with set_token survives reset (serve replaces the first company's)."""
    sandbox.set_token(COMPANY, "fresh-token")
    control.post("/reset")
    assert sandbox.token == "fresh-token"
    assert sandbox.token_for("cmp_other") == "sandbox-other-token"


def test_seed_adds_data(api: httpx.Client, control: httpx.Client) -> None:
    """POST /_sandbox/seed loads more YAML: customers, catalog, credits and charges."""
    seed = """
companies:
  - id: cmp_demo
    name: Demo SaaS Inc.
    token: sandbox-demo-token
    customers:
      - {id: cus_new, identifier: newco, name: NewCo, email: a@new.example}
    credits:
      - {id: crd_seeded, customer_id: cus_new, name: Seeded, type: AMOUNT,
         amount: {currency: EUR, value_in_cents: 700}, created_at: "2029-12-01T00:00:00Z"}
    one_time_charges:
      - customer_id: cus_new
        type: NEXT_INVOICE
        onetime_items: [{product_pricing_id: pp_training_day, aggregate: 3}]
"""
    response = control.post("/seed", content=seed.encode())
    assert response.status_code == 200, response.text
    assert response.json()["loaded"]["credits"] == 1
    assert api.get("/customers/newco").json()["id"] == "cus_new"
    credit = api.get("/credits/crd_seeded").json()
    assert credit["created_at"] == "2029-12-01T00:00:00Z"
    assert len(find_all(api, "/one_times/find", {"customer_id": "cus_new"})) == 1
    assert len(find_all(api, "/credits/logs/find", {"credit_id": "crd_seeded"})) == 1


def test_bad_seed_is_400(control: httpx.Client) -> None:
    """A seed that cannot load is refused, naming where."""
    response = control.post("/seed", content=b"companies: [{id: nope}]")
    assert response.status_code == 400
    assert response.json()["validation_errors"][0]["field"] == "companies[0].name"


def test_bulk_load(api: httpx.Client, control: httpx.Client) -> None:
    """Bulk load takes a list or a template with a count; rows get ISSUED logs."""
    listed = control.post(
        "/credits/bulk",
        json={
            "credits": [
                credit_body(),
                {
                    "customer_id": "cus_acme",
                    "type": "UNITS",
                    "units": 5,
                    "item_id": "itm_seats",
                    "name": "Seats",
                },
            ]
        },
    )
    assert listed.json()["loaded"] == 2
    templated = control.post(
        "/credits/bulk",
        json={"count": 50, "template": credit_body(), "customer_ids": ["cus_acme", "cus_globex"]},
    )
    assert templated.json()["loaded"] == 50
    page = api.post(
        "/credits/find",
        json={
            "pagination": {"limit": 1},
            "include_meta": True,
            "query": {"customer_id": "cus_globex"},
        },
    ).json()
    assert page["pagination"]["total"] == 25
    logs = api.post(
        "/credits/logs/find", json={"pagination": {"limit": 1}, "include_meta": True}
    ).json()
    assert logs["pagination"]["total"] == 52
    bad = control.post("/credits/bulk", json={"credits": [credit_body(customer_id="cus_x")]})
    assert bad.status_code == 400
    assert bad.json()["validation_errors"][0]["field"] == "credits[0].customer_id"


def test_bulk_load_is_fast(sandbox: Sandbox) -> None:
    """20,000 credits load through the store in well under the 30 s budget for 100,000."""
    specs = [credit_body(name=f"c{n}") for n in range(20_000)]
    started = time.perf_counter()
    with sandbox.store.write() as s:
        assert sandbox.store.seeder.bulk_credits(s, COMPANY, specs) == 20_000
    assert time.perf_counter() - started < 6


def test_clock_advance_persists_across_processes(tmp_path: Path) -> None:
    """The clock offset lives in the database: a second Sandbox on the file sees it."""
    db = tmp_path / "shared.db"
    first = Sandbox.open(db, clock=ManualClock(START))
    with control_http(first.app, first.token, host="sb") as control:
        after = control.post("/clock/advance", json={"hours": 36}).json()
        assert after["now"] == "2030-01-03T00:00:00Z"
        assert after["offset_seconds"] == 36 * 3600
        assert control.post("/clock/advance", json={"seconds": -1}).status_code == 400
    first.close()
    second = Sandbox.open(db, clock=ManualClock(START))
    assert second.store.offset().total_seconds() == 36 * 3600
    second.close()


def test_reopen_keeps_data_and_does_not_reseed(tmp_path: Path) -> None:
    """Opening an existing database keeps its data; only a new one is seeded."""
    db = tmp_path / "keep.db"
    first = Sandbox.open(db, clock=ManualClock(START))
    with first.store.write() as s:
        credit = first.store.credits.create(s, COMPANY, credit_body())
    first.close()
    second = Sandbox.open(db, clock=ManualClock(START))
    with second.store.read() as s:
        assert second.store.credits.get(s, COMPANY, credit["id"]) == credit
    second.close()


def test_control_consume(api: httpx.Client, control: httpx.Client) -> None:
    """Consuming one credit by id records a CONSUMED log with the note and invoice."""
    credit = api.post("/credits", json=credit_body()).json()
    response = control.post(
        f"/credits/{credit['id']}/consume",
        json={"amount": 500, "note": "usage", "invoice_id": "inv_1"},
    )
    assert response.json()["amount"]["value_in_cents"] == 4500
    [log] = find_all(api, "/credits/logs/find", {"invoice_id": "inv_1"})
    assert log["note"] == "usage" and log["amount_applied"]["value_in_cents"] == 500
    assert (
        control.post(f"/credits/{credit['id']}/consume", json={"amount": 4501}).status_code == 400
    )
    assert control.post("/credits/crd_nope/consume", json={"amount": 1}).status_code == 404


def test_counters_per_route(api: httpx.Client, control: httpx.Client) -> None:
    """Counters count API requests per route template; DELETE resets them."""
    control.delete("/counters")
    api.post("/credits/find", json={"pagination": {}})
    api.post("/credits/find", json={"pagination": {}})
    api.get("/customers/acme")
    api.get("/customers/acme", headers={"Authorization": "Bearer bad"})
    counters = control.get("/counters").json()
    assert counters == {
        "routes": {"GET /customers/{customer_id}": 2, "POST /credits/find": 2},
        "total": 4,
    }
    assert control.delete("/counters").json() == {"routes": {}, "total": 0}


def test_set_token_via_control(api: httpx.Client, control: httpx.Client) -> None:
    """PUT /_sandbox/companies/{id}/token replaces the token: the old one is 401."""
    # One shorter than maplectl accepts is refused: the sandbox never holds a token no client sends.
    assert control.put(f"/companies/{COMPANY}/token", json={"token": "t2"}).status_code == 400
    assert control.put(f"/companies/{COMPANY}/token", json={"token": "tok2"}).status_code == 200
    assert api.get("/customers/acme").status_code == 401
    assert api.get("/customers/acme", headers={"Authorization": "Bearer tok2"}).status_code == 200
    # The control API takes the new token too (the old one is gone).
    assert (
        control.put(
            "/companies/cmp_x/token",
            json={"token": "tok3"},
            headers={"Authorization": "Bearer tok2"},
        ).status_code
        == 404
    )


def test_store_without_http(sandbox: Sandbox) -> None:
    """The rules live in the store: issue, consume, expire and read without any HTTP."""
    store = sandbox.store
    with store.write() as s:
        credit = store.credits.create(
            s, COMPANY, credit_body(expiration_date="2030-01-05T00:00:00Z")
        )
        store.credits.consume_one(s, credit["id"], 1000, note="direct")
    store.advance(5 * 86400)
    assert store.expire_due(store.now()) == 1
    with store.read() as s:
        after = store.credits.get(s, COMPANY, credit["id"])
        logs = store.credits.find_logs(
            s,
            COMPANY,
            {"pagination": {}, "sort_key": "createdAtAsc", "query": {"credit_id": credit["id"]}},
        )
    assert after["state"] == "EXPIRED"
    assert [
        (log["action_type"], log["amount_applied"]["value_in_cents"]) for log in logs["results"]
    ] == [("ISSUED", 5000), ("CONSUMED", 1000), ("EXPIRED", 4000)]
