"""The sandbox's control API (``/_sandbox/...``) for tests, one way.

Tests that *use* the control API (seed, advance the clock, arm faults, read counters) go through
maplectl's own :class:`~maplectl.sandbox.control_client.ControlClient`, the client behind
``maplectl sandbox reset|faults|...``: it sends the sandbox's token, a JSON body on every POST and
PUT, and the server's own address as Host, and raises ``ControlError`` on a refusal. The benchmarks
use the same class.

Tests that *examine* the control API itself (its status codes, its gate) need the raw HTTP
answers: :func:`control_http` is a plain ``httpx.Client`` for an in-process sandbox, and
:func:`control_headers` is what such a request must carry.
"""

from __future__ import annotations

from typing import Any

import httpx

from maplectl.config import Secret
from maplectl.sandbox.control_client import ControlClient


def control_client(
    url: str, token: str, *, transport: httpx.BaseTransport | None = None
) -> ControlClient:
    """The control client of the sandbox at ``url`` (with or without ``/api/v1``), whose
    ``token`` is a company's API token; ``transport`` reaches an in-process sandbox."""
    return ControlClient(url, Secret(token), transport=transport)


def control_headers(token: str) -> dict[str, str]:
    """What every raw control request carries: the sandbox's token and a JSON content type."""
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def control_http(app: Any, token: str, *, host: str = "sandbox") -> httpx.Client:
    """Raw HTTP to the control API of the in-process sandbox ``app``, for tests that examine
    its answers: base URL ``http://<host>/_sandbox``, the token and a JSON content type."""
    return httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url=f"http://{host}/_sandbox",
        headers=control_headers(token),
    )
