"""A plan as one self-contained HTML page for finance reviewers. Pure: returns a string.

The page asks for nothing over any network: its CSS and its script are inline, its charts are SVG
drawn here, and its Content-Security-Policy allows exactly that style sheet and that script (by
hash) and nothing else. Even text that slipped past escaping could load nothing and run nothing.
Every text taken from the plan (names, descriptions, ids, file names, Maple's answers) is
HTML-escaped; the script only reads the table and moves its rows, it never writes markup.

The wording is :mod:`maplectl.render`'s (notes, violations, the summary line, the guard lines);
this module decides the layout. Each action type has a style in ``_KINDS``; a type missing there
still renders, in the default style, so a new action type shows up before it gets its own.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape

from maplectl import render
from maplectl.currency import format_minor
from maplectl.plan.actions import ACTION_ORDER, Action, ActionType, Create, Risk
from maplectl.plan.policy import Severity, Violation
from maplectl.plan.records import Plan

__all__ = ["CONTENT_SECURITY_POLICY", "TOP_CUSTOMERS", "plan_html"]

TOP_CUSTOMERS = 10
"""Customers per currency in the per-customer chart; every customer is in the table under it."""


def _e(text: object) -> str:
    """Any text as HTML text or attribute value."""
    return escape(str(text), quote=True)


def _token(text: str) -> str:
    """An enum value as a CSS class fragment (letters, digits, ``-`` and ``_`` only)."""
    return re.sub(r"[^a-z0-9_-]", "", text.lower()) or "other"


# An action type's style: (rank for sorting, tone). The tone picks colours in _STYLE.
_KINDS: dict[ActionType, tuple[int, str]] = {
    ActionType.CREATE: (0, "create"),
    ActionType.REVOKE: (0, "danger"),
    ActionType.POSSIBLE_DUPLICATE: (1, "danger"),
    ActionType.AMBIGUOUS: (2, "ambiguous"),
    ActionType.DRIFT: (3, "warn"),
    ActionType.UNCHANGED: (4, "quiet"),
}
_DEFAULT_KIND = (9, "other")
_RISK_RANK = {risk: rank for rank, risk in enumerate(Risk)}
_RISK_TONE = {
    Risk.CHARGE_IMMEDIATE: "warn",
    Risk.CHARGE_IMMEDIATE_AUTO: "danger",
    Risk.CREDIT_REVOKE: "danger",
}


# -- page ------------------------------------------------------------------------------------------


def plan_html(
    plan: Plan,
    *,
    show_unmanaged: bool = False,
    now: datetime | None = None,
    api_url_from: str | None = None,
) -> str:
    """The plan as one HTML document: header (company, environment, approval digest), warnings,
    what needs a person, money per currency and per customer as bar charts, then every action in
    a table that sorts (click a header) and filters (text, action type, risk class)."""
    by_address: dict[str, list[Violation]] = {}
    for v in plan.violations:
        if v.address is not None:
            by_address.setdefault(v.address, []).append(v)
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n',
        '<meta name="referrer" content="no-referrer">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>maplectl plan: {_e(plan.company_id)} ({_e(_environment(plan))})</title>\n",
        f"<style>{_STYLE}</style>\n</head>\n<body>\n",
        _header(plan),
        "<main>\n",
        _warnings(plan, now, api_url_from),
        _attention(plan, by_address),
        _money(plan),
        _customers(plan),
        _actions(plan, by_address),
        _unmanaged(plan, show_unmanaged),
        "</main>\n",
        _footer(plan),
        f"<script>{_SCRIPT}</script>\n</body>\n</html>\n",
    ]
    return "".join(parts)


def _environment(plan: Plan) -> str:
    return plan.environment or render.NOT_PINNED


def _header(plan: Plan) -> str:
    env = _environment(plan)
    tone = {"production": "danger", "test": "quiet"}.get(env, "warn")
    return (
        '<header class="top">\n<div class="wrap">\n'
        '<p class="brand">maplectl plan</p>\n'
        f'<h1>Plan for <span class="company">{_e(plan.company_id)}</span> '
        f'<span class="chip tone-{tone}" id="environment">{_e(env)}</span></h1>\n'
        f'<p class="where">at <code id="api-url">{_e(plan.api_url)}</code> · made '
        f"{_e(_when(plan.created_at))} · valid until {_e(_when(plan.expires_at))}</p>\n"
        '<div class="digest"><span class="label">Approval digest</span>'
        f'<code id="approval-digest">{_e(plan.approval_digest)}</code>'
        '<span class="hint">apply --expect-digest checks it</span></div>\n'
        f'<p class="summary" id="summary">{_e(render.summary_line(plan))}</p>\n'
        "</div>\n</header>\n"
    )


def _warnings(plan: Plan, now: datetime | None, api_url_from: str | None) -> str:
    lines: list[tuple[str, str]] = []
    if now is not None and now > plan.expires_at:
        lines.append(("warn", render.expired_warning(plan)))
    if api_url_from:
        lines.append(("danger", render.api_url_warning(plan, api_url_from)))
    guard = render.guard_summary(plan)
    lines += [("sub" if line.startswith(" ") else "danger", line.strip()) for line in guard]
    if not lines:
        return ""
    items = "".join(f'<li class="tone-{tone}">{_e(text)}</li>\n' for tone, text in lines)
    return (
        '<section class="warnings" id="warnings" aria-label="Warnings">\n'
        f"<ul>\n{items}</ul>\n</section>\n"
    )


# -- what needs a person ---------------------------------------------------------------------------


def _attention(plan: Plan, by_address: dict[str, list[Violation]]) -> str:
    """Cards for what a reviewer must look at; each filters the table to its rows."""
    counts = plan.counts()
    risks = plan.risks()
    cards: list[str] = []

    def card(tone: str, count: int, title: str, text: str, filters: str) -> None:
        button = (
            f'<button type="button" class="show" {filters} hidden>Show in the table</button>'
            if filters
            else ""
        )
        cards.append(
            f'<div class="card tone-{tone}"><p class="count">{count:,}</p>'
            f'<p class="title">{_e(title)}</p><p class="text">{_e(text)}</p>{button}</div>\n'
        )

    dups = counts[ActionType.POSSIBLE_DUPLICATE.value]
    if dups:
        card(
            "danger",
            dups,
            f"possible duplicate{'s' if dups != 1 else ''}",
            "could grant or bill twice; apply refuses the plan until a person decides",
            'data-action="possible_duplicate"',
        )
    revokes = counts[ActionType.REVOKE.value]
    if revokes:
        back = render.taken_back_words(plan.revoked())
        card(
            "danger",
            revokes,
            f"revoke{'s' if revokes != 1 else ''}",
            f"takes back {back}; a revoke cannot be undone" if back else "cannot be undone",
            'data-action="revoke"',
        )
    auto = risks[Risk.CHARGE_IMMEDIATE_AUTO.value]
    if auto:
        card(
            "danger",
            auto,
            Risk.CHARGE_IMMEDIATE_AUTO.value,
            "invoiced at once and the card on file charged at once",
            f'data-risk="{Risk.CHARGE_IMMEDIATE_AUTO.value}"',
        )
    hard = sum(v.severity is Severity.HARD for v in plan.violations)
    soft = len(plan.violations) - hard
    if plan.violations:
        overridden = bool(soft and plan.override_reason)
        card(
            "danger" if hard or not overridden else "warn",
            len(plan.violations),
            f"policy violation{'s' if len(plan.violations) != 1 else ''}",
            f"{hard} hard, {soft} soft" + ("; soft ones overridden" if overridden else ""),
            'data-policy="1"' if by_address else "",
        )
    now_ = risks[Risk.CHARGE_IMMEDIATE.value]
    if now_:
        card(
            "warn",
            now_,
            Risk.CHARGE_IMMEDIATE.value,
            "invoiced at once",
            f'data-risk="{Risk.CHARGE_IMMEDIATE.value}"',
        )
    for kind, text in (
        (ActionType.AMBIGUOUS, "several Maple objects match; pin one with metadata.remote_id"),
        (ActionType.DRIFT, "Maple differs from the manifest; maplectl never changes it"),
    ):
        if counts[kind.value]:
            card(
                _KINDS[kind][1],
                counts[kind.value],
                render.action_words(kind),
                text,
                f'data-action="{kind.value}"',
            )
    if not cards:
        body = (
            '<p class="allclear">Nothing needs a person: no possible duplicates, revokes, '
            "drift, ambiguity, immediate charges or policy violations.</p>\n"
        )
    else:
        body = f'<div class="cards">\n{"".join(cards)}</div>\n'
    return (
        '<section id="attention" aria-labelledby="attention-h">\n'
        '<h2 id="attention-h">Needs a person</h2>\n' + body + "</section>\n"
    )


# -- money -----------------------------------------------------------------------------------------

_CHART_WIDTH = 600
_LABEL_W = 230
_BAR_W = 230
_LABEL_CHARS = 30
"""A label longer than this is squeezed into the label column, never cut: a cut could leave
half of a secret that redaction no longer recognises."""
_ROW_H = 26


def _bar(
    value: int, top: int, scale: int, tone: str, x: float = _LABEL_W, title: str = ""
) -> tuple[str, float]:
    """A bar for ``value`` at height ``top``, ``scale`` filling the bar area; returns its end."""
    width = 0.0 if scale <= 0 else _BAR_W * max(0, value) / scale
    tip = f"<title>{_e(title)}</title>" if title else ""
    rect = (
        f'<rect class="bar {tone}" x="{x:.1f}" y="{top + 4}" width="{width:.1f}" '
        f'height="{_ROW_H - 8}" rx="2">{tip}</rect>'
    )
    return rect, x + width


def _label(x: float, top: int, text: str, cls: str) -> str:
    squeeze = (
        f' textLength="{_LABEL_W - 10}" lengthAdjust="spacingAndGlyphs"'
        if cls == "name" and len(text) > _LABEL_CHARS
        else ""
    )
    return f'<text class="{cls}" x="{x:.1f}" y="{top + _ROW_H // 2 + 4}"{squeeze}>{_e(text)}</text>'


def _svg(rows: list[str], count: int, label: str, legend: bool = False) -> str:
    top = 22 if legend else 0
    height = top + count * _ROW_H + 4
    head = ""
    if legend:
        head = (
            '<rect class="bar credit" x="0" y="5" width="12" height="12" rx="2"></rect>'
            '<text class="legend" x="18" y="15">new credits</text>'
            '<rect class="bar charge" x="110" y="5" width="12" height="12" rx="2"></rect>'
            '<text class="legend" x="128" y="15">new charges</text>'
        )
    body = "".join(rows)
    return (
        f'<svg class="chart" viewBox="0 0 {_CHART_WIDTH} {height}" width="{_CHART_WIDTH}" '
        f'height="{height}" role="img" aria-label="{_e(label)}">'
        f"<title>{_e(label)}</title>{head}"
        f'<g transform="translate(0 {top})">{body}</g></svg>'
    )


def _money(plan: Plan) -> str:
    """Per currency: new credits and new charges, each currency on its own scale."""
    money = plan.money()
    figures = []
    for cur, v in money.items():
        scale = max(v["credits"], v["charges"])
        rows = []
        for i, (bucket, tone) in enumerate((("credits", "credit"), ("charges", "charge"))):
            top = i * _ROW_H
            title, amount = f"new {bucket}", format_minor(cur, v[bucket])
            rect, end = _bar(v[bucket], top, scale, tone, title=f"{title}: {amount}")
            value = _label(end + 6, top, amount, "value")
            rows.append(_label(0, top, title, "name") + rect + value)
        credits_, charges_ = format_minor(cur, v["credits"]), format_minor(cur, v["charges"])
        label = f"{cur}: new credits {credits_}, new charges {charges_}"
        figures.append(
            f'<figure class="money" data-currency="{_e(cur)}">'
            f"<figcaption>{_e(cur)}</figcaption>{_svg(rows, 2, label)}</figure>\n"
        )
    credits, charges = render.unpriced(plan.creates)
    extra = ""
    if credits or charges:
        extra = (
            f'<p class="unpriced" id="unpriced">{_e(render.UNPRICED)}: '
            f"{_e('; '.join(p for p in (credits, charges) if p))}.</p>\n"
        )
    if not figures and not extra:
        body = '<p class="none">This plan creates no money.</p>\n'
    else:
        body = f'<div class="figures">\n{"".join(figures)}</div>\n{extra}'
    return (
        '<section id="money" aria-labelledby="money-h">\n'
        '<h2 id="money-h">New money per currency</h2>\n'
        '<p class="lead">What apply would create, before discounts. Each currency has its own '
        "scale.</p>\n" + body + "</section>\n"
    )


def _customers(plan: Plan) -> str:
    """Per currency, the customers getting the most (credits and charges stacked), then every
    customer in a folded table."""
    per_customer = plan.money_per_customer()
    if not plan.creates:
        return ""
    currencies = sorted({cur for money in per_customer.values() for cur in money})
    figures = []
    for cur in currencies:
        ranked = sorted(
            (
                (-(m[cur]["credits"] + m[cur]["charges"]), customer, m[cur])
                for customer, m in per_customer.items()
                if cur in m
            ),
        )
        top = ranked[:TOP_CUSTOMERS]
        scale = -top[0][0] if top else 0
        rows = []
        for i, (negative, customer, v) in enumerate(top):
            y = i * _ROW_H
            credit, end = _bar(
                v["credits"],
                y,
                scale,
                "credit",
                title=f"{customer} new credits: " + format_minor(cur, v["credits"]),
            )
            charge, end = _bar(
                v["charges"],
                y,
                scale,
                "charge",
                x=end,
                title=f"{customer} new charges: " + format_minor(cur, v["charges"]),
            )
            rows.append(
                f"<g><title>{_e(customer)}</title>{_label(0, y, customer, 'name')}</g>"
                + credit
                + charge
                + _label(end + 6, y, format_minor(cur, -negative), "value")
            )
        more = len(ranked) - len(top)
        caption = f"{cur}: top {len(top)} of {len(ranked)} customers" if more else cur
        label = f"{cur}: new money per customer, " + ", ".join(
            f"{c} {format_minor(cur, -n)}" for n, c, _ in top
        )
        figures.append(
            f'<figure class="customers" data-currency="{_e(cur)}">'
            f"<figcaption>{_e(caption)}</figcaption>{_svg(rows, len(top), label, legend=True)}"
            "</figure>\n"
        )
    by_customer: dict[str, list[Create]] = {}
    for action in plan.creates:
        by_customer.setdefault(action.customer_id, []).append(action)
    lines = []
    for customer, acts in sorted(by_customer.items()):
        cells = [
            (cur, format_minor(cur, v["credits"]), format_minor(cur, v["charges"]))
            for cur, v in per_customer.get(customer, {}).items()
        ]
        credits, charges = render.unpriced(acts)
        if credits or charges:
            cells.append(("units / catalog", credits or "-", charges or "-"))
        lines += [
            f"<tr><td><code>{_e(customer)}</code></td><td>{_e(what)}</td>"
            f'<td class="num">{_e(new_credits)}</td><td class="num">{_e(new_charges)}</td></tr>\n'
            for what, new_credits, new_charges in cells
        ]
    charts = f'<div class="figures">\n{"".join(figures)}</div>\n' if figures else ""
    return (
        '<section id="customers" aria-labelledby="customers-h">\n'
        '<h2 id="customers-h">New money per customer</h2>\n'
        f"{charts}<details><summary>Every customer ({len(by_customer):,})</summary>\n"
        '<table class="plain"><thead><tr><th>customer</th><th>currency</th>'
        '<th class="num">new credits</th><th class="num">new charges</th></tr></thead>\n'
        f"<tbody>\n{''.join(lines)}</tbody></table>\n</details>\n</section>\n"
    )


# -- the actions -----------------------------------------------------------------------------------

_COLUMNS = ("Action", "Address", "Customer", "Amount", "Risk", "Maple")


def _actions(plan: Plan, by_address: dict[str, list[Violation]]) -> str:
    counts: dict[ActionType, int] = {}
    risks: dict[Risk, int] = {}
    for action in plan.actions:
        counts[action.action] = counts.get(action.action, 0) + 1
        risks[action.risk] = risks.get(action.risk, 0) + 1
    kinds = [k for k in (*ACTION_ORDER, *counts) if k in counts]
    type_options = "".join(
        f'<option value="{_e(k.value)}">{_e(render.action_words(k))} ({counts[k]:,})</option>'
        for k in dict.fromkeys(kinds)
    )
    risk_options = "".join(
        f'<option value="{_e(r.value)}">{_e(r.value)} ({risks[r]:,})</option>'
        for r in Risk
        if r in risks
    )
    policy = (
        '<label class="check"><input type="checkbox" id="f-policy"> policy violations only</label>'
        if by_address
        else ""
    )
    head = "".join(
        f'<th scope="col" aria-sort="none" data-col="{i}"><button type="button">{name}'
        '<span class="arrow" aria-hidden="true"></span></button></th>'
        for i, name in enumerate(_COLUMNS)
    )
    rows = "".join(_row(i, a, plan, by_address) for i, a in enumerate(plan.actions))
    return (
        '<section id="actions-section" aria-labelledby="actions-h">\n'
        f'<h2 id="actions-h">Actions ({len(plan.actions):,})</h2>\n'
        '<div class="controls" id="controls" hidden>\n'
        '<input type="search" id="q" placeholder="Filter: address, customer, amount, note…" '
        'aria-label="Filter the actions by text" autocomplete="off">\n'
        '<select id="f-action" aria-label="Action type">'
        f'<option value="">every action type</option>{type_options}</select>\n'
        '<select id="f-risk" aria-label="Risk class">'
        f'<option value="">every risk class</option>{risk_options}</select>\n'
        f"{policy}\n"
        '<span id="shown" aria-live="polite"></span>\n'
        "</div>\n"
        '<div class="scroll">\n<table id="actions">\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n</div>\n"
        '<p class="none" id="no-match" hidden>No action matches the filter.</p>\n'
        "</section>\n"
    )


def _row(index: int, action: Action, plan: Plan, by_address: dict[str, list[Violation]]) -> str:
    """One action: its cells carry sort keys (``data-key``); diffs and notes sit under the
    address."""
    rank, tone = _KINDS.get(action.action, _DEFAULT_KIND)
    marker = render.MARKERS.get(action.action, "·")
    violations = by_address.get(action.address, [])
    risk = action.risk
    classes = [f"kind-{_token(action.action.value)}", f"tone-{tone}"]
    if risk in _RISK_TONE:
        classes.append(f"risk-{_RISK_TONE[risk]}")
    if violations:
        classes.append("policy")
    why = [f'<li class="diff">{_e(render.diff_words(d))}</li>' for d in action.diff]
    violation_notes = {render.violation_text(v, plan) for v in violations}
    why += [
        f'<li class="{"violation" if note in violation_notes else "note"}">{_e(note)}</li>'
        for note in render.notes(action, plan)
    ]
    why_html = f'<ul class="why">{"".join(why)}</ul>' if why else ""
    amount = render.amount_words(action)
    first = action.money[0] if action.money else None
    # Money sorts by currency, then value ("USD 500" < "USD 3600" in a numeric collation);
    # units and catalog items after every currency code.
    amount_key = f"{first.currency} {first.value_in_cents}" if first else f"ZZZ {amount}"
    policy_chip = ""
    if violations:
        hard = any(v.severity is Severity.HARD for v in violations)
        overridden = not hard and plan.override_reason
        label = "policy: hard" if hard else "policy: overridden" if overridden else "policy: soft"
        policy_chip = (
            f' <span class="chip tone-{"quiet" if overridden else "danger" if hard else "warn"}">'
            f"{label}</span>"
        )
    risk_tone = _RISK_TONE.get(risk, "credit" if risk is Risk.CREDIT_GRANT else "plain")
    maple = render.maple_words(action)
    where = f"{action.source.file}:{action.source.line}"
    flag = ' data-policy="1"' if violations else ""
    return (
        f'<tr id="action-{index}" class="{" ".join(classes)}" '
        f'data-action="{_e(action.action.value)}" data-risk="{_e(risk.value)}"{flag}>'
        f'<td data-key="{rank}"><span class="badge tone-{tone}">'
        f"{_e(marker)} {_e(render.action_words(action.action))}</span></td>"
        f'<td data-key="{_e(action.address)}"><code class="address">{_e(action.address)}</code>'
        f'<span class="source">{_e(where)}</span>{why_html}</td>'
        f"<td><code>{_e(render.customer_label(plan, action.customer_id))}</code></td>"
        f'<td class="num" data-key="{_e(amount_key)}">{_e(amount)}</td>'
        f'<td data-key="{_RISK_RANK.get(risk, 9)}"><span class="chip risk tone-{risk_tone}">'
        f"{_e(risk.value)}</span>{policy_chip}</td>"
        f"<td>{_e(maple) or '—'}</td>"
        "</tr>\n"
    )


def _unmanaged(plan: Plan, show: bool) -> str:
    if not plan.unmanaged:
        return ""
    count = f"{len(plan.unmanaged):,}"
    if not show:
        return (
            '<section id="unmanaged" aria-label="Unmanaged objects">\n'
            f'<p class="lead">{count} unmanaged (in Maple, in no manifest); '
            "<code>--show-unmanaged</code> lists them.</p>\n</section>\n"
        )
    rows = "".join(
        f"<tr><td>{_e(u.kind.value)}</td><td><code>{_e(u.remote_id)}</code></td>"
        f"<td><code>{_e(u.customer_id)}</code></td><td>{_e(u.description)}</td>"
        f"<td>{_e(u.state or '')}</td></tr>\n"
        for u in plan.unmanaged
    )
    return (
        '<section id="unmanaged" aria-labelledby="unmanaged-h">\n'
        f'<h2 id="unmanaged-h">Unmanaged (in Maple, in no manifest): {count}</h2>\n'
        '<table class="plain"><thead><tr><th>kind</th><th>id</th><th>customer</th>'
        "<th>description</th><th>state</th></tr></thead>\n"
        f"<tbody>\n{rows}</tbody></table>\n</section>\n"
    )


def _footer(plan: Plan) -> str:
    facts: Iterable[tuple[str, str]] = (
        ("manifest digest", plan.manifest_digest),
        ("observation digest", plan.observation_digest),
        ("paths", ", ".join(plan.paths) or "-"),
        ("requests to read Maple", f"{plan.requests:,}"),
    )
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    return (
        f'<footer class="wrap"><dl>{items}</dl>'
        "<p>Made by maplectl. This page makes no network requests; it is safe to keep as a "
        "CI artifact.</p></footer>\n"
    )


def _when(value: datetime) -> str:
    """A time to the minute, in UTC: ``2026-11-22 12:00 UTC``."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- the page's own style and script ---------------------------------------------------------------

_STYLE = """
:root{--ink:#1d2939;--muted:#667085;--line:#e4e7ec;--bg:#f4f6f9;--card:#fff;
--create:#067647;--create-bg:#dcfae6;--danger:#b42318;--danger-bg:#fee4e2;
--warn:#93370d;--warn-bg:#fef0c7;--amb:#5925dc;--amb-bg:#ebe9fe;--quiet:#475467;
--quiet-bg:#f2f4f7;--credit:#0e9384;--charge:#2e5aac;--accent:#1849a9}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:.92em}
h2{font-size:16px;margin:0 0 10px}
.wrap,main{max-width:1280px;margin:0 auto;padding:0 24px}
main>section{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:18px 20px;margin:16px 0}
.top{background:#101828;color:#fff;padding:22px 0 18px}
.brand{margin:0;font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#98a2b3}
.top h1{margin:4px 0 2px;font-size:24px;font-weight:650}
.top .where{margin:0 0 12px;color:#d0d5dd}
.top .where code{color:#fff}
.digest{display:flex;flex-wrap:wrap;gap:10px;align-items:baseline;background:#1d2939;
border:1px solid #344054;border-radius:8px;padding:8px 12px}
.digest .label{font-weight:600;color:#fff}
.digest code{color:#fec84b;word-break:break-all;font-size:13px}
.digest .hint{color:#98a2b3;font-size:12px}
.top .summary{margin:12px 0 0;font-size:15px;color:#fff}
.chip,.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;
font-weight:600;white-space:nowrap;vertical-align:middle}
.top .chip{font-size:13px;vertical-align:4px}
.chip.tone-quiet,.badge.tone-quiet{background:var(--quiet-bg);color:var(--quiet)}
.chip.tone-plain{background:#eef4ff;color:#3538cd}
.chip.tone-credit{background:#e6f6f4;color:#0b6b60}
.chip.tone-warn,.badge.tone-warn{background:var(--warn-bg);color:var(--warn)}
.chip.tone-danger,.badge.tone-danger{background:var(--danger);color:#fff}
.badge.tone-create{background:var(--create-bg);color:var(--create)}
.badge.tone-ambiguous{background:var(--amb-bg);color:var(--amb)}
.badge.tone-other{background:var(--quiet-bg);color:var(--ink)}
.top .chip.tone-quiet{background:#344054;color:#fff}
.warnings{background:var(--danger-bg)!important;border-color:#fda29b!important}
.warnings ul{margin:0;padding:0;list-style:none}
.warnings li{padding:3px 0;font-weight:600;color:var(--danger)}
.warnings li.tone-warn{color:var(--warn)}
.warnings li.tone-sub{font-weight:400;padding-left:18px;color:var(--ink)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}
.card{border-radius:8px;padding:12px 14px;border:1px solid var(--line);border-left-width:5px}
.card p{margin:0}
.card .count{font-size:26px;font-weight:700;line-height:1.1}
.card .title{font-weight:650}
.card .text{color:var(--muted);font-size:13px;margin:2px 0 8px}
.card.tone-danger{border-left-color:var(--danger);background:#fffbfa}
.card.tone-danger .count{color:var(--danger)}
.card.tone-warn{border-left-color:#f79009;background:#fffcf5}
.card.tone-warn .count{color:var(--warn)}
.card.tone-ambiguous{border-left-color:var(--amb);background:#fafaff}
.card.tone-ambiguous .count{color:var(--amb)}
.card button,.controls button{font:inherit;font-size:12px;border:1px solid #d0d5dd;
background:#fff;border-radius:6px;padding:3px 10px;cursor:pointer}
.card button:hover{background:var(--bg)}
.allclear{margin:0;color:var(--create);font-weight:600}
.lead{color:var(--muted);margin:-4px 0 12px}
.figures{display:flex;flex-wrap:wrap;gap:14px 28px}
figure{margin:0;min-width:0}
figcaption{font-weight:650;margin-bottom:4px}
svg.chart{max-width:100%;height:auto;display:block}
svg .name{font-size:12px;fill:var(--ink)}
svg .value{font-size:12px;font-weight:600;fill:var(--ink)}
svg .legend{font-size:11px;fill:var(--muted)}
svg .bar.credit{fill:var(--credit)}
svg .bar.charge{fill:var(--charge)}
.unpriced{margin:12px 0 0;color:var(--muted)}
.none{color:var(--muted);margin:8px 0 0}
details{margin-top:12px}
summary{cursor:pointer;color:var(--accent);font-weight:600}
table{border-collapse:collapse;width:100%}
table.plain{margin-top:8px;max-width:760px}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.plain th{font-size:12px;color:var(--muted)}
.controls{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:0 0 12px}
.controls input[type=search]{flex:1 1 280px;font:inherit;padding:6px 10px;border:1px solid
#d0d5dd;border-radius:6px}
.controls select{font:inherit;padding:5px 8px;border:1px solid #d0d5dd;border-radius:6px;
background:#fff}
.controls .check{color:var(--ink);white-space:nowrap}
#shown{color:var(--muted);margin-left:auto}
.scroll{overflow-x:auto}
#actions thead th{position:sticky;top:0;background:#f9fafb;z-index:1;padding:0;
border-bottom:2px solid var(--line)}
#actions th button{all:unset;display:block;padding:8px 10px;cursor:pointer;font-size:12px;
font-weight:650;color:var(--muted);white-space:nowrap}
#actions th button:focus-visible{outline:2px solid var(--accent)}
#actions th:nth-child(4) button{text-align:right}
#actions th[aria-sort=ascending] .arrow::after{content:" ▲"}
#actions th[aria-sort=descending] .arrow::after{content:" ▼"}
#actions tbody tr:hover{background:#f9fafb}
#actions td:first-child{box-shadow:inset 4px 0 transparent;white-space:nowrap}
#actions tr.tone-create td:first-child{box-shadow:inset 4px 0 #17b26a}
#actions tr.tone-danger td:first-child{box-shadow:inset 4px 0 var(--danger)}
#actions tr.tone-warn td:first-child{box-shadow:inset 4px 0 #f79009}
#actions tr.tone-ambiguous td:first-child{box-shadow:inset 4px 0 var(--amb)}
#actions tr.tone-quiet{color:var(--muted)}
#actions tr.tone-danger,#actions tr.risk-danger{background:#fff6f5}
#actions tr.risk-warn{background:#fffcf2}
#actions code.address{font-weight:600;color:var(--ink)}
#actions .source{display:block;color:var(--muted);font-size:12px}
#actions td:nth-child(2){min-width:280px}
#actions td:nth-child(3),#actions td:nth-child(5){white-space:nowrap}
#actions td:nth-child(6){min-width:200px;font-size:13px}
.why{margin:4px 0 0;padding:0 0 0 16px;font-size:12.5px;color:#344054}
.why li{margin:1px 0}
.why li.diff{color:var(--warn)}
.why li.violation{color:var(--danger);font-weight:600}
#unmanaged .lead{margin:0}
footer{color:var(--muted);font-size:12px;padding-bottom:30px}
footer dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:4px 20px;
margin:0 0 8px}
footer dt{font-weight:600}
footer dd{margin:0;word-break:break-all}
@media print{.controls,.card button{display:none!important}body{background:#fff}
#actions thead th{position:static}}
"""

_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("actions");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var texts = null;
  var query = document.getElementById("q");
  var byAction = document.getElementById("f-action");
  var byRisk = document.getElementById("f-risk");
  var byPolicy = document.getElementById("f-policy");
  var shown = document.getElementById("shown");
  var noMatch = document.getElementById("no-match");
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});

  function filter() {
    if (texts === null) {
      texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    }
    var words = query.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var action = byAction.value, risk = byRisk.value;
    var policy = byPolicy !== null && byPolicy.checked;
    var count = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var ok = (!action || row.getAttribute("data-action") === action) &&
        (!risk || row.getAttribute("data-risk") === risk) &&
        (!policy || row.hasAttribute("data-policy"));
      for (var w = 0; ok && w < words.length; w++) {
        ok = texts[i].indexOf(words[w]) !== -1;
      }
      row.hidden = !ok;
      if (ok) { count++; }
    }
    shown.textContent = count === rows.length
      ? "all " + rows.length.toLocaleString("en-US") + " actions"
      : count.toLocaleString("en-US") + " of " + rows.length.toLocaleString("en-US") +
        " actions";
    noMatch.hidden = count !== 0;
  }

  function sortBy(th) {
    var column = Number(th.getAttribute("data-col"));
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var headers = table.tHead.rows[0].cells;
    for (var h = 0; h < headers.length; h++) { headers[h].setAttribute("aria-sort", "none"); }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var keyed = rows.map(function (row, index) {
      var cell = row.cells[column];
      var key = cell.getAttribute("data-key");
      return {row: row, index: index, key: key === null ? cell.textContent : key};
    });
    keyed.sort(function (a, b) {
      var order = collator.compare(a.key, b.key);
      return (ascending ? order : -order) || a.index - b.index;
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
  }

  var headers = table.tHead.rows[0].cells;
  for (var h = 0; h < headers.length; h++) {
    headers[h].addEventListener("click", function (event) { sortBy(event.currentTarget); });
  }
  query.addEventListener("input", filter);
  byAction.addEventListener("change", filter);
  byRisk.addEventListener("change", filter);
  if (byPolicy !== null) { byPolicy.addEventListener("change", filter); }

  var buttons = document.querySelectorAll("#attention button.show");
  for (var b = 0; b < buttons.length; b++) {
    buttons[b].hidden = false;
    buttons[b].addEventListener("click", function (event) {
      var button = event.currentTarget;
      query.value = "";
      byAction.value = button.getAttribute("data-action") || "";
      byRisk.value = button.getAttribute("data-risk") || "";
      if (byPolicy !== null) { byPolicy.checked = button.hasAttribute("data-policy"); }
      filter();
      table.scrollIntoView({block: "start"});
    });
  }
  document.getElementById("controls").hidden = false;
  filter();
})();
"""


def _source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_source_hash(_STYLE)}; script-src {_source_hash(_SCRIPT)}; "
    "img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
)
"""Nothing but this module's own style sheet and script, each allowed by its hash."""
