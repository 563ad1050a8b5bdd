"""Benchmark (issue 6): ``apply`` of 1,000 creates at 20 ms latency, parallelism 8.

    .venv/bin/python bench/bench_apply.py            # full size (about a minute); prints
    .venv/bin/python bench/bench_apply.py --record   # ... and writes results and the doc
    .venv/bin/python bench/bench_apply.py --quick    # smoke size

Data layout: 100 customers ``cus_a000``..``cus_a099``, each already holding 20 unrelated
credits (2,000 in all, so the plan's reads and the verification read have real pages to read),
and 10 new Credit manifests each (1,000 creates, AMOUNT and UNITS mixed, in 100 files). The
sandbox answers ``POST /credits`` and both ``/find`` routes 20 ms late.

Phases, timed separately in one maplectl process: loading and validating the manifests, the plan
(reads and matching), the creates (what the lower bound ``creates × latency / parallelism`` is
about; from the start of ``Applier.run`` to the last create's answer, journal included) and the
verification read (from the last create to the end of ``run``).

The floor: in each run, a minimal client (plain httpx, keep-alive, a thread pool as wide as
maplectl's) sends the same creates (the plan's bodies and ``Idempotency-Key`` headers) to the
same sandbox with the same latency fault, and decodes each answer. Between the two the sandbox is
reset to the same seed (the keys must be fresh for both); the order alternates between runs.
``creates / floor`` is what maplectl's own work (journal, client, threads) adds to the same
requests on the same machine; the lower bound ``creates × latency / parallelism`` stays too.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
import httpx

SCRIPT = Path(__file__).resolve()
PARALLELISM = 8
LATENCY_ROUTES = ("POST /credits", "POST /credits/find", "POST /one_times/find")


class Size:
    """One benchmark size."""

    def __init__(
        self, customers: int, creates_per_customer: int, existing_per_customer: int, latency_ms: int
    ) -> None:
        self.customers = customers
        self.creates_per_customer = creates_per_customer
        self.existing_per_customer = existing_per_customer
        self.latency_ms = latency_ms

    def customer(self, n: int) -> str:
        return f"cus_a{n:03d}"

    def all_customers(self) -> list[str]:
        return [self.customer(n) for n in range(self.customers)]


FULL = Size(customers=100, creates_per_customer=10, existing_per_customer=20, latency_ms=20)
QUICK = Size(customers=5, creates_per_customer=10, existing_per_customer=2, latency_ms=0)


def manifest_text(size: Size, n: int) -> str:
    """The new credits of customer n, one YAML file."""
    docs = []
    for k in range(size.creates_per_customer):
        grant = (
            f"  type: UNITS\n  units: {500 * (k + 1)}\n  item_id: itm_api_calls\n"
            if k % 4 == 3
            else f"  type: AMOUNT\n  amount: {{currency: USD, value_in_cents: {2500 + n + k}}}\n"
        )
        docs.append(f"""apiVersion: maplectl/v1
kind: Credit
metadata:
  name: a{n:03d}-grant-{k:02d}
spec:
  customer_id: {size.customer(n)}
  name: Apply bench grant {k}
{grant}  expiration_date: "2031-06-30T23:59:59Z"
""")
    return "---\n".join(docs)


def existing_credits(size: Size) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": size.customer(n),
            "name": f"Earlier grant {k}",
            "type": "AMOUNT",
            "amount": {"currency": "USD", "value_in_cents": 11 + k},
        }
        for n in range(size.customers)
        for k in range(size.existing_per_customer)
    ]


# -- the maplectl side (runs in a worker process) ---------------------------------------------


def apply_worker(config: dict[str, Any], token: str) -> dict[str, Any]:
    """What ``maplectl apply --auto-approve DIR --parallelism 8`` does, phase by phase."""
    from maplectl.apply import ActionResult, Applier
    from maplectl.config import Secret
    from maplectl.journal import Journal
    from maplectl.manifests.loader import load_manifests
    from maplectl.maple.client import MapleClient
    from maplectl.maple.reader import read_observed
    from maplectl.plan.builder import build_plan
    from maplectl.plan.records import Desired

    syncs: list[float] = []  # the journal's fsyncs: how long each took (the disk's share)
    real_fsync = os.fsync

    def timed_fsync(fd: int) -> None:
        started = time.perf_counter()
        real_fsync(fd)
        syncs.append(time.perf_counter() - started)

    os.fsync = timed_fsync
    phases = harness.Phases()
    with phases.phase("load_validate"):
        desired = [Desired.from_resource(r) for r in load_manifests([config["manifests"]])]
    parallelism = config["parallelism"]
    client = MapleClient(
        api_url=config["api_url"],
        company_id=config["company"],
        token=Secret(token),
        pool_size=max(16, parallelism * 2),
    )
    last_answer = [0.0]

    def progress(result: ActionResult) -> None:
        last_answer[0] = time.perf_counter()

    with client:
        with phases.phase("plan"):
            observed = read_observed(
                client, {d.customer_id for d in desired}, parallelism=max(parallelism, 8)
            )
            plan = build_plan(
                desired,
                observed,
                company_id=config["company"],
                api_url=config["api_url"],
                now=datetime.now(UTC),
            )
        journal = Journal.open(Path(config["journal"]))
        try:
            applier = Applier(client, journal=journal, parallelism=parallelism, progress=progress)
            started, cpu_started = time.perf_counter(), time.process_time()
            result = applier.run(plan)
            ended, cpu_after = time.perf_counter(), time.process_time()
        finally:
            journal.close()
    phases.walls["creates"] = last_answer[0] - started
    phases.walls["verification"] = ended - last_answer[0]
    phases.cpus["apply_run"] = cpu_after - cpu_started
    outcomes: dict[str, int] = {}
    for r in result.results:
        outcomes[r.outcome.value] = outcomes.get(r.outcome.value, 0) + 1
    return {
        "phases": {k: round(v, 3) for k, v in phases.walls.items()},
        "cpu": {k: round(v, 3) for k, v in phases.cpus.items()},
        "creates_planned": len(plan.creates),
        "outcomes": outcomes,
        "verification_problems": len(result.verification_problems),
        "retries": client.retries_used,
        "journal_fsyncs": {
            "count": len(syncs),
            "intents": len(plan.creates),
            "seconds": round(sum(syncs), 3),
            "mean_ms": round(sum(syncs) / len(syncs) * 1000, 2) if syncs else 0.0,
        },
    }


def floor_worker(config: dict[str, Any], token: str) -> dict[str, Any]:
    """The floor: the plan's creates (made untimed, as maplectl makes it), then the same
    requests through a plain httpx client, ``parallelism`` at a time, timed."""
    from maplectl.config import Secret
    from maplectl.manifests.loader import load_manifests
    from maplectl.maple.client import MapleClient
    from maplectl.maple.reader import read_observed
    from maplectl.model import Kind
    from maplectl.plan.builder import build_plan
    from maplectl.plan.records import Desired

    desired = [Desired.from_resource(r) for r in load_manifests([config["manifests"]])]
    with MapleClient(
        api_url=config["api_url"], company_id=config["company"], token=Secret(token)
    ) as client:
        observed = read_observed(client, {d.customer_id for d in desired}, parallelism=8)
    plan = build_plan(
        desired,
        observed,
        company_id=config["company"],
        api_url=config["api_url"],
        now=datetime.now(UTC),
    )
    prefix = f"{httpx.URL(config['api_url']).path.rstrip('/')}/companies/{config['company']}"
    paths = {Kind.CREDIT: "credits", Kind.ONE_TIME_CHARGE: "one_times"}
    creates = [
        {
            "path": f"{prefix}/{paths[a.kind]}",
            "body": dict(a.body),
            "idempotency_key": str(a.idempotency_key),
        }
        for a in plan.creates
    ]
    return harness.floor_creates(config["api_url"], token, creates, config["parallelism"])


# -- the driver -----------------------------------------------------------------------------------


def run(
    size: Size,
    *,
    name: str = "apply",
    write: bool = True,
    update_doc: bool = True,
    floor: bool = True,
    floor_first: bool = True,
    journal_dir: str | None = None,
) -> dict[str, Any]:
    """Seed a sandbox server, run the floor and the apply worker (``floor_first`` says in which
    order; the sandbox is reset to the same seed between them), check the sandbox, report."""
    with (
        tempfile.TemporaryDirectory(prefix="maplectl-bench-apply-") as tmp,
        tempfile.TemporaryDirectory(prefix="maplectl-bench-journal-", dir=journal_dir) as jdir,
        harness.sandbox_server() as server,
    ):
        manifests = Path(tmp) / "manifests"
        manifests.mkdir()
        for n in range(size.customers):
            (manifests / f"customer-{n:03d}.yaml").write_text(
                manifest_text(size, n), encoding="utf-8"
            )
        config = {
            "manifests": str(manifests),
            "parallelism": PARALLELISM,
            # On the regular disk by default, as a user's .maplectl/journal/ is: its fsyncs are
            # part of apply's cost (``journal_fsyncs`` in the results says how large a part).
            "journal": jdir,
        }

        def prepare(fresh: bool) -> int:
            """The seed, the existing credits and the latency fault (after a reset if not
            ``fresh``)."""
            if not fresh:
                server.reset()
            server.seed_customers(size.all_customers())
            loaded = server.bulk_credits(existing_credits(size))
            server.warm_up()
            server.add_latency(size.latency_ms, LATENCY_ROUTES)
            return loaded

        def run_floor(fresh: bool) -> dict[str, Any]:
            prepare(fresh)
            found = harness.run_worker(SCRIPT, {**config, "mode": "floor"}, server)
            server.clear_faults()
            found["credits_after"] = _count_credits(server)
            return found

        floor_report = run_floor(fresh=True) if floor and floor_first else None
        existing = prepare(fresh=floor_report is None)
        server.reset_counters()
        cpu_before = server.cpu_seconds()
        report = harness.run_worker(SCRIPT, {**config, "mode": "apply"}, server)
        cpu_after = server.cpu_seconds()
        routes = server.counters()
        server.clear_faults()
        credits_now = _count_credits(server)
        if floor and not floor_first:
            floor_report = run_floor(fresh=False)
    creates = size.customers * size.creates_per_customer
    latency = size.latency_ms / 1000
    phases = report["phases"]
    lower = creates * latency / PARALLELISM
    result: dict[str, Any] = {
        "size": {
            "creates": creates,
            "customers": size.customers,
            "existing_credits": existing,
            "latency_ms": size.latency_ms,
            "latency_routes": list(LATENCY_ROUTES),
            "parallelism": PARALLELISM,
        },
        "phases_seconds": phases,
        "maplectl_cpu_seconds": report["cpu"],
        "total_seconds": round(sum(phases.values()), 3),
        "process_wall_seconds": report["process_wall"],
        "lower_bound_creates_seconds": round(lower, 3),
        "requests_by_route": routes,
        "requests": sum(routes.values()),
        "outcomes": report["outcomes"],
        "verification_problems": report["verification_problems"],
        "retries": report["retries"],
        "credits_in_sandbox_after": credits_now,
        "exactly_once": credits_now == existing + creates,
        "peak_rss_mb": report["peak_rss_mb"],
        "journal_fsyncs": report["journal_fsyncs"],
        "journal_dir": journal_dir or tempfile.gettempdir(),
        "sandbox_cpu_seconds": None
        if cpu_before is None or cpu_after is None
        else round(cpu_after - cpu_before, 2),
    }
    ratios: dict[str, float] = {}
    if floor_report is not None:
        result["floor"] = {
            "creates_seconds": floor_report["seconds"],
            "requests": floor_report["requests"],
            "statuses": floor_report["statuses"],
            "ran": "first" if floor_first else "second",
            "exactly_once": floor_report["credits_after"] == existing + creates,
            "client": "httpx.Client, keep-alive, ThreadPoolExecutor of the same width; the "
            "same bodies and Idempotency-Key headers; each answer decoded",
        }
        if floor_report["seconds"] > 0:
            ratios["creates_vs_floor"] = round(phases["creates"] / floor_report["seconds"], 3)
    if lower > 0:
        ratios["creates_vs_lower_bound"] = round(phases["creates"] / lower, 2)
        if floor_report is not None:
            ratios["floor_vs_lower_bound"] = round(floor_report["seconds"] / lower, 2)
        result["targets"] = {"creates_within_1.5x": phases["creates"] <= 1.5 * lower}
    if ratios:
        result["ratios"] = ratios
    if "creates_vs_floor" in ratios:
        result.setdefault("targets", {})["creates_within_1.2x_of_floor"] = (
            ratios["creates_vs_floor"] <= 1.2
        )
    if write:
        harness.write_results(name, result)
    if update_doc:
        harness.update_doc_section("Apply", render_section(result))
    return result


def _count_credits(server: harness.SandboxServer) -> int:
    """Credits of the company, by ``include_meta`` (one request, after the run)."""
    response = httpx_post(
        server,
        "credits/find",
        {
            "pagination": {"from_key": None, "limit": 1},
            "query": {},
            "include_meta": True,
            "sort_key": "createdAtAsc",
        },
    )
    return int(response["pagination"]["total"])


def httpx_post(server: harness.SandboxServer, path: str, body: Any) -> Any:
    response = httpx.post(
        f"{server.url}/companies/{server.company}/{path}",
        json=body,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()


def render_section(r: dict[str, Any]) -> str:
    """The ``## Apply`` section of docs/performance.md."""
    s, p = r["size"], r["phases_seconds"]
    floor = r.get("floor")
    chart = harness.bar_chart(
        [
            (
                "lower bound of the creates (creates × latency / 8)",
                r["lower_bound_creates_seconds"],
            ),
            *(
                [("floor: the same creates, plain httpx", floor["creates_seconds"])]
                if floor
                else []
            ),
            *((f"maplectl: {k}", v) for k, v in p.items()),
            ("maplectl: total", r["total_seconds"]),
        ]
    )
    ratios, targets, medians = r.get("ratios", {}), r.get("targets", {}), r.get("medians", {})

    def mark(key: str) -> str:
        return "" if key not in targets else "met" if targets[key] else "NOT met"

    intro = (
        f"`maplectl apply` of {s['creates']:,} new credits for {s['customers']} customers "
        f"(who already hold {s['existing_credits']:,}), {s['latency_ms']} ms injected "
        f"latency on {', '.join(f'`{x}`' for x in s['latency_routes'])}, parallelism "
        f"{s['parallelism']}. Rerun: `.venv/bin/python bench/bench_apply.py` (add `--record` to "
        "write `bench/results/apply.json` and this section). The floor is a plain httpx client "
        "sending the same creates (same bodies and `Idempotency-Key` headers, 8 at a time) to "
        "the same sandbox in the same run; the sandbox is reset to the same seed in between."
    )
    vs_floor = medians.get("creates_vs_floor", ratios.get("creates_vs_floor", "-"))
    rows = [
        (
            "creates vs floor (median of the runs' ratios)",
            f"{vs_floor}×",
            "≤ 1.2×",
            mark("creates_within_1.2x_of_floor"),
        ),
        (
            "creates vs lower bound",
            f"{ratios.get('creates_vs_lower_bound', '-')}×",
            "≤ 1.5×",
            mark("creates_within_1.5x"),
        ),
        ("floor vs lower bound", f"{ratios.get('floor_vs_lower_bound', '-')}×", "", ""),
        ("requests (sandbox counters)", f"{r['requests']:,}", "", ""),
        ("outcomes", ", ".join(f"{k}: {v}" for k, v in r["outcomes"].items()), "", ""),
        (
            "credits in the sandbox afterwards",
            f"{r['credits_in_sandbox_after']:,} "
            f"({'exactly once' if r['exactly_once'] else 'NOT exactly once'})",
            "",
            "",
        ),
        ("peak RSS of the maplectl process", f"{r['peak_rss_mb']} MiB", "", ""),
        ("sandbox CPU during the run", f"{r['sandbox_cpu_seconds']} s", "", ""),
        (
            "journal fsyncs (shared by the creates in flight)",
            f"{r['journal_fsyncs']['count']:,} for {r['journal_fsyncs']['intents']:,} intents, "
            f"{r['journal_fsyncs']['seconds']} s, {r['journal_fsyncs']['mean_ms']} ms each",
            "",
            "",
        ),
        (
            "maplectl CPU in the apply run",
            f"{r['maplectl_cpu_seconds'].get('apply_run', '-')} s",
            "",
            "",
        ),
    ]
    table = "\n".join(
        [
            "| measure | value | target | |",
            "|---|---|---|---|",
            *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        ]
    )
    parts = [intro, chart, table]
    repeats = r.get("repeats", {})
    if "creates_vs_floor" in repeats:
        parts.append(
            "Each run's floor: "
            + ", ".join(f"{v} s" for v in repeats["floor_seconds"])
            + "; each run's creates / floor: "
            + ", ".join(f"{v}×" for v in repeats["creates_vs_floor"])
            + "."
        )
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = harness.bench_parser(__doc__.splitlines()[0], "smoke size (50 creates, 0 ms)")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor client")
    parser.add_argument(
        "--journal-dir",
        default=None,
        help="where the apply journal goes (default: the temporary directory, on disk); "
        "e.g. /dev/shm to see apply without the disk's fsync latency",
    )
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    if args.latency_ms is not None:
        size.latency_ms = args.latency_ms
    name = harness.result_name("apply", args) + ("-journal-dir" if args.journal_dir else "")
    runs = iter(range(1000))
    floor = not args.no_floor

    def finish(result: dict[str, Any]) -> None:
        median = result.get("medians", {}).get("creates_vs_floor")
        if median is not None:
            result["targets"]["creates_within_1.2x_of_floor"] = median <= 1.2

    result = harness.record_median(
        lambda: run(
            size,
            name=name,
            write=False,
            update_doc=False,
            floor=floor,
            floor_first=next(runs) % 2 == 0,
            journal_dir=args.journal_dir,
        ),
        name=name,
        repeat=args.repeat or (1 if args.quick else 3),
        phase="creates",
        title="Apply",
        render=render_section,
        record=args.record,
        update_doc=not (args.quick or args.latency_ms is not None or args.journal_dir),
        also={
            "floor_seconds": lambda r: float(r["floor"]["creates_seconds"]),
            "creates_vs_floor": lambda r: float(r["ratios"]["creates_vs_floor"]),
        }
        if floor
        else None,
        finish=finish,
    )
    for key in (
        "phases_seconds",
        "total_seconds",
        "lower_bound_creates_seconds",
        "floor",
        "ratios",
        "medians",
        "requests",
        "outcomes",
        "exactly_once",
        "peak_rss_mb",
        "sandbox_cpu_seconds",
        "maplectl_cpu_seconds",
        "journal_fsyncs",
    ):
        if key in result:
            print(f"{key}: {result[key]}")
    harness.print_targets(result)
    return 0


if __name__ == "__main__":
    if "--worker" in sys.argv:
        harness.worker_main(
            lambda config, token: (apply_worker if config["mode"] == "apply" else floor_worker)(
                config, token
            )
        )
    else:
        sys.exit(main())
