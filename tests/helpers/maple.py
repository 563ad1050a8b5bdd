"""The real client against the real sandbox, in-process through httpx.WSGITransport."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from helpers.control import control_client
from maplectl.apply import Applier
from maplectl.config import Secret
from maplectl.maple.client import MapleClient, wsgi_transport
from maplectl.maple.reader import read_observed
from maplectl.plan.builder import build_plan
from maplectl.plan.records import Desired, Plan
from maplectl.results import ApplyResult
from maplectl.sandbox import Sandbox
from maplectl.sandbox.control_client import ControlClient

SANDBOX_URL = "http://sandbox.local"


@dataclass
class Maple:
    """An in-process sandbox, a client for it, raw HTTP to its API, and its control API."""

    box: Sandbox
    client: MapleClient
    http: httpx.Client
    controller: ControlClient

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """One control request (``/_sandbox/<path>``); its JSON answer."""
        return self.controller.call(method, path, body)

    def counters(self) -> dict[str, int]:
        return dict(self.control("GET", "counters")["routes"])

    def add_customers(self, ids: list[str]) -> None:
        customers = [{"id": c, "identifier": c, "name": c, "email": f"{c}@x.example"} for c in ids]
        self.control(
            "POST",
            "seed",
            {
                "companies": [
                    {
                        "id": "cmp_demo",
                        "name": "Demo SaaS Inc.",
                        "token": self.box.token,
                        "customers": customers,
                    }
                ]
            },
        )

    def plan(self, desired: list[Desired], *, parallelism: int = 4) -> Plan:
        observed = read_observed(
            self.client, {d.customer_id for d in desired}, parallelism=parallelism
        )
        return build_plan(
            desired,
            observed,
            company_id=self.box.company_id,
            api_url="sandbox",
            now=datetime.now(UTC),
        )

    def apply(self, plan: Plan) -> ApplyResult:
        return Applier(self.client, consistency_wait=0.0, parallelism=4).run(plan)


@contextmanager
def open_maple(db: Path) -> Iterator[Maple]:
    """A fresh sandbox in ``db`` with the real client and the control client wired to it."""
    box = Sandbox.open(db)
    client = MapleClient(
        api_url=f"{SANDBOX_URL}/api/v1",
        company_id=box.company_id,
        token=Secret(box.token),
        transport=wsgi_transport(box.app),
        sleeper=lambda s: None,
    )
    http = httpx.Client(
        transport=httpx.WSGITransport(app=box.app),
        base_url=SANDBOX_URL,
        headers={"Authorization": f"Bearer {box.token}"},
    )
    controller = control_client(SANDBOX_URL, box.token, transport=httpx.WSGITransport(app=box.app))
    try:
        yield Maple(box, client, http, controller)
    finally:
        controller.close()
        client.close()
        http.close()
        box.close()
