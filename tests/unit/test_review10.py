"""Review of issue 10 (client and transport): findings as strict xfail tests.

Each test states the behaviour the issue promised; it fails today. Nothing here sends a packet
to an address outside 127.0.0.0/8: refusals are proved with transports that record any call.
"""

from __future__ import annotations

import gzip
import http.server
import json
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from click.testing import CliRunner

from maplectl.cli import cli
from maplectl.config import Secret, check_api_url
from maplectl.errors import ResponseTooLarge, TransportError, UsageError
from maplectl.maple.client import MapleClient, RetryPolicy, Timeouts, parse_retry_after
from maplectl.maple.reader import Collection

TOKEN = "review10-canary-token-a7e2"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _gzip_of_zeros(size: int) -> bytes:
    """gzip of ``size`` spaces, built a MiB at a time (never holding ``size`` bytes)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1024 * 1024)
    out = [packer.compress(block) for _ in range(size // len(block))]
    out.append(packer.flush())
    return b"".join(out)


def test_a_compressed_bomb_is_refused_in_bounded_memory(clock: Any) -> None:
    """A response of a few hundred bytes that inflates (gzip inside gzip) to 100 MiB is refused
    without the client ever holding much more than the 16 MiB limit (maplectl asks for no
    compression and refuses a compressed answer unread)."""
    bomb = gzip.compress(_gzip_of_zeros(100 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 4096

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([bomb]), headers={"Content-Encoding": "gzip, gzip"})

    client = MapleClient(
        api_url="https://maple.test/api/v1",
        company_id="cmp_x",
        token=Secret(TOKEN),
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleeper=clock.sleep,
        now=lambda: NOW,
        retry=RetryPolicy(attempts=1),
    )
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            client.find_page(Collection.CREDITS, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


def test_a_retry_after_date_far_ahead_is_not_obeyed() -> None:
    """Retry-After as a date decades ahead is as absurd as 'Retry-After: 999999999' (which is
    ignored): it is not turned into a pause of decades."""
    far = parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", NOW)
    assert far is None or far <= 3600


def test_headers_trickled_a_byte_at_a_time_cannot_pass_the_deadline() -> None:
    """A server on 127.0.0.1 that sends its headers one byte every 0.1 s (each read quick, the
    whole slow) is abandoned at the request's 0.3 s deadline, not when it finishes 2 s later."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(20):
                if stop.wait(0.1):  # real time: a trickle is what the test is about
                    return
                try:
                    conn.sendall(b"a")
                except OSError:
                    return
            conn.sendall(b"\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = MapleClient(
        api_url=f"http://127.0.0.1:{port}/api/v1",
        company_id="cmp_x",
        token=Secret(TOKEN),
        timeouts=Timeouts(connect=1.0, read=0.3),
        retry=RetryPolicy(attempts=1),
    )
    started = time.monotonic()
    try:
        with pytest.raises(TransportError):
            client.get_customer("cus_a")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        client.close()
        listener.close()
        thread.join(5)
    assert elapsed < 1.0, f"held for {elapsed:.1f}s past a 0.3s deadline"


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with an empty customer, and remembers what it was sent."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps({"id": "cus_a", "status": "ACTIVE"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def two_servers() -> Iterator[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]]:
    """An API server and a 'proxy' (standing in for proxy.corp.example), both on 127.0.0.1."""
    api_seen: list[tuple[str, str]] = []
    proxy_seen: list[tuple[str, str]] = []
    servers = []
    for seen in (api_seen, proxy_seen):
        handler = type("H", (_Recorder,), {"seen": seen})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(server)
    api_port, proxy_port = (s.server_address[1] for s in servers)
    try:
        yield f"{api_port} {proxy_port}", api_seen, proxy_seen
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_plain_http_to_loopback_never_goes_through_an_environment_proxy(
    two_servers: tuple[str, list[tuple[str, str]], list[tuple[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """http:// is allowed to loopback because the bytes never leave the machine; an HTTP_PROXY
    in the environment (common on CI runners) must not carry the Bearer token elsewhere."""
    ports, api_seen, proxy_seen = two_servers
    api_port, proxy_port = ports.split()
    # The proxy listens on 127.0.0.1 here only so that the test sends nothing off the machine;
    # in CI it is a host on the network.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
    monkeypatch.setenv("NO_PROXY", "")
    client = MapleClient(
        api_url=f"http://localhost:{api_port}/api/v1",
        company_id="cmp_x",
        token=Secret(TOKEN),
        retry=RetryPolicy(attempts=1),
    )
    try:
        client.get_customer("cus_a")
    finally:
        client.close()
    assert proxy_seen == [], f"the proxy was sent {proxy_seen}"
    assert api_seen and api_seen[0][1] == f"Bearer {TOKEN}"


def test_a_dns_name_under_localhost_is_not_trusted_as_loopback() -> None:
    """`http://maple.localhost` is resolved by getaddrinfo, which without nss-myhostname (most
    containers) asks DNS and its search domains; only names that cannot leave the machine
    (IP literals, `localhost` from /etc/hosts) may take the token in clear."""
    with pytest.raises(UsageError, match="refusing to send the API token in clear"):
        check_api_url("http://maple.localhost/api/v1")


def test_sandbox_control_commands_refuse_plain_http_to_a_remote_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`maplectl sandbox reset --url http://<remote>` with the (real) MAPLE_API_TOKEN of the
    shell is refused before connecting, as plan and apply refuse it."""
    sent: list[str] = []

    def no_network(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.url} {request.headers.get('Authorization', '')}")
        raise httpx.ConnectError("the test allows no connection", request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", no_network)
    runner = CliRunner(env={"MAPLE_API_TOKEN": TOKEN})
    result = runner.invoke(cli, ["sandbox", "reset", "--url", "http://192.0.2.1:8080/api/v1"])
    assert sent == [], f"sent: {sent}"
    assert result.exit_code == 1
    assert "refusing to send the API token in clear" in result.output


@pytest.mark.parametrize(
    ("api_url", "proxy"),
    [("http://127.0.0.1:9/api/v1", None), ("https://maple.example/api/v1", "http://127.0.0.1:9")],
    ids=["loopback", "https through a proxy from the environment"],
)
def test_every_connection_pool_is_bound_by_the_request_deadline(
    api_url: str, proxy: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client's own pool and a proxy's (HTTPS_PROXY) both bound each socket operation by
    the request's deadline. httpx keeps its pools private: an httpx that builds them otherwise
    fails here, not silently in a run (nothing is sent: the client is only built)."""
    if proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
    client = MapleClient(api_url=api_url, company_id="cmp_x", token=Secret(TOKEN))
    try:
        assert client.deadline_bound
        if proxy:
            assert client._http._mounts  # the proxy's pool was among those bound
    finally:
        client.close()
