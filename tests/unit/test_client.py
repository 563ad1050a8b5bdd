"""The client against httpx.MockTransport: retries, rate limits, error mapping
(docs/maple-api.md, Errors, Rate limits and Idempotency)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from maplectl.config import Secret
from maplectl.errors import (
    ApiValidationError,
    AuthError,
    RateLimited,
    ResponseTooLarge,
    ServerError,
    TransportError,
    UsageError,
)
from maplectl.maple.client import MapleClient, RetryPolicy, Timeouts, parse_retry_after
from maplectl.maple.reader import Collection
from maplectl.model import Kind

TOKEN = "canary-token-5f1d"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def make(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: object,
    log: list[str] | None = None,
    **kw: object,
) -> MapleClient:
    return MapleClient(
        api_url="https://maple.test/api/v1",
        company_id="cmp_x",
        token=Secret(TOKEN),
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleeper=clock.sleep,  # type: ignore[attr-defined]
        now=lambda: NOW,
        log=log.append if log is not None else None,
        **kw,  # type: ignore[arg-type]
    )


def err(status: int, etype: str, **extra: object) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "error_message": f"boom {status}",
            "error_type": etype,
            "error_status": status,
            **extra,
        },
    )


def test_find_page_sends_contract_body_and_auth(clock: object) -> None:
    """A find posts pagination, query and sort key with the bearer token; null results are []."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"results": None, "pagination": {"from_key": None, "limit": 100, "total": 0}}
        )

    page = make(handler, clock).find_page(
        Collection.CREDITS, {"customer_id": "cus_a"}, include_meta=True
    )
    assert page.results == [] and page.next_key is None and page.total == 0
    req = seen[0]
    assert req.url.path == "/api/v1/companies/cmp_x/credits/find"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Idempotency-Key" not in req.headers
    assert json.loads(req.content) == {
        "pagination": {"from_key": None, "limit": 100},
        "query": {"customer_id": "cus_a"},
        "sort_key": "createdAtAsc",
        "include_meta": True,
    }


def test_create_retries_with_the_same_key_after_no_response(clock: object) -> None:
    """A dropped connection is retried with the identical key; the replay is reported."""
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            raise httpx.RemoteProtocolError("server closed the connection")
        return httpx.Response(201, json={"id": "crd_1"}, headers={"Idempotency-Used": "true"})

    result = make(handler, clock).create(Kind.CREDIT, {"name": "x"}, "mctl1.c.0.abc")
    assert keys == ["mctl1.c.0.abc", "mctl1.c.0.abc"]
    assert result.replayed and result.objects == [{"id": "crd_1"}]


def test_500_on_a_keyed_create_is_not_retried(clock: object) -> None:
    """After a 500 the key is spent: the client raises at once and leaves it to apply."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return err(500, "request_error")

    with pytest.raises(ServerError):
        make(handler, clock).create(Kind.CREDIT, {}, "k1")
    assert len(calls) == 1


def test_reads_retry_500_with_backoff(clock: object) -> None:
    """A read is safe to repeat: a 500 is retried after a backoff sleep."""
    answers = [err(500, "request_error"), httpx.Response(200, json={"id": "cus_a"})]
    got = make(lambda r: answers.pop(0), clock).get_customer("cus_a")
    assert got == {"id": "cus_a"}
    assert len(clock.sleeps) == 1 and clock.sleeps[0] > 0  # type: ignore[attr-defined]


def test_429_honours_retry_after_and_pauses_every_worker(clock: object) -> None:
    """Retry-After: 7 makes the client wait 7 s, and the shared throttle holds the others too."""
    answers = [err(429, "request_error"), httpx.Response(200, json={"id": "c"})]
    answers[0].headers["Retry-After"] = "7"
    client = make(lambda r: answers.pop(0), clock)
    client.get_customer("c")
    assert clock.sleeps == [7.0]  # type: ignore[attr-defined]
    assert client.throttle.rate_limited == 1


def test_429_storm_gives_up_after_the_attempts(clock: object) -> None:
    """An endless 429 storm ends in RateLimited, not an endless loop."""
    client = make(lambda r: err(429, "request_error"), clock, retry=RetryPolicy(attempts=3))
    with pytest.raises(RateLimited):
        client.get_customer("c")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("Sun, 22 Nov 2026 12:00:30 GMT", 30.0),
        ("soon", None),
        ("-1", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Retry-After is seconds or an HTTP date; anything else falls back to backoff."""
    assert parse_retry_after(value, NOW) == expected


def test_400_maps_validation_errors(clock: object) -> None:
    """Maple's field errors come back as (field, message) pairs, without a retry."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return err(
            400,
            "validation_error",
            validation_errors=[{"field": "customer_id", "message": "no such customer"}],
        )

    with pytest.raises(ApiValidationError) as info:
        make(handler, clock).create(Kind.CREDIT, {}, "k")
    assert info.value.validation_errors == (("customer_id", "no such customer"),)
    assert len(calls) == 1


def test_401_is_an_auth_error_with_a_hint_and_no_token(clock: object) -> None:
    """A bad token says what to check and never repeats the token."""
    with pytest.raises(AuthError) as info:
        make(lambda r: err(401, "auth_error"), clock).get_customer("c")
    assert "MAPLE_API_TOKEN" in str(info.value) and TOKEN not in str(info.value)


def test_unparseable_body_is_a_transport_error(clock: object) -> None:
    """A truncated body is treated like no response (retry with the same key)."""
    client = make(
        lambda r: httpx.Response(201, content=b'{"id": "crd'), clock, retry=RetryPolicy(attempts=2)
    )
    with pytest.raises(TransportError):
        client.create(Kind.CREDIT, {}, "k")


def test_debug_log_never_contains_the_token(clock: object) -> None:
    """Request logs name method, path, key and status, and never the token."""
    log: list[str] = []
    make(lambda r: httpx.Response(201, json={"id": "crd_1"}), clock, log=log).create(
        Kind.CREDIT, {"name": "n"}, "key-1"
    )
    assert log and "key=key-1" in log[0] and "201" in log[0]
    assert all(TOKEN not in line for line in log)


def test_deadline_stops_retries(clock: object) -> None:
    """Past the run's deadline the client stops retrying and reports the last failure."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client = make(handler, clock, deadline=1000.5)  # the fake clock starts at 1000
    with pytest.raises(TransportError):
        client.get_customer("c")
    assert clock.now <= 1001  # type: ignore[attr-defined]


def test_max_rps_spaces_requests(clock: object) -> None:
    """With --max-rps 2 the client sends at most two requests a second."""
    client = make(lambda r: httpx.Response(200, json={"id": "c"}), clock, max_rps=2.0)
    for _ in range(3):
        client.get_customer("c")
    assert sum(clock.sleeps) == pytest.approx(1.0)  # type: ignore[attr-defined]


def test_a_429_pauses_every_worker_not_just_the_one_told(clock: object) -> None:
    """After one worker hears Retry-After: 5, another worker's next request waits too."""
    from maplectl.maple.client import Throttle

    throttle = Throttle(clock=clock, sleeper=clock.sleep)  # type: ignore[attr-defined]
    throttle.pause(5.0)  # worker A was told to wait
    throttle.wait()  # worker B, about to send
    assert clock.sleeps == [5.0]  # type: ignore[attr-defined]
    throttle.wait()  # the pause is over: no more waiting
    assert clock.sleeps == [5.0]  # type: ignore[attr-defined]


def test_a_429_halves_the_client_rate_limit(clock: object) -> None:
    """With --max-rps, a 429 makes the client slower for the rest of the run."""
    from maplectl.maple.client import Throttle

    throttle = Throttle(clock=clock, sleeper=clock.sleep, max_rps=8.0)  # type: ignore[attr-defined]
    throttle.pause(0.0)
    assert throttle.max_rps == 4.0


def test_retry_budget_bounds_the_whole_run(clock: object) -> None:
    """Once the run's retry budget is spent, failures are reported instead of retried."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused")

    client = make(handler, clock, retry=RetryPolicy(attempts=5, budget=3))
    with pytest.raises(TransportError):
        client.get_customer("a")  # 1 try + 3 retries: the budget is gone
    with pytest.raises(TransportError):
        client.get_customer("b")  # 1 try, no retry left
    assert len(calls) == 5 and client.retries_used == 3


def test_retry_after_longer_than_the_time_left_fails_at_once(clock: object) -> None:
    """Retry-After: 40 with 5 s left before the run's deadline: no sleep, a clear error."""
    calls: list[int] = []

    def limited(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        response = err(429, "request_error")
        response.headers["Retry-After"] = "40"
        return response

    client = make(limited, clock, deadline=1005.0)  # the fake clock starts at 1000
    with pytest.raises(RateLimited) as info:
        client.get_customer("c")
    assert clock.sleeps == [] and len(calls) == 1  # type: ignore[attr-defined]
    message = str(info.value)
    assert "Maple asked to wait 40s (Retry-After)" in message
    assert "5.0s left before the run's deadline (--timeout)" in message


def test_a_shared_rate_limit_pause_past_the_deadline_is_not_waited_out(clock: object) -> None:
    """When another worker's 429 pause outlasts the run, a request fails at once, unsent."""
    sent: list[int] = []
    client = make(
        lambda r: sent.append(1) or httpx.Response(200, json={"id": "c"}), clock, deadline=1010.0
    )
    client.throttle.pause(60.0)
    with pytest.raises(TransportError) as info:
        client.get_customer("c")
    assert "rate-limit pause" in str(info.value) and "not sent" in str(info.value)
    assert clock.sleeps == [] and sent == []  # type: ignore[attr-defined]


def test_a_response_is_bounded_by_a_total_deadline_not_a_per_read_one(clock: object) -> None:
    """A body trickling in (each read quick, the whole slow) is abandoned at the request's
    deadline (--read-timeout), and at the run's deadline when that comes first."""

    def trickle(request: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            for _ in range(1000):
                clock.now += 2.0  # type: ignore[attr-defined]
                yield b" "

        return httpx.Response(200, content=body())

    client = make(
        trickle, clock, retry=RetryPolicy(attempts=1), timeouts=Timeouts(connect=1.0, read=30.0)
    )
    with pytest.raises(TransportError) as info:
        client.get_customer("c")
    assert "timed out reading the response" in str(info.value)
    assert 1030 <= clock.now <= 1032  # type: ignore[attr-defined]
    run = make(trickle, clock, retry=RetryPolicy(attempts=5), deadline=clock.now + 10)  # type: ignore[attr-defined]
    started = clock.now  # type: ignore[attr-defined]
    with pytest.raises(TransportError):
        run.get_customer("c")
    assert clock.now - started <= 12  # type: ignore[attr-defined]


def test_an_oversized_body_is_refused_while_streaming_in_bounded_memory(clock: object) -> None:
    """A 300 MB answer is refused after 16 MiB were read, holding at most that much, and is
    not asked for again."""
    chunk = b"x" * 65536
    pulled: list[int] = []

    def huge(request: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            for _ in range(300 * 1024 * 1024 // len(chunk)):
                pulled.append(1)
                yield bytes(chunk)  # a fresh copy each time, as off a socket

        return httpx.Response(200, content=body())

    client = make(huge, clock)
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as info:
            client.find_page(Collection.CREDITS, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "larger than the 16 MiB maplectl accepts" in str(info.value)
    assert len(pulled) == 16 * 1024 * 1024 // len(chunk) + 1  # one request, stopped at once
    assert peak < 40 * 1024 * 1024


def test_a_declared_oversized_body_is_refused_before_reading_it(clock: object) -> None:
    """A Content-Length over the limit is refused without reading the body at all."""

    def declared(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(2**40)}, content=iter([]))

    with pytest.raises(ResponseTooLarge) as info:
        make(declared, clock).get_customer("c")
    assert "1,099,511,627,776 bytes" in str(info.value)


def test_a_find_answer_of_the_wrong_shape_is_a_transport_error(clock: object) -> None:
    """results that is not a list is reported as a bad answer, not an internal TypeError."""
    client = make(
        lambda r: httpx.Response(200, json={"results": 5, "pagination": {}}),
        clock,
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(TransportError, match="results is not a list"):
        client.find_page(Collection.CREDITS, {})


def test_plain_http_to_a_remote_host_is_refused_before_any_connection() -> None:
    """Without an injected transport, http:// to a non-loopback address fails in the
    constructor: no socket is ever opened."""
    with pytest.raises(UsageError, match="refusing to send the API token in clear"):
        MapleClient(api_url="http://10.255.255.1/api/v1", company_id="cmp_x", token=Secret(TOKEN))
    MapleClient(
        api_url="http://127.0.0.1:1/api/v1", company_id="cmp_x", token=Secret(TOKEN)
    ).close()


def test_the_python_api_strips_the_token_and_refuses_hidden_characters(clock: object) -> None:
    """MapleClient itself sends `Bearer <token>` without the trailing newline, and refuses a
    token with a control character before any request (no 'Illegal header value', no retries)."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"id": "c"})

    client = MapleClient(
        api_url="https://maple.test/api/v1",
        company_id="cmp_x",
        token=Secret(TOKEN + "\n"),
        transport=httpx.MockTransport(handler),
    )
    client.get_customer("c")
    assert seen == [f"Bearer {TOKEN}"]
    with pytest.raises(UsageError) as info:
        MapleClient(
            api_url="https://maple.test/api/v1",
            company_id="cmp_x",
            token=Secret(TOKEN[:4] + "\x1b" + TOKEN[4:]),
            transport=httpx.MockTransport(handler),
        )
    assert "U+001B" in str(info.value) and TOKEN[4:] not in str(info.value)
    assert len(seen) == 1
