"""Benchmark (issue 13): ``export`` of an account holding 100,000 credits, wall time and peak RSS.

    .venv/bin/python bench/bench_export.py             # full size, median of 3; writes nothing
    .venv/bin/python bench/bench_export.py --record    # also bench/results/export.json and
                                                       # the "Export" section of docs/performance.md
    .venv/bin/python bench/bench_export.py --quick     # smoke size

Like every benchmark here, it writes no tracked file unless ``--record`` is given: a run to look
at the numbers leaves the checkout as it was.

Data layout: 1,000 customers ``cus_e0000``..``cus_e0999`` with 100 credits each (100,000: AMOUNT
and UNITS, names repeating within a customer, every 10th expired by moving the sandbox clock) and
one custom-priced one-time charge each (1,000 billables). Reading is per customer, as export
always does: a page of credits and a page of charges per customer, ``--parallelism`` 8 at a time,
against ``sandbox serve`` in its own process with ``--latency-ms`` (default 20) on both ``/find``
routes.

Measured in a separate maplectl process (so its peak RSS is export's alone): the export's wall
time (reading, rendering, validating each document, writing 2,000 files), the requests it made,
and peak RSS, which must stay under 200 MiB however large the account: customers are streamed,
never all held.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

SCRIPT = Path(__file__).resolve()
PARALLELISM = 8
LATENCY_ROUTES = ("POST /credits/find", "POST /one_times/find", "POST /customers/find")
RSS_TARGET_MB = 200


class Size:
    """One benchmark size."""

    def __init__(self, customers: int, credits_per_customer: int, latency_ms: int) -> None:
        self.customers = customers
        self.credits_per_customer = credits_per_customer
        self.latency_ms = latency_ms

    def customer(self, n: int) -> str:
        return f"cus_e{n:04d}"

    def all_customers(self) -> list[str]:
        return [self.customer(n) for n in range(self.customers)]


FULL = Size(customers=1000, credits_per_customer=100, latency_ms=20)
QUICK = Size(customers=10, credits_per_customer=10, latency_ms=0)


def credits(size: Size, soon: str) -> list[dict[str, Any]]:
    specs: list[dict[str, Any]] = []
    for n in range(size.customers):
        for k in range(size.credits_per_customer):
            spec: dict[str, Any] = {"customer_id": size.customer(n), "name": f"Grant {k % 30}"}
            if k % 4 == 3:
                spec.update(type="UNITS", units=1000 * (k + 1), item_id="itm_api_calls")
            else:
                spec.update(type="AMOUNT", amount={"currency": "USD", "value_in_cents": 100 + k})
            spec["expiration_date"] = soon if k % 10 == 0 else "2031-06-30T23:59:59Z"
            specs.append(spec)
    return specs


def charges(size: Size) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": size.customer(n),
            "type": "NEXT_INVOICE",
            "onetime_items": [
                {
                    "custom_price": {
                        "amount": {"currency": "USD", "value_in_cents": 50000 + n},
                        "description": f"Onboarding workshop {n}",
                    },
                    "aggregate": 1,
                }
            ],
        }
        for n in range(size.customers)
    ]


# -- the maplectl side (runs in a worker process) ---------------------------------------------


def export_worker(config: dict[str, Any], token: str) -> dict[str, Any]:
    """What ``maplectl export --out DIR`` does, timed."""
    from maplectl import workflow
    from maplectl.config import Secret
    from maplectl.maple.client import MapleClient

    phases = harness.Phases()
    client = MapleClient(
        api_url=config["api_url"], company_id=config["company"], token=Secret(token)
    )
    with client, phases.phase("export"):
        result = workflow.export_manifests(
            client,
            Path(config["out"]),
            company_id=config["company"],
            parallelism=config["parallelism"],
        )
    files = sorted(Path(config["out"]).rglob("*.yaml"))
    return {
        "phases": {k: round(v, 3) for k, v in phases.walls.items()},
        "cpu": {k: round(v, 3) for k, v in phases.cpus.items()},
        "customers": result.customers,
        "files": result.files,
        "documents": {k.value: v for k, v in result.documents.items()},
        "skipped": len(result.skipped),
        "client_requests": result.requests,
        "bytes_written": sum(f.stat().st_size for f in files),
        "largest_file_bytes": max((f.stat().st_size for f in files), default=0),
    }


# -- the driver -----------------------------------------------------------------------------------


def run(size: Size) -> dict[str, Any]:
    """Seed a sandbox server, run the export worker once, and report (writes nothing tracked)."""
    setup = harness.Phases()
    with (
        tempfile.TemporaryDirectory(prefix="maplectl-bench-export-") as tmp,
        harness.sandbox_server() as server,
    ):
        with setup.phase("seed_customers"):
            server.seed_customers(size.all_customers())
        with setup.phase("seed_credits"):
            now = server.control("GET", "clock")["now"]
            soon = now[:10] + "T23:59:59Z"  # later today on the sandbox clock
            loaded = server.bulk_credits(credits(size, soon))
        with setup.phase("seed_charges"):
            doc = {
                "companies": [
                    {
                        "id": server.company,
                        "name": "Demo SaaS Inc.",
                        "token": server.token,
                        "one_time_charges": charges(size),
                    }
                ]
            }
            server.control("POST", "seed", doc)
            server.control("POST", "clock/advance", {"days": 2})
        server.warm_up()  # also moves the expired credits to EXPIRED before timing
        server.add_latency(size.latency_ms, LATENCY_ROUTES)
        server.reset_counters()
        cpu_before = server.cpu_seconds()
        report = harness.run_worker(
            SCRIPT,
            {"mode": "export", "out": str(Path(tmp) / "out"), "parallelism": PARALLELISM},
            server,
            timeout=600,
        )
        cpu_after = server.cpu_seconds()
        routes = server.counters()
    requests = sum(routes.values())
    lower = requests * size.latency_ms / 1000 / PARALLELISM
    result: dict[str, Any] = {
        "size": {
            "customers": size.customers,
            "credits": loaded,
            "billables": size.customers,
            "latency_ms": size.latency_ms,
            "parallelism": PARALLELISM,
        },
        "setup_seconds": {k: round(v, 3) for k, v in setup.walls.items()},
        "phases_seconds": report["phases"],
        "maplectl_cpu_seconds": report["cpu"],
        "process_wall_seconds": report["process_wall"],
        "peak_rss_mb": report["peak_rss_mb"],
        "requests": requests,
        "requests_by_route": routes,
        "client_requests": report["client_requests"],
        "customers": report["customers"],
        "files": report["files"],
        "documents": report["documents"],
        "skipped": report["skipped"],
        "bytes_written": report["bytes_written"],
        "largest_file_bytes": report["largest_file_bytes"],
        "lower_bound_seconds": round(lower, 3),
        "sandbox_cpu_seconds": None
        if cpu_before is None or cpu_after is None
        else round(cpu_after - cpu_before, 2),
        "targets": {"peak_rss_under_200mb": report["peak_rss_mb"] < RSS_TARGET_MB},
    }
    return result


def render_section(r: dict[str, Any]) -> str:
    """The ``## Export`` section of docs/performance.md."""
    s, p = r["size"], r["phases_seconds"]
    docs = r["documents"]
    runs = r.get("repeats", {})
    values = ", ".join(f"{v} s" for v in runs.get("values", []))
    rows = [
        ("export wall time (read, render, validate, write)", f"{p['export']} s", "", ""),
        (
            "peak RSS of the maplectl process",
            f"{r['peak_rss_mb']} MiB",
            f"< {RSS_TARGET_MB} MiB",
            "met" if r["targets"]["peak_rss_under_200mb"] else "NOT met",
        ),
        (
            "manifests written",
            f"{docs.get('Credit', 0):,} credits, {docs.get('OneTimeCharge', 0):,} charges "
            f"in {r['files']:,} files ({r['bytes_written'] / 1e6:.1f} MB)",
            "",
            "",
        ),
        ("requests (sandbox counters)", f"{r['requests']:,}", "", ""),
        ("lower bound (requests × latency / 8)", f"{r['lower_bound_seconds']} s", "", ""),
        ("maplectl CPU during the export", f"{r['maplectl_cpu_seconds']['export']} s", "", ""),
        ("sandbox CPU during the export", f"{r['sandbox_cpu_seconds']} s", "", ""),
        (
            "process wall (interpreter start and imports too)",
            f"{r['process_wall_seconds']} s",
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
    intro = (
        f"`maplectl export` of an account holding {s['credits']:,} credits and "
        f"{s['billables']:,} one-time billables over {s['customers']:,} customers, "
        f"{s['latency_ms']} ms injected latency on the `/find` routes, parallelism "
        f"{s['parallelism']}. Rerun: `.venv/bin/python bench/bench_export.py` (prints the numbers; "
        "`--record` also writes `bench/results/export.json` and this section; the data layout is "
        "in the script's docstring)."
    )
    median = f"The run shown is the median of {runs.get('runs', 1)} (export: {values})."
    why = (
        "Memory stays flat because customers are streamed: at most 8 customers' objects are "
        "read ahead of the one being written, each kept as a small record (its order, id, name "
        "and spec) rather than the full row Maple sent."
    )
    return "\n\n".join([intro, table, why, median]) + "\n"


def measure(
    size: Size, *, repeat: int, record: bool, name: str = "export", doc: bool = True
) -> dict[str, Any]:
    """Run ``repeat`` times and keep the median by export wall time; with ``record`` (only),
    write ``bench/results/<name>.json`` and, if ``doc``, the Export section of the docs."""
    runs = []
    for number in range(repeat):
        started = time.perf_counter()
        runs.append(run(size))
        print(
            f"run {number + 1}/{repeat}: export {runs[-1]['phases_seconds']['export']} s, "
            f"peak RSS {runs[-1]['peak_rss_mb']} MiB ({time.perf_counter() - started:.0f} s "
            "with seeding)",
            flush=True,
        )
    result = harness.median_run(runs, lambda r: float(r["phases_seconds"]["export"]))
    result["peak_rss_mb_max"] = max(r["peak_rss_mb"] for r in runs)
    if record:
        print(f"recorded {harness.write_results(name, result)}")
        if doc:
            harness.update_doc_section("Export", render_section(result))
            print(f"updated {harness.PERFORMANCE_DOC}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = harness.bench_parser(__doc__.splitlines()[0], "smoke size (100 credits, 0 ms)")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    if args.latency_ms is not None:
        size.latency_ms = args.latency_ms
    result = measure(
        size,
        repeat=args.repeat or (1 if args.quick else 3),
        record=args.record,
        name=harness.result_name("export", args),
        doc=not args.quick and args.latency_ms is None,
    )
    for key in (
        "phases_seconds",
        "peak_rss_mb",
        "peak_rss_mb_max",
        "requests",
        "lower_bound_seconds",
        "files",
        "documents",
        "process_wall_seconds",
        "sandbox_cpu_seconds",
    ):
        print(f"{key}: {result[key]}")
    harness.print_targets(result)
    return 0


if __name__ == "__main__":
    if "--worker" in sys.argv:
        harness.worker_main(export_worker)
    else:
        sys.exit(main())
