"""The WSGI application: the pipeline around the handlers of the route table (``routes.py``).

The pipeline of one API request, in order (docs/maple-api.md: Authentication, Rate limits,
Idempotency, Errors; faults: docs/sandbox.md)::

    route (404) -> count -> auth (401/403) -> draw faults -> latency -> rate limit (429)
      -> key format (400) -> claim key (409 or replay) -> slow commit -> expire overdue credits
      -> handler in one transaction (+ stored answer) -> error/drop after commit

401, 403 and 429 come before the idempotency layer, so they are never stored.

A control request (``/_sandbox/...``) is admitted only if its ``Host`` names the sandbox itself
(else 421: a web page that rebinds its own name to 127.0.0.1 is refused), it carries a company's
token like the API (else 401; ``GET /_sandbox/health`` excepted), and a POST or PUT declares a
JSON body (else 415: a browser sends ``text/plain`` and forms across origins without asking).
Only then is its route looked up (404 if there is none) and its handler called.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from maplectl.sandbox import routes
from maplectl.sandbox.clock import format_ts
from maplectl.sandbox.control import ControlRequest, ControlTarget
from maplectl.sandbox.errors import (
    Forbidden,
    InternalError,
    KeyConflict,
    MisdirectedRequest,
    NotFound,
    SandboxError,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from maplectl.sandbox.faults import Counters, Effects, FaultBook
from maplectl.sandbox.handlers import Request
from maplectl.sandbox.idempotency import StoredResponse, fingerprint
from maplectl.sandbox.store import Store
from maplectl.sandbox.validation import response_errors
from maplectl.sandbox.wire import encode, parse_json

KEY_FORMAT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    421: "Misdirected Request",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def own_host(host: str, environ: dict[str, Any]) -> bool:
    """True if a ``Host`` header names the server that got the request: its bound name, or
    ``localhost`` or any IP address literal (which no DNS rebinding can produce), on its port."""
    default_port = "443" if environ.get("wsgi.url_scheme") == "https" else "80"
    found = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+)(?::(\d+))?", host.strip())
    if found is None:
        return False
    name, port = found.group(1).lower(), found.group(2) or default_port
    if port != str(environ.get("SERVER_PORT", default_port)):
        return False
    bound = str(environ.get("SERVER_NAME", "")).lower().strip("[]")
    if name.strip("[]") == bound or name == "localhost":
        return True
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


class DropConnection(httpx.RemoteProtocolError):
    """Raised instead of answering: the client must see a connection closed with no response.

    In process (``httpx.WSGITransport``) it reaches the caller as the ``RemoteProtocolError`` a
    real dropped connection produces; the HTTP server catches it and closes the socket.
    """

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


@dataclass(slots=True)
class Response:
    """An answer about to be sent."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False

    @classmethod
    def json(cls, status: int, payload: Any) -> Response:
        return cls(status, encode(payload))

    @classmethod
    def error(cls, error: SandboxError) -> Response:
        return cls(error.status, encode(error.envelope()), error.headers())

    def send(self, start_response: StartResponse) -> Iterable[bytes]:
        if self.drop:
            raise DropConnection()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(self.body))),
            *self.headers,
        ]
        start_response(f"{self.status} {_REASONS.get(self.status, 'Status')}", headers)
        return [self.body]


class SandboxApp:
    """The WSGI callable serving ``/api/v1/...`` (Maple) and ``/_sandbox/...`` (control).

    The API pipeline uses ``store``, ``faults`` and ``counters``; control handlers act on
    ``controls`` (the ``Sandbox`` that holds all of them).
    """

    def __init__(
        self,
        store: Store,
        faults: FaultBook,
        counters: Counters,
        controls: ControlTarget,
        *,
        check_responses: bool = False,
    ) -> None:
        self.store = store
        self.faults = faults
        self.counters = counters
        self.controls = controls
        # Tests turn this on: every API answer is checked against the OpenAPI document.
        self.check_responses = check_responses

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO") or "/"
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        if routes.is_control(path):
            response = self._guard(lambda: self.control(method, path, raw, headers, environ))
        else:
            response = self._guard(lambda: self.api(method, path, raw, headers))
        return response.send(start_response)

    @staticmethod
    def _guard(call: Callable[[], Response]) -> Response:
        try:
            return call()
        except SandboxError as exc:
            return Response.error(exc)
        except AssertionError:  # check_responses found a bug: let the test see it
            raise
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return Response.error(InternalError("internal error in the sandbox"))

    # -- the control API ---------------------------------------------------------------------

    def control(
        self, method: str, path: str, raw: bytes, headers: dict[str, str], environ: dict[str, Any]
    ) -> Response:
        """Answer one control request: the gate, then its route (see the module docstring)."""
        matched = routes.match_control(method, path)
        self._admit_control(
            method, path, headers, environ, open_route=matched is not None and matched.route.open
        )
        if matched is None:
            raise NotFound(f"no control route for {method} {path}")
        status, payload = matched.route.handler(self.controls, ControlRequest(matched.params, raw))
        return Response.json(status, payload)

    def _admit_control(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        environ: dict[str, Any],
        *,
        open_route: bool,
    ) -> None:
        """Host, token and content type of a control request (see the module docstring)."""
        host = headers.get("host", "")
        if not own_host(host, environ):
            raise MisdirectedRequest(
                f"Host {host!r} is not this sandbox's address; control requests must name it "
                "(its host:port, localhost:port or an IP address with its port)"
            )
        if not open_route:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized(
                    "the control API needs the sandbox's token in an "
                    "Authorization: Bearer header (as printed by `sandbox serve`)"
                )
            companies = self.store.companies()
            if not companies or not hmac.compare_digest(token.strip(), companies[0][1]):
                # Only the first company's token, the one `sandbox serve` prints (random unless
                # --token): other seeded tokens may be published, as the demo seed's are.
                raise Unauthorized(
                    "the control API takes only the token `sandbox serve` "
                    "printed (the first company's)"
                )
        if method in ("POST", "PUT", "PATCH"):
            content_type = str(environ.get("CONTENT_TYPE") or headers.get("content-type", ""))
            media = content_type.split(";")[0].strip().lower()
            allowed = routes.control_body_types(path)
            if media not in allowed:
                raise UnsupportedMediaType(
                    f"a control {method} needs Content-Type: {' or '.join(sorted(allowed))}, "
                    f"not {media or 'none'!r}"
                )

    # -- the API pipeline --------------------------------------------------------------------

    def api(self, method: str, path: str, raw: bytes, headers: dict[str, str]) -> Response:
        """Answer one API request (see the module docstring for the order of steps)."""
        matched = routes.match_api(method, path)
        if matched is None:
            raise NotFound(f"no route for {method} {path}")
        route, company_id, params = matched.route, matched.company_id, matched.params
        self.counters.bump(route.key)
        self._authorize(company_id, headers.get("authorization", ""))
        effects = self.faults.draw(route.key)
        if effects.latency_ms:
            self.store.clock.sleep(effects.latency_ms / 1000)
        if effects.rate_limit is not None:
            raise TooManyRequests(
                "rate limit exceeded; retry later", retry_after=effects.rate_limit
            )
        key = headers.get("idempotency-key") if route.keyed else None
        if key is not None and not KEY_FORMAT.match(key):
            raise ValidationFailed.on("Idempotency-Key", "1 to 64 characters from [A-Za-z0-9_.:-]")
        if key is None:
            response = self._plain(route, company_id, params, raw, effects)
        else:
            response = self._keyed(route, company_id, path, params, raw, key, effects)
        if self.check_responses and not response.drop:
            self._check(route, response)
        return response

    def _authorize(self, company_id: str, header: str) -> None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing bearer token in the Authorization header")
        owner = self.store.company_for_token(token.strip())
        if owner is None:
            raise Unauthorized("the API token is not valid")
        if owner != company_id:
            raise Forbidden(f"the API token does not give access to company {company_id}")

    def _request(
        self,
        route: routes.Route,
        company_id: str,
        params: dict[str, str],
        raw: bytes,
        effects: Effects,
    ) -> Request:
        body: Any = None
        if route.method == "POST":
            body = parse_json(raw)
        now = self.store.now()
        if route.credits:
            self.store.expire_due(now)
        lag = None
        if effects.find_lag_seconds:
            lag = format_ts(now - timedelta(seconds=effects.find_lag_seconds))
        return Request(company_id, params, body, lag)

    def _run(self, route: routes.Route, request: Request) -> tuple[int, Any]:
        opener = self.store.write if route.writes else self.store.read
        with opener() as session:
            return route.handler(self.store, session, request)

    def _plain(
        self,
        route: routes.Route,
        company_id: str,
        params: dict[str, str],
        raw: bytes,
        effects: Effects,
    ) -> Response:
        if effects.slow_commit_ms:
            self.store.clock.sleep(effects.slow_commit_ms / 1000)
        if effects.error_before_commit:
            raise InternalError("internal error (injected before commit)")
        request = self._request(route, company_id, params, raw, effects)
        status, payload = self._run(route, request)
        if effects.error_after_commit:
            raise InternalError("internal error (injected after commit)")
        return Response(status, encode(payload), drop=effects.drop_after_commit)

    def _keyed(
        self,
        route: routes.Route,
        company_id: str,
        path: str,
        params: dict[str, str],
        raw: bytes,
        key: str,
        effects: Effects,
    ) -> Response:
        scope = (company_id, route.method, path)
        echo = [("Idempotency-Key", key)]
        try:
            with self.store.write() as session:
                stored = self.store.idempotency.claim(
                    session, scope, key, fingerprint(raw), self.store.clock.now()
                )
        except KeyConflict as exc:
            return Response(exc.status, encode(exc.envelope()), echo)
        if stored is not None:
            return Response(stored.status, stored.body, [*echo, ("Idempotency-Used", "true")])
        try:
            if effects.slow_commit_ms:
                # Holding the in-flight claim: a retry with this key now gets 409.
                self.store.clock.sleep(effects.slow_commit_ms / 1000)
            answer = self._keyed_answer(route, company_id, params, raw, scope, key, effects)
        except BaseException:
            with self.store.write() as session:
                self.store.idempotency.release(session, scope, key)
            raise
        # With error_after_commit the stored answer (and so this one) is the 500.
        return Response(answer.status, answer.body, echo, drop=effects.drop_after_commit)

    def _keyed_answer(
        self,
        route: routes.Route,
        company_id: str,
        params: dict[str, str],
        raw: bytes,
        scope: tuple[str, str, str],
        key: str,
        effects: Effects,
    ) -> StoredResponse:
        """Run the handler and store its answer under the key, in one transaction."""
        if effects.error_before_commit:
            error = InternalError("internal error (injected before commit)")
            return self._store_answer(scope, key, error.status, encode(error.envelope()))
        try:
            request = self._request(route, company_id, params, raw, effects)
        except SandboxError as exc:
            return self._store_answer(scope, key, exc.status, encode(exc.envelope()))
        try:
            with self.store.write() as session:
                session.conn.execute("SAVEPOINT handler")
                try:
                    status, payload = route.handler(self.store, session, request)
                    body = encode(payload)
                    session.conn.execute("RELEASE handler")
                except SandboxError as exc:
                    # The first answer is stored whatever its status; its writes are undone.
                    session.conn.execute("ROLLBACK TO handler")
                    session.conn.execute("RELEASE handler")
                    status, body = exc.status, encode(exc.envelope())
                stored = StoredResponse(status, body)
                if effects.error_after_commit:
                    fault = InternalError("internal error (injected after commit)")
                    stored = StoredResponse(500, encode(fault.envelope()))
                self.store.idempotency.complete(session, scope, key, stored.status, stored.body)
            return stored
        except Exception:
            traceback.print_exc(file=sys.stderr)
            error = InternalError("internal error in the sandbox")
            return self._store_answer(scope, key, 500, encode(error.envelope()))

    def _store_answer(
        self, scope: tuple[str, str, str], key: str, status: int, body: bytes
    ) -> StoredResponse:
        with self.store.write() as session:
            self.store.idempotency.complete(session, scope, key, status, body)
        return StoredResponse(status, body)

    def _check(self, route: routes.Route, response: Response) -> None:
        problems = response_errors(route.operation_id, response.status, json.loads(response.body))
        if problems:
            raise AssertionError(
                f"{route.key} -> {response.status} breaks the OpenAPI document: {problems}"
            )
