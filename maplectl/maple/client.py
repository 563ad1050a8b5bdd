"""The Maple API over httpx: auth, timeouts, retries, rate limits, pagination and error mapping.

The only module outside ``sandbox/`` that imports httpx. Every foreign error is converted here,
once, into the tree of :mod:`maplectl.errors` (raised ``from`` the original).

Retries follow Maple's key rules (docs/maple-api.md, Idempotency): reads retry on anything
transient. A keyed create retries only where repeating the *same key* is safe: no response at all
(the request may have committed; the same key makes Maple replay or finish it), 409 in flight,
and 429. A 500 is never retried here: it spent the key, and only apply can decide (after
re-reading) whether to use the next key generation.

Limits that keep a bad or hostile server from holding a run: each request has a total deadline
(``Timeouts.read`` from sending to the last byte, and never past the run's deadline): every
socket operation waits at most what is left of it (:class:`_DeadlineBackend`), so headers or a
body trickled a byte at a time cannot stretch it; a ``Retry-After`` longer than the run has left
fails at once instead of sleeping past the deadline; a body is read as a stream and refused beyond
``MAX_BODY_BYTES``. Plain ``http://`` is refused before connecting unless the host is loopback
(:func:`maplectl.config.check_api_url`).
"""

from __future__ import annotations

import email.utils
import json
import math
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx

from maplectl import __version__
from maplectl.config import Secret, check_api_url, clean_token
from maplectl.errors import (
    ApiError,
    ApiValidationError,
    AuthError,
    IdempotencyConflict,
    NonFiniteNumber,
    NotFoundError,
    RateLimited,
    ResponseTooLarge,
    ServerError,
    TransportError,
)
from maplectl.maple.reader import PAGE_SIZE, Collection, CreateResult, Page
from maplectl.maple.records import parse_row
from maplectl.model import JSONDict, Kind

Sleeper = Callable[[float], None]
Clock = Callable[[], float]
LogFn = Callable[[str], None]

_CREATE_PATHS = {Kind.CREDIT: "credits", Kind.ONE_TIME_CHARGE: "one_times"}
MAX_BODY_BYTES = 16 * 1024 * 1024  # a page of 100 objects is a few hundred KiB


_request = threading.local()
"""``at``: the ``time.monotonic()`` by which the request this thread is making must be done."""


def _time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` for one socket operation, cut to what is left of this thread's request
    deadline; ``expired`` is raised if nothing is left."""
    deadline: float | None = getattr(_request, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most what is left of the deadline of
    the request using it (a pooled connection serves each request under that request's own)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with :class:`_DeadlineStream` connections. Without it, a
    server sending its headers a byte at a time would hold a request for as long as it liked:
    httpx's read timeout bounds each read, not the whole."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._backend.connect_tcp(host, port, left, local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _bound_by_deadlines(client: httpx.Client) -> bool:
    """Give every connection pool of ``client`` (its own and any proxy's) a
    :class:`_DeadlineBackend`; False if one of them does not look as httpx 0.27-0.29 built it
    (a test pins this, so an httpx that changes it fails there, not silently here)."""
    transports = [client._transport, *(t for t in client._mounts.values() if t is not None)]
    pools = [getattr(transport, "_pool", None) for transport in transports]
    backends = [getattr(pool, "_network_backend", None) for pool in pools]
    if not all(isinstance(backend, httpcore.NetworkBackend) for backend in backends):
        return False
    for pool, backend in zip(pools, backends, strict=True):
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(
            backend, _DeadlineBackend
        ):
            setattr(pool, "_network_backend", _DeadlineBackend(backend))  # noqa: B010
    return True


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-request timeouts in seconds: ``connect`` to open a connection, ``read`` for the whole
    response (from sending the request to its last byte, however slowly it trickles)."""

    connect: float = 10.0
    read: float = 30.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. ``budget`` caps retries across the whole run (all workers together)."""

    attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 20.0
    budget: int = 1000


class Throttle:
    """Pacing shared by every worker of a client.

    After a 429 *every* worker waits until the pause ends, not just the one that was told.
    With ``max_rps`` requests are also spaced to at most that many per second; after a 429 the
    client lowers its own rate (halving, down to 1/s) for the rest of the run.
    """

    def __init__(self, *, clock: Clock, sleeper: Sleeper, max_rps: float | None = None) -> None:
        self._clock = clock
        self._sleep = sleeper
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._next_slot = 0.0
        self.max_rps = max_rps
        self.rate_limited = 0

    def wait(self, deadline: float | None = None) -> bool:
        """Block until this worker may send; False at once (no wait) if that is past
        ``deadline``."""
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until, self._next_slot)
            if deadline is not None and start > deadline:
                return False
            if self.max_rps:
                self._next_slot = start + 1.0 / self.max_rps
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return True

    def pause(self, seconds: float) -> None:
        """Everyone waits ``seconds`` from now; the client slows down for the rest of the run."""
        with self._lock:
            self.rate_limited += 1
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            if self.max_rps:
                self.max_rps = max(1.0, self.max_rps / 2)


class MapleClient:
    """A client for one company of the Maple API. Implements StateReader and StateWriter.

    ``transport`` is injected: tests pass ``httpx.MockTransport`` or ``httpx.WSGITransport``.
    ``clock``/``sleeper``/``rng`` are injected so no test waits on real time.
    ``log`` receives one line per request (method, path, key, status, time); it never sees the
    token. ``deadline`` (on ``clock``) ends the whole run: no request, wait or retry goes past it.
    Without an injected transport, ``api_url`` must pass :func:`check_api_url`; the token is
    checked by :func:`clean_token` (stripped; hidden characters refused) before any request.
    """

    def __init__(
        self,
        *,
        api_url: str,
        company_id: str,
        token: Secret,
        transport: httpx.BaseTransport | None = None,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        max_rps: float | None = None,
        clock: Clock = time.monotonic,
        sleeper: Sleeper = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        log: LogFn | None = None,
        deadline: float | None = None,
        pool_size: int = 16,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if transport is None:
            check_api_url(api_url, "api_url")
        self.company_id = company_id
        self._prefix = f"/companies/{company_id}"
        self._retry = retry
        self._clock = clock
        self._sleep = sleeper
        self._now = now
        self._rng = rng or random.Random()
        self._log = log
        self._deadline = deadline
        self._timeouts = timeouts
        self._max_body = max_body_bytes
        self._budget_lock = threading.Lock()
        self._retries_used = 0
        self.throttle = Throttle(clock=clock, sleeper=sleeper, max_rps=max_rps)
        # identity: a compressed body could inflate far past the size limit before it is counted
        headers = {
            "User-Agent": f"maplectl/{__version__}",
            "Accept": "application/json",
            "Accept-Encoding": "identity",
        }
        if token:
            token = clean_token(token.reveal(), "MapleClient(token=...)")
            headers["Authorization"] = f"Bearer {token.reveal()}"
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect),
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
            # Plain http goes only to this machine: never through a proxy from the environment
            # (HTTP_PROXY, ALL_PROXY), which would carry the token across the network in clear.
            trust_env=not api_url.lower().startswith("http://"),
        )
        self.deadline_bound = transport is None and _bound_by_deadlines(self._http)
        """Every socket operation is bound by its request's deadline (see _DeadlineBackend)."""

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MapleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def retries_used(self) -> int:
        return self._retries_used

    # -- reads -------------------------------------------------------------------------------------

    def find_page(
        self,
        collection: Collection,
        query: Mapping[str, Any],
        *,
        from_key: str | None = None,
        limit: int = PAGE_SIZE,
        include_meta: bool = False,
    ) -> Page:
        """One page of ``/{collection}/find``."""
        body: JSONDict = {
            "pagination": {"from_key": from_key, "limit": limit},
            "query": dict(query),
            "sort_key": "createdAtAsc",
        }
        if include_meta:
            body["include_meta"] = True
        data = self._call("POST", f"/{collection.value}/find", body, key=None)
        if not isinstance(data, dict):
            raise TransportError(f"unexpected /find response: {type(data).__name__}")
        results = data.get("results") or []
        pagination = data.get("pagination") or {}
        if not isinstance(results, list) or not isinstance(pagination, dict):
            raise TransportError(
                f"unexpected /{collection.value}/find response: results is not "
                "a list or pagination not an object"
            )
        total = pagination.get("total")
        name = collection.value
        return Page(
            results=[parse_row(name, row) for row in results],
            next_key=pagination.get("from_key"),
            total=int(total) if isinstance(total, int) else None,
        )

    def get_customer(self, customer_id: str) -> JSONDict:
        """One customer by Maple id or identifier (``GET /customers/{x}``), ``x`` sent as one
        path segment: percent-encoded, so an identifier holding ``/``, ``?`` or ``..`` can
        reach no other path."""
        data = self._call("GET", f"/customers/{path_segment(customer_id)}", None, key=None)
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            raise TransportError("Maple sent a customer that is not an object with a string id")
        return dict(data)

    # -- writes ------------------------------------------------------------------------------------

    def create(self, kind: Kind, body: Mapping[str, Any], idempotency_key: str) -> CreateResult:
        """One keyed create. Retries with the same key on no-response, 409 and 429 only."""
        data, replayed = self._call_with_meta(
            "POST", f"/{_CREATE_PATHS[kind]}", dict(body), key=idempotency_key
        )
        objects = data if isinstance(data, list) else [data]
        if not all(isinstance(o, dict) and o.get("id") for o in objects):
            raise TransportError(f"create answered without an object id (key {idempotency_key})")
        return CreateResult(objects=[dict(o) for o in objects], replayed=replayed)

    def revoke_credit(self, credit_id: str) -> JSONDict:
        """``DELETE /credits/{id}``: revoke an ACTIVE credit; any other state comes back unchanged.

        No idempotency key (Maple ignores one on DELETE): a revoke sent twice changes nothing the
        second time, so it is retried like a read, on no response, 429 and 500 alike.
        """
        if not credit_id or "/" in credit_id or credit_id in (".", ".."):
            raise TransportError(f"not a credit id: {credit_id!r}")
        data = self._call("DELETE", f"/credits/{urllib.parse.quote(credit_id)}", None, key=None)
        row = parse_row("credits", data)
        if row["id"] != credit_id:
            raise TransportError(
                f"DELETE /credits/{credit_id} answered with credit {row['id']!r}, not this one"
            )
        return row

    # -- the one place requests are made -----------------------------------------------------------

    def _call(self, method: str, path: str, body: Any, *, key: str | None) -> Any:
        return self._call_with_meta(method, path, body, key=key)[0]

    def _call_with_meta(
        self, method: str, path: str, body: Any, *, key: str | None
    ) -> tuple[Any, bool]:
        attempt = 0
        while True:
            attempt += 1
            self._wait_to_send(method, path)  # not retried: waiting longer would not help
            try:
                return self._once(method, path, body, key)
            except (TransportError, RateLimited, IdempotencyConflict, ServerError) as exc:
                if isinstance(exc, ServerError) and key is not None:
                    raise  # the key is spent; apply decides what happens next
                if isinstance(exc, ResponseTooLarge | NonFiniteNumber):
                    raise  # the same request would get the same answer
                if attempt >= self._retry.attempts or not self._spend_retry():
                    raise
                delay = self._backoff(attempt)
                if isinstance(exc, RateLimited):
                    delay = exc.retry_after if exc.retry_after is not None else delay
                    self._check_retry_after(delay, exc)
                    self.throttle.pause(delay)
                    delay = 0.0  # throttle.wait() in _once does the waiting, for everyone
                self._check_deadline(delay, exc)
                if delay:
                    self._sleep(delay)

    def _wait_to_send(self, method: str, path: str) -> None:
        """Wait for the shared throttle, unless that would pass the run's deadline."""
        if not self.throttle.wait(self._deadline):
            raise TransportError(
                f"{method} {path}: the run's deadline (--timeout) comes before "
                "Maple's rate-limit pause ends; not sent",
                hint="run again later, or give a longer --timeout",
            )
        self._check_deadline(0.0, None)

    def _once(self, method: str, path: str, body: Any, key: str | None) -> tuple[Any, bool]:
        headers = {"Idempotency-Key": key} if key else {}
        url = self._prefix + path
        started = self._clock()
        deadline = started + self._timeouts.read
        if self._deadline is not None:
            deadline = min(deadline, self._deadline)
        left = max(0.001, deadline - started)
        timeout = httpx.Timeout(
            min(self._timeouts.read, left), connect=min(self._timeouts.connect, left)
        )
        _request.at = time.monotonic() + left
        try:
            with self._http.stream(
                method, url, json=body, headers=headers, timeout=timeout
            ) as response:
                raw = self._read_body(response, method, path, deadline)
        except httpx.TimeoutException as exc:
            self._trace(method, path, key, "timeout", started)
            raise TransportError(f"{method} {path}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            self._trace(method, path, key, "no response", started)
            raise TransportError(f"{method} {path}: no response ({type(exc).__name__})") from exc
        except TransportError:
            self._trace(method, path, key, "abandoned", started)
            raise
        finally:
            _request.at = None
        replayed = response.headers.get("Idempotency-Used", "").lower() == "true"
        self._trace(method, path, key, str(response.status_code), started, replayed)
        try:
            data = (
                json.loads(raw, parse_constant=_not_finite, parse_float=_finite_float)
                if raw
                else None
            )
        except _NonFinite as exc:
            raise NonFiniteNumber(
                f"{method} {path}: Maple sent {exc} where JSON has only finite numbers "
                f"(HTTP {response.status_code}); nothing from this answer is used",
                hint="raise it with Maple's support; maplectl will not plan with such a number",
            ) from exc
        except ValueError as exc:
            raise TransportError(
                f"{method} {path}: unparseable response body (HTTP {response.status_code})"
            ) from exc
        if response.status_code >= 400:
            raise self._error(method, path, response, data, replayed)
        return data, replayed

    def _read_body(
        self, response: httpx.Response, method: str, path: str, deadline: float
    ) -> bytes:
        """The body, read as a stream: refused beyond ``max_body_bytes`` (never held whole) and
        abandoned once the request's deadline has passed, however slowly it trickles."""
        limit = self._max_body
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ResponseTooLarge(
                f"{method} {path}: the response is compressed ({encoding}) although maplectl "
                "asked for none; refused, since a small compressed body can inflate without "
                "bound",
                hint="check --api-url / MAPLE_API_URL / api_url: this is not what Maple answers",
            )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(method, path, response.status_code, f"{int(declared):,}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise self._too_large(method, path, response.status_code, f"over {limit:,}")
            chunks.append(chunk)
            if self._clock() > deadline:
                raise TransportError(
                    f"{method} {path}: timed out reading the response (HTTP "
                    f"{response.status_code}, {size:,} bytes so far): it took longer than the "
                    "request's deadline (--read-timeout, or what --timeout left)"
                )
        return b"".join(chunks)

    def _too_large(self, method: str, path: str, status: int, size: str) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"{method} {path}: the response body (HTTP {status}, {size} bytes) is larger than "
            f"the {self._max_body // (1024 * 1024)} MiB maplectl accepts; refused",
            hint="check --api-url / MAPLE_API_URL / api_url: this is not what Maple answers",
        )

    def _error(
        self, method: str, path: str, response: httpx.Response, data: Any, replayed: bool
    ) -> ApiError:
        status = response.status_code
        payload = data if isinstance(data, dict) else {}
        message = str(payload.get("error_message") or response.reason_phrase or "error")
        error_type = str(payload.get("error_type") or "")
        fields = [
            (str(v.get("field", "")), str(v.get("message", "")))
            for v in payload.get("validation_errors") or []
            if isinstance(v, dict)
        ]
        kwargs: dict[str, Any] = dict(
            status=status,
            error_type=error_type,
            method=method,
            path=path,
            validation_errors=fields,
            replayed=replayed,
        )
        if status in (401, 403):
            return AuthError(
                message, hint="check MAPLE_API_TOKEN / --token-file and --company", **kwargs
            )
        if status == 404:
            return NotFoundError(message, **kwargs)
        if status == 409:
            return IdempotencyConflict(message, **kwargs)
        if status == 429:
            err = RateLimited(message, **kwargs)
            err.retry_after = parse_retry_after(response.headers.get("Retry-After"), self._now())
            return err
        if status >= 500:
            return ServerError(message, **kwargs)
        return ApiValidationError(message, **kwargs)

    # -- helpers -----------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of the capped delay."""
        cap = min(self._retry.max_delay, self._retry.base_delay * (2 ** (attempt - 1)))
        return self._rng.uniform(cap / 2, cap)

    def _spend_retry(self) -> bool:
        with self._budget_lock:
            if self._retries_used >= self._retry.budget:
                return False
            self._retries_used += 1
            return True

    def _check_retry_after(self, wait: float, exc: RateLimited) -> None:
        """Fail at once when Maple asks for a longer pause than the run has left."""
        if self._deadline is None:
            return
        left = self._deadline - self._clock()
        if wait > left:
            err = RateLimited(
                f"{exc.api_message}; Maple asked to wait {wait:g}s (Retry-After), longer than "
                f"the {max(0.0, left):.1f}s left before the run's deadline (--timeout), so "
                "maplectl stopped without waiting",
                status=exc.status,
                error_type=exc.error_type,
                method=exc.method,
                path=exc.path,
                validation_errors=exc.validation_errors,
                replayed=exc.replayed,
                hint="run again later, or give a longer --timeout",
            )
            err.retry_after = exc.retry_after
            raise err from exc

    def _check_deadline(self, upcoming: float, exc: Exception | None) -> None:
        if self._deadline is not None and self._clock() + upcoming > self._deadline:
            if exc is not None:
                raise exc
            raise TransportError("the run's deadline (--timeout) passed before the request")

    def _trace(
        self,
        method: str,
        path: str,
        key: str | None,
        outcome: str,
        started: float,
        replayed: bool = False,
    ) -> None:
        if self._log is None:
            return
        ms = (self._clock() - started) * 1000
        parts = [method, self._prefix + path]
        if key:
            parts.append(f"key={key}")
        parts.append(f"-> {outcome}")
        if replayed:
            parts.append("(replay)")
        parts.append(f"{ms:.0f}ms")
        self._log(" ".join(parts))


def path_segment(text: str) -> str:
    """``text`` as one percent-encoded path segment; ``.`` and ``..`` encoded too (a client
    would otherwise resolve them as dot segments and send the request to another path)."""
    segment = urllib.parse.quote(text, safe="")
    return segment.replace(".", "%2E") if segment in {".", ".."} else segment


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = max(0.0, (when - now).total_seconds())
    if seconds != seconds or seconds < 0 or seconds > 3600:  # NaN, negative, absurd
        return None
    return seconds


def wsgi_transport(app: Any) -> httpx.BaseTransport:
    """A transport that calls a WSGI app in-process (the embedded sandbox) instead of a socket."""
    return httpx.WSGITransport(app=app)


class _NonFinite(ValueError):
    """A JSON answer holds ``Infinity``, ``-Infinity``, ``NaN`` or a number too large for a
    float: Python's json reads them, but they are no number Maple can mean."""


def _not_finite(constant: str) -> Any:
    raise _NonFinite(constant)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text)
    return value
