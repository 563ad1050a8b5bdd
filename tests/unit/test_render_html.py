"""The HTML report, pure: its structure parsed with the standard library's HTML parser, every
plan text escaped, nothing that could reach a network, money in each currency's own decimals."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from html.parser import HTMLParser

import pytest
from helpers.planning import credit, plan_of
from helpers.reports import hostile_plan, varied_plan

from maplectl import render_html
from maplectl.plan.actions import Create
from maplectl.plan.records import Plan
from maplectl.redaction import MASK, redact
from maplectl.render_html import plan_html

VOID = {"meta", "input", "br", "img", "link", "hr", "rect", "path", "circle", "line"}
ATTACK = "<script>alert(1)</script><img src=x onerror=alert(2)>\"' & url(https://evil.test/x)"


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)


class Tree(HTMLParser):
    """Elements in document order with their attributes and own text; fails on a tag that is
    closed without being open (a page built of strings that lost its shape)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.doctype = ""
        self.texts: list[str] = []
        self.feed(text)
        self.close()

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        if self.stack:
            self.stack[-1].children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack and self.stack[-1].tag == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self.stack:
            self.stack[-1].text += data

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag
            and all(e.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())
        ]

    def by_id(self, ident: str) -> Element:
        (found,) = [e for e in self.elements if e.attrs.get("id") == ident]
        return found


def parse(text: str) -> Tree:
    tree = Tree(text)
    assert not tree.stack, f"left open: {[e.tag for e in tree.stack]}"
    return tree


def text_of(element: Element) -> str:
    return element.text + "".join(text_of(c) for c in element.children)


@cache
def big() -> Plan:
    return varied_plan(1000)


@cache
def big_page() -> str:
    return plan_html(big(), show_unmanaged=True)


def test_the_page_has_its_header_charts_and_one_row_per_action() -> None:
    """One document: company, environment and approval digest on top, a bar chart per currency
    and per customer, and the action table with one row per action, typed for the filter."""
    plan = big()
    tree = parse(big_page())
    assert tree.doctype.lower() == "doctype html"
    assert text_of(tree.by_id("approval-digest")) == plan.approval_digest
    assert text_of(tree.by_id("environment")) == "production"
    assert "cmp_demo" in text_of(tree.all("h1")[0])
    money = tree.all("figure", class_="money")
    assert [f.attrs["data-currency"] for f in money] == ["EUR", "JPY", "KWD", "USD"]
    for figure in money:
        bars = [e for e in _walk(figure) if e.tag == "rect"]
        assert len(bars) == 2 and max(float(b.attrs["width"]) for b in bars) > 0
    customers = tree.all("figure", class_="customers")
    assert len(customers) == 4
    assert all(
        sum(e.tag == "g" for e in _walk(f)) - 1 == render_html.TOP_CUSTOMERS for f in customers
    ), "top N customers per currency (one <g> per bar row, one for the chart)"
    rows = tree.all("tr")
    table_rows = [r for r in rows if r.attrs.get("id", "").startswith("action-")]
    assert len(table_rows) == len(plan.actions) == 1000
    assert {r.attrs["data-action"] for r in table_rows} == {a.action.value for a in plan.actions}
    assert [r.attrs["data-risk"] for r in table_rows] == [a.risk.value for a in plan.actions]
    options = [o.attrs["value"] for o in _walk(tree.by_id("f-action")) if o.tag == "option"]
    assert options == ["", "create", "unchanged", "drift", "ambiguous", "possible_duplicate"]


def _walk(element: Element) -> list[Element]:
    out = [element]
    for child in element.children:
        out += _walk(child)
    return out


def test_risk_classes_duplicates_drift_and_policy_stand_out() -> None:
    """Cards name what needs a person; immediate charges, auto-charges, possible duplicates,
    drift and rows breaking the policy carry their own classes; the guard lines head the page."""
    plan = big()
    tree = parse(big_page())
    cards = {
        text_of(c.children[1]): c
        for c in tree.all("div")
        if "card" in c.attrs.get("class", "").split()
    }
    assert set(cards) == {
        "possible duplicates",
        "charge-immediate-auto",
        "policy violations",
        "charge-immediate",
        "ambiguous",
        "drift",
    }
    assert "tone-danger" in cards["charge-immediate-auto"].attrs["class"]
    assert text_of(cards["possible duplicates"].children[0]) == "50"
    rows = {r.attrs["id"]: r for r in tree.all("tr") if r.attrs.get("id", "").startswith("action-")}
    for index, action in enumerate(plan.actions):
        classes = rows[f"action-{index}"].attrs["class"].split()
        assert ("risk-danger" in classes) == (action.risk.value == "charge-immediate-auto")
        assert ("risk-warn" in classes) == (action.risk.value == "charge-immediate")
        mine = [v for v in plan.violations if v.address == action.address]
        assert ("policy" in classes) == bool(mine)
        assert ("data-policy" in rows[f"action-{index}"].attrs) == bool(mine)
    dup = next(r for r in rows.values() if r.attrs["data-action"] == "possible_duplicate")
    drift = next(r for r in rows.values() if r.attrs["data-action"] == "drift")
    assert "tone-danger" in dup.attrs["class"] and "tone-warn" in drift.attrs["class"]
    assert "possible duplicate of crd_" in text_of(dup)
    assert "amount.value_in_cents: manifest 3000, Maple 1" in text_of(drift)
    warnings = text_of(tree.by_id("warnings"))
    assert "50 charges charge the card on file at once" in warnings
    assert "policy max_per_customer (hard)" in warnings


def test_every_text_from_the_plan_is_escaped() -> None:
    """Names, descriptions, ids, file names, Maple's states and the override reason holding
    markup render as text: the page keeps its one script, gains no element and no handler."""
    page = plan_html(hostile_plan(ATTACK), show_unmanaged=True)
    tree = parse(page)
    assert len(tree.all("script")) == 1 and not tree.all("script")[0].attrs
    assert not tree.all("img")
    handlers = [(e.tag, k) for e in tree.elements for k in e.attrs if k.startswith("on")]
    assert handlers == []
    assert "<script>alert" not in page and "<img src=x" not in page
    text = "".join(tree.texts)
    # as text: the company, the API URL, the address, the customer, file, state, reason, ...
    assert text.count(ATTACK) >= 15, text.count(ATTACK)


@pytest.mark.parametrize("which", ["varied", "hostile"])
def test_nothing_on_the_page_can_reach_a_network(which: str) -> None:
    """No src or href to anywhere, no style attribute, no @import or url() in the style sheet,
    and a Content-Security-Policy that allows only the page's own style and script by hash."""
    page = big_page() if which == "varied" else plan_html(hostile_plan(ATTACK), show_unmanaged=True)
    tree = parse(page)
    linking = {"src", "href", "xlink:href", "srcset", "action", "formaction", "data", "style"}
    assert [(e.tag, k) for e in tree.elements for k in e.attrs if k in linking] == []
    assert not tree.all("link") and not tree.all("iframe") and not tree.all("object")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page.split("<body>")[0])
    (style,) = tree.all("style")
    (script,) = tree.all("script")
    assert "@import" not in style.text and "url(" not in style.text
    for forbidden in ("fetch(", "XMLHttpRequest", "import(", "WebSocket", "sendBeacon", "src"):
        assert forbidden not in script.text
    (csp,) = [m for m in tree.all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    policy = dict(d.strip().split(" ", 1) for d in csp.attrs["content"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["style-src"] == _hash(style.text)
    assert policy["script-src"] == _hash(script.text)


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_money_is_shown_in_the_currency_s_own_decimals() -> None:
    """JPY has no minor unit and KWD three: JPY 500 and KWD 1.500, in the table, the charts and
    the per-customer table."""
    jpy = credit("jpy", cents=500, amount={"currency": "JPY", "value_in_cents": 500})
    kwd = credit("kwd", customer="cus_globex", amount={"currency": "KWD", "value_in_cents": 1500})
    usd = credit("usd", customer="cus_hooli", cents=123456)
    tree = parse(plan_html(plan_of([jpy, kwd, usd])))
    cells = [text_of(r.children[3]) for r in tree.all("tr") if r.attrs.get("data-action")]
    assert cells == ["JPY 500", "KWD 1.500", "USD 1,234.56"]
    chart_values = [e.text for e in tree.elements if e.attrs.get("class") == "value"]
    assert "JPY 500" in chart_values and "KWD 1.500" in chart_values
    assert "USD 1,234.56" in chart_values
    assert "KWD 0.000" in chart_values  # no new charges, still three decimals


def test_a_plan_without_money_says_so() -> None:
    """A plan with nothing to create has no charts, and its page says it creates no money."""
    plan = replace(plan_of([]), actions=())
    tree = parse(plan_html(plan))
    assert not tree.all("figure") and not tree.all("tr", class_="action")
    assert "This plan creates no money." in "".join(tree.texts)
    assert "Nothing needs a person" in "".join(tree.texts)


def test_the_token_is_masked_in_every_html_spelling() -> None:
    """A token in a plan text is HTML-escaped on the page; redaction, which every output passes
    through, masks that spelling as well as the raw one."""
    token = "tok&en<7>\"q'-canary"
    page = redact(plan_html(hostile_plan(token), show_unmanaged=True), [token])
    assert MASK in page
    for spelling in (token, "tok&amp;en&lt;7&gt;&quot;q&#x27;-canary", "tok&amp;en&lt;7&gt;"):
        assert spelling not in page


class Future(StrEnum):
    REFUND = "refund"


@dataclass(frozen=True)
class _Refund(Create):
    @property
    def action(self) -> Future:  # type: ignore[override]
        return Future.REFUND


def test_an_action_type_without_a_style_renders_in_the_default_one() -> None:
    """A new action type (a future `refund`, say) gets a row in the default style and its value
    as its words, before anyone gives it its own."""
    made = plan_of([credit("acme")])
    action = made.actions[0]
    assert isinstance(action, Create)
    refund = _Refund(**{k: getattr(action, k) for k in Create.__dataclass_fields__})
    row = render_html._row(0, refund, made, {})  # type: ignore[arg-type]
    tree = parse(f"<table>{row}</table>")
    (tr,) = tree.all("tr")
    assert tr.attrs["data-action"] == "refund" and "tone-other" in tr.attrs["class"]
    assert text_of(tr.children[0]).strip() == "· refund"


def test_a_1000_action_page_renders_well_under_a_second() -> None:
    """1,000 actions, 61 customers, four currencies: rendered in well under a second, under
    1 MB."""
    plan = big()
    start = time.perf_counter()
    page = plan_html(plan, show_unmanaged=True)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"{elapsed:.3f}s"
    assert len(page.encode()) < 1_000_000, len(page.encode())


def test_a_revoke_needs_a_person_and_its_row_stands_out() -> None:
    """A revoke takes money back and cannot be undone: it gets a card saying how much, and its
    row is marked as a revoke with its risk class in the danger tone."""
    from helpers.planning import remote_credit

    d = credit("acme-goodwill", cents=5000, revoke=True)
    plan = plan_of([d], [remote_credit("crd_01", d, balance=4000)])
    tree = parse(plan_html(plan))
    cards = [text_of(c) for c in tree.all("div") if "card" in c.attrs.get("class", "").split()]
    assert any("revoke" in c and "takes back USD 40.00" in c for c in cards), cards
    (row,) = [r for r in tree.all("tr") if r.attrs.get("data-action") == "revoke"]
    assert row.attrs["data-risk"] == "credit-revoke"
    assert "crd_01" in text_of(row) and "USD 40.00" in text_of(row)
    assert "Nothing needs a person" not in "".join(tree.texts)
