"""`status` through the real client against the in-process sandbox: the ledger is paged to the
end and every managed credit reconciles."""

from __future__ import annotations

from datetime import UTC, datetime

from helpers.maple import Maple
from helpers.planning import credit

from maplectl.workflow import make_status


def test_a_ledger_longer_than_a_page_is_read_to_the_end(maple: Maple) -> None:
    """150 credits of one customer make a two-page ledger; the managed credits logged on the
    second page are found, one of them used, and every balance reconciles from its rows."""
    maple.control(
        "POST",
        "credits/bulk",
        {
            "count": 150,
            "customer_ids": ["cus_acme"],
            "template": {
                "name": "Lot",
                "type": "AMOUNT",
                "amount": {"currency": "USD", "value_in_cents": 900},
            },
        },
    )
    desired = [credit(f"lot-{n}", title=f"Lot #{n}", cents=900) for n in range(140, 150)]
    first = make_status(
        maple.client,
        desired,
        company_id="cmp_demo",
        api_url="sandbox",
        now=lambda: datetime.now(UTC),
    )
    used = first.credits[0][1].remote_id
    maple.control("POST", f"credits/{used}/consume", {"amount": 400, "invoice_id": "inv_1"})
    maple.control("DELETE", "counters")

    report = make_status(
        maple.client,
        desired,
        company_id="cmp_demo",
        api_url="sandbox",
        now=lambda: datetime.now(UTC),
    )
    assert len(report.credits) == 10 and report.mismatched == [] and report.reread == ()
    by_id = {c.remote_id: c for _, c in report.credits}
    assert [r.event for r in by_id[used].ledger] == ["ISSUED", "CONSUMED"]
    assert (by_id[used].tally.consumed, by_id[used].remaining) == (400, 500)
    assert maple.counters()["POST /credits/logs/find"] == 2
