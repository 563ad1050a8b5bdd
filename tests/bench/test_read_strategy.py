"""The performance rules the plan benchmark (bench/bench_plan.py) depends on, proven small."""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from maplectl.maple.reader import PAGE_SIZE, Collection, Page, RequestCounter, read_collection
from maplectl.plan.builder import _identical
from maplectl.plan.diff import field_diffs


class FakeMaple:
    """A read-only Maple of ``per_customer`` credits for each of ``customers``; counts finds."""

    def __init__(self, customers: int, per_customer: int) -> None:
        self.rows = [
            {"id": f"crd_{c:05d}_{k}", "customer_id": f"cus_{c:05d}"}
            for c in range(customers)
            for k in range(per_customer)
        ]
        self.finds = 0

    def find_page(
        self,
        collection: Collection,
        query: Mapping[str, Any],
        *,
        from_key: str | None = None,
        limit: int = PAGE_SIZE,
        include_meta: bool = False,
    ) -> Page:
        self.finds += 1
        rows = [r for r in self.rows if query.get("customer_id") in (None, r["customer_id"])]
        start = int(from_key or 0)
        end = start + limit
        return Page(
            results=rows[start:end],
            next_key=str(end) if end < len(rows) else None,
            total=len(rows) if include_meta else None,
        )


def _read(maple: FakeMaple, scope: int, parallelism: int) -> str:
    with ThreadPoolExecutor(parallelism) as pool:
        rows, strategy = read_collection(
            maple,
            Collection.CREDITS,
            frozenset(f"cus_{c:05d}" for c in range(scope)),
            pool=pool,
            counter=RequestCounter(None),
            parallelism=parallelism,
        )
    assert len(rows) == scope * len(maple.rows) // 200
    return strategy


def test_near_tie_goes_to_parallel_per_customer_reads() -> None:
    """200 customers of 1 page each vs a 200-page scan: per-customer, 8 at a time, wins."""
    maple = FakeMaple(customers=200, per_customer=100)  # scan: 200 pages, 199 after the first
    assert _read(maple, scope=200, parallelism=8) == "per-customer"
    assert maple.finds == 1 + 200  # one more than the scan, one eighth of its rounds


def test_clear_request_savings_still_pick_the_scan() -> None:
    """When the scan needs far fewer requests, it is taken whatever the parallelism."""
    maple = FakeMaple(customers=200, per_customer=10)  # scan: 20 pages
    assert _read(maple, scope=200, parallelism=8) == "scan"
    assert maple.finds == math.ceil(2000 / PAGE_SIZE)


def test_a_finished_scan_is_never_abandoned() -> None:
    """If the first page already holds everything, no per-customer read is made."""
    maple = FakeMaple(customers=200, per_customer=0)
    assert _read(maple, scope=3, parallelism=8) == "scan"
    assert maple.finds == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"x": 1}, {"x": 1}),
        ({"x": 1}, {"x": 1.0}),
        ({"x": True}, {"x": 1}),
        (
            {"m": {"currency": "USD", "value_in_cents": 5}},
            {"m": {"currency": "USD", "value_in_cents": 5.0}},
        ),
        ({"m": {"v": [1, 2]}}, {"m": {"v": [1, 2]}}),
        ({"m": {"v": [1, 2]}}, {"m": {"v": (1, 2)}}),
        ({"x": None}, {"x": 0}),
        ({"x": "2030-01-01T00:00:00Z"}, {"x": "2030-01-01T00:00:00Z"}),
        ({"x": 1}, {"y": 1}),
    ],
)
def test_identical_agrees_with_deepdiff(a: dict[str, Any], b: dict[str, Any]) -> None:
    """The fast check that skips deepdiff says 'identical' exactly when deepdiff finds nothing."""
    assert _identical(a, b) == (field_diffs(a, b) == ())
