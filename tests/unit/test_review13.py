"""Review of issue 13 (revoke, customers by identifier, status): findings as tests.

Each test states the behaviour a user needs; each failed (as a strict xfail) before its fix.
No server: readers and rows are built by hand (tests/helpers/ledger.py, tests/helpers/planning.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.ledger import RowsReader, amount_credit, issued, log, money, units_credit
from helpers.planning import NOW, credit, plan_of, remote_credit

from maplectl.config import Secret
from maplectl.errors import ApiValidationError, ManifestError, PlanFileError, TransportError
from maplectl.maple.client import MapleClient
from maplectl.maple.reader import Collection, Page
from maplectl.plan.keys import digest
from maplectl.plan.policy import Policy, RuleName, evaluate
from maplectl.plan.records import Plan
from maplectl.status import Standing, credit_status
from maplectl.workflow import load_scope, make_plan, make_status

# -- status and revokes ----------------------------------------------------------------------------


def test_status_shows_a_credit_whose_manifest_asks_to_revoke_it() -> None:
    """`maplectl status` on manifests with a pending `metadata.revoke: true` shows the credit
    (in Maple, its ledger reconciled) instead of failing with an internal AssertionError: this is
    exactly when a person checks the balance about to be taken back."""
    row = amount_credit("crd_1", issued=5000, left=4000)
    reader = RowsReader(
        {
            Collection.CREDITS: [row],
            Collection.CREDIT_LOGS: [issued(row), log(row, "CONSUMED", 1000)],
        }
    )
    report = make_status(
        reader,
        [credit("acme", title="Goodwill", revoke=True)],
        company_id="cmp_demo",
        api_url="https://maple.test",
        now=lambda: NOW,
    )
    [entry] = report.entries
    assert entry.standing is Standing.IN_MAPLE
    assert [c.remote_id for c in entry.credits] == ["crd_1"] and report.mismatched == []


# -- the revokes rule ----------------------------------------------------------------------------


def test_a_revokes_limit_is_broken_by_a_revoke_whose_balance_is_unknown() -> None:
    """A credit Maple shows ACTIVE without a readable balance is planned as a revoke (something
    may be left); a `revokes` rule with limits must then count it as over the limit, not as
    nothing taken back: an unknown amount is not an amount under USD 10.00."""
    d = credit("acme", title="Goodwill", cents=500000, revoke=True)
    plan = plan_of([d], [remote_credit("cr_01", d, amount=None)])
    assert [a.action.value for a in plan.actions] == ["revoke"]
    rule = Policy.from_config({"revokes": {"level": "hard", "amounts": {"USD": 1000}}})
    assert [v.rule for v in evaluate(rule, plan.actions, NOW)] == [RuleName.REVOKES]


# -- status: what "reconciled" must not let through ----------------------------------------------


def test_a_negative_ledger_row_is_not_reconciled() -> None:
    """Maple logs every event as a positive amount (docs/maple-api.md, Credits): a CONSUMED row
    of USD -10.00 that explains a USD 60.00 balance on a USD 50.00 grant is flagged, never
    reported as a ledger that adds up."""
    row = amount_credit("crd_1", issued=5000, left=6000)
    status = credit_status(row, [issued(row), log(row, "CONSUMED", -1000)])
    assert not status.reconciled


def test_a_balance_in_another_currency_than_the_grant_is_not_reconciled() -> None:
    """A credit issued as USD 50.00 that Maple shows with EUR 50.00 left does not add up, and
    its EUR is not summed into the customer's USD totals."""
    row = amount_credit("crd_1", issued=5000)
    row["amount"] = money("EUR", 5000)
    status = credit_status(row, [issued(row)])
    assert not status.reconciled


def test_a_units_row_of_another_item_is_flagged_not_counted() -> None:
    """For a UNITS credit the item is what the currency is for money: a row in units of another
    item is flagged as foreign and not counted, as a row in another currency is."""
    row = units_credit("crd_1", issued=1000, left=600, item="itm_api_calls")
    other = {**log(row, "CONSUMED", 400), "item_id": "itm_storage_gb"}
    status = credit_status(row, [issued(row), other])
    assert not status.reconciled


@pytest.mark.parametrize("state", ["REVOKED", "EXPIRED"])
def test_a_closed_credit_with_a_balance_and_no_closing_row_is_not_reconciled(state: str) -> None:
    """Revoking or expiring logs what was left and leaves nothing (docs/maple-api.md, Credits):
    a credit Maple shows REVOKED with USD 40.00 still left and no REVOKED row is a ledger that
    does not add up, not a credit apply may report "taken back" while status says all is well."""
    row = amount_credit("crd_1", issued=5000, left=4000, state=state)
    status = credit_status(row, [issued(row), log(row, "CONSUMED", 1000)])
    assert not status.reconciled


def test_a_credit_the_second_read_does_not_return_is_not_reported_reconciled() -> None:
    """A credit that did not add up is read again; if that read does not return it (search
    lag, a page lost), status does not drop it from the report and call everything reconciled:
    the credit stays shown, and not as reconciled."""
    row = amount_credit("crd_1", issued=5000, left=4000)
    reader = RowsReader(
        {Collection.CREDITS: [row], Collection.CREDIT_LOGS: [issued(row)]},
        later={Collection.CREDITS: []},
    )
    report = make_status(
        reader,
        [credit("acme", title="Goodwill")],
        company_id="cmp_demo",
        api_url="https://maple.test",
        now=lambda: NOW,
    )
    assert report.reread == ("cus_acme",)
    assert [c.remote_id for _, c in report.credits] == ["crd_1"]
    assert report.mismatched != []


# -- Maple's answers at the boundary ---------------------------------------------------------------

UNITS_CREDIT_PAGE = """\
{"results": [{"id": "crd_1", "customer_id": "cus_acme", "name": "API calls", "type": "UNITS",
 "state": "ACTIVE", "issued_units": 1000, "units": %s, "item_id": "itm_api_calls",
 "subscription_id": null, "expiration_date": null, "created_at": "2026-01-01T00:00:00Z"}],
 "pagination": {"from_key": null, "limit": 100}}"""


@pytest.mark.parametrize("number", ["Infinity", "NaN", "-Infinity"])
def test_a_non_finite_number_from_maple_is_refused_at_the_boundary(number: str) -> None:
    """A credit row whose units are Infinity or NaN (JSON Python reads, but no number) is one
    clear error where rows are checked, not a revoke of "inf units" whose policy check raises
    OverflowError and whose plan JSON and status JSON cannot be written."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=(UNITS_CREDIT_PAGE % number).encode(),
            headers={"Content-Type": "application/json"},
        )

    client = MapleClient(
        api_url="https://maple.test/api/v1",
        company_id="cmp_demo",
        token=Secret("canary-token-review13"),
        transport=httpx.MockTransport(answer),
    )
    with client, pytest.raises(TransportError):
        client.find_page(Collection.CREDITS, {"customer_id": "cus_acme"})


# -- saved plans ---------------------------------------------------------------------------------


def _forged(mutate: Any) -> dict[str, Any]:
    """A saved plan with a revoke, changed by ``mutate`` and its plan_digest recomputed."""
    d = credit("acme", title="Goodwill", revoke=True)
    doc = json.loads(json.dumps(plan_of([d], [remote_credit("cr_01", d)]).to_json()))
    mutate(doc)
    doc.pop("plan_digest")
    doc["plan_digest"] = digest(doc)
    return doc


def test_a_plan_file_with_malformed_fields_is_a_plan_file_error() -> None:
    """A plan file whose action metadata or violations are not objects (edited, its digest
    recomputed) is refused as a malformed plan file, never an internal AttributeError."""
    for mutate in (
        lambda doc: doc["actions"][0].__setitem__("metadata", "revoke"),
        lambda doc: doc.__setitem__("violations", ["revokes"]),
    ):
        with pytest.raises(PlanFileError):
            Plan.from_json(_forged(mutate))


# -- customers by identifier ---------------------------------------------------------------------

CREDIT_BY_IDENTIFIER = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: acme-goodwill
spec:
  customer:
    identifier: "acme corp/eu"
  name: Goodwill
  type: AMOUNT
  amount: {currency: USD, value_in_cents: 5000}
"""


class _RefusingLookups:
    """A reader whose Maple refuses the customer lookup (400), as a service may for an
    identifier it cannot take in a path."""

    def find_page(self, collection: Collection, query: Any, **_: Any) -> Page:
        return Page(results=[], next_key=None, total=0)

    def get_customer(self, customer_id: str) -> dict[str, Any]:
        raise ApiValidationError(
            "customer reference is not valid",
            status=400,
            error_type="validation_error",
            method="GET",
            path="/customers/...",
        )


def test_maple_refusing_an_identifier_is_reported_at_its_manifest_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When Maple refuses the lookup of `spec.customer.identifier` (400), the plan stops with an
    error at that field, naming the file and line, as for an identifier no customer has."""
    monkeypatch.chdir(tmp_path)
    Path("credits.yaml").write_text(CREDIT_BY_IDENTIFIER, encoding="utf-8")
    desired = load_scope(["credits.yaml"])
    with pytest.raises(ManifestError) as caught:
        make_plan(
            _RefusingLookups(),
            desired,
            company_id="cmp_demo",
            api_url="https://maple.test",
            now=lambda: NOW,
        )
    [problem] = caught.value.diagnostics
    assert (problem.file, problem.line, problem.field) == (
        "credits.yaml",
        7,
        "spec.customer.identifier",
    )


def test_a_plan_file_forged_without_changes_loads() -> None:
    """The forging helper above recomputes the digest right: unchanged, the file loads (so the
    finding above fails on the malformed field, not on the digest)."""
    assert Plan.from_json(_forged(lambda doc: None)).actions[0].action.value == "revoke"
