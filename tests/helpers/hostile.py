"""Servers that misbehave on purpose, on real sockets on 127.0.0.1, for the CLI to meet.

- :class:`TrickleServer` answers headers at once, then one body byte every ``interval`` seconds.
- :class:`EchoServer` answers like Maple, except that every create fails with an error that
  repeats the request's ``Authorization`` header back (raw and as a Python repr).
- :class:`BigServer` streams a body of ``size`` bytes, chunked, without a Content-Length.

Each counts the requests it received, and stops (closing every connection) on ``stop()``.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from typing import Any


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        reader = sock.makefile("rb")
        try:
            while not self.server.stopping.is_set():
                request = _read_request(reader)
                if request is None:
                    return
                with self.server.lock:
                    self.server.received.append(request)
                if not self.server.owner.answer(sock, request):
                    return
        except OSError:
            return  # the client went away: that is how these conversations end


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: _Hostile) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []


def _read_request(reader: Any) -> dict[str, Any] | None:
    line = reader.readline()
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = reader.readline().decode("latin-1")
        if raw in ("\r\n", "\n", ""):
            break
        name, _, value = raw.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    body = reader.read(length) if length else b""
    return {"method": method, "path": target, "headers": headers, "body": body}


def _send(sock: socket.socket, status: str, payload: Any) -> None:
    body = json.dumps(payload).encode()
    sock.sendall(
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


class _Hostile:
    """Base: a server on 127.0.0.1 in a thread; ``url`` is its API base."""

    def __init__(self) -> None:
        self._server = _TCPServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}/api/v1"

    @property
    def received(self) -> list[dict[str, Any]]:
        with self._server.lock:
            return list(self._server.received)

    def answer(self, sock: socket.socket, request: dict[str, Any]) -> bool:
        """Answer one request; False closes the connection."""
        raise NotImplementedError

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class TrickleServer(_Hostile):
    """Headers at once, then the body one byte every ``interval`` seconds (a 1,000-byte body,
    so a client that waits for all of it waits ``1000 * interval`` seconds)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        super().__init__()

    def answer(self, sock: socket.socket, request: dict[str, Any]) -> bool:
        body = b" " * 998 + b"{}"
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        for byte in body:
            if self._server.stopping.wait(self.interval):
                return False
            sock.sendall(bytes([byte]))
        return True


class EchoServer(_Hostile):
    """Maple with nothing in it (any customer exists), whose creates fail with the caller's
    Authorization header in the error message and in a field error (raw, and as a repr)."""

    def answer(self, sock: socket.socket, request: dict[str, Any]) -> bool:
        auth = request["headers"].get("authorization", "")
        if request["method"] == "GET" and "/customers/" in request["path"]:
            _send(sock, "200 OK", {"id": request["path"].rsplit("/", 1)[-1], "status": "ACTIVE"})
            return True
        if request["path"].endswith("/find"):
            _send(
                sock,
                "200 OK",
                {"results": [], "pagination": {"from_key": None, "limit": 100, "total": 0}},
            )
            return True
        _send(
            sock,
            "400 Bad Request",
            {
                "error_message": f"rejected header Authorization: {auth} ({auth.encode()!r})",
                "error_type": "validation_error",
                "error_status": 400,
                "validation_errors": [{"field": "Authorization", "message": f"{auth!r} is wrong"}],
            },
        )
        return True


class BigServer(_Hostile):
    """A 200 answer whose body is ``size`` bytes of a JSON string, chunked (no Content-Length),
    written as fast as the client reads it."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__()

    def answer(self, sock: socket.socket, request: dict[str, Any]) -> bool:
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65536
        sent = 0
        pieces = [b'{"results": [], "padding": "']
        while sent < self.size:
            pieces.append(chunk)
            sent += len(chunk)
        for piece in [*pieces, b'"}']:
            if self._server.stopping.is_set():
                return False
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")
        return True
