"""The real client against the real sandbox, in-process through httpx.WSGITransport."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from maplectl.apply import Applier, ApplyResult
from maplectl.config import Secret
from maplectl.maple.client import MapleClient, wsgi_transport
from maplectl.maple.reader import read_observed
from maplectl.plan.builder import build_plan
from maplectl.plan.records import Desired, Plan
from maplectl.sandbox import Sandbox


@dataclass
class Maple:
    """An in-process sandbox, a client for it, and its control API."""

    box: Sandbox
    client: MapleClient
    http: httpx.Client

    def control(self, method: str, path: str, body: Any = None, *,
                content: str | None = None) -> Any:
        response = self.http.request(method, f"/_sandbox/{path}", json=body, content=content,
                                     headers={"Content-Type": "application/yaml"}
                                     if content is not None else None)
        assert response.status_code < 300, response.text
        return response.json()

    def counters(self) -> dict[str, int]:
        return dict(self.control("GET", "counters")["routes"])

    def add_customers(self, ids: list[str]) -> None:
        rows = "".join(f"      - {{id: {c}, identifier: {c}, name: {c}, email: {c}@x.example}}\n"
                       for c in ids)
        self.control("POST", "seed", content=(
            "companies:\n  - id: cmp_demo\n    name: Demo SaaS Inc.\n"
            f"    token: {self.box.token}\n    customers:\n{rows}"))

    def plan(self, desired: list[Desired], *, parallelism: int = 4) -> Plan:
        observed = read_observed(self.client, {d.customer_id for d in desired},
                                 parallelism=parallelism)
        return build_plan(desired, observed, company_id=self.box.company_id,
                          api_url="sandbox", now=datetime.now(UTC))

    def apply(self, plan: Plan) -> ApplyResult:
        return Applier(self.client, consistency_wait=0.0, parallelism=4).run(plan)


@pytest.fixture
def maple(tmp_path: Path) -> Iterator[Maple]:
    box = Sandbox.open(tmp_path / "sandbox.sqlite")
    client = MapleClient(api_url="http://sandbox.local/api/v1", company_id=box.company_id,
                         token=Secret(box.token), transport=wsgi_transport(box.app),
                         sleeper=lambda s: None)
    http = httpx.Client(transport=httpx.WSGITransport(app=box.app), base_url="http://sandbox.local",
                        headers={"Authorization": f"Bearer {box.token}"})
    try:
        yield Maple(box, client, http)
    finally:
        client.close()
        http.close()
        box.close()
