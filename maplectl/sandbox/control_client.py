"""A small client of the control API, for ``maplectl sandbox ...`` commands against a server."""

from __future__ import annotations

from typing import Any

import httpx

from maplectl.config import Secret
from maplectl.errors import MaplectlError


class ControlError(MaplectlError):
    """The sandbox server could not be reached, or refused a control request."""


class ControlClient:
    """Calls ``/_sandbox/...`` on a running sandbox (``url`` with or without ``/api/v1``).

    ``token`` is a company's API token of that sandbox (the control API requires it); a POST or
    PUT always sends a JSON body (``{}`` when there is nothing to say), as the sandbox requires.
    """

    def __init__(
        self,
        url: str,
        token: Secret,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = url.rstrip("/").removesuffix("/api/v1")
        headers = {"Authorization": f"Bearer {token.reveal()}"} if token else {}
        self._http = httpx.Client(
            base_url=base, timeout=timeout, transport=transport, headers=headers
        )

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One control request; its JSON answer, or ``ControlError``."""
        if body is None and method in ("POST", "PUT"):
            body = {}
        try:
            response = self._http.request(method, f"/_sandbox/{path.lstrip('/')}", json=body)
        except httpx.HTTPError as exc:
            raise ControlError(
                f"cannot reach the sandbox at {self._http.base_url}: {exc}",
                hint="is `maplectl sandbox serve` running there?",
            ) from exc
        try:
            payload = response.json()
        except ValueError as exc:
            raise ControlError(f"the sandbox answered {response.status_code} without JSON") from exc
        if response.status_code >= 400:
            message = payload.get("error_message", "") if isinstance(payload, dict) else ""
            hint = None
            if response.status_code == 401:
                hint = (
                    "set MAPLE_API_TOKEN or pass --token-file with the token `sandbox serve` "
                    "printed"
                )
            raise ControlError(
                f"sandbox refused {method} /_sandbox/{path}: {response.status_code} {message}",
                hint=hint,
            )
        return payload

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
