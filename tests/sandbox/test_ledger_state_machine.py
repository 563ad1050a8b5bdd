"""A hypothesis state machine over credits: create, consume, revoke, advance the clock.

A small model of the contract (§5, §6) runs beside the sandbox. After every step the machine
reads every credit and every ledger row back through the API (``/credits/find`` and
``/credits/logs/find``) and checks that, for each credit,

* ISSUED − CONSUMED − EXPIRED − REVOKED, summed from its log rows, equals its balance;
* its state agrees with its balance and its rows (CONSUMED iff used up by consumption, EXPIRED
  only once the expiry has passed, REVOKED only after a revoke, ACTIVE with something left);
* state, balance and rows are exactly what the model predicts, so a credit that is no longer
  ACTIVE never changes again, and a refused consumption takes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from helpers.control import control_http
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from maplectl.sandbox import ManualClock, Sandbox

COMPANY = "cmp_demo"
START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
CUSTOMERS = ("cus_acme", "cus_globex")
CURRENCIES = ("USD", "EUR")
ITEMS = ("itm_api_calls", "itm_seats")
MICRO = 1_000_000

# Expiry within a few days, so that clock advances of hours or days often cross it.
EXPIRY = st.none() | st.integers(min_value=1, max_value=3 * 86400)
ADVANCE = st.sampled_from([1, 59, 3600, 6 * 3600, 86400]) | st.integers(1, 2 * 86400)


@dataclass(slots=True)
class ModelCredit:
    """What the contract says one credit must look like."""

    id: str
    seq: int
    customer_id: str
    type: str  # AMOUNT (cents) or UNITS (millionths of a unit)
    pool: str  # currency or item id: what a customer-wide consumption draws from
    issued: int
    expires: datetime | None
    balance: int
    state: str = "ACTIVE"
    logs: list[tuple[str, int]] = field(default_factory=list)


def units_wire(micro: int) -> float | int:
    """Millionths of a unit -> the number sent on the wire (at most six decimals)."""
    return micro // MICRO if micro % MICRO == 0 else float(Decimal(micro) / MICRO)


def units_micro(value: float | int) -> int:
    """A unit count from the wire -> millionths."""
    return int(Decimal(str(value)) * MICRO)


def wire_ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class LedgerMachine(RuleBasedStateMachine):
    """Drives the sandbox through its API and checks it against the model after every step."""

    credits = Bundle("credits")

    def __init__(self) -> None:
        super().__init__()
        self.box = Sandbox.open(":memory:", clock=ManualClock(START))
        self.api = httpx.Client(
            transport=httpx.WSGITransport(app=self.box.app),
            base_url=f"http://sandbox/api/v1/companies/{COMPANY}",
            headers={"Authorization": f"Bearer {self.box.token}"},
        )
        self.control = control_http(self.box.app, self.box.token)
        self.now = START
        self.model: dict[str, ModelCredit] = {}

    def teardown(self) -> None:
        self.api.close()
        self.control.close()
        self.box.close()

    # -- the model's rules -----------------------------------------------------------------

    def _expire(self) -> None:
        """Contract §5: an ACTIVE credit whose expiry has passed is EXPIRED with what was left."""
        for credit in self.model.values():
            if (
                credit.state == "ACTIVE"
                and credit.expires is not None
                and self.now > credit.expires
            ):
                credit.logs.append(("EXPIRED", credit.balance))
                credit.state, credit.balance = "EXPIRED", 0

    def _take(self, credit: ModelCredit, amount: int) -> None:
        credit.balance -= amount
        credit.logs.append(("CONSUMED", amount))
        if credit.balance == 0:
            credit.state = "CONSUMED"

    def _issue(self, body: dict[str, Any], issued: int, pool: str, expires: datetime | None) -> str:
        answer = self.api.post("/credits", json=body)
        assert answer.status_code == 201, answer.text
        credit_id: str = answer.json()["id"]
        self._expire()
        self.model[credit_id] = ModelCredit(
            id=credit_id,
            seq=len(self.model),
            customer_id=body["customer_id"],
            type=body["type"],
            pool=pool,
            issued=issued,
            expires=expires,
            balance=issued,
            logs=[("ISSUED", issued)],
        )
        return credit_id

    def _expiry(self, seconds: int | None) -> tuple[datetime | None, dict[str, Any]]:
        if seconds is None:
            return None, {}
        moment = self.now + timedelta(seconds=seconds)
        return moment, {"expiration_date": wire_ts(moment)}

    # -- rules ---------------------------------------------------------------------------------

    @initialize(target=credits)
    def first_credit(self) -> str:
        body = {
            "customer_id": "cus_acme",
            "name": "Opening credit",
            "type": "AMOUNT",
            "state": "ACTIVE",
            "amount": {"currency": "USD", "value_in_cents": 1000},
        }
        return self._issue(body, 1000, "USD", None)

    @rule(
        target=credits,
        customer=st.sampled_from(CUSTOMERS),
        currency=st.sampled_from(CURRENCIES),
        cents=st.integers(1, 5000),
        expiry=EXPIRY,
    )
    def create_amount(self, customer: str, currency: str, cents: int, expiry: int | None) -> str:
        expires, extra = self._expiry(expiry)
        body = {
            "customer_id": customer,
            "name": f"Credit {len(self.model)}",
            "type": "AMOUNT",
            "state": "ACTIVE",
            "amount": {"currency": currency, "value_in_cents": cents},
            **extra,
        }
        return self._issue(body, cents, currency, expires)

    @rule(
        target=credits,
        customer=st.sampled_from(CUSTOMERS),
        item=st.sampled_from(ITEMS),
        micro=st.integers(1, 50 * MICRO),
        expiry=EXPIRY,
    )
    def create_units(self, customer: str, item: str, micro: int, expiry: int | None) -> str:
        expires, extra = self._expiry(expiry)
        body = {
            "customer_id": customer,
            "name": f"Pack {len(self.model)}",
            "type": "UNITS",
            "units": units_wire(micro),
            "item_id": item,
            **extra,
        }
        return self._issue(body, micro, item, expires)

    @rule(credit_id=credits, share=st.sampled_from([50, 100, 101]) | st.integers(1, 120))
    def consume_one(self, credit_id: str, share: int) -> None:
        """Take ``share`` percent of the grant from one credit (over 100%: always refused)."""
        self._expire()
        credit = self.model[credit_id]
        self._consume_one(credit, max(1, credit.issued * share // 100))

    @rule(credit_id=credits)
    def consume_the_rest(self, credit_id: str) -> None:
        """Take exactly what is left of one credit: it becomes CONSUMED."""
        self._expire()
        credit = self.model[credit_id]
        self._consume_one(credit, max(1, credit.balance))

    def _consume_one(self, credit: ModelCredit, wanted: int) -> None:
        credit_id = credit.id
        body: dict[str, Any] = {
            "customer_id": credit.customer_id,
            "type": credit.type,
            "credit_id": credit_id,
            "note": "by id",
        }
        if credit.type == "AMOUNT":
            body["amount"] = {"currency": credit.pool, "value_in_cents": wanted}
        else:
            body["units"] = units_wire(wanted)
        answer = self.api.post("/credits/consume", json=body)
        if credit.state == "ACTIVE" and wanted <= credit.balance:
            assert answer.status_code == 200, answer.text
            self._take(credit, wanted)
        else:
            assert answer.status_code == 400, answer.text
            assert answer.json()["error_type"] == "validation_error"

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        kind=st.sampled_from(["AMOUNT", "UNITS"]),
        pool_index=st.integers(0, 1),
        size=st.integers(1, 8000),
    )
    def consume_from_customer(self, customer: str, kind: str, pool_index: int, size: int) -> None:
        """Customer-wide consumption: the credit expiring first is used first (all or nothing)."""
        self._expire()
        pool = (CURRENCIES if kind == "AMOUNT" else ITEMS)[pool_index]
        wanted = size if kind == "AMOUNT" else size * MICRO // 1000
        body: dict[str, Any] = {"customer_id": customer, "type": kind, "note": "by customer"}
        if kind == "AMOUNT":
            body["amount"] = {"currency": pool, "value_in_cents": wanted}
        else:
            body["units"], body["item_id"] = units_wire(wanted), pool
        answer = self.api.post("/credits/consume", json=body)
        candidates = sorted(
            (
                c
                for c in self.model.values()
                if c.customer_id == customer
                and c.type == kind
                and c.pool == pool
                and c.state == "ACTIVE"
            ),
            key=lambda c: (c.expires is None, c.expires or START, c.seq),
        )
        if wanted > sum(c.balance for c in candidates):
            assert answer.status_code == 400, answer.text
            return
        assert answer.status_code == 200, answer.text
        for credit in candidates:
            if wanted == 0:
                break
            taken = min(wanted, credit.balance)
            self._take(credit, taken)
            wanted -= taken

    @rule(credit_id=credits)
    def revoke(self, credit_id: str) -> None:
        self._expire()
        answer = self.api.delete(f"/credits/{credit_id}")
        assert answer.status_code == 200, answer.text
        credit = self.model[credit_id]
        if credit.state == "ACTIVE":
            credit.logs.append(("REVOKED", credit.balance))
            credit.state, credit.balance = "REVOKED", 0
        assert answer.json()["state"] == credit.state

    @precondition(lambda self: len(self.model) > 1)
    @rule(credit_id=consumes(credits))
    def forget(self, credit_id: str) -> None:
        """Stop picking a credit for later steps (it stays in the model and is still checked)."""

    @rule(seconds=ADVANCE)
    def advance_clock(self, seconds: int) -> None:
        answer = self.control.post("/clock/advance", json={"seconds": seconds})
        assert answer.status_code == 200, answer.text
        self.now += timedelta(seconds=seconds)

    @rule(credit_id=credits)
    def advance_to_expiry(self, credit_id: str) -> None:
        """Move the clock to the very instant a credit expires: it is still ACTIVE (now > expiry
        is what expires a credit), and expires a second later."""
        expires = self.model[credit_id].expires
        if expires is None or expires <= self.now:
            return
        self.advance_clock(int((expires - self.now).total_seconds()))

    # -- what must hold after every step ---------------------------------------------------

    def _find_all(self, path: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            answer = self.api.post(path, json={"pagination": {"limit": 100, "from_key": cursor}})
            assert answer.status_code == 200, answer.text
            out.extend(answer.json()["results"])
            cursor = answer.json()["pagination"]["from_key"]
            if cursor is None:
                return out

    @invariant()
    def ledger_explains_every_balance(self) -> None:
        self._expire()  # the reads below expire overdue credits first, as the model does
        found = {c["id"]: c for c in self._find_all("/credits/find")}
        rows: dict[str, list[tuple[str, int]]] = {}
        for log in self._find_all("/credits/logs/find"):
            applied = (
                log["amount_applied"]["value_in_cents"]
                if log["type"] == "AMOUNT"
                else units_micro(log["units_applied"])
            )
            assert applied > 0, log
            rows.setdefault(log["credit_id"], []).append((log["action_type"], applied))
        assert set(found) == set(self.model)
        assert set(rows) == set(self.model)

        for credit_id, credit in self.model.items():
            got = found[credit_id]
            balance = (
                got["amount"]["value_in_cents"]
                if got["type"] == "AMOUNT"
                else units_micro(got["units"])
            )
            issued = (
                got["issued_amount"]["value_in_cents"]
                if got["type"] == "AMOUNT"
                else units_micro(got["issued_units"])
            )
            ledger = rows[credit_id]
            total = {
                action: sum(a for kind, a in ledger if kind == action)
                for action in ("ISSUED", "CONSUMED", "EXPIRED", "REVOKED")
            }
            actions = [kind for kind, _ in ledger]
            # The ledger alone explains the balance.
            assert issued == total["ISSUED"] and actions.count("ISSUED") == 1
            assert (
                total["ISSUED"] - total["CONSUMED"] - total["EXPIRED"] - total["REVOKED"] == balance
            ), (credit_id, ledger, balance)
            # States agree with balances and rows.
            state = got["state"]
            assert (state == "ACTIVE") == (balance > 0), got
            assert actions.count("EXPIRED") == (state == "EXPIRED")
            assert actions.count("REVOKED") == (state == "REVOKED")
            if state == "CONSUMED":
                assert total["CONSUMED"] == issued
            if state == "EXPIRED":
                assert got["expiration_date"] is not None
                assert datetime.fromisoformat(got["expiration_date"]) < self.now
            # And everything is exactly what the model predicts.
            assert (state, balance) == (credit.state, credit.balance), (got, credit)
            assert sorted(ledger) == sorted(credit.logs), (credit_id, ledger, credit.logs)


SETTINGS = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,  # the same runs on every machine, so CI is deterministic
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_every_balance_equals_its_ledger_through_any_sequence_of_operations() -> None:
    """Through any mix of create, consume, revoke and clock advances, ledger and model agree."""
    run_state_machine_as_test(LedgerMachine, settings=SETTINGS)
