"""A threaded HTTP/1.1 server for the sandbox's WSGI app, in a thread or in the foreground.

Stdlib ``http.server`` with keep-alive (clients reuse connections) and one thread per
connection. ``DropConnection`` from the app closes the socket without writing a byte. Stopping
waits for requests in progress, so a write that committed is always answered or dropped by
design, never cut off half-way.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import IO, Any

from maplectl.errors import UsageError
from maplectl.sandbox.app import DropConnection
from maplectl.sandbox.clock import Clock
from maplectl.sandbox.routes import API_PREFIX
from maplectl.sandbox.sandbox import EPHEMERAL, Sandbox


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: Any) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.active = 0
        self.idle = threading.Condition()
        self.sockets: set[socket.socket] = set()
        self.closing = False

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.idle:
            self.sockets.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.idle:
                self.sockets.discard(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections are closed after a minute
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK would add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet; never log headers
        return

    def _handle(self) -> None:
        server = self.server
        with server.idle:
            server.active += 1
        try:
            self._respond()
        finally:
            with server.idle:
                server.active -= 1
                server.idle.notify_all()
            if server.closing:
                self.close_connection = True

    def _respond(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = value
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return None

        try:
            payload = b"".join(self.server.app(environ, start_response))
        except DropConnection:
            # The write committed; the client gets nothing at all, as after a network failure.
            self.close_connection = True
            return
        status: str = started[0]
        headers: list[tuple[str, str]] = started[1]
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle


class RunningServer:
    """A sandbox server running in a background thread; a context manager."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = str(server.server_address[0]), int(server.server_address[1])
        self.base_url = f"http://{host}:{port}"
        self.url = self.base_url + API_PREFIX

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let requests in progress finish, close every connection."""
        server = self._server
        server.closing = True
        server.shutdown()
        with server.idle:
            server.idle.wait_for(lambda: server.active == 0, timeout=timeout)
            sockets = list(server.sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``sandbox.app`` on ``host:port`` (0: any free port) from a daemon thread."""
    server = _Server((host, port), sandbox.app)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="maplectl-sandbox",
        daemon=True,
    )
    thread.start()
    return RunningServer(server, thread)


def run_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    db: str | Path | None = None,
    seed: Path | None = None,
    token: str | None = None,
    clock: Clock | None = None,
    out: IO[str] | None = None,
) -> int:
    """Serve in the foreground until SIGINT or SIGTERM; returns the exit code (0).

    The first line written to ``out`` is ``listening <url> company=<id> token=<token>``: the
    token replaces the first company's (random unless given), so callers can connect at once.
    """
    out = out or sys.stdout
    sandbox = Sandbox.open(db or EPHEMERAL, seed=seed, clock=clock)
    token = token or secrets.token_urlsafe(24)
    sandbox.set_token(sandbox.company_id, token)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            running = serve_in_thread(sandbox, host, port)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="pass --host with an address of this machine (default "
                "127.0.0.1) and a free --port (0 picks one)",
            ) from exc
        print(
            f"listening {running.url} company={sandbox.company_id} token={token}",
            file=out,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
        running.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sandbox.close()
    return 0
