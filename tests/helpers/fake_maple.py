"""A scripted in-memory Maple for the apply engine: keyed creates, faults, search lag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maplectl.errors import ApiValidationError, ServerError
from maplectl.maple.reader import Collection, CreateResult, Page
from maplectl.model import Kind


class FakeMaple:
    """Keyed creates with stored first responses, scripted faults and search lag."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.rows: dict[Collection, list[dict[str, Any]]] = {
            Collection.CREDITS: [],
            Collection.ONE_TIMES: [],
        }
        self.stored: dict[str, Any] = {}
        self.faults: list[str] = []  # consumed one per create: "500_before", "500_after", "400"
        self.lag = 0.0
        self.creates = 0

    def find_page(
        self,
        collection: Collection,
        query: Mapping[str, Any],
        *,
        from_key: str | None = None,
        limit: int = 100,
        include_meta: bool = False,
    ) -> Page:
        rows = [
            r
            for r in self.rows[collection]
            if r["_visible_at"] <= self.clock.now and all(r.get(k) == v for k, v in query.items())
        ]
        clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
        return Page(results=clean, next_key=None, total=len(clean) if include_meta else None)

    def create(self, kind: Kind, body: Mapping[str, Any], idempotency_key: str) -> CreateResult:
        self.creates += 1
        if idempotency_key in self.stored:
            stored = self.stored[idempotency_key]
            if isinstance(stored, Exception):
                stored.replayed = True
                raise stored
            return CreateResult(objects=stored, replayed=True)
        fault = self.faults.pop(0) if self.faults else None
        if fault == "500_before":
            self.stored[idempotency_key] = ServerError("boom", status=500)
            raise self.stored[idempotency_key]
        if fault == "400":
            raise ApiValidationError(
                "bad", status=400, validation_errors=[("customer_id", "no such customer")]
            )
        objects = self._insert(kind, body)
        if fault == "500_after":
            self.stored[idempotency_key] = ServerError("boom", status=500)
            raise self.stored[idempotency_key]
        self.stored[idempotency_key] = objects
        return CreateResult(objects=objects, replayed=False)

    def _insert(self, kind: Kind, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        n = sum(len(v) for v in self.rows.values())
        visible = self.clock.now + self.lag
        if kind is Kind.CREDIT:
            row = {
                "id": f"crd_{n}",
                "customer_id": body["customer_id"],
                "name": body["name"],
                "type": body["type"],
                "state": "ACTIVE",
                "issued_amount": body.get("amount"),
                "amount": body.get("amount"),
                "item_id": body.get("item_id"),
                "subscription_id": None,
                "expiration_date": body.get("expiration_date"),
                "created_at": "2026-11-22T00:00:00Z",
                "_visible_at": visible,
            }
            self.rows[Collection.CREDITS].append(row)
            return [{k: v for k, v in row.items() if not k.startswith("_")}]
        out = []
        for i, item in enumerate(body["onetime_items"]):
            row = {
                "id": f"otb_{n}_{i}",
                "customer_id": body["customer_id"],
                "type": body["type"],
                "state": "PENDING",
                "custom_price": None,
                "product_pricing_id": None,
                **item,
                "created_at": "2026-11-22T00:00:00Z",
                "_visible_at": visible,
            }
            self.rows[Collection.ONE_TIMES].append(row)
            out.append({k: v for k, v in row.items() if not k.startswith("_")})
        return out
