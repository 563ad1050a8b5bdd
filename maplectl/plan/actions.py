"""A plan's actions: a small tagged union, with structured reasons and typed money. Pure.

Every manifest entry gets exactly one action:

* :class:`Create`: apply sends ``request.body`` with ``request.idempotency_key``, once;
* :class:`Revoke`: apply revokes the credit the entry holds (``metadata.revoke: true``), the one
  destructive action, never implied by anything but that field;
* :class:`Existing`: Maple holds the entry's object(s): ``unchanged``, or ``drift`` when a
  compared field differs or items of a charge are missing;
* :class:`Conflict`: a person must decide before apply runs: ``ambiguous`` (several objects have
  the entry's identity) or ``possible_duplicate`` (an object could be the entry).

Records hold facts, never sentences: why an action is what it is (:class:`Reason`), the
objects involved (:class:`Candidate`) and the money, as :class:`~maplectl.model.Money`. All
wording is :mod:`maplectl.render`'s. ``render`` and ``apply`` read the same records, so "what
would happen" and "what happens" cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from maplectl.model import JSONDict, Kind, Money, SourceLocation
from maplectl.plan.diff import FieldDiff


class ActionType(StrEnum):
    """What the plan says about one manifest entry."""

    CREATE = "create"
    REVOKE = "revoke"
    UNCHANGED = "unchanged"
    DRIFT = "drift"
    AMBIGUOUS = "ambiguous"
    POSSIBLE_DUPLICATE = "possible_duplicate"


ACTION_ORDER = tuple(ActionType)


class Risk(StrEnum):
    """What an action does with money if it is (or was) sent; set from the manifest's body."""

    CREDIT_GRANT = "credit-grant"
    CREDIT_REVOKE = "credit-revoke"  # a credit whose manifest says metadata.revoke: true
    CHARGE_NEXT_INVOICE = "charge-next-invoice"
    CHARGE_IMMEDIATE = "charge-immediate"  # invoiced now
    CHARGE_IMMEDIATE_AUTO = "charge-immediate-auto"  # invoiced now, and the card on file charged


def risk_of(kind: Kind, body: Mapping[str, Any], *, revoke: bool = False) -> Risk:
    """The risk class of a manifest entry of ``kind`` with this create body (and
    ``metadata.revoke``)."""
    if kind is Kind.CREDIT:
        return Risk.CREDIT_REVOKE if revoke else Risk.CREDIT_GRANT
    if body.get("type") != "IMMEDIATE":
        return Risk.CHARGE_NEXT_INVOICE
    return Risk.CHARGE_IMMEDIATE_AUTO if body.get("auto_charges") is True else Risk.CHARGE_IMMEDIATE


class Reason(StrEnum):
    """Why an action is what it is, beyond its type."""

    PINNED = "pinned"  # existing: found through metadata.remote_id
    ITEMS_MISSING = "items_missing"  # existing (drift): some items of a charge are not in Maple
    SEVERAL = "several"  # ambiguous: several objects have the entry's identity
    NEAR_MATCH = "near_match"  # possible duplicate: an object could be the entry
    ALLOWED = "allowed"  # create: near matches exist, metadata.allow_duplicate says go


@dataclass(frozen=True, slots=True)
class Candidate:
    """A Maple object an action refers to besides its own: a near match or an ambiguity."""

    remote_id: str
    name: str | None = None
    grant: Money | None = None  # AMOUNT credits: the issued amount
    units: int | float | None = None  # UNITS credits: the issued units
    item_id: str | None = None
    aggregate: int | float | None = None  # billables: the quantity
    state: str | None = None
    pinned_by: str | None = None  # the address whose metadata.remote_id holds it

    def to_json(self) -> JSONDict:
        return {
            "remote_id": self.remote_id,
            "name": self.name,
            "grant": self.grant.to_json() if self.grant else None,
            "units": self.units,
            "item_id": self.item_id,
            "aggregate": self.aggregate,
            "state": self.state,
            "pinned_by": self.pinned_by,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Candidate:
        grant = data.get("grant")
        return cls(
            remote_id=str(data["remote_id"]),
            name=data.get("name"),
            grant=Money.from_json(grant) if grant else None,
            units=data.get("units"),
            item_id=data.get("item_id"),
            aggregate=data.get("aggregate"),
            state=data.get("state"),
            pinned_by=data.get("pinned_by"),
        )


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """An item priced by Maple's catalog: its money is not in the plan's totals."""

    product_pricing_id: str
    aggregate: int | float

    def to_json(self) -> JSONDict:
        return {"product_pricing_id": self.product_pricing_id, "aggregate": self.aggregate}


@dataclass(frozen=True, slots=True)
class Request:
    """A create as apply sends it: the body, its idempotency key, and what it moves."""

    body: JSONDict
    idempotency_key: str
    money: tuple[Money, ...] = ()
    """Per currency: AMOUNT credits, custom-priced items times their quantity."""
    catalog: tuple[CatalogItem, ...] = ()
    discounted: bool = False
    """The charge carries discounts (applied on Maple's invoice; totals are before them)."""

    def to_json(self) -> JSONDict:
        return {
            "body": self.body,
            "idempotency_key": self.idempotency_key,
            "money": [m.to_json() for m in self.money],
            "catalog": [c.to_json() for c in self.catalog],
            "discounted": self.discounted,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Request:
        return cls(
            body=dict(data["body"]),
            idempotency_key=str(data["idempotency_key"]),
            money=tuple(Money.from_json(m) for m in data.get("money") or ()),
            catalog=tuple(
                CatalogItem(str(c["product_pricing_id"]), c["aggregate"])
                for c in data.get("catalog") or ()
            ),
            discounted=bool(data.get("discounted", False)),
        )


@dataclass(frozen=True, slots=True)
class EntryMeta:
    """The manifest's metadata that planning and apply act on."""

    remote_id: str | None = None
    allow_duplicate: bool = False
    created_after: str | None = None
    revoke: bool = False

    def to_json(self) -> JSONDict:
        return {
            "remote_id": self.remote_id,
            "allow_duplicate": self.allow_duplicate,
            "created_after": self.created_after,
            "revoke": self.revoke,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> EntryMeta:
        data = data or {}
        if not isinstance(data, Mapping):
            raise TypeError(f"metadata is not an object: {data!r}")
        return cls(
            remote_id=data.get("remote_id"),
            allow_duplicate=bool(data.get("allow_duplicate", False)),
            created_after=data.get("created_after"),
            revoke=bool(data.get("revoke", False)),
        )


@dataclass(frozen=True, slots=True)
class Create:
    """Apply creates this entry: ``request`` is exactly what it sends."""

    address: str
    kind: Kind
    customer_id: str
    source: SourceLocation
    request: Request
    meta: EntryMeta = EntryMeta()
    like: tuple[Candidate, ...] = ()
    """Near matches that ``metadata.allow_duplicate`` lets through (reason ``allowed``)."""
    risk: Risk = Risk.CREDIT_GRANT
    """Set by the builder from the manifest (:func:`risk_of`), like on every action."""

    @property
    def action(self) -> ActionType:
        return ActionType.CREATE

    @property
    def reason(self) -> Reason | None:
        return Reason.ALLOWED if self.like else None

    @property
    def body(self) -> JSONDict:
        return self.request.body

    @property
    def idempotency_key(self) -> str:
        return self.request.idempotency_key

    @property
    def money(self) -> tuple[Money, ...]:
        return self.request.money

    @property
    def remote_ids(self) -> tuple[str, ...]:
        return ()

    @property
    def diff(self) -> tuple[FieldDiff, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Existing:
    """Maple holds this entry's object(s); ``diff`` or ``missing`` make it drift."""

    address: str
    kind: Kind
    customer_id: str
    source: SourceLocation
    remote_ids: tuple[str, ...]
    diff: tuple[FieldDiff, ...] = ()
    missing: tuple[str, ...] = ()
    """Fields (``onetime_items.1``) of a charge's items Maple does not have."""
    pinned: bool = False
    state: str | None = None
    grant: tuple[Money, ...] = ()
    """An AMOUNT credit's issued amount (shown, never counted in the totals)."""
    balance: Money | None = None
    balance_units: int | float | None = None
    risk: Risk = Risk.CREDIT_GRANT
    meta: EntryMeta = EntryMeta()

    @property
    def action(self) -> ActionType:
        return ActionType.DRIFT if self.diff or self.missing else ActionType.UNCHANGED

    @property
    def reason(self) -> Reason | None:
        if self.missing:
            return Reason.ITEMS_MISSING
        return Reason.PINNED if self.pinned else None

    @property
    def money(self) -> tuple[Money, ...]:
        return self.grant

    @property
    def request(self) -> None:
        return None

    @property
    def idempotency_key(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Conflict:
    """A person decides before apply runs: ``ambiguous`` or ``possible_duplicate``.

    A possible duplicate keeps the create it would have been (``request``), so reviewers see
    the money at stake; apply never sends it.
    """

    address: str
    kind: Kind
    customer_id: str
    source: SourceLocation
    reason: Reason
    candidates: tuple[Candidate, ...]
    diff: tuple[FieldDiff, ...] = ()
    """Field by field, how the entry differs from the first candidate."""
    request: Request | None = None
    meta: EntryMeta = EntryMeta()
    risk: Risk = Risk.CREDIT_GRANT

    @property
    def action(self) -> ActionType:
        return (
            ActionType.AMBIGUOUS if self.reason is Reason.SEVERAL else ActionType.POSSIBLE_DUPLICATE
        )

    @property
    def remote_ids(self) -> tuple[str, ...]:
        return tuple(c.remote_id for c in self.candidates)

    @property
    def money(self) -> tuple[Money, ...]:
        return self.request.money if self.request else ()

    @property
    def idempotency_key(self) -> str | None:
        return self.request.idempotency_key if self.request else None


@dataclass(frozen=True, slots=True)
class Revoke:
    """Apply revokes this entry's credit (``DELETE /credits/{remote_id}``): its manifest says
    ``metadata.revoke: true``, and the credit is ACTIVE with a balance left.

    ``balance`` (an AMOUNT credit) or ``balance_units`` of ``item_id`` (a UNITS credit) is what
    the revoke takes back, as read when the plan was made: balances only go down, so apply takes
    back at most that. ``diff``: how the manifest differs from the credit (shown, never fixed).
    """

    address: str
    kind: Kind
    customer_id: str
    source: SourceLocation
    remote_id: str
    state: str | None = "ACTIVE"
    grant: tuple[Money, ...] = ()
    """The issued amount (shown; what is taken back is the balance)."""
    balance: Money | None = None
    balance_units: int | float | None = None
    item_id: str | None = None
    diff: tuple[FieldDiff, ...] = ()
    pinned: bool = False
    meta: EntryMeta = EntryMeta(revoke=True)
    risk: Risk = Risk.CREDIT_REVOKE

    @property
    def action(self) -> ActionType:
        return ActionType.REVOKE

    @property
    def reason(self) -> Reason | None:
        return Reason.PINNED if self.pinned else None

    @property
    def remote_ids(self) -> tuple[str, ...]:
        return (self.remote_id,)

    @property
    def money(self) -> tuple[Money, ...]:
        """The money taken back (an AMOUNT credit's balance left)."""
        return (self.balance,) if self.balance is not None else ()

    @property
    def request(self) -> None:
        return None

    @property
    def idempotency_key(self) -> None:
        return None


Action = Create | Revoke | Existing | Conflict


def taken_back(revokes: Iterable[Revoke]) -> JSONDict:
    """``{"money": {currency: minor units}, "units": {item_id: units}}`` of ``revokes``."""
    money: dict[str, int] = defaultdict(int)
    units: dict[str, int | float] = defaultdict(int)
    for action in revokes:
        if action.balance is not None:
            money[action.balance.currency] += action.balance.value_in_cents
        elif isinstance(action.balance_units, int | float):
            units[str(action.item_id)] += action.balance_units
    return {"money": dict(sorted(money.items())), "units": dict(sorted(units.items()))}


def name_of(action: Action) -> str:
    return action.address.split("/", 1)[1]


def action_to_json(action: Action) -> JSONDict:
    """One stable shape for every action; fields that do not apply are null or empty."""
    request = action.request
    held = action if isinstance(action, Existing | Revoke) else None
    return {
        "address": action.address,
        "kind": action.kind.value,
        "action": action.action.value,
        "reason": action.reason.value if action.reason else None,
        "risk": action.risk.value,
        "customer_id": action.customer_id,
        "source": action.source.to_json(),
        "request": request.to_json() if request else None,
        "remote_ids": list(action.remote_ids),
        "candidates": [
            c.to_json()
            for c in (
                action.candidates
                if isinstance(action, Conflict)
                else action.like
                if isinstance(action, Create)
                else ()
            )
        ],
        "diff": [d.to_json() for d in action.diff],
        "missing": list(action.missing) if isinstance(action, Existing) else [],
        "state": held.state if held else None,
        "grant": [m.to_json() for m in held.grant] if held else [],
        "balance": held.balance.to_json() if held and held.balance else None,
        "balance_units": held.balance_units if held else None,
        "item_id": action.item_id if isinstance(action, Revoke) else None,
        "metadata": action.meta.to_json(),
    }


def action_from_json(data: Mapping[str, Any]) -> Action:
    """The inverse of :func:`action_to_json`; raises KeyError/TypeError/ValueError if malformed."""
    kind = ActionType(data["action"])
    common: dict[str, Any] = {
        "address": str(data["address"]),
        "kind": Kind(data["kind"]),
        "customer_id": str(data["customer_id"]),
        "source": SourceLocation(
            file=str(data["source"]["file"]), line=int(data["source"]["line"])
        ),
        "risk": Risk(data["risk"]),
    }
    request = Request.from_json(data["request"]) if data.get("request") else None
    candidates = tuple(Candidate.from_json(c) for c in data.get("candidates") or ())
    diff = tuple(FieldDiff.from_json(d) for d in data.get("diff") or ())
    meta = EntryMeta.from_json(data.get("metadata"))
    balance = data.get("balance")
    if kind is ActionType.CREATE:
        if request is None:
            raise ValueError(f"{common['address']}: a create without its request")
        return Create(**common, request=request, meta=meta, like=candidates)
    if kind is ActionType.REVOKE:
        remote_ids = [str(i) for i in data["remote_ids"]]
        if len(remote_ids) != 1 or common["kind"] is not Kind.CREDIT:
            raise ValueError(f"{common['address']}: a revoke names exactly one credit")
        return Revoke(
            **common,
            remote_id=remote_ids[0],
            state=data.get("state"),
            grant=tuple(Money.from_json(m) for m in data.get("grant") or ()),
            balance=Money.from_json(balance) if balance else None,
            balance_units=data.get("balance_units"),
            item_id=data.get("item_id"),
            diff=diff,
            pinned=data.get("reason") == Reason.PINNED.value,
            meta=meta,
        )
    if kind in (ActionType.UNCHANGED, ActionType.DRIFT):
        return Existing(
            **common,
            remote_ids=tuple(str(i) for i in data["remote_ids"]),
            diff=diff,
            missing=tuple(data.get("missing") or ()),
            pinned=data.get("reason") == Reason.PINNED.value,
            state=data.get("state"),
            grant=tuple(Money.from_json(m) for m in data.get("grant") or ()),
            balance=Money.from_json(balance) if balance else None,
            balance_units=data.get("balance_units"),
            meta=meta,
        )
    return Conflict(
        **common,
        reason=Reason(data["reason"]),
        candidates=candidates,
        diff=diff,
        request=request,
        meta=meta,
    )
