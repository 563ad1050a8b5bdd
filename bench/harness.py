"""A reusable benchmark harness: a real sandbox server, phase timers, peak memory, results, charts.

The pieces, in the order a benchmark uses them:

* :func:`sandbox_server` starts ``python -m maplectl sandbox serve --port 0`` as a *separate
  process* on 127.0.0.1, so the sandbox's CPU work never competes with maplectl for the GIL, and
  yields a :class:`SandboxServer` with the control API (seed customers, bulk credits, faults such
  as injected latency, request counters).
* :func:`run_worker` runs the maplectl part of a benchmark in a fresh subprocess (the script
  itself with ``--worker``), so its peak RSS is maplectl's alone (not the generator's, not the
  sandbox's) and its import time is real. The worker reports through :func:`worker_main`.
* :class:`Phases` times named phases with ``time.perf_counter``.
* :func:`write_results` writes ``bench/results/<name>.json`` with the environment (Python,
  cores, platform, date); :func:`bar_chart` and :func:`update_doc_section` put a chart into
  ``docs/performance.md``, replacing only the section the benchmark owns. Both happen only when
  the script is run with ``--record``: by default a benchmark prints its results and leaves every
  tracked file alone.
* :func:`floor_creates` and :func:`floor_reads` are the floor: the same requests maplectl sends,
  by a minimal keep-alive httpx client as wide as maplectl, timed in the same run against the same
  sandbox, so ``maplectl / floor`` measures maplectl rather than the sandbox or the machine.

The API token goes to the worker in its environment, never on a command line, in a result file
or in a log.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from maplectl.config import Secret
from maplectl.sandbox.control_client import ControlClient

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PERFORMANCE_DOC = REPO / "docs" / "performance.md"
TOKEN_ENV = "MAPLECTL_BENCH_TOKEN"
LISTENING = re.compile(r"^listening (http://\S+) company=(\S+) token=(\S+)$")
RESULT_MARK = "BENCH-RESULT "


# -- the sandbox as a real server ----------------------------------------------------------------


@dataclass
class SandboxServer:
    """A running ``maplectl sandbox serve``: API URL, company, and its control API."""

    url: str
    company: str
    process: subprocess.Popen[bytes]
    token: str = field(repr=False)
    _http: httpx.Client = field(repr=False, default_factory=lambda: httpx.Client(timeout=300))
    _control: ControlClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._control = ControlClient(self.url, Secret(self.token), timeout=300)

    @property
    def base(self) -> str:
        """The server's address without ``/api/v1`` (where ``/_sandbox/...`` lives)."""
        return self.url.removesuffix("/api/v1")

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """One control request (``/_sandbox/<path>``) through maplectl's ``ControlClient``;
        raises ``ControlError`` on a refusal; returns the JSON answer."""
        return self._control.call(method, path, body)

    def seed_customers(self, ids: Sequence[str], *, chunk: int = 5000) -> None:
        """Add customers to the first company (the seed loader is additive)."""
        for start in range(0, len(ids), chunk):
            customers = [
                {"id": c, "identifier": c, "name": c, "email": f"{c}@bench.example"}
                for c in ids[start : start + chunk]
            ]
            doc = {
                "companies": [
                    {
                        "id": self.company,
                        "name": "Demo SaaS Inc.",
                        "token": self.token,
                        "customers": customers,
                    }
                ]
            }
            self.control("POST", "seed", doc)

    def bulk_credits(self, specs: Sequence[Mapping[str, Any]], *, chunk: int = 25000) -> int:
        """Load credits (create bodies, optionally with ``id``/``created_at``) in bulk."""
        loaded = 0
        for start in range(0, len(specs), chunk):
            answer = self.control(
                "POST", "credits/bulk", {"credits": list(specs[start : start + chunk])}
            )
            loaded += int(answer["loaded"])
        return loaded

    def add_latency(self, ms: int, routes: Sequence[str] = ("*",)) -> None:
        """Every API request to ``routes`` sleeps ``ms`` before it is handled."""
        if ms <= 0:
            return
        for route in routes:
            self.control("POST", "faults", {"kind": "latency", "route": route, "ms": ms})

    def warm_up(self) -> None:
        """One API request of each kind a benchmark makes, so the server's lazy start-up work
        (compiling its request validators, opening connections) is not timed as maplectl's."""
        headers = {"Authorization": f"Bearer {self.token}"}
        for collection in ("credits", "one_times"):
            response = self._http.post(
                f"{self.url}/companies/{self.company}/{collection}/find",
                headers=headers,
                json={
                    "pagination": {"from_key": None, "limit": 1},
                    "query": {},
                    "sort_key": "createdAtAsc",
                    "include_meta": True,
                },
            )
            response.raise_for_status()

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server process has used so far; None off Linux."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def counters(self) -> dict[str, int]:
        """Requests per route since the last reset."""
        return dict(self.control("GET", "counters")["routes"])

    def reset(self) -> None:
        """Back to the sandbox's seed: data, idempotency keys, faults and counters (the token
        stays). A benchmark seeds again after it."""
        self.control("POST", "reset")

    def reset_counters(self) -> None:
        self.control("DELETE", "counters")

    def stop(self) -> None:
        """SIGTERM, then wait (the server finishes requests in progress and exits 0)."""
        self._http.close()
        self._control.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@contextlib.contextmanager
def sandbox_server(db: Path | None = None) -> Iterator[SandboxServer]:
    """Start ``maplectl sandbox serve`` on 127.0.0.1 (any free port) in its own process.

    The database lives in ``db`` or, by default, in a fresh directory under ``/dev/shm`` when it
    exists: the sandbox commits with ``synchronous=FULL``, and the benchmark measures maplectl,
    not the disk's fsync.
    """
    with contextlib.ExitStack() as stack:
        if db is None:
            shm = Path("/dev/shm")
            where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
            tmp = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="maplectl-bench-", dir=where)
            )
            db = Path(tmp) / "sandbox.sqlite"
        log = stack.enter_context(open(db.with_suffix(".log"), "wb"))
        process = subprocess.Popen(
            [sys.executable, "-m", "maplectl", "sandbox", "serve", "--port", "0", "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=REPO,
        )
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        found = LISTENING.match(line)
        if not found:
            process.kill()
            process.wait()
            raise RuntimeError(
                "sandbox serve did not start: "
                + db.with_suffix(".log").read_text(errors="replace")[-2000:]
            )
        server = SandboxServer(
            url=found.group(1), company=found.group(2), process=process, token=found.group(3)
        )
        try:
            yield server
        finally:
            server.stop()
            process.stdout.close()


# -- timing and memory ----------------------------------------------------------------------------


class Phases:
    """Wall time and this process's CPU time of named phases, in seconds, in the order they ran."""

    def __init__(self) -> None:
        self.walls: dict[str, float] = {}
        self.cpus: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.walls[name] = self.walls.get(name, 0.0) + time.perf_counter() - started
            self.cpus[name] = self.cpus.get(name, 0.0) + time.process_time() - cpu

    def total(self, *names: str) -> float:
        return sum(self.walls[n] for n in names)


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size of this process (or of its waited-for children), in MiB.

    On Linux this process's own peak is ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` is
    carried across ``exec``, so a worker started by a driver holding 100 MiB of generated data
    would report the driver's 100 MiB as its own.
    """
    if who == resource.RUSAGE_SELF:
        try:
            status = Path("/proc/self/status").read_text(encoding="ascii")
        except OSError:
            status = ""
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        if found:
            return round(int(found.group(1)) / 1024, 1)
    kib = resource.getrusage(who).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(kib / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


# -- the maplectl part in its own process -----------------------------------------------------


def run_worker(
    script: Path, config: Mapping[str, Any], server: SandboxServer, *, timeout: float = 170
) -> dict[str, Any]:
    """Run ``script --worker CONFIG`` in a fresh interpreter and return what it reported.

    The worker gets the sandbox URL and company in its config and the token in its environment.
    Its report gains ``process_wall`` (interpreter start and imports included) and
    ``peak_rss_mb`` as the parent saw it for that child.
    """
    payload = {**config, "api_url": server.url, "company": server.company}
    env = {**os.environ, TOKEN_ENV: server.token}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), "--worker", json.dumps(payload)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - started
    reports = [
        line[len(RESULT_MARK) :]
        for line in done.stdout.splitlines()
        if line.startswith(RESULT_MARK)
    ]
    if done.returncode != 0 or not reports:
        raise RuntimeError(
            f"worker {script.name} failed ({done.returncode}):\n{done.stderr[-4000:]}"
        )
    report: dict[str, Any] = json.loads(reports[-1])
    report["process_wall"] = round(wall, 3)
    return report


def worker_main(body: Callable[[dict[str, Any], str], dict[str, Any]]) -> None:
    """The worker side of :func:`run_worker`: parse the config, run ``body``, report."""
    config = json.loads(sys.argv[sys.argv.index("--worker") + 1])
    token = os.environ.pop(TOKEN_ENV)
    report = body(config, token)
    report["peak_rss_mb"] = peak_rss_mb()
    print(RESULT_MARK + json.dumps(report), flush=True)


# -- results and the performance page ---------------------------------------------------------


def environment() -> dict[str, Any]:
    """Where the numbers were measured."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def write_results(name: str, data: Mapping[str, Any], *, directory: Path = RESULTS_DIR) -> Path:
    """``<directory>/<name>.json`` with the environment added; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    doc = {"benchmark": name, "environment": environment(), **data}
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def bar_chart(rows: Sequence[tuple[str, float]], *, unit: str = "s", width: int = 48) -> str:
    """A fixed-width bar chart for Markdown (inside a code block), longest bar = ``width``."""
    if not rows:
        return ""
    top = max(value for _, value in rows) or 1.0
    label_width = max(len(label) for label, _ in rows)
    lines = []
    for label, value in rows:
        bar = "█" * max(1 if value > 0 else 0, round(value / top * width))
        lines.append(f"{label.ljust(label_width)}  {bar} {value:,.2f} {unit}")
    return "```\n" + "\n".join(lines) + "\n```"


def update_doc_section(title: str, body: str, *, path: Path = PERFORMANCE_DOC) -> None:
    """Replace the ``## <title>`` section of ``path`` (or append it); other sections stay.

    A section runs from its heading to the next ``## `` heading or the end of the file.
    """
    heading = f"## {title}"
    text = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else (
            "# Performance\n\nMeasured with the scripts in `bench/`; each section says how to "
            "rerun it. Numbers come from `bench/results/*.json`.\n"
        )
    )
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    section = [heading, "", *body.strip("\n").splitlines(), ""]
    if start is None:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", *section]
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")


def median_run(
    runs: Sequence[dict[str, Any]],
    measure: Callable[[dict[str, Any]], float],
    also: Mapping[str, Callable[[dict[str, Any]], float]] | None = None,
) -> dict[str, Any]:
    """The run whose ``measure`` is the median of all runs, with every run's value attached.

    One run on a shared 2-core machine varies by about ±15 %; the median of several is what a
    result file should claim (not the best, which flatters, nor the last, which is luck).
    ``also`` names more measures (a floor, a ratio): each run's value is recorded too, with the
    median of each across runs under ``medians`` (each measure's own median, which may come from
    another run than the one shown).
    """
    ordered = sorted(runs, key=measure)
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["repeats"] = {
        "runs": len(runs),
        "values": [round(measure(r), 3) for r in runs],
        "chosen": "median",
    }
    if also:
        chosen["medians"] = {}
        for name, extra in also.items():
            values = [round(extra(r), 3) for r in runs]
            chosen["repeats"][name] = values
            chosen["medians"][name] = sorted(values)[(len(values) - 1) // 2]
    return chosen


# -- the floor: the same requests through a minimal client ---------------------------------------


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that notes every request maplectl sends: method, path, JSON body,
    ``Idempotency-Key``, and the page cursor its answer gave (to link pages into chains)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self._lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        response.read()
        data = json.loads(response.content) if response.content else None
        pagination = data.get("pagination") if isinstance(data, dict) else None
        call = {
            "method": request.method,
            "path": request.url.path,
            "body": json.loads(request.content) if request.content else None,
            "idempotency_key": request.headers.get("Idempotency-Key"),
            "next_key": pagination.get("from_key") if isinstance(pagination, dict) else None,
        }
        with self._lock:
            self.calls.append(call)
        return response

    def close(self) -> None:
        self._inner.close()


def _from_key(call: Mapping[str, Any]) -> str | None:
    body = call.get("body")
    pagination = body.get("pagination") if isinstance(body, dict) else None
    return pagination.get("from_key") if isinstance(pagination, dict) else None


def read_chains(calls: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
    """Recorded calls (in the order their answers came) as chains: a first request, then each
    page whose ``from_key`` is the cursor the previous answer of the chain gave."""
    chains: list[list[dict[str, Any]]] = []
    waiting: dict[str, int] = {}
    for call in calls:
        key = _from_key(call)
        if key is not None and key in waiting:
            index = waiting.pop(key)
            chains[index].append(dict(call))
        else:
            chains.append([dict(call)])
            index = len(chains) - 1
        if call.get("next_key"):
            waiting[str(call["next_key"])] = index
    return chains


def _floor_client(url: str, token: str, parallelism: int) -> httpx.Client:
    """A plain keep-alive httpx client, as many connections as requests in flight."""
    width = max(16, parallelism * 2)
    return httpx.Client(
        base_url=url.removesuffix("/api/v1"),
        headers={"Authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=width, max_keepalive_connections=width),
        timeout=60,
        trust_env=False,  # loopback: no proxy or .netrc lookups, as maplectl for http://
    )


def floor_reads(
    url: str, token: str, chains: Sequence[Sequence[Mapping[str, Any]]], parallelism: int
) -> dict[str, Any]:
    """Send the recorded reads again, chain by chain, ``parallelism`` chains at a time; each
    answer is decoded (a client uses what it reads) and a chain's next page takes the cursor
    the live answer gave. Returns the wall time from the first request to the last answer."""
    client = _floor_client(url, token, parallelism)

    def one_chain(chain: Sequence[Mapping[str, Any]]) -> int:
        cursor: str | None = None
        sent = 0
        for position, call in enumerate(chain):
            body = call["body"]
            if position > 0:
                if cursor is None:
                    break
                body = {**body, "pagination": {**body["pagination"], "from_key": cursor}}
            response = client.request(call["method"], call["path"], json=body)
            response.raise_for_status()
            data = response.json()
            sent += 1
            pagination = data.get("pagination") if isinstance(data, dict) else None
            cursor = pagination.get("from_key") if isinstance(pagination, dict) else None
        return sent

    with client, ThreadPoolExecutor(parallelism) as pool:
        started = time.perf_counter()
        sent = sum(pool.map(one_chain, chains))
        wall = time.perf_counter() - started
    return {"seconds": round(wall, 3), "requests": sent, "chains": len(chains)}


def floor_creates(
    url: str, token: str, creates: Sequence[Mapping[str, Any]], parallelism: int
) -> dict[str, Any]:
    """POST each create (``path``, ``body``, ``idempotency_key``), ``parallelism`` at a time,
    decoding each answer. Returns the wall time from the first request to the last answer."""
    client = _floor_client(url, token, parallelism)

    def one(create: Mapping[str, Any]) -> int:
        response = client.post(
            create["path"],
            json=create["body"],
            headers={"Idempotency-Key": create["idempotency_key"]},
        )
        response.raise_for_status()
        response.json()
        return response.status_code

    with client, ThreadPoolExecutor(parallelism) as pool:
        started = time.perf_counter()
        statuses = list(pool.map(one, creates))
        wall = time.perf_counter() - started
    return {
        "seconds": round(wall, 3),
        "requests": len(statuses),
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
    }


def bench_parser(description: str, quick_help: str) -> argparse.ArgumentParser:
    """The options every benchmark script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    add_record_option(parser)
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=None,
        help="override the injected latency (recorded to its own results file, never the doc)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs to take the median of (default 3; 1 with --quick)",
    )
    return parser


def add_record_option(parser: argparse.ArgumentParser) -> None:
    """``--record``: the only way a benchmark writes a tracked file."""
    parser.add_argument(
        "--record",
        action="store_true",
        help="write bench/results/<name>.json and this benchmark's section of "
        "docs/performance.md (by default results are only printed)",
    )


def result_name(base: str, args: argparse.Namespace) -> str:
    """``plan``, ``plan-quick`` or ``plan-0ms``: where a run's results are written."""
    name = f"{base}-quick" if args.quick else base
    return name + (f"-{args.latency_ms}ms" if args.latency_ms is not None else "")


def record_median(
    run_once: Callable[[], dict[str, Any]],
    *,
    name: str,
    repeat: int,
    phase: str,
    title: str,
    render: Callable[[dict[str, Any]], str],
    record: bool,
    update_doc: bool,
    also: Mapping[str, Callable[[dict[str, Any]], float]] | None = None,
    finish: Callable[[dict[str, Any]], None] | None = None,
    results_dir: Path = RESULTS_DIR,
    doc: Path = PERFORMANCE_DOC,
) -> dict[str, Any]:
    """Run ``repeat`` times and keep the median by ``phase``; with ``record``, write it (and,
    with ``update_doc`` too, its section of the doc). Without ``record`` nothing is written.

    ``also``: more measures recorded per run, with their medians (see :func:`median_run`);
    ``finish`` completes the chosen result from them (targets on the median ratio)."""
    runs = [run_once() for _ in range(repeat)]
    result = median_run(runs, lambda r: float(r["phases_seconds"][phase]), also)
    if finish is not None:
        finish(result)  # targets judged on the medians, before anything is written
    values = ", ".join(f"{v} s" for v in result["repeats"]["values"])
    if record:
        path = write_results(name, result, directory=results_dir)
        print(f"recorded {path}")
        if update_doc:
            update_doc_section(
                title,
                render(result)
                + (f"\n\nThe run shown is the median of {repeat} ({phase}: {values})."),
                path=doc,
            )
            print(f"recorded the {title} section of {doc}")
    else:
        print("not recorded (pass --record to write bench/results and docs/performance.md)")
    print(f"{phase} over {repeat} runs: {values} (median reported)")
    return result


def print_targets(result: Mapping[str, Any]) -> None:
    for key, ok in result.get("targets", {}).items():
        print(f"target {key}: {'met' if ok else 'NOT MET'}")
