"""The sandbox's typed API errors: raised anywhere in the store or handlers, rendered once by
the app as the error envelope (docs/maple-api.md, Errors).

Each class fixes the HTTP status and ``error_type``::

    SandboxError                   base: status, error_type, message, validation_errors
    ├── ValidationFailed     400   validation_error: schema or rule; lists each field
    ├── BadRequest           400   request_error: malformed JSON, bad cursor
    ├── Unauthorized         401   auth_error: missing or unknown token
    ├── Forbidden            403   auth_error: a token of another company
    ├── NotFound             404   request_error: unknown path id or route
    ├── KeyConflict          409   idempotency_error (docs/maple-api.md, Idempotency)
    │   ├── KeyReuse               the key was used with another body
    │   └── KeyInFlight            the key's first request is still being handled
    ├── UnsupportedMediaType 415   request_error: a control request body that is not JSON
    ├── MisdirectedRequest   421   request_error: a control request naming another host
    ├── TooManyRequests      429   request_error, with Retry-After
    └── InternalError        500   request_error

These are the server's side of the wire. The client's side, what maplectl makes of these
answers, is ``maplectl.errors``; no name here repeats one of its names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class SandboxError(Exception):
    """An answer with a non-2xx status and the contract's error envelope."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "request_error"

    def __init__(
        self,
        message: str,
        *,
        fields: Sequence[tuple[str, str]] = (),
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = tuple(fields)
        self.code = code

    def headers(self) -> list[tuple[str, str]]:
        """Extra response headers this error carries."""
        return []

    def envelope(self) -> dict[str, Any]:
        """The JSON error envelope (docs/maple-api.md, Errors)."""
        body: dict[str, Any] = {
            "error_message": self.message,
            "error_type": self.error_type,
            "error_status": self.status,
        }
        if self.code:
            body["error_code"] = self.code
        if self.fields:
            body["validation_errors"] = [{"field": f, "message": m} for f, m in self.fields]
        return body


class ValidationFailed(SandboxError):
    """The body breaks its schema or a rule; ``fields`` names each problem."""

    status = 400
    error_type = "validation_error"

    @classmethod
    def on(cls, field: str, message: str) -> ValidationFailed:
        """One problem with one field."""
        return cls(f"{field}: {message}", fields=[(field, message)])


class BadRequest(SandboxError):
    """Malformed JSON or an unusable pagination cursor."""

    status = 400


class Unauthorized(SandboxError):
    """No token, or a token no company has."""

    status = 401
    error_type = "auth_error"


class Forbidden(SandboxError):
    """A valid token, but for another company."""

    status = 403
    error_type = "auth_error"


class NotFound(SandboxError):
    """A path id, or a route, that does not exist."""

    status = 404


class KeyConflict(SandboxError):
    """An Idempotency-Key that cannot be honoured now; never stored as the key's answer."""

    status = 409
    error_type = "idempotency_error"


class KeyReuse(KeyConflict):
    """The key was already used with a different request body."""


class KeyInFlight(KeyConflict):
    """The key's first request is still being handled; a retry later gets its answer."""


class UnsupportedMediaType(SandboxError):
    """A control request whose body is not declared JSON (a browser form or ``text/plain``)."""

    status = 415


class MisdirectedRequest(SandboxError):
    """A control request whose ``Host`` is not the sandbox's own address (DNS rebinding)."""

    status = 421


class TooManyRequests(SandboxError):
    """Too many requests; try again after ``retry_after`` seconds."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> list[tuple[str, str]]:
        return [("Retry-After", str(self.retry_after))]


class InternalError(SandboxError):
    """Something failed inside the sandbox (or a fault said so)."""

    status = 500
