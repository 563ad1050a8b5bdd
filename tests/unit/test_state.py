"""Reading Maple's pages (docs/maple-api.md, Pagination: what it tolerates): every row once,
and no endless loops."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from maplectl.errors import NotFoundError
from maplectl.maple.reader import (
    Collection,
    Page,
    RequestCounter,
    read_collection,
    read_observed,
)


class PagedReader:
    """Serves scripted pages by cursor; counts requests."""

    def __init__(self, pages: dict[str | None, Page], customers: set[str] | None = None) -> None:
        self.pages = pages
        self.customers = customers or set()
        self.requests: list[str | None] = []

    def find_page(
        self,
        collection: Collection,
        query: Mapping[str, Any],
        *,
        from_key: str | None = None,
        limit: int = 100,
        include_meta: bool = False,
    ) -> Page:
        self.requests.append(from_key)
        return self.pages[from_key]

    def get_customer(self, customer_id: str) -> dict[str, Any]:
        if customer_id not in self.customers:
            raise NotFoundError("no such customer", status=404)
        return {"id": customer_id}


def row(n: int, customer: str = "cus_a") -> dict[str, Any]:
    return {"id": f"crd_{n}", "customer_id": customer}


def scan(reader: PagedReader, customers: set[str]) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(2) as pool:
        rows, strategy = read_collection(
            reader,
            Collection.CREDITS,
            frozenset(customers),
            pool=pool,
            counter=RequestCounter(None),
        )
    assert strategy == "scan"
    return rows


def many(customers: int) -> set[str]:
    return {f"cus_{i}" for i in range(customers)}  # more customers than pages: a scan wins


def test_last_page_with_a_cursor_that_leads_nowhere() -> None:
    """A final cursor that is not null but yields an empty page ends the read."""
    reader = PagedReader(
        {None: Page([row(1)], "k1", total=2), "k1": Page([row(2)], "k2"), "k2": Page([], "k3")}
    )
    assert [r["id"] for r in scan(reader, many(50) | {"cus_a"})] == ["crd_1", "crd_2"]
    assert reader.requests == [None, "k1", "k2"]


def test_a_cursor_handed_back_twice_stops_instead_of_looping() -> None:
    """A server that repeats a cursor cannot make maplectl read forever."""
    reader = PagedReader({None: Page([row(1)], "k1", total=3), "k1": Page([row(2)], "k1")})
    assert len(scan(reader, many(50) | {"cus_a"})) == 2
    assert reader.requests == [None, "k1"]  # the repeated cursor is not requested again


def test_rows_repeated_across_pages_are_kept_once() -> None:
    """A page boundary shifting under inserts can repeat a row; the plan sees it once."""
    reader = PagedReader(
        {None: Page([row(1), row(2)], "k1", total=3), "k1": Page([row(2), row(3)], None)}
    )
    observed = read_observed(reader, many(50) | {"cus_a"}, parallelism=2)
    assert sorted(r["id"] for r in observed.credits) == ["crd_1", "crd_2", "crd_3"]


def test_null_results_and_no_total_are_an_empty_account() -> None:
    """`results: null` without a total reads as nothing, per customer, without failing."""
    reader = PagedReader({None: Page([], None)}, customers={"cus_a"})
    observed = read_observed(reader, {"cus_a"}, parallelism=2)
    assert observed.credits == () and observed.customer_problems == {}


@pytest.mark.parametrize(
    ("known", "problem"), [(set(), "no customer cus_a in this company"), ({"cus_a"}, None)]
)
def test_a_customer_with_nothing_is_looked_up(known: set[str], problem: str | None) -> None:
    """Only a customer with no objects costs a lookup; an unknown one is reported."""
    reader = PagedReader({None: Page([], None, total=0)}, customers=known)
    observed = read_observed(reader, {"cus_a"}, parallelism=2)
    found = observed.customer_problems.get("cus_a")
    assert (found[0] if found else None) == problem
