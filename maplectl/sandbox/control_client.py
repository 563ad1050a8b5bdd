"""A small client of the control API, for ``maplectl sandbox ...`` commands against a server."""

from __future__ import annotations

from typing import Any

import httpx

from maplectl.errors import MaplectlError


class ControlError(MaplectlError):
    """The sandbox server could not be reached, or refused a control request."""


class ControlClient:
    """Calls ``/_sandbox/...`` on a running sandbox (``url`` with or without ``/api/v1``)."""

    def __init__(self, url: str, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        base = url.rstrip("/").removesuffix("/api/v1")
        self._http = httpx.Client(base_url=base, timeout=timeout, transport=transport)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One control request; its JSON answer, or ``ControlError``."""
        try:
            response = self._http.request(method, f"/_sandbox/{path.lstrip('/')}", json=body)
        except httpx.HTTPError as exc:
            raise ControlError(f"cannot reach the sandbox at {self._http.base_url}: {exc}",
                               hint="is `maplectl sandbox serve` running there?") from exc
        try:
            payload = response.json()
        except ValueError as exc:
            raise ControlError(f"the sandbox answered {response.status_code} without JSON") from exc
        if response.status_code >= 400:
            message = payload.get("error_message", "") if isinstance(payload, dict) else ""
            raise ControlError(f"sandbox refused {method} /_sandbox/{path}: "
                               f"{response.status_code} {message}")
        return payload

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
