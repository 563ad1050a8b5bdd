"""Money guardrails: the ``policy:`` of ``maplectl.yaml`` checked against a plan's creates and
revokes. Pure.

A :class:`Policy` is a set of rules, each ``soft`` (apply runs with ``--override-policy
"REASON"``, and the reason is recorded) or ``hard`` (no override). :func:`evaluate` turns a plan's
creates into :class:`Violation` records: facts (rule, where, limit, actual), never sentences; the
wording is :mod:`maplectl.render`'s. Money is :class:`~maplectl.model.Money`, integer minor units.

:func:`refusal` says why apply must not run a plan (a hard violation, a soft one without a
reason, a card charged on the spot without ``--allow-immediate-charges``), or nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from maplectl.model import JSONDict, Kind, Money
from maplectl.plan.actions import Action, Create, Revoke, Risk, taken_back
from maplectl.plan.identity import instant

__all__ = [
    "Policy",
    "Rule",
    "RuleName",
    "Severity",
    "Violation",
    "evaluate",
    "immediate_charges",
    "refusal",
]


class Severity(StrEnum):
    """``soft``: passes with ``--override-policy REASON``; ``hard``: never."""

    SOFT = "soft"
    HARD = "hard"


class RuleName(StrEnum):
    """The rules of ``policy:``, as written in ``maplectl.yaml``."""

    MAX_PER_CREDIT = "max_per_credit"
    MAX_PER_CUSTOMER = "max_per_customer"
    MAX_PER_RUN = "max_per_run"
    ALLOWED_CURRENCIES = "allowed_currencies"
    CREDIT_EXPIRY = "credit_expiry"
    REVOKES = "revokes"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule's limits; which of them count depends on the rule."""

    severity: Severity
    amounts: Mapping[str, int] = field(default_factory=dict)
    """Per currency, the most in minor units (``max_per_*``; ``revokes``: taken back per run)."""
    units: Mapping[str, int] = field(default_factory=dict)
    """Per item id, the most units of one UNITS credit (``max_per_credit``; ``revokes``: taken
    back per run)."""
    currencies: tuple[str, ...] = ()
    """``allowed_currencies``."""
    max_days: int | None = None
    """``credit_expiry``: a credit must expire at most this many days after the plan is made."""


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules in force; an empty policy allows everything (but not cards charged now)."""

    rules: Mapping[RuleName, Rule] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Policy:
        """The ``policy:`` mapping of a ``maplectl.yaml`` that its schema has checked."""
        rules: dict[RuleName, Rule] = {}
        for name, raw in (config or {}).items():
            rules[RuleName(name)] = Rule(
                severity=Severity(raw["level"]),
                amounts={str(k): int(v) for k, v in (raw.get("amounts") or {}).items()},
                units={str(k): int(v) for k, v in (raw.get("units") or {}).items()},
                currencies=tuple(raw.get("currencies") or ()),
                max_days=raw.get("max_days"),
            )
        return cls(rules)


NO_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule one create or revoke (or one customer's or the run's total) breaks.

    ``limit`` and ``actual`` are money for the ``max_per_*`` rules (and the amount in a currency
    that is not allowed); ``limit_units``/``actual_units`` are units of ``item_id`` for a UNITS
    credit, or days for ``credit_expiry`` (``actual_units`` None: the credit never expires).
    ``revokes`` without limits: one violation per revoke (its address, nothing else, so that it
    does not move with the balance); with limits: the run's total taken back, per currency and
    per item, and one per revoke whose balance Maple did not send (its address with its
    ``currency`` or ``item_id`` and the limit, no ``actual``: an unknown amount breaks any limit).
    """

    rule: RuleName
    severity: Severity
    address: str | None = None
    customer_id: str | None = None
    currency: str | None = None
    limit: Money | None = None
    actual: Money | None = None
    item_id: str | None = None
    limit_units: int | None = None
    actual_units: int | None = None

    def to_json(self) -> JSONDict:
        return {
            "rule": self.rule.value,
            "severity": self.severity.value,
            "address": self.address,
            "customer_id": self.customer_id,
            "currency": self.currency,
            "limit": self.limit.to_json() if self.limit else None,
            "actual": self.actual.to_json() if self.actual else None,
            "item_id": self.item_id,
            "limit_units": self.limit_units,
            "actual_units": self.actual_units,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Violation:
        if not isinstance(data, Mapping):
            raise TypeError(f"a violation is not an object: {data!r}")
        limit, actual = data.get("limit"), data.get("actual")
        return cls(
            rule=RuleName(data["rule"]),
            severity=Severity(data["severity"]),
            address=data.get("address"),
            customer_id=data.get("customer_id"),
            currency=data.get("currency"),
            limit=Money.from_json(limit) if limit else None,
            actual=Money.from_json(actual) if actual else None,
            item_id=data.get("item_id"),
            limit_units=data.get("limit_units"),
            actual_units=data.get("actual_units"),
        )


def evaluate(policy: Policy, actions: Sequence[Action], now: datetime) -> tuple[Violation, ...]:
    """Every violation of ``policy`` by the creates and revokes among ``actions``, in a stable
    order: per create (in plan order), then per customer, then per run, then the revokes."""
    creates = [a for a in actions if isinstance(a, Create)]
    out: list[Violation] = []
    for action in creates:
        out += _per_create(policy, action, now)
    rule = policy.rules.get(RuleName.MAX_PER_CUSTOMER)
    if rule is not None:
        per_customer: dict[tuple[str, str], int] = defaultdict(int)
        for action in creates:
            for money in action.money:
                per_customer[action.customer_id, money.currency] += money.value_in_cents
        for (customer, currency), total in sorted(per_customer.items()):
            out += _over(rule, RuleName.MAX_PER_CUSTOMER, currency, total, customer_id=customer)
    rule = policy.rules.get(RuleName.MAX_PER_RUN)
    if rule is not None:
        per_run: dict[str, int] = defaultdict(int)
        for action in creates:
            for money in action.money:
                per_run[money.currency] += money.value_in_cents
        for currency, total in sorted(per_run.items()):
            out += _over(rule, RuleName.MAX_PER_RUN, currency, total)
    rule = policy.rules.get(RuleName.REVOKES)
    revokes = [a for a in actions if isinstance(a, Revoke)]
    if rule is not None and revokes:
        out += _revokes(rule, revokes)
    return tuple(out)


def _revokes(rule: Rule, revokes: Sequence[Revoke]) -> list[Violation]:
    """``revokes`` without limits: every revoke breaks it. With ``amounts``/``units``: the money
    and units the run takes back, over the limit; what the rule does not list allows none."""
    if not rule.amounts and not rule.units:
        return [
            Violation(RuleName.REVOKES, rule.severity, address=a.address, customer_id=a.customer_id)
            for a in revokes
        ]
    out: list[Violation] = []
    for a in revokes:
        # Maple sent no readable balance: what it takes back is unknown, and an unknown amount is
        # not one under the limit. Each such revoke breaks the rule on its own.
        if a.balance is None and not isinstance(a.balance_units, int | float):
            currency = a.grant[0].currency if a.grant and a.item_id is None else None
            out.append(
                Violation(
                    RuleName.REVOKES,
                    rule.severity,
                    address=a.address,
                    customer_id=a.customer_id,
                    currency=currency,
                    limit=Money(currency, rule.amounts.get(currency, 0)) if currency else None,
                    item_id=a.item_id,
                    limit_units=rule.units.get(a.item_id, 0) if a.item_id else None,
                )
            )
    taken = taken_back(revokes)
    for currency, total in taken["money"].items():
        limit = rule.amounts.get(currency, 0)
        if total > limit:
            out.append(
                Violation(
                    RuleName.REVOKES,
                    rule.severity,
                    currency=currency,
                    limit=Money(currency, limit),
                    actual=Money(currency, total),
                )
            )
    for item, units in taken["units"].items():
        limit = rule.units.get(item, 0)
        if units > limit:
            out.append(
                Violation(
                    RuleName.REVOKES,
                    rule.severity,
                    item_id=item,
                    limit_units=limit,
                    actual_units=math.ceil(units),
                )
            )
    return out


def _per_create(policy: Policy, action: Create, now: datetime) -> list[Violation]:
    out: list[Violation] = []
    body = action.body
    rule = policy.rules.get(RuleName.ALLOWED_CURRENCIES)
    if rule is not None:
        for money in action.money:
            if money.currency not in rule.currencies:
                out.append(
                    Violation(
                        RuleName.ALLOWED_CURRENCIES,
                        rule.severity,
                        address=action.address,
                        customer_id=action.customer_id,
                        currency=money.currency,
                        actual=money,
                    )
                )
    if action.kind is not Kind.CREDIT:
        return out
    rule = policy.rules.get(RuleName.MAX_PER_CREDIT)
    if rule is not None:
        for money in action.money:
            out += _over(
                rule,
                RuleName.MAX_PER_CREDIT,
                money.currency,
                money.value_in_cents,
                address=action.address,
                customer_id=action.customer_id,
            )
        item, units = str(body.get("item_id")), body.get("units")
        # A rule that lists items allows none of an item it does not list.
        limit = rule.units.get(item, 0) if rule.units else None
        if (
            body.get("type") == "UNITS"
            # Any number: a body built by hand (the Python API skips manifest validation) may
            # carry 1e12 as a float, and must not slip past the limit for it.
            and isinstance(units, int | float)
            and not isinstance(units, bool)
            and limit is not None
            and units > limit
        ):
            out.append(
                Violation(
                    RuleName.MAX_PER_CREDIT,
                    rule.severity,
                    address=action.address,
                    customer_id=action.customer_id,
                    item_id=item,
                    limit_units=limit,
                    actual_units=math.ceil(units),
                )
            )
    rule = policy.rules.get(RuleName.CREDIT_EXPIRY)
    if rule is not None and rule.max_days is not None:
        expires = instant(body.get("expiration_date"))
        days = None if expires is None else math.ceil((expires - now).total_seconds() / 86400)
        if days is None or days > rule.max_days:
            out.append(
                Violation(
                    RuleName.CREDIT_EXPIRY,
                    rule.severity,
                    address=action.address,
                    customer_id=action.customer_id,
                    limit_units=rule.max_days,
                    actual_units=days,
                )
            )
    return out


def _over(
    rule: Rule,
    name: RuleName,
    currency: str,
    value: int,
    *,
    address: str | None = None,
    customer_id: str | None = None,
) -> list[Violation]:
    # A rule that lists currencies allows none of a currency it does not list: an allowed
    # currency without its own limit is not unlimited.
    limit = rule.amounts.get(currency, 0) if rule.amounts else None
    if limit is None or value <= limit:
        return []
    return [
        Violation(
            name,
            rule.severity,
            address=address,
            customer_id=customer_id,
            currency=currency,
            limit=Money(currency, limit),
            actual=Money(currency, value),
        )
    ]


def immediate_charges(actions: Sequence[Action]) -> list[Create]:
    """The creates that charge a card on file the moment they are sent."""
    return [a for a in actions if isinstance(a, Create) and a.risk is Risk.CHARGE_IMMEDIATE_AUTO]


def refusal(
    violations: Sequence[Violation],
    actions: Sequence[Action],
    *,
    override_reason: str | None,
    allow_immediate_charges: bool,
) -> tuple[str, str] | None:
    """Why apply must not run this plan, and what to do, or None when it may."""
    problems: list[str] = []
    hints: list[str] = []
    hard = [v for v in violations if v.severity is Severity.HARD]
    soft = [v for v in violations if v.severity is Severity.SOFT]
    if hard:
        problems.append(_count(len(hard), "hard policy violation"))
        hints.append("change the manifests (or the policy in maplectl.yaml, reviewed)")
    if soft and not override_reason:
        problems.append(_count(len(soft), "soft policy violation"))
        hints.append('pass --override-policy "REASON" to go ahead with the soft ones')
    cards = immediate_charges(actions)
    if cards and not allow_immediate_charges:
        problems.append(
            _count(len(cards), "charge")
            + f" that charge{'s' if len(cards) == 1 else ''} a card at once "
            f"({', '.join(a.address for a in cards)})"
        )
        hints.append("pass --allow-immediate-charges if charging the card now is intended")
    if not problems:
        return None
    return "; ".join(problems), "; ".join(hints)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"
