"""The real client against an in-process sandbox, through a transport that records requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from maplectl import MapleClient, Secret
from maplectl.maple.client import wsgi_transport
from maplectl.sandbox import Sandbox


class Recorder(httpx.BaseTransport):
    """Forwards to the sandbox; counts requests, keeps each one's method and path (as sent,
    percent-encoded) and the Idempotency-Key of every create."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.keys: list[str] = []
        self.requests = 0
        self.calls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.calls.append(f"{request.method} {request.url.raw_path.decode('ascii')}")
        if request.method == "POST" and request.url.path.endswith(("/credits", "/one_times")):
            self.keys.append(request.headers["Idempotency-Key"])
        return self.inner.handle_request(request)

    @property
    def creates(self) -> int:
        """How many creates were sent (a retry counts again)."""
        return len(self.keys)


@contextmanager
def recorded_world(db: Path) -> Iterator[tuple[MapleClient, Recorder, str]]:
    """(client, recorder, company id) of a fresh sandbox at ``db``."""
    box = Sandbox.open(db)
    recorder = Recorder(wsgi_transport(box.app))
    client = MapleClient(
        api_url="http://sandbox.local/api/v1",
        company_id=box.company_id,
        token=Secret(box.token),
        transport=recorder,
        sleeper=lambda s: None,
    )
    try:
        yield client, recorder, box.company_id
    finally:
        client.close()
        box.close()
