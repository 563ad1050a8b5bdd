"""Credit rules and the ledger (docs/maple-api.md, Credits)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from helpers.sandbox import credit_body, find_all, units_body


def _fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 400, response.text
    assert response.json()["error_type"] == "validation_error"
    return {e["field"] for e in response.json()["validation_errors"]}


def _ledger_balance(api: httpx.Client, credit: dict[str, Any]) -> int | float:
    logs = find_all(api, "/credits/logs/find", {"credit_id": credit["id"]})
    key = "amount_applied" if credit["type"] == "AMOUNT" else "units_applied"
    total: int | float = 0
    for log in logs:
        value = log[key]["value_in_cents"] if credit["type"] == "AMOUNT" else log[key]
        total += value if log["action_type"] == "ISSUED" else -value
    return total


def _balance(credit: dict[str, Any]) -> int | float:
    return credit["amount"]["value_in_cents"] if credit["type"] == "AMOUNT" else credit["units"]


def test_create_amount_credit(api: httpx.Client) -> None:
    """An AMOUNT credit starts ACTIVE with amount == issued_amount and an ISSUED log row."""
    credit = api.post("/credits", json=credit_body()).json()
    assert credit["id"].startswith("crd_")
    assert credit["state"] == "ACTIVE"
    assert (
        credit["amount"] == credit["issued_amount"] == {"currency": "USD", "value_in_cents": 5000}
    )
    assert "units" not in credit
    logs = find_all(api, "/credits/logs/find", {"credit_id": credit["id"]})
    assert [(log["action_type"], log["amount_applied"]["value_in_cents"]) for log in logs] == [
        ("ISSUED", 5000)
    ]
    assert logs[0]["id"].startswith("clog_")
    assert api.get(f"/credits/{credit['id']}").json() == credit


def test_create_units_credit(api: httpx.Client) -> None:
    """A UNITS credit carries units, issued_units and its item."""
    credit = api.post("/credits", json=units_body(units=2.5)).json()
    assert credit["units"] == credit["issued_units"] == 2.5
    assert credit["item"]["id"] == "itm_api_calls"
    assert "amount" not in credit


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": None}, "amount"),
        ({"units": 5}, "units"),
        ({"state": "REVOKED"}, "state"),
        ({"type": "POINTS"}, "type"),
        ({"customer_id": "cus_nobody"}, "customer_id"),
        ({"amount": {"currency": "usd", "value_in_cents": 1}}, "amount.currency"),
        ({"amount": {"currency": "XYZ", "value_in_cents": 1}}, "amount.currency"),
        ({"amount": {"currency": "USD", "value_in_cents": 0}}, "amount.value_in_cents"),
        ({"expiration_date": "2020-01-01T00:00:00Z"}, "expiration_date"),
        ({"expiration_date": "tomorrow"}, "expiration_date"),
        ({"subscription_id": "sub_nope"}, "subscription_id"),
        ({"subscription_id": "sub_globex_team"}, "subscription_id"),
    ],
)
def test_amount_credit_rules(api: httpx.Client, overrides: dict[str, Any], field: str) -> None:
    """Each broken rule of an AMOUNT credit is a 400 naming its field; nothing is created."""
    assert field in _fields(api.post("/credits", json=credit_body(**overrides)))
    assert find_all(api, "/credits/find") == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"units": None}, "units"),
        ({"units": 0}, "units"),
        ({"item_id": None}, "item_id"),
        ({"item_id": "itm_nope"}, "item_id"),
        ({"amount": {"currency": "USD", "value_in_cents": 1}}, "amount"),
        ({"units": 0.0000001}, "units"),
    ],
)
def test_units_credit_rules(api: httpx.Client, overrides: dict[str, Any], field: str) -> None:
    """UNITS needs units > 0 and an existing item_id, and forbids amount."""
    body = {k: v for k, v in units_body(**overrides).items() if v is not None}
    assert field in _fields(api.post("/credits", json=body))


def test_future_expiry_and_subscription_accepted(api: httpx.Client) -> None:
    """A future expiry and the customer's own subscription are accepted."""
    response = api.post(
        "/credits",
        json=credit_body(
            expiration_date="2030-06-01T00:00:00+02:00", subscription_id="sub_acme_pro"
        ),
    )
    assert response.status_code == 201, response.text
    assert response.json()["expiration_date"] == "2030-05-31T22:00:00Z"


def test_expiry_is_checked_on_read(api: httpx.Client, control: httpx.Client) -> None:
    """After the sandbox clock passes expiration_date the credit reads EXPIRED, its balance is
    0, issued_amount is unchanged and an EXPIRED log row holds what was left."""
    credit = api.post("/credits", json=credit_body(expiration_date="2030-01-02T00:00:00Z")).json()
    api.post(
        "/credits/consume",
        json={
            "customer_id": "cus_acme",
            "type": "AMOUNT",
            "amount": {"currency": "USD", "value_in_cents": 1000},
        },
    )
    assert api.get(f"/credits/{credit['id']}").json()["state"] == "ACTIVE"
    control.post("/clock/advance", json={"days": 1})
    expired = api.get(f"/credits/{credit['id']}").json()
    assert expired["state"] == "EXPIRED"
    assert expired["amount"]["value_in_cents"] == 0
    assert expired["issued_amount"]["value_in_cents"] == 5000
    logs = find_all(
        api, "/credits/logs/find", {"credit_id": credit["id"], "action_type": "EXPIRED"}
    )
    assert [log["amount_applied"]["value_in_cents"] for log in logs] == [4000]
    assert logs[0]["created_at"] == "2030-01-02T00:00:00Z"
    assert _ledger_balance(api, expired) == 0
    again = api.delete(f"/credits/{credit['id']}").json()
    assert again == expired


def test_expiry_visible_in_find_and_balance(api: httpx.Client, control: httpx.Client) -> None:
    """Finds and check_balance see expiry too, not only GET."""
    api.post("/credits", json=credit_body(expiration_date="2030-01-01T13:00:00Z"))
    control.post("/clock/advance", json={"hours": 2})
    assert find_all(api, "/credits/find", {"status": "EXPIRED"})
    assert api.get("/credits/check_balance/cus_acme").json()["total_amount"] == {}


def test_revoke_is_idempotent(api: httpx.Client) -> None:
    """DELETE revokes an ACTIVE credit (REVOKED log of the balance); again, it is unchanged."""
    credit = api.post("/credits", json=credit_body()).json()
    revoked = api.delete(f"/credits/{credit['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "REVOKED"
    assert revoked.json()["amount"]["value_in_cents"] == 0
    again = api.delete(f"/credits/{credit['id']}")
    assert again.status_code == 200 and again.json() == revoked.json()
    logs = find_all(api, "/credits/logs/find", {"credit_id": credit["id"]})
    assert sorted(log["action_type"] for log in logs) == ["ISSUED", "REVOKED"]


def test_revoke_touches_only_a_credit_of_the_company_in_the_path(
    api: httpx.Client, sandbox: Any
) -> None:
    """DELETE of an unknown id, or of another company's credit through this company's path, is a
    404 request_error and revokes nothing."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=sandbox.app),
        base_url="http://sandbox/api/v1/companies/cmp_other",
        headers={"Authorization": "Bearer sandbox-other-token"},
    ) as other:
        theirs = other.post("/credits", json=credit_body(customer_id="cus_other")).json()
        missing = api.delete(f"/credits/{theirs['id']}")
        assert missing.status_code == 404 and missing.json()["error_type"] == "request_error"
        assert api.delete("/credits/crd_0000000000000000nope").status_code == 404
        assert other.get(f"/credits/{theirs['id']}").json()["state"] == "ACTIVE"


def test_revoke_ignores_an_idempotency_key(api: httpx.Client) -> None:
    """The header means nothing on DELETE (docs/maple-api.md, Idempotency): one key on two
    credits revokes both, a malformed key is no 400, and no answer is a replay."""
    first = api.post("/credits", json=credit_body(name="One")).json()
    second = api.post("/credits", json=credit_body(name="Two")).json()
    for credit in (first, second):
        answer = api.delete(f"/credits/{credit['id']}", headers={"Idempotency-Key": "k1"})
        assert answer.status_code == 200 and answer.json()["id"] == credit["id"]
        assert answer.json()["state"] == "REVOKED"
        assert "Idempotency-Used" not in answer.headers and "Idempotency-Key" not in answer.headers
    bad = api.delete(f"/credits/{first['id']}", headers={"Idempotency-Key": "no spaces allowed"})
    assert bad.status_code == 200 and bad.json()["state"] == "REVOKED"


def test_consume_until_consumed(api: httpx.Client) -> None:
    """Consumption lowers amount, never issued_amount; at 0 the credit is CONSUMED."""
    credit = api.post("/credits", json=credit_body()).json()
    body = {
        "customer_id": "cus_acme",
        "type": "AMOUNT",
        "note": "invoice 7",
        "amount": {"currency": "USD", "value_in_cents": 3000},
    }
    totals = api.post("/credits/consume", json=body)
    assert totals.status_code == 200, totals.text
    assert totals.json()["total_amount"]["USD"]["value_in_cents"] == 2000
    body["amount"] = {"currency": "USD", "value_in_cents": 2000}
    api.post("/credits/consume", json=body)
    after = api.get(f"/credits/{credit['id']}").json()
    assert after["state"] == "CONSUMED"
    assert after["issued_amount"]["value_in_cents"] == 5000
    notes = find_all(api, "/credits/logs/find", {"note": "invoice 7"})
    assert len(notes) == 2 and _ledger_balance(api, after) == 0
    # only ACTIVE credits change state: a consumed credit stays consumed when revoked
    assert api.delete(f"/credits/{credit['id']}").json()["state"] == "CONSUMED"


def test_consume_more_than_balance_takes_nothing(api: httpx.Client) -> None:
    """Asking for more than the customer's balance is 400 and changes nothing."""
    credit = api.post("/credits", json=credit_body()).json()
    body = {
        "customer_id": "cus_acme",
        "type": "AMOUNT",
        "amount": {"currency": "USD", "value_in_cents": 5001},
    }
    assert "amount" in _fields(api.post("/credits/consume", json=body))
    assert api.get(f"/credits/{credit['id']}").json() == credit


def test_consume_spans_credits_expiring_first(api: httpx.Client) -> None:
    """Consumption uses the credit expiring first, then the next."""
    later = api.post("/credits", json=credit_body()).json()
    sooner = api.post("/credits", json=credit_body(expiration_date="2030-02-01T00:00:00Z")).json()
    api.post(
        "/credits/consume",
        json={
            "customer_id": "cus_acme",
            "type": "AMOUNT",
            "amount": {"currency": "USD", "value_in_cents": 6000},
        },
    )
    assert api.get(f"/credits/{sooner['id']}").json()["state"] == "CONSUMED"
    assert api.get(f"/credits/{later['id']}").json()["amount"]["value_in_cents"] == 4000


def test_consume_units_by_credit_id(api: httpx.Client) -> None:
    """Units are consumed from a named credit, exactly (fractions included)."""
    credit = api.post("/credits", json=units_body(units=10)).json()
    response = api.post(
        "/credits/consume",
        json={"customer_id": "cus_acme", "type": "UNITS", "units": 2.25, "credit_id": credit["id"]},
    )
    assert response.json()["total_units"] == {"itm_api_calls": 7.75}
    after = api.get(f"/credits/{credit['id']}").json()
    assert after["units"] == 7.75 and after["issued_units"] == 10
    assert _ledger_balance(api, after) == 7.75


def test_logs_always_sum_to_balance(api: httpx.Client, control: httpx.Client) -> None:
    """For every credit, ISSUED − CONSUMED − EXPIRED − REVOKED equals its balance."""
    a = api.post("/credits", json=credit_body()).json()
    b = api.post("/credits", json=credit_body(expiration_date="2030-01-03T00:00:00Z")).json()
    c = api.post("/credits", json=units_body()).json()
    control.post(f"/credits/{a['id']}/consume", json={"amount": 1234, "note": "manual"})
    control.post(f"/credits/{c['id']}/consume", json={"units": 1.5})
    api.post(
        "/credits/consume",
        json={
            "customer_id": "cus_acme",
            "type": "AMOUNT",
            "amount": {"currency": "USD", "value_in_cents": 7},
        },
    )
    api.delete(f"/credits/{a['id']}")
    control.post("/clock/advance", json={"days": 3})
    for credit in (a, b, c):
        now = api.get(f"/credits/{credit['id']}").json()
        assert _ledger_balance(api, now) == _balance(now)


def test_check_balance_by_identifier(api: httpx.Client) -> None:
    """check_balance accepts the Maple id or the identifier and sums ACTIVE credits."""
    api.post("/credits", json=credit_body())
    api.post("/credits", json=credit_body(amount={"currency": "EUR", "value_in_cents": 10}))
    api.post("/credits", json=units_body(units=3))
    by_id = api.get("/credits/check_balance/cus_acme").json()
    assert by_id == api.get("/credits/check_balance/acme").json()
    assert by_id["total_amount"]["USD"]["value_in_cents"] == 5000
    assert by_id["total_amount"]["EUR"]["value_in_cents"] == 10
    assert by_id["total_units_with_meta"]["itm_api_calls"]["item_name"] == "API calls"
    assert api.get("/credits/check_balance/nobody").status_code == 404


def test_log_filters(api: httpx.Client) -> None:
    """Log queries filter by action_type, customer_id, type and credit-name search."""
    api.post("/credits", json=credit_body(name="Spring promo"))
    api.post("/credits", json=units_body(customer_id="cus_acme"))
    api.post("/credits", json=credit_body(customer_id="cus_globex"))
    assert len(find_all(api, "/credits/logs/find", {"action_type": "ISSUED"})) == 3
    assert len(find_all(api, "/credits/logs/find", {"customer_id": "cus_globex"})) == 1
    assert len(find_all(api, "/credits/logs/find", {"type": "UNITS"})) == 1
    assert len(find_all(api, "/credits/logs/find", {"search": "SPRING"})) == 1
