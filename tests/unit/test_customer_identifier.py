"""Issue 13's pure parts: a resolved entry is the customer_id entry, scope narrows by id or
identifier, the builder refuses what was not resolved, and the lookup's path is one segment."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from helpers.planning import NOW, credit

from maplectl.config import Secret
from maplectl.errors import UsageError
from maplectl.maple.client import MapleClient, path_segment
from maplectl.maple.reader import Observed
from maplectl.plan.builder import build_plan
from maplectl.plan.keys import idempotency_key
from maplectl.plan.records import Desired
from maplectl.workflow import narrow


def by_identifier(d: Desired, identifier: str) -> Desired:
    """``d`` as if its manifest said ``customer: {identifier: ...}`` where customer_id stands."""
    body = {("customer" if k == "customer_id" else k): v for k, v in d.body.items()}
    body["customer"] = {"identifier": identifier}
    return replace(d, customer_id="", body=body, customer_identifier=identifier)


def test_a_resolved_entry_is_byte_for_byte_the_customer_id_entry() -> None:
    """Same body (keys in the same order), same key; the identifier is kept for display."""
    written = credit("pilot", "cus_umbrella")
    unresolved = by_identifier(written, "umbrella-health")
    assert not unresolved.is_resolved and written.is_resolved
    resolved = unresolved.resolved("cus_umbrella")
    assert resolved.is_resolved and resolved.customer_identifier == "umbrella-health"
    assert list(resolved.body.items()) == list(written.body.items())
    assert idempotency_key(
        company_id="cmp_demo", kind=resolved.kind, address=resolved.address, body=resolved.body
    ) == idempotency_key(
        company_id="cmp_demo", kind=written.kind, address=written.address, body=written.body
    )


def test_narrowing_takes_ids_and_identifiers_and_drops_unknown_strangers() -> None:
    """--customer by id or identifier selects the whole customer; an unresolved entry stays
    only when it is named itself (by identifier or as a target)."""
    a_id = credit("a-id", "cus_a")
    a_ident = by_identifier(credit("a-ident", "cus_a"), "a-crm").resolved("cus_a")
    b = credit("b", "cus_b")
    lost = by_identifier(credit("lost", "cus_x"), "nobody")
    entries = [a_id, a_ident, b, lost]

    def names(found: list[Desired]) -> list[str]:
        return [d.name for d in found]

    assert names(narrow(entries)) == ["a-id", "a-ident", "b", "lost"]
    assert names(narrow(entries, customers=["cus_a"])) == ["a-id", "a-ident"]
    assert names(narrow(entries, customers=["a-crm"])) == ["a-id", "a-ident"]
    assert names(narrow(entries, customers=["nobody"])) == ["lost"]
    assert names(narrow(entries, targets=["Credit/a-ident"])) == ["a-id", "a-ident"]
    assert names(narrow(entries, targets=["Credit/lost"])) == ["lost"]
    assert names(narrow(entries, targets=["Credit/b"], customers=["cus_a"])) == []


def test_the_builder_refuses_an_entry_whose_customer_was_not_resolved() -> None:
    """build_plan is pure and cannot ask Maple: an identifier it was given is a usage error."""
    observed = Observed(customers=frozenset(), credits=(), charges=())
    with pytest.raises(UsageError, match="Credit/pilot: the customer is named by identifier"):
        build_plan(
            [by_identifier(credit("pilot"), "acme")],
            observed,
            company_id="cmp_demo",
            api_url="x",
            now=NOW,
        )


@pytest.mark.parametrize(
    ("identifier", "sent"),
    [
        ("acme-corp", "acme-corp"),
        ("a/b?c#d", "a%2Fb%3Fc%23d"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("ünï code", "%C3%BCn%C3%AF%20code"),
    ],
)
def test_an_identifier_is_sent_as_one_path_segment(identifier: str, sent: str) -> None:
    """No identifier can reach another path (`..` would climb to the company otherwise)."""
    assert path_segment(identifier) == sent
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return httpx.Response(200, json={"id": "cus_x", "identifier": identifier})

    with MapleClient(
        api_url="https://maple.test/api/v1",
        company_id="cmp_x",
        token=Secret("tok_test"),
        transport=httpx.MockTransport(handler),
    ) as client:
        assert client.get_customer(identifier)["id"] == "cus_x"
    assert seen == [f"/api/v1/companies/cmp_x/customers/{sent}".encode()]
