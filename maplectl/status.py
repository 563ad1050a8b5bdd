"""Where each managed credit and charge stands in Maple, and each credit's ledger reconciled.
Pure.

``maplectl status`` reads what the plan reads, matches it the plan's way (the plan's actions say
which remote objects each manifest entry holds), and reads the ledger of the credits
(``/credits/logs/find``). This module turns those rows into records:

* per credit: its state, what was issued and what is left as Maple says, and its ledger (one
  row per event: ISSUED, CONSUMED, EXPIRED, REVOKED), summed. For every credit
  ``issued − consumed − expired − revoked`` must be the balance Maple shows (docs/maple-api.md,
  Credits); when it is not, or a row cannot be counted, the credit carries a :class:`Mismatch`;
* per billable of a charge: its state and its amount (the unit price, custom or from the
  catalog, times the quantity);
* totals per customer and currency (per item for UNITS credits), and per customer, currency and
  state for charges.

Records hold facts, never sentences: :mod:`maplectl.render_status` words them. Quantities are
exact: money in integer minor units, units as :class:`~decimal.Decimal` (never a float).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, assert_never

from maplectl.model import JSONDict, Kind, SourceLocation
from maplectl.plan.actions import Action, Conflict, Create, Existing, Reason, Revoke
from maplectl.plan.records import Plan
from maplectl.timestamps import parse_timestamp

FORMAT_VERSION = 1
"""Version of the JSON document (``status --format json``); docs/cli.md describes it."""

Quantity = int | Decimal
"""Minor units of a currency (AMOUNT credits, always an int) or units of an item (UNITS)."""


class Event(StrEnum):
    """What a ledger row records (docs/maple-api.md, Credits)."""

    ISSUED = "ISSUED"
    CONSUMED = "CONSUMED"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


EVENT_ORDER = {e.value: i for i, e in enumerate(Event)}


class Standing(StrEnum):
    """Where a manifest entry stands in Maple, as the plan matched it."""

    IN_MAPLE = "in_maple"  # Maple holds the entry's object(s)
    NOT_CREATED = "not_created"  # nothing in Maple is the entry (yet)
    AMBIGUOUS = "ambiguous"  # several credits have the entry's identity; all are shown
    POSSIBLE_DUPLICATE = "possible_duplicate"  # not created; something like it exists


class Problem(StrEnum):
    """Why a credit's ledger does not add up."""

    BALANCE = "balance"
    """issued − consumed − expired − revoked is not the balance Maple shows."""
    ISSUED = "issued"
    """The ISSUED rows do not sum to what the credit says was issued."""
    FOREIGN_ROW = "foreign_row"
    """A row in another currency, or of another credit type, than its credit: not counted."""
    UNKNOWN_EVENT = "unknown_event"
    """A row whose event is none of ISSUED, CONSUMED, EXPIRED, REVOKED: not counted."""
    NOT_POSITIVE = "not_positive"
    """A row of a negative amount (or zero, for ISSUED and CONSUMED): Maple logs events as
    positive amounts, and a closing row (EXPIRED, REVOKED) as what was left. Not counted."""
    CURRENCY = "currency"
    """The balance is in another currency than the grant: not comparable, not in the totals."""
    STATE = "state"
    """The state and the ledger disagree: a REVOKED or EXPIRED credit with a balance left, or
    without exactly one closing row of its state; an ACTIVE one with a closing row."""
    NOT_REREAD = "not_reread"
    """The credit did not add up, and the second read did not return it: shown as first read."""


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One event of a credit's ledger, as Maple logged it."""

    log_id: str
    event: str
    at: str | None
    quantity: Quantity
    currency: str | None  # AMOUNT rows; None for UNITS
    invoice_id: str | None = None
    note: str | None = None

    def to_json(self) -> JSONDict:
        return {
            "id": self.log_id,
            "event": self.event,
            "at": self.at,
            "quantity": number(self.quantity),
            "currency": self.currency,
            "invoice_id": self.invoice_id,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Tally:
    """A ledger summed per event; ``remaining`` is what it leaves."""

    issued: Quantity = 0
    consumed: Quantity = 0
    expired: Quantity = 0
    revoked: Quantity = 0

    @property
    def remaining(self) -> Quantity:
        return self.issued - self.consumed - self.expired - self.revoked

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.issued + other.issued,
            self.consumed + other.consumed,
            self.expired + other.expired,
            self.revoked + other.revoked,
        )

    def to_json(self) -> JSONDict:
        return {
            "issued": number(self.issued),
            "consumed": number(self.consumed),
            "expired": number(self.expired),
            "revoked": number(self.revoked),
            "remaining": number(self.remaining),
        }


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A way a credit's ledger and its balance disagree: ``ledger`` says, ``maple`` shows."""

    problem: Problem
    ledger: Quantity | None = None
    maple: Quantity | None = None
    log_id: str | None = None
    detail: str | None = None
    """The row's event (unknown_event, not_positive), its currency, type or item (foreign_row),
    the balance's currency (currency), or the credit's state (state)."""

    def to_json(self) -> JSONDict:
        return {
            "problem": self.problem.value,
            "ledger": None if self.ledger is None else number(self.ledger),
            "maple": None if self.maple is None else number(self.maple),
            "log_id": self.log_id,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class CreditStatus:
    """One credit: what Maple shows, its ledger, and whether the two agree."""

    remote_id: str
    credit_type: str  # AMOUNT or UNITS
    currency: str | None  # AMOUNT credits
    item_id: str | None  # UNITS credits
    issued: Quantity  # issued_amount / issued_units, as Maple shows it
    remaining: Quantity  # amount / units, as Maple shows it
    ledger: tuple[LedgerRow, ...] = ()
    tally: Tally = Tally()
    mismatches: tuple[Mismatch, ...] = ()
    name: str | None = None
    state: str | None = None
    expiration_date: str | None = None
    balance_currency: str | None = None
    """The currency of the balance (``amount``) of an AMOUNT credit, as Maple shows it."""

    @property
    def counted_remaining(self) -> Quantity:
        """The balance, for totals in the credit's unit: 0 when it is in another currency."""
        if self.balance_currency is not None and self.balance_currency != self.currency:
            return 0
        return self.remaining

    @property
    def unit(self) -> str:
        """The currency of an AMOUNT credit, the item of a UNITS credit."""
        return (self.currency if self.credit_type == "AMOUNT" else self.item_id) or "?"

    @property
    def reconciled(self) -> bool:
        return not self.mismatches

    def to_json(self) -> JSONDict:
        return {
            "remote_id": self.remote_id,
            "name": self.name,
            "type": self.credit_type,
            "state": self.state,
            "currency": self.currency,
            "item_id": self.item_id,
            "expiration_date": self.expiration_date,
            "issued": number(self.issued),
            "remaining": number(self.remaining),
            "balance_currency": self.balance_currency,
            "ledger": [r.to_json() for r in self.ledger],
            "ledger_totals": self.tally.to_json(),
            "reconciled": self.reconciled,
            "mismatches": [m.to_json() for m in self.mismatches],
        }


@dataclass(frozen=True, slots=True)
class BillableStatus:
    """One billable of a one-time charge: its state and what it bills."""

    remote_id: str
    state: str | None
    charge_type: str | None  # NEXT_INVOICE or IMMEDIATE
    quantity: int | float | None
    name: str | None = None
    product_pricing_id: str | None = None
    priced_by: str | None = None  # custom, catalog, or None when Maple shows no price
    currency: str | None = None
    unit_price: int | None = None  # minor units of ``currency``
    amount: int | None = None  # unit_price × quantity; None unless the quantity is whole

    def to_json(self) -> JSONDict:
        return {
            "remote_id": self.remote_id,
            "name": self.name,
            "type": self.charge_type,
            "state": self.state,
            "quantity": self.quantity,
            "product_pricing_id": self.product_pricing_id,
            "priced_by": self.priced_by,
            "currency": self.currency,
            "unit_price": self.unit_price,
            "amount": self.amount,
        }


@dataclass(frozen=True, slots=True)
class EntryStatus:
    """One manifest entry and the objects of Maple it holds."""

    address: str
    kind: Kind
    customer_id: str
    source: SourceLocation
    standing: Standing
    credits: tuple[CreditStatus, ...] = ()
    billables: tuple[BillableStatus, ...] = ()
    missing: tuple[str, ...] = ()
    """A charge's items Maple does not have (``onetime_items.1``)."""
    candidates: tuple[str, ...] = ()
    """A possible duplicate: the objects that could be this entry (not counted as its own)."""
    drift: bool = False
    """A compared field differs from the manifest (``maplectl plan`` shows how)."""

    @property
    def remote_ids(self) -> tuple[str, ...]:
        return tuple(c.remote_id for c in self.credits) + tuple(b.remote_id for b in self.billables)

    def to_json(self) -> JSONDict:
        return {
            "address": self.address,
            "kind": self.kind.value,
            "customer_id": self.customer_id,
            "source": self.source.to_json(),
            "standing": self.standing.value,
            "drift": self.drift,
            "remote_ids": list(self.remote_ids),
            "candidates": list(self.candidates),
            "missing": list(self.missing),
            "credits": [c.to_json() for c in self.credits],
            "billables": [b.to_json() for b in self.billables],
        }


@dataclass(frozen=True, slots=True)
class CreditTotal:
    """A customer's credits of one currency (or one item, for UNITS): how many, the ledger
    summed, and the balance Maple shows."""

    customer_id: str
    credit_type: str
    unit: str  # currency or item id
    credits: int
    tally: Tally
    remaining: Quantity

    def to_json(self) -> JSONDict:
        amount = self.credit_type == "AMOUNT"
        return {
            "customer_id": self.customer_id,
            "type": self.credit_type,
            "currency": self.unit if amount else None,
            "item_id": None if amount else self.unit,
            "credits": self.credits,
            "issued": number(self.tally.issued),
            "consumed": number(self.tally.consumed),
            "expired": number(self.tally.expired),
            "revoked": number(self.tally.revoked),
            "remaining": number(self.remaining),
        }


@dataclass(frozen=True, slots=True)
class ChargeTotal:
    """A customer's priced billables of one currency in one state."""

    customer_id: str
    currency: str
    state: str
    billables: int
    amount: int

    def to_json(self) -> JSONDict:
        return {
            "customer_id": self.customer_id,
            "currency": self.currency,
            "state": self.state,
            "billables": self.billables,
            "amount": self.amount,
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Everything ``maplectl status`` shows: one :class:`EntryStatus` per manifest entry."""

    company_id: str
    api_url: str
    read_at: datetime
    customers: tuple[str, ...]
    entries: tuple[EntryStatus, ...]
    environment: str | None = None
    requests: int = 0
    reread: tuple[str, ...] = ()
    """Customers whose credits and ledger were read a second time because they did not add up
    the first time (a credit used while status read)."""

    @property
    def credits(self) -> list[tuple[EntryStatus, CreditStatus]]:
        return [(e, c) for e in self.entries for c in e.credits]

    @property
    def mismatched(self) -> list[tuple[EntryStatus, CreditStatus]]:
        """The credits whose ledger does not add up."""
        return [(e, c) for e, c in self.credits if not c.reconciled]

    def credit_totals(self) -> list[CreditTotal]:
        """Per customer and currency (item, for UNITS): the ledgers summed, the balances."""
        groups: dict[tuple[str, str, str], list[CreditStatus]] = defaultdict(list)
        for entry, credit in self.credits:
            groups[entry.customer_id, credit.credit_type, credit.unit].append(credit)
        return [
            CreditTotal(
                customer_id=customer,
                credit_type=kind,
                unit=unit,
                credits=len(group),
                tally=sum((c.tally for c in group), Tally()),
                remaining=sum((c.counted_remaining for c in group), _zero(kind)),
            )
            for (customer, kind, unit), group in sorted(groups.items())
        ]

    def charge_totals(self) -> list[ChargeTotal]:
        """Per customer, currency and state: the priced billables and their amounts."""
        groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for entry in self.entries:
            for b in entry.billables:
                if b.amount is not None and b.currency is not None:
                    groups[entry.customer_id, b.currency, b.state or "?"].append(b.amount)
        return [
            ChargeTotal(customer, currency, state, len(amounts), sum(amounts))
            for (customer, currency, state), amounts in sorted(groups.items())
        ]

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Standing}
        for entry in self.entries:
            counts[entry.standing.value] += 1
        counts["entries"] = len(self.entries)
        counts["credits"] = len(self.credits)
        counts["billables"] = sum(len(e.billables) for e in self.entries)
        counts["mismatched"] = len(self.mismatched)
        counts["reconciled"] = counts["credits"] - counts["mismatched"]
        return counts

    def to_json(self) -> JSONDict:
        return {
            "format_version": FORMAT_VERSION,
            "company_id": self.company_id,
            "environment": self.environment,
            "api_url": self.api_url,
            "read_at": self.read_at.isoformat().replace("+00:00", "Z"),
            "customers": list(self.customers),
            "requests": self.requests,
            "reread": list(self.reread),
            "ok": not self.mismatched,
            "entries": [e.to_json() for e in self.entries],
            "totals": {
                "credits": [t.to_json() for t in self.credit_totals()],
                "charges": [t.to_json() for t in self.charge_totals()],
            },
            "summary": self.counts(),
        }


# -- building --------------------------------------------------------------------------------------


def build_status(
    plan: Plan,
    credits: Iterable[Mapping[str, Any]],
    charges: Iterable[Mapping[str, Any]],
    logs: Iterable[Mapping[str, Any]],
    *,
    read_at: datetime,
    reread: Sequence[str] = (),
    not_reread: Iterable[str] = (),
) -> StatusReport:
    """The status of every entry of ``plan``, from the rows it was made from (``credits``,
    ``charges``) and the ledger rows of its customers (``logs``; rows of other credits are
    ignored). Rows are as :func:`maplectl.maple.records.parse_row` checked them.
    ``not_reread``: credits the second read did not return (shown as first read, mismatched)."""
    lost = frozenset(not_reread)
    credit_rows = {str(c["id"]): c for c in credits}
    billable_rows = {str(b["id"]): b for b in charges}
    ledgers: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in logs:
        ledgers[str(row["credit_id"])].append(row)
    entries = tuple(
        _entry(action, credit_rows, billable_rows, ledgers, lost)
        for action in sorted(plan.actions, key=lambda a: (a.kind.value, a.address))
    )
    return StatusReport(
        company_id=plan.company_id,
        api_url=plan.api_url,
        environment=plan.environment,
        read_at=read_at,
        customers=plan.customers,
        entries=entries,
        requests=plan.requests,
        reread=tuple(sorted(reread)),
    )


def held_credit_ids(plan: Plan) -> dict[str, str]:
    """Remote id -> customer of every credit the plan's entries hold (ambiguous ones too):
    the credits whose ledgers status reads."""
    return {
        remote_id: action.customer_id
        for action in plan.actions
        if action.kind is Kind.CREDIT
        and _standing(action) in (Standing.IN_MAPLE, Standing.AMBIGUOUS)
        for remote_id in action.remote_ids
    }


def _standing(action: Action) -> Standing:
    """A credit the manifest asks to revoke is still in Maple until apply revokes it."""
    match action:
        case Existing() | Revoke():
            return Standing.IN_MAPLE
        case Create():
            return Standing.NOT_CREATED
        case Conflict():
            if action.reason is Reason.SEVERAL:
                return Standing.AMBIGUOUS
            return Standing.POSSIBLE_DUPLICATE
        case _:  # pragma: no cover - the union is closed; mypy checks the match is exhaustive
            assert_never(action)


def _entry(
    action: Action,
    credit_rows: Mapping[str, Mapping[str, Any]],
    billable_rows: Mapping[str, Mapping[str, Any]],
    ledgers: Mapping[str, list[Mapping[str, Any]]],
    lost: frozenset[str] = frozenset(),
) -> EntryStatus:
    standing = _standing(action)
    held = action.remote_ids if standing in (Standing.IN_MAPLE, Standing.AMBIGUOUS) else ()
    credits = tuple(
        credit_status(credit_rows[i], ledgers.get(i, ()), not_reread=i in lost)
        for i in held
        if i in credit_rows
    )
    billables = tuple(billable_status(billable_rows[i]) for i in held if i in billable_rows)
    return EntryStatus(
        address=action.address,
        kind=action.kind,
        customer_id=action.customer_id,
        source=action.source,
        standing=standing,
        credits=credits if action.kind is Kind.CREDIT else (),
        billables=billables if action.kind is Kind.ONE_TIME_CHARGE else (),
        missing=action.missing if isinstance(action, Existing) else (),
        candidates=action.remote_ids if standing is Standing.POSSIBLE_DUPLICATE else (),
        drift=bool(action.diff) and standing is Standing.IN_MAPLE,
    )


def credit_status(
    credit: Mapping[str, Any], logs: Iterable[Mapping[str, Any]], *, not_reread: bool = False
) -> CreditStatus:
    """One credit and its ledger rows, summed and checked against its balance and its state.
    ``not_reread``: the credit did not add up and the second read did not return it."""
    kind = str(credit.get("type") or "AMOUNT")
    amount = kind == "AMOUNT"
    balance_currency: str | None = None
    mismatches: list[Mismatch] = []
    if amount:
        money = [m for m in (credit.get("issued_amount"), credit.get("amount")) if m]
        currency: str | None = str(money[0]["currency"]) if money else None
        issued: Quantity = _cents(credit.get("issued_amount"))
        remaining: Quantity = _cents(credit.get("amount"))
        item_id = None
        balance = credit.get("amount")
        if isinstance(balance, Mapping) and balance.get("currency") is not None:
            balance_currency = str(balance["currency"])
            if balance_currency != currency:
                mismatches.append(Mismatch(Problem.CURRENCY, detail=balance_currency))
    else:
        currency = None
        issued, remaining = units(credit.get("issued_units")), units(credit.get("units"))
        item_id = credit.get("item_id")
    rows: list[LedgerRow] = []
    sums: dict[str, Quantity] = {e.value: _zero(kind) for e in Event}
    closing: list[str] = []
    for log in logs:
        row = _ledger_row(log)
        rows.append(row)
        other_item = log.get("item_id")
        if row.event not in sums:
            mismatches.append(Mismatch(Problem.UNKNOWN_EVENT, log_id=row.log_id, detail=row.event))
        elif str(log.get("type")) != kind or (amount and row.currency != currency):
            foreign = row.currency if amount and log.get("type") == kind else log.get("type")
            mismatches.append(Mismatch(Problem.FOREIGN_ROW, log_id=row.log_id, detail=str(foreign)))
        elif not amount and other_item is not None and str(other_item) != str(item_id):
            mismatches.append(
                Mismatch(Problem.FOREIGN_ROW, log_id=row.log_id, detail=f"units of {other_item}")
            )
        elif row.quantity < 0 or (row.quantity == 0 and row.event in _OPENING):
            mismatches.append(Mismatch(Problem.NOT_POSITIVE, log_id=row.log_id, detail=row.event))
        else:
            sums[row.event] += row.quantity
            if row.event in _CLOSING:
                closing.append(row.event)
    state = credit.get("state")
    if not _state_agrees(state, closing, remaining):
        mismatches.append(Mismatch(Problem.STATE, maple=remaining, detail=str(state)))
    if not_reread:
        mismatches.append(Mismatch(Problem.NOT_REREAD))
    tally = Tally(
        sums[Event.ISSUED], sums[Event.CONSUMED], sums[Event.EXPIRED], sums[Event.REVOKED]
    )
    if tally.issued != issued:
        mismatches.append(Mismatch(Problem.ISSUED, ledger=tally.issued, maple=issued))
    if tally.remaining != remaining:
        mismatches.append(Mismatch(Problem.BALANCE, ledger=tally.remaining, maple=remaining))
    rows.sort(key=lambda r: (_instant(r.at), EVENT_ORDER.get(r.event, len(EVENT_ORDER)), r.log_id))
    return CreditStatus(
        remote_id=str(credit["id"]),
        credit_type=kind,
        currency=currency,
        item_id=None if item_id is None else str(item_id),
        issued=issued,
        remaining=remaining,
        ledger=tuple(rows),
        tally=tally,
        mismatches=tuple(mismatches),
        name=credit.get("name"),
        state=credit.get("state"),
        expiration_date=credit.get("expiration_date"),
        balance_currency=balance_currency,
    )


_OPENING = frozenset({Event.ISSUED.value, Event.CONSUMED.value})
_CLOSING = frozenset({Event.EXPIRED.value, Event.REVOKED.value})


def _state_agrees(state: Any, closing: Sequence[str], remaining: Quantity) -> bool:
    """A REVOKED or EXPIRED credit has nothing left and exactly one closing row, of its state;
    an ACTIVE one has none (docs/maple-api.md, Credits). Other states are not checked."""
    if state in _CLOSING:
        return remaining == 0 and list(closing) == [state]
    if state == "ACTIVE":
        return not closing
    return True


def _ledger_row(log: Mapping[str, Any]) -> LedgerRow:
    applied = log.get("amount_applied")
    if log.get("type") == "AMOUNT" and isinstance(applied, Mapping):
        quantity: Quantity = _cents(applied)
        currency: str | None = str(applied.get("currency"))
    else:
        quantity, currency = units(log.get("units_applied")), None
    return LedgerRow(
        log_id=str(log["id"]),
        event=str(log.get("action_type")),
        at=log.get("created_at"),
        quantity=quantity,
        currency=currency,
        invoice_id=log.get("invoice_id"),
        note=log.get("note"),
    )


def billable_status(row: Mapping[str, Any]) -> BillableStatus:
    """A billable, priced by its custom price or, when Maple embeds it, its catalog price."""
    custom = row.get("custom_price")
    pricing = row.get("product_pricing")
    price: Any = None
    priced_by = None
    if isinstance(custom, Mapping) and isinstance(custom.get("amount"), Mapping):
        price, priced_by = custom["amount"], "custom"
    elif isinstance(pricing, Mapping) and isinstance(pricing.get("price"), Mapping):
        price, priced_by = pricing["price"], "catalog"
    quantity = row.get("aggregate")
    unit_price = _cents(price) if price is not None else None
    whole: int | None = None
    if isinstance(quantity, int) and not isinstance(quantity, bool):
        whole = quantity
    elif isinstance(quantity, float) and quantity.is_integer():
        whole = int(quantity)
    return BillableStatus(
        remote_id=str(row["id"]),
        state=row.get("state"),
        charge_type=row.get("type"),
        quantity=quantity,
        name=row.get("name"),
        product_pricing_id=row.get("product_pricing_id"),
        priced_by=priced_by,
        currency=str(price["currency"]) if price is not None else None,
        unit_price=unit_price,
        amount=None if unit_price is None or whole is None else unit_price * whole,
    )


# -- quantities ------------------------------------------------------------------------------------


def _instant(at: str | None) -> datetime:
    """When a ledger row was written, for ordering (``2026-01-01T00:00:00Z`` comes before
    ``2026-01-01T00:00:00.5Z``, which a string comparison gets wrong); unreadable ones first."""
    return (parse_timestamp(at) if at else None) or _EARLIEST


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def units(value: Any) -> Decimal:
    """A number of units as Maple sent it, exactly (``0.1`` is one tenth, not a float's
    approximation); 0 when absent."""
    if value is None or isinstance(value, bool):
        return Decimal(0)
    return Decimal(str(value))


def _cents(money: Any) -> int:
    """The integer minor units of a money object (0 when absent)."""
    if not isinstance(money, Mapping):
        return 0
    value = money.get("value_in_cents")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _zero(kind: str) -> Quantity:
    return 0 if kind == "AMOUNT" else Decimal(0)


def number(quantity: Quantity) -> int | float:
    """A quantity for JSON: minor units and whole units as integers, other units as numbers."""
    if isinstance(quantity, int):
        return quantity
    return int(quantity) if quantity == quantity.to_integral_value() else float(quantity)
