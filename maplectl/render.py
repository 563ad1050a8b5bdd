"""Plans and apply results as text for people, JSON for machines, Markdown for PR comments.

Pure: every function returns a string and prints nothing. Colour is ANSI, on request only (the CLI
asks for it on a terminal without ``NO_COLOR``).

``api_url_from`` names the file the API URL was read from (``maplectl.yaml``, which a pull
request can change, or a saved plan); the caller passes it only when that URL is not Maple's own.
The text header then shows the URL in bold under a warning line, and the Markdown comment opens
with a warning, so a reviewer sees where the token is about to be sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from maplectl import render_markdown as md
from maplectl.currency import format_minor
from maplectl.model import Kind
from maplectl.plan.actions import (
    Action,
    ActionType,
    Candidate,
    Create,
    Existing,
    Reason,
    Revoke,
    Risk,
)
from maplectl.plan.diff import FieldDiff
from maplectl.plan.policy import RuleName, Severity, Violation, immediate_charges
from maplectl.plan.records import Plan
from maplectl.results import ActionResult, ApplyResult, Outcome

MARKERS = {
    ActionType.CREATE: "+",
    ActionType.REVOKE: "-",
    ActionType.UNCHANGED: "=",
    ActionType.DRIFT: "~",
    ActionType.AMBIGUOUS: "?",
    ActionType.POSSIBLE_DUPLICATE: "!",
}
_COLORS = {
    ActionType.CREATE: "32",  # green
    ActionType.REVOKE: "1;31",  # bold red: money taken back
    ActionType.UNCHANGED: "2",  # dim
    ActionType.DRIFT: "33",  # yellow
    ActionType.AMBIGUOUS: "35",  # magenta
    ActionType.POSSIBLE_DUPLICATE: "31",  # red
}
_WORDS = {
    ActionType.CREATE: "create",
    ActionType.REVOKE: "revoke",
    ActionType.UNCHANGED: "unchanged",
    ActionType.DRIFT: "drift",
    ActionType.AMBIGUOUS: "ambiguous",
    ActionType.POSSIBLE_DUPLICATE: "possible duplicate",
}
MARKDOWN_LIMIT = 60_000
NOT_PINNED = "environment not pinned"
IMMEDIATE = (Risk.CHARGE_IMMEDIATE, Risk.CHARGE_IMMEDIATE_AUTO)
_RISK_COLORS = {
    Risk.CHARGE_IMMEDIATE: "1;33",  # bold yellow: invoiced now
    Risk.CHARGE_IMMEDIATE_AUTO: "1;37;41",  # white on red: the card is charged now
}


def paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color and code else text


def _api_url_warning(plan: Plan, api_url_from: str) -> str:
    return (
        f"warning: the API URL {plan.api_url} is not Maple's own and comes from "
        f"{api_url_from}; the token is sent there"
    )


# -- text ------------------------------------------------------------------------------------------


def plan_text(
    plan: Plan,
    *,
    color: bool = False,
    show_unmanaged: bool = False,
    now: datetime | None = None,
    api_url_from: str | None = None,
) -> str:
    """One aligned line per action, field diffs under drift, notes, then the summary line."""
    lines: list[str] = []
    if now is not None and now > plan.expires_at:
        lines.append(paint(expired_warning(plan), "33", color))
    url = plan.api_url
    if api_url_from:
        lines.append(paint(_api_url_warning(plan, api_url_from), "1;33", color))
        url = paint(url, "1", color)
    environment = plan.environment or NOT_PINNED
    environment = paint(environment, "1;31", color and environment == "production")
    lines += [f"Plan for {plan.company_id} ({environment}) at {url}:"]
    lines += [paint(line, "1;31", color) for line in guard_summary(plan) + revoke_summary(plan)]
    lines.append("")
    rows = [_row(a, plan) for a in plan.actions]
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(5)]
    for action, row in zip(plan.actions, rows, strict=True):
        marker = MARKERS[action.action]
        cells = [row[i].ljust(widths[i]) for i in range(5)]
        line = f"  {marker} " + "  ".join(cells).rstrip()
        pending = action.action in (
            ActionType.CREATE,
            ActionType.REVOKE,
            ActionType.POSSIBLE_DUPLICATE,
        )
        code = _COLORS[action.action] if action.action is not ActionType.UNCHANGED else "2"
        lines.append(paint(line, _RISK_COLORS.get(action.risk, code) if pending else code, color))
        for d in action.diff:
            lines.append(f"      {diff_words(d)}")
        for note in notes(action, plan):
            lines.append(f"      {note}")
    if show_unmanaged and plan.unmanaged:
        lines.append("")
        lines.append("Unmanaged (in Maple, in no manifest):")
        for u in plan.unmanaged:
            lines.append(
                f"  - {u.kind.value} {u.remote_id}  {customer_label(plan, u.customer_id)}  "
                f"{_printable(u.description)}" + (f"  {u.state}" if u.state else "")
            )
    lines.append("")
    lines.append(summary_line(plan))
    lines.append(f"Approval digest: {plan.approval_digest}")
    return "\n".join(lines) + "\n"


def summary_line(plan: Plan) -> str:
    """``Plan: 3 to create, 12 unchanged, 1 drifted. New credits: USD 150.00. ...``"""
    counts = plan.counts()
    parts = [f"{counts['create']} to create", f"{counts['unchanged']} unchanged"]
    if counts["revoke"]:
        parts.insert(1, f"{counts['revoke']} to revoke")
    for key, word in (
        ("drift", "drifted"),
        ("ambiguous", "ambiguous"),
        ("possible_duplicate", "possible duplicate"),
    ):
        if counts[key]:
            plural = "s" if key == "possible_duplicate" and counts[key] != 1 else ""
            parts.append(f"{counts[key]} {word}{plural}")
    if counts["unmanaged"]:
        parts.append(f"{counts['unmanaged']} unmanaged")
    text = "Plan: " + ", ".join(parts) + "."
    money = plan.money()
    for bucket, title in (("credits", "New credits"), ("charges", "New charges")):
        amounts = [format_minor(cur, v[bucket]) for cur, v in money.items() if v[bucket]]
        if amounts:
            text += f" {title}: {', '.join(amounts)}."
    back = taken_back_words(plan.revoked())
    if back:
        text += f" Taken back: {back}."
    return text


def taken_back_words(taken: dict[str, Any]) -> str:
    """``USD 40.00, 250,000 units of itm_api_calls`` from a ``summary.revoked`` record."""
    parts = [format_minor(cur, v) for cur, v in taken.get("money", {}).items()]
    parts += [f"{n:,} units of {item}" for item, n in taken.get("units", {}).items()]
    return ", ".join(parts)


def _left(action: Revoke) -> str:
    """What a revoke takes back: the balance left, in money or units."""
    if action.balance is not None:
        return str(action.balance)
    if action.balance_units is not None:
        return f"{action.balance_units:,} units of {action.item_id}"
    return "an unknown balance"


def customer_label(plan: Plan, customer_id: str) -> str:
    """``cus_acme (acme-corp)`` when manifests name the customer by its identifier, else the id.

    What is sent always has the id; the identifier is for people to recognise the customer (as
    written, or as a Python literal if it holds characters a terminal would act on)."""
    identifier = plan.customer_identifiers.get(customer_id)
    if not identifier:
        return customer_id
    return f"{customer_id} ({identifier if identifier.isprintable() else repr(identifier)})"


def _row(action: Action, plan: Plan) -> tuple[str, str, str, str, str]:
    what = ", ".join(str(m) for m in action.money)
    if not what and action.request:
        body = action.request.body
        if body.get("type") == "UNITS":
            what = f"{body.get('units'):,} units of {body.get('item_id')}"
        elif action.kind is Kind.ONE_TIME_CHARGE:
            what = f"{len(body.get('onetime_items') or [])} item(s), catalog price"
    detail = _WORDS[action.action]
    if isinstance(action, Revoke):
        what = _left(action)
        detail = f"revoke {action.remote_id} (balance left {what})"
    if isinstance(action, Existing):
        detail += f" ({maple_words(action)})"
    return (
        action.address,
        customer_label(plan, action.customer_id),
        what,
        action.risk.value,
        detail,
    )


def maple_words(action: Action) -> str:
    """What Maple holds for an action: ``crd_1; ACTIVE; balance USD 5.00`` for an existing
    object, the candidates' ids for a conflict, nothing for a create."""
    if not isinstance(action, Existing):
        return ", ".join(action.remote_ids)
    extra = [", ".join(action.remote_ids)]
    if action.state:
        extra.append(action.state)
    if action.balance is not None:
        extra.append(f"balance {action.balance}")
    elif action.balance_units is not None:
        extra.append(f"balance {action.balance_units:,} units")
    return "; ".join(extra)


def action_words(action_type: ActionType) -> str:
    """An action type in words (``possible duplicate``); a type without words of its own is
    named by its value."""
    return _WORDS.get(action_type, str(action_type.value).replace("_", " "))


def diff_words(d: FieldDiff) -> str:
    """One field diff: ``name: manifest New name, Maple Old name``."""
    return f"{d.field}: manifest {_show(d.expected)}, Maple {_show(d.actual)}"


def expired_warning(plan: Plan) -> str:
    return f"warning: this plan expired at {_iso(plan.expires_at)}; make a new one before applying"


def api_url_warning(plan: Plan, api_url_from: str) -> str:
    """The warning that heads a plan whose API URL (not Maple's own) came from a file."""
    return _api_url_warning(plan, api_url_from)


# -- why, in words -------------------------------------------------------------------------------


def guard_summary(plan: Plan) -> list[str]:
    """The lines on top of a plan about money guardrails: cards charged at once, policy
    violations (those of a customer or of the whole run in full), and any override."""
    out: list[str] = []
    cards = immediate_charges(plan.actions)
    if cards:
        allowed = (
            "allowed by --allow-immediate-charges"
            if plan.allow_immediate_charges
            else "apply refuses them without --allow-immediate-charges"
        )
        one = len(cards) == 1
        out.append(
            f"{len(cards)} {'charge charges' if one else 'charges charge'} the card on file at "
            f"once (charge-immediate-auto: {_first(a.address for a in cards)}); {allowed}"
        )
    if plan.violations:
        hard = sum(v.severity is Severity.HARD for v in plan.violations)
        soft = len(plan.violations) - hard
        out.append(
            f"Policy: {hard} hard and {soft} soft violation{'s' if soft != 1 else ''}"
            + (
                f"; soft ones overridden: {plan.override_reason}"
                if plan.override_reason and soft
                else ""
            )
            + ("; apply refuses this plan" if hard or (soft and not plan.override_reason) else "")
        )
        whole = [v for v in plan.violations if v.address is None]
        out += [f"  {violation_text(v, plan)}" for v in whole[:GUARD_LINES]]
        if len(whole) > GUARD_LINES:
            out.append(f"  ... and {len(whole) - GUARD_LINES} more (see the JSON plan)")
    return out


def revoke_summary(plan: Plan) -> list[str]:
    """The line on top of a plan that revokes: how many credits, which, and what is taken back."""
    revokes = plan.revokes
    if not revokes:
        return []
    one = len(revokes) == 1
    return [
        f"{len(revokes)} {'credit is' if one else 'credits are'} revoked "
        f"(credit-revoke: {_first(a.address for a in revokes)}), taking back "
        f"{taken_back_words(plan.revoked())}"
    ]


GUARD_LINES = 10
"""At most this many addresses or customer violations on top: the head of a comment stays
short, however many there are (each action's own lines say the rest)."""


def _first(texts: Iterable[str], most: int = GUARD_LINES) -> str:
    items = list(texts)
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def violation_text(v: Violation, plan: Plan | None = None) -> str:
    """One violation in words, money in the currency's own minor units (JPY 500, KWD 1.500)."""
    what = f"policy {v.rule.value} ({v.severity.value})"
    if v.rule is RuleName.REVOKES:
        if v.address is not None and (v.limit is not None or v.limit_units is not None):
            text = (
                "Maple sent no readable balance, so what this revoke takes back is unknown "
                "and cannot be held to the limit per run"
            )
        elif v.address is not None:
            text = (
                "revokes need --override-policy"
                if v.severity is Severity.SOFT
                else "revokes are not allowed"
            )
        elif v.item_id is not None:
            text = (
                f"this run takes back {v.actual_units:,} units of {v.item_id}, over the limit "
                f"of {v.limit_units:,} per run"
            )
        else:
            text = f"this run takes back {v.actual}, over the limit of {v.limit} per run"
    elif v.rule is RuleName.ALLOWED_CURRENCIES:
        text = f"{v.currency} is not an allowed currency ({v.actual})"
    elif v.rule is RuleName.CREDIT_EXPIRY:
        text = (
            f"never expires; credits must expire within {v.limit_units} days"
            if v.actual_units is None
            else f"expires in {v.actual_units} days, after the {v.limit_units} days allowed"
        )
    elif v.item_id is not None:
        text = (
            f"{v.actual_units:,} units of {v.item_id}, over the limit of "
            f"{v.limit_units:,} per credit"
        )
    elif v.rule is RuleName.MAX_PER_CREDIT:
        text = f"{v.actual}, over the limit of {v.limit} per credit"
    elif v.rule is RuleName.MAX_PER_CUSTOMER:
        who = customer_label(plan, str(v.customer_id)) if plan is not None else v.customer_id
        text = f"{who} gets {v.actual} in this run, over the limit of {v.limit}"
    else:
        text = f"this run creates {v.actual}, over the limit of {v.limit} per run"
    if v.severity is Severity.SOFT and plan is not None and plan.override_reason:
        text += " (overridden)"
    return f"{what}: {text}"


def notes(action: Action, plan: Plan | None = None) -> list[str]:
    """The sentences under an action: every one made here, from the action's structured facts
    (and, given the plan, the policy violations that concern this action)."""
    out: list[str] = []
    if plan is not None:
        out += [violation_text(v, plan) for v in plan.violations if v.address == action.address]
    if isinstance(action, Revoke):
        if action.pinned:
            out.append(f"pinned to {action.remote_id}")
        return out
    if isinstance(action, Existing):
        if action.pinned:
            out.append(f"pinned to {action.remote_ids[0]}")
        if action.missing:
            total = len(action.remote_ids) + len(action.missing)
            out.append(
                f"only {len(action.remote_ids)} of {total} items found in Maple; missing "
                f"{', '.join(action.missing)}. Maple cannot edit a charge: fix it in "
                "Maple or pin it with metadata.remote_id"
            )
        return out
    if action.request is not None:
        out += [
            f"{c.product_pricing_id} x{c.aggregate} at the catalog price"
            for c in action.request.catalog
        ]
        if action.request.discounted:
            out.append("discounts apply on Maple's invoice; totals here are before discounts")
    if isinstance(action, Create):
        if action.like:
            out.append(
                f"like {_candidates(action.like, action.kind)}; allowed by metadata.allow_duplicate"
            )
        return out
    ids = ", ".join(action.remote_ids)
    if action.reason is Reason.SEVERAL:
        out.append(
            f"{len(action.candidates)} credits named {action.candidates[0].name!r}: "
            f"{ids}; pin {'the one to revoke' if action.meta.revoke else 'one'} with "
            "metadata.remote_id"
        )
        return out
    if action.meta.revoke:
        first = action.candidates[0].remote_id
        out.append(
            f"no credit has this name; {_candidates(action.candidates, action.kind)} could be "
            "the credit to revoke, and a revoke never picks a look-alike by itself"
        )
        out.append(
            f"to revoke it: set metadata.remote_id: {first}; else correct spec.name or remove "
            "metadata.revoke"
        )
        return out
    what = "credit" if action.kind is Kind.CREDIT else "charge"
    out.append(
        f"possible duplicate of {_candidates(action.candidates, action.kind)}: it could "
        f"be this {what}, so creating another could bill or grant twice"
    )
    out.append(
        f"the same {what}: set metadata.remote_id: {action.candidates[0].remote_id}; "
        f"another {what} on purpose: set metadata.allow_duplicate: true"
    )
    return out


def _candidates(candidates: tuple[Candidate, ...], kind: Kind) -> str:
    return ", ".join(_candidate(c, kind) for c in candidates)


def _candidate(c: Candidate, kind: Kind) -> str:
    if kind is Kind.CREDIT:
        grant = str(c.grant) if c.grant else f"{c.units:,} units of {c.item_id}"
        parts = [repr(c.name), grant, str(c.state)]
    else:
        parts = [f"{c.name!r} x{c.aggregate}", str(c.state)]
    if c.pinned_by:
        parts.append(f"pinned by {c.pinned_by}")
    return f"{c.remote_id} ({', '.join(parts)})"


def _show(value: Any) -> str:
    """A value for a line of text: printable (see :func:`_printable`)."""
    return _printable(_raw(value))


def _raw(value: Any) -> str:
    """A value as written; only for a Markdown cell, which makes it safe itself."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)  # escapes every control character
    return "(none)" if value is None else str(value)


def _printable(text: str) -> str:
    """``text`` as is when every character prints, else its ``repr()``: a manifest's or Maple's
    newline or escape code never reaches a terminal or a CI log raw (a GitHub runner reads a line
    starting ``::`` as a workflow command)."""
    return text if text.isprintable() else repr(text)


# -- JSON ------------------------------------------------------------------------------------------


def plan_json(plan: Plan) -> str:
    """The versioned plan document (``format_version`` 1), stable key order."""
    return "".join(plan_json_chunks(plan))


def plan_json_chunks(plan: Plan, size: int = 1 << 16) -> Iterator[str]:
    """:func:`plan_json` in pieces of about ``size`` characters, each ending a line.

    The same text, written out as it is made: ``json.dumps`` of a whole plan builds the list of
    every token and then the joined string, about three times the plan's own size in memory.
    Pieces end at a newline, and a JSON string never holds a raw one, so a piece never splits a
    string value (redacting piece by piece masks what redacting the whole would).
    """
    pending: list[str] = []
    length = 0
    for part in _json_parts(plan.to_json()):
        pending.append(part)
        length += len(part)
        if length >= size:
            text = "".join(pending)
            cut = text.rfind("\n") + 1
            if cut:
                yield text[:cut]
                text = text[cut:]
            pending, length = [text], len(text)
    yield "".join(pending)


def _json_parts(doc: dict[str, Any]) -> Iterator[str]:
    """``json.dumps(doc, indent=2, sort_keys=True) + "\\n"``, one top-level list element at a time
    (an element's own lines indented to its depth: JSON strings hold no raw newline)."""
    if not doc:
        yield "{}\n"
        return
    yield "{"
    for index, key in enumerate(sorted(doc)):
        yield f"{',' if index else ''}\n  {json.dumps(key)}: "
        value = doc[key]
        if isinstance(value, list) and value:
            yield "["
            for position, item in enumerate(value):
                text = json.dumps(item, indent=2, sort_keys=True).replace("\n", "\n    ")
                yield f"{',' if position else ''}\n    {text}"
            yield "\n  ]"
        else:
            yield json.dumps(value, indent=2, sort_keys=True).replace("\n", "\n  ")
    yield "\n}\n"


# -- Markdown --------------------------------------------------------------------------------------


def plan_markdown(
    plan: Plan,
    *,
    limit: int = MARKDOWN_LIMIT,
    api_url_from: str | None = None,
    show_unmanaged: bool = False,
) -> str:
    """A PR comment, money first, under ``limit`` characters.

    The summary line, money per currency and per customer, then one table per action type;
    creates are open below 50 rows, everything else folded; with ``show_unmanaged``, a folded
    table of the unmanaged objects last. Too long, and rows are left out whole (never a table
    cut inside) with a closing note of what is missing.
    """
    head, tables = _markdown(plan, api_url_from, show_unmanaged)
    return md.fit_comment(head, tables, limit)


def plan_markdown_parts(
    plan: Plan,
    *,
    limit: int = MARKDOWN_LIMIT,
    api_url_from: str | None = None,
    show_unmanaged: bool = False,
) -> list[str]:
    """The PR comment with every row, in parts of at most ``limit`` characters each."""
    head, tables = _markdown(plan, api_url_from, show_unmanaged)
    return md.split_parts(head, _markdown_head(plan, api_url_from), tables, limit)


FOLD_AT = 50
"""Creates and revokes are folded from this many rows on; other action types always are."""


def _markdown_head(plan: Plan, api_url_from: str | None) -> list[str]:
    head = [
        f"Approval digest: `{plan.approval_digest}`",
        "",
        "### maplectl plan",
        "",
    ]
    head += [f"> **Warning:** {md.cell(line.strip())}" for line in guard_summary(plan)]
    head += [""] if guard_summary(plan) else []
    if api_url_from:
        head += [
            f"> **Warning:** the API URL `{plan.api_url}` is not Maple's own and comes "
            f"from `{api_url_from}`; the token is sent there.",
            "",
        ]
    head += [f"> **Revokes:** {md.cell(line)}" for line in revoke_summary(plan)]
    head += [""] if revoke_summary(plan) else []
    head += [
        f"Company `{plan.company_id}` ({plan.environment or NOT_PINNED}) · {summary_line(plan)}"
    ]
    return head


def _markdown(
    plan: Plan, api_url_from: str | None, show_unmanaged: bool = False
) -> tuple[list[str], list[md.Table]]:
    head = _markdown_head(plan, api_url_from)
    money = plan.money()
    back: dict[str, int] = plan.revoked()["money"]
    if back:
        # Money taken back gets its own column, only when there is some.
        head += [
            "",
            "| currency | new credits | new charges | taken back |",
            "|---|---:|---:|---:|",
        ]
        for cur in sorted(set(money) | set(back)):
            v = money.get(cur, {"credits": 0, "charges": 0})
            head.append(
                f"| {cur} | {format_minor(cur, v['credits'])} | "
                f"{format_minor(cur, v['charges'])} | {format_minor(cur, back.get(cur, 0))} |"
            )
    elif money:
        head += ["", "| currency | new credits | new charges |", "|---|---:|---:|"]
        head += [
            f"| {cur} | {format_minor(cur, v['credits'])} | {format_minor(cur, v['charges'])} |"
            for cur, v in money.items()
        ]
    units_back = plan.revoked()["units"]
    if units_back:
        head += ["", "Taken back in units: "]
        head[-1] += md.cell(taken_back_words({"units": units_back})) + "."
    unpriced = _unpriced(plan.creates)
    if unpriced != ("", ""):
        head += ["", f"{UNPRICED}: "]
        head[-1] += "; ".join(md.cell(p) for p in unpriced if p) + "."
    tables = []
    per_customer = _per_customer(plan)
    if per_customer:
        tables.append(
            md.Table(
                title=f"Per customer ({len(per_customer)})",
                label="per-customer",
                header=("customer", "currency", "new credits", "new charges"),
                align=("---", "---", "---:", "---:"),
                rows=tuple((line,) for line in per_customer),
                folded=len(per_customer) >= FOLD_AT,
            )
        )
    for kind in ActionType:
        acts = plan.of(kind)
        if not acts:
            continue
        tables.append(
            md.Table(
                title=f"{MARKERS[kind]} {_WORDS[kind]} ({len(acts)})",
                label=_WORDS[kind],
                header=("address", "customer", "amount", "remote", "source"),
                align=("---",) * 5,
                rows=tuple(_markdown_rows(a, plan) for a in acts),
                folded=kind not in (ActionType.CREATE, ActionType.REVOKE) or len(acts) >= FOLD_AT,
            )
        )
    if show_unmanaged and plan.unmanaged:
        tables.append(
            md.Table(
                title=f"Unmanaged: in Maple, in no manifest ({len(plan.unmanaged)})",
                label="unmanaged",
                header=("remote", "kind", "customer", "what", "state"),
                align=("---",) * 5,
                rows=tuple(
                    (
                        md.row(
                            md.code(u.remote_id),
                            md.cell(u.kind.value),
                            md.code(u.customer_id),
                            md.cell(u.description),
                            md.cell(u.state or "-"),
                        ),
                    )
                    for u in plan.unmanaged
                ),
                folded=True,
            )
        )
    return head, tables


def _markdown_rows(action: Action, plan: Plan) -> tuple[str, ...]:
    """An action's line, then a line per field diff and per note under it."""
    lines = [
        md.row(
            md.code(action.address),
            md.code(customer_label(plan, action.customer_id)),
            md.cell(_amount_md(action)),
            md.cell(", ".join(action.remote_ids) or "-"),
            md.cell(f"{action.source.file}:{action.source.line}"),
        )
    ]
    lines += [
        md.row(
            "",
            f"↳ {md.code(d.field)}",
            md.cell(f"manifest {_raw(d.expected)}"),
            md.cell(f"Maple {_raw(d.actual)}"),
            "",
        )
        for d in action.diff
    ]
    lines += [md.row("", f"↳ {md.cell(n)}", "", "", "") for n in notes(action, plan)]
    return tuple(lines)


def _amount_md(action: Action) -> str:
    """The money (or units, or catalog items) of an action, then its risk class (bold when
    money moves at once, or is taken back)."""
    loud = action.risk in IMMEDIATE or isinstance(action, Revoke)
    risk = f"**{action.risk.value}**" if loud else action.risk.value
    amount = amount_words(action)
    return f"{amount} · {risk}" if amount else risk


def amount_words(action: Action) -> str:
    """What an action moves: money, units of an item, catalog-priced items and quantities."""
    parts = [str(m) for m in action.money]
    if isinstance(action, Revoke) and action.balance is None:
        parts.append(_left(action))
    request = action.request
    if request is not None:
        body = request.body
        if action.kind is Kind.CREDIT and body.get("type") == "UNITS":
            parts.append(f"{body.get('units'):,} units of {body.get('item_id')}")
        parts += [
            f"{c.product_pricing_id} x{c.aggregate:,} (catalog price)" for c in request.catalog
        ]
    return ", ".join(parts)


UNPRICED = "Also created, priced by units or Maple's catalog (not in the totals)"


def unpriced(creates: list[Create]) -> tuple[str, str]:
    """Units credited per item and catalog items charged per price, in words: what the money
    totals leave out, as (credits, charges)."""
    return _unpriced(creates)


def _unpriced(creates: list[Create]) -> tuple[str, str]:
    """Units credited per item and catalog items charged per price, summed: (credits, charges)."""
    units: dict[str, int | float] = {}
    catalog: dict[str, int | float] = {}
    for action in creates:
        body = action.request.body
        if action.kind is Kind.CREDIT and body.get("type") == "UNITS":
            item = str(body.get("item_id"))
            units[item] = units.get(item, 0) + body.get("units", 0)
        for c in action.request.catalog:
            catalog[c.product_pricing_id] = catalog.get(c.product_pricing_id, 0) + c.aggregate
    return (
        _some([f"{n:,} units of {item}" for item, n in sorted(units.items())]),
        _some([f"{p} x{n:,} (catalog price)" for p, n in sorted(catalog.items())]),
    )


def _some(items: list[str], most: int = 10) -> str:
    """At most ``most`` items, and how many more: a summary line stays a line."""
    more = f", and {len(items) - most:,} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more


def _per_customer(plan: Plan) -> list[str]:
    """Customer × currency lines of new credits and charges; units and catalog items last."""
    by_customer: dict[str, list[Create]] = {}
    for action in plan.creates:
        by_customer.setdefault(action.customer_id, []).append(action)
    money = plan.money_per_customer()
    lines = []
    for customer, acts in sorted(by_customer.items()):
        for cur, v in money.get(customer, {}).items():
            lines.append(
                md.row(
                    md.code(customer_label(plan, customer)),
                    cur,
                    format_minor(cur, v["credits"]),
                    format_minor(cur, v["charges"]),
                )
            )
        credits, charges = _unpriced(acts)
        if credits or charges:
            lines.append(
                md.row(
                    md.code(customer_label(plan, customer)),
                    "units / catalog",
                    md.cell(credits or "-"),
                    md.cell(charges or "-"),
                )
            )
    return lines


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# -- apply results ---------------------------------------------------------------------------------

_OUTCOME_MARK = {
    "created": ("+", "32"),
    "replayed": ("=", "2"),
    "adopted": ("=", "2"),
    "revoked": ("-", "31"),
    "not_revoked": ("=", "2"),
    "failed": ("x", "31"),
    "unknown": ("?", "31"),
}


def apply_line(result: ActionResult, done: int, total: int, *, color: bool = False) -> str:
    """One line per finished create or revoke: marker, address, outcome, ids or error, counter."""
    mark, code = _OUTCOME_MARK[result.outcome.value]
    tail = f" ({', '.join(result.remote_ids)})" if result.remote_ids else ""
    action = result.action
    if isinstance(action, Revoke) and result.outcome is Outcome.REVOKED:
        tail = f" ({action.remote_id}; balance left {_left(action)} taken back)"
    elif result.outcome is Outcome.NOT_REVOKED:
        tail += f": it was already {result.state}, so nothing was revoked or taken back"
    if result.error:
        tail += f": {result.error}"
    counter = f"[{done}/{total}]"
    return (
        paint(f"  {mark} {result.action.address} {_outcome(result.outcome)}{tail}", code, color)
        + f"  {counter}"
    )


def _outcome(outcome: Outcome) -> str:
    return outcome.value.replace("_", " ")


def progress_bar(done: int, total: int, width: int = 30) -> str:
    """``[##########..........] 12/36`` for a terminal's status line."""
    filled = width * done // max(1, total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def apply_summary(result: ApplyResult) -> str:
    """``Apply: 3 created, 1 replayed. New credits: USD 150.00. New charges: ...``"""
    counts: dict[str, int] = {}
    for r in result.results:
        counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    parts = [f"{n} {_outcome(Outcome(k))}" for k, n in sorted(counts.items())]
    if result.not_started:
        parts.append(f"{result.not_started} not sent")
    text = "Apply: " + ", ".join(parts) + "."
    for bucket, title in (("credits", "New credits"), ("charges", "New charges")):
        amounts = [
            format_minor(cur, v[bucket]) for cur, v in result.money_moved().items() if v[bucket]
        ]
        if amounts:
            text += f" {title}: {', '.join(amounts)}."
    back = taken_back_words(result.taken_back())
    if back:
        text += f" Taken back: {back}."
    lines = [text]
    if result.journal_path:
        lines.append(f"Journal: {result.journal_path}")
    return "\n".join(lines) + "\n"


def apply_json(result: ApplyResult) -> str:
    """The versioned apply result document."""
    return json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n"
