"""Headless Chromium, driven over the DevTools protocol on a pipe: no port, no network.

``--remote-debugging-pipe`` makes Chromium read commands from its file descriptor 3 and write
answers and events to 4, each a JSON document ended by NUL. That is all a test needs to open a
page, run a line of script in it, read the console and the network log, and take a screenshot,
without chromedriver or a WebDriver port.

Chromium starts with flags that keep it off the network (no background services, no component
updates, no sync, no QUIC, and a host resolver that maps every name to "not found", so not even a
DNS query leaves) and a new, empty profile. The pages tests open are local files whose
Content-Security-Policy allows no request anyway, and :meth:`Browser.requests` lists every
request a page made, so a test can prove it. (Checked with strace and the interface counters: no
packet leaves the machine; the one non-loopback call Chromium still makes is a UDP ``connect`` to
a public IPv6 address, which only asks the kernel for a route and sends nothing.)
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Debian's /usr/bin/chromium is a script that sources /etc/chromium.d/, whose flags turn remote
# extension updates back on (clients2.google.com): the binary it runs is taken first.
CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--disable-pings",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no name is looked up: not even DNS leaves
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    """The path of a Chromium binary on this machine, or None."""
    for name in CANDIDATES:
        found = shutil.which(name) or (name if os.access(name, os.X_OK) else None)
        if found:
            return found
    return None


class BrowserError(AssertionError):
    pass


class Browser:
    """One headless Chromium and one page in it (a flat DevTools session)."""

    def __init__(self, binary: str, profile: Path, *, timeout: float = 20) -> None:
        self.timeout = timeout
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._closed = False
        commands_r, self._commands = os.pipe()
        self._answers_r, answers_w = os.pipe()
        # Chromium reads fd 3 and writes fd 4. The pipe ends go to the child at numbers of 10 and
        # up (never 3 or 4 already), and a two-line Python moves them to 3 and 4, then execs.
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_r, answers_w)]
        for fd in (commands_r, answers_w):
            os.close(fd)
        move = (
            f"import os, sys; os.dup2({ends[0]}, 3); os.dup2({ends[1]}, 4); "
            f"os.close({ends[0]}); os.close({ends[1]}); os.execv(sys.argv[1], sys.argv[1:])"
        )
        profile.mkdir(parents=True, exist_ok=True)
        self.stderr_path = profile.parent / f"{profile.name}.stderr"
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", move, binary, *FLAGS, f"--user-data-dir={profile}"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                pass_fds=ends,
            )
        for fd in ends:
            os.close(fd)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = ""
        self.session = self._attach()
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    # -- protocol ----------------------------------------------------------------------------------

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._answers_r, "rb", buffering=0) as stream:
            while True:
                chunk = stream.read(65536)
                if not chunk:
                    break
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                with self._cond:
                    for raw in messages:
                        message = json.loads(raw)
                        if "id" in message:
                            self._answers[message["id"]] = message
                        else:
                            self.events.append(message)
                    self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, *, page: bool = True) -> Any:
        """One command (to the page's session unless ``page`` is false); its result."""
        with self._cond:
            self._next_id += 1
            ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if page and self.session:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        answer = self._wait(lambda: self._answers.pop(ident, None), f"an answer to {method}")
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def _wait(self, found: Callable[[], Any], what: str) -> Any:
        """Block until ``found()`` gives something (under the lock) or Chromium exits."""
        box: list[Any] = []

        def ready() -> bool:
            value = found()
            if value is not None:
                box.append(value)
                return True
            return self._closed

        with self._cond:
            self._cond.wait_for(ready, self.timeout)
        if not box:
            raise BrowserError(
                f"Chromium gave no {what} within {self.timeout}s"
                + (" (it exited)" if self._closed else "")
                + f"; its stderr: {self.stderr_path}"
            )
        return box[0]

    def _attach(self) -> str:
        """A new page, and a flat session to drive it."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)
        result = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, page=False
        )
        return str(result["sessionId"])

    # -- what tests use ----------------------------------------------------------------------------

    def open(self, path: Path, *, width: int = 1280, height: int = 900) -> None:
        """Load a local file and wait until its load event (its scripts have run)."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        start = len(self.events)
        self.send("Page.navigate", {"url": path.resolve().as_uri()})
        self._wait(
            lambda: next(
                (True for e in self.events[start:] if e.get("method") == "Page.loadEventFired"),
                None,
            ),
            "load event",
        )

    def evaluate(self, expression: str) -> Any:
        """Run ``expression`` in the page; its value (JSON-able), or raise on an exception."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def type_text(self, selector: str, text: str) -> None:
        """Focus the element and type ``text`` into it as a user would (input events)."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) on the middle of the element."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            "return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
            )

    def problems(self, since: int = 0) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and log errors and warnings (a
        blocked script or style, a refused request) in the events from index ``since`` on."""
        out = []
        for event in self.events[since:]:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                args = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                out.append(f"console.{params['type']}: {args}")
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                out.append(f"exception: {details.get('exception', {}).get('description', details)}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                out.append(f"log {params['entry']['level']}: {params['entry']['text']}")
        return out

    def requests(self, since: int = 0) -> list[str]:
        """The URL of every request pages made, in the events from index ``since`` on."""
        return [
            e["params"]["request"]["url"]
            for e in self.events[since:]
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path, *, full_page: bool = True) -> None:
        """A PNG of the page (all of it, or the viewport)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": size["height"],
                "scale": 1,
            }
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Ask Chromium to quit; kill it if it does not within 10 s."""
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", page=False)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
