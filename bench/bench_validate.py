"""Benchmark: load and validate 10,000 generated manifests (``maplectl validate``).

Writes the manifests into a temporary directory in two layouts (1,000 files of 10 documents, and
10,000 files of one document) and measures, for each:

* ``load_manifests`` in this process (read, strict YAML, JSON Schema, rules, uniqueness and
  look-alikes): one warm-up run that also proves every document valid, then ``--repeat`` timed
  runs; the median is reported, every run's value recorded;
* ``maplectl validate DIR`` as a user runs it (a fresh process: interpreter start and imports
  included), ``--repeat`` runs, median.

    .venv/bin/python bench/bench_validate.py            # prints the results
    .venv/bin/python bench/bench_validate.py --record   # ... and writes bench/results/validate.json
                                                        #     and the Validate section of the doc
    .venv/bin/python bench/bench_validate.py --profile  # also print where the time goes (cProfile)
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
import yaml

from maplectl.manifests.loader import load_manifests

TARGET_SECONDS = 1.0
MAPLECTL = Path(sys.executable).with_name("maplectl")


def manifest(index: int) -> str:
    """One realistic manifest; the kinds and shapes rotate like a real repository's.

    Each customer gets one manifest of each shape (2,500 customers for 10,000 manifests): a
    customer with hundreds of onboarding fees would be look-alike charges, which validation
    rightly refuses (docs/plan.md).
    """
    customer = f"cus_v{index // 4:05d}"
    shape = index % 4
    if shape == 0:
        return f"""apiVersion: maplectl/v1
kind: Credit
metadata:
  name: goodwill-{index:05d}
  labels: {{team: support, ticket: "T-{index}"}}
spec:
  customer_id: {customer}
  name: Goodwill credit {index}
  type: AMOUNT
  amount: {{currency: USD, value_in_cents: {1000 + index}}}
  expiration_date: "2030-12-31T23:59:59Z"
"""
    if shape == 1:
        return f"""apiVersion: maplectl/v1
kind: Credit
metadata:
  name: prepaid-{index:05d}
spec:
  customer_id: {customer}
  name: Prepaid API calls {index}
  type: UNITS
  units: {10000 + index}
  item_id: itm_api_calls
"""
    if shape == 2:
        return f"""apiVersion: maplectl/v1
kind: OneTimeCharge
metadata:
  name: onboarding-{index:05d}
spec:
  customer_id: {customer}
  type: NEXT_INVOICE
  onetime_items:
    - product_pricing_id: pp_onboarding_fee
      aggregate: 1
"""
    return f"""apiVersion: maplectl/v1
kind: OneTimeCharge
metadata:
  name: services-{index:05d}
  created_after: "2026-01-01T00:00:00Z"
spec:
  customer_id: {customer}
  type: NEXT_INVOICE
  onetime_items:
    - custom_price:
        amount: {{currency: USD, value_in_cents: 120000}}
        description: Implementation workshop {index}
      aggregate: 2
  discounts:
    - name: Partner discount
      type: DISCOUNT_PERCENT
      percent: 10
  notes: Invoice with the next cycle
"""


def write_tree(root: Path, count: int, per_file: int) -> None:
    for start in range(0, count, per_file):
        folder = root / f"team-{start // 1000:02d}"
        folder.mkdir(exist_ok=True)
        docs = [manifest(i) for i in range(start, min(start + per_file, count))]
        (folder / f"batch-{start:05d}.yaml").write_text("---\n".join(docs), encoding="utf-8")


def time_load(root: Path, count: int, repeat: int) -> list[float]:
    """Seconds of each timed ``load_manifests`` run, after a warm-up that checks the count."""
    loaded = load_manifests([root])  # warm-up, and proof that every document is valid
    if len(loaded) != count:
        raise SystemExit(f"expected {count} resources, got {len(loaded)}")
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        load_manifests([root])
        runs.append(time.perf_counter() - started)
    return runs


def time_cli(root: Path, count: int, repeat: int, jobs: str | None = None) -> list[float]:
    """Seconds of each ``maplectl validate DIR`` process (start-up and imports included);
    ``jobs``: its ``--jobs`` (None: the default, one process per CPU)."""
    command = [str(MAPLECTL), "validate", str(root)] + (["--jobs", jobs] if jobs else [])
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        runs.append(time.perf_counter() - started)
        if done.returncode != 0 or done.stdout.strip() != f"{count} documents valid.":
            raise SystemExit(f"maplectl validate failed ({done.returncode}): {done.stderr[-2000:]}")
    return runs


def profile(root: Path) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    load_manifests([root])
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def measure(
    count: int, repeat: int, *, cli: bool = True, show_profile: bool = False
) -> dict[str, Any]:
    """Both layouts: ``maplectl validate`` as a user runs it (the target), the same with
    ``--jobs 1`` (one process), and ``load_manifests`` in process (what plan and apply load)."""
    layouts: dict[str, Any] = {}
    for label, per_file in (("10_docs_per_file", 10), ("1_doc_per_file", 1)):
        with tempfile.TemporaryDirectory(prefix="maplectl-bench-") as folder:
            write_tree(Path(folder), count, per_file)
            runs = time_load(Path(folder), count, repeat)
            processes = time_cli(Path(folder), count, repeat) if cli else []
            one_process = time_cli(Path(folder), count, repeat, jobs="1") if cli else []
            if show_profile:
                print(f"-- {label}: cProfile of one load_manifests (internal time)")
                print(profile(Path(folder)))
        median = statistics.median(runs)
        layout: dict[str, Any] = {
            "files": -(-count // per_file),
            "load_manifests_seconds": round(median, 3),
            "load_manifests_runs_seconds": [round(r, 3) for r in runs],
            "target_seconds": TARGET_SECONDS,
        }
        line = f"{label}: load_manifests {median:.3f} s in process"
        if processes:
            validate = statistics.median(processes)
            layout["maplectl_validate_seconds"] = round(validate, 3)
            layout["maplectl_validate_runs_seconds"] = [round(r, 3) for r in processes]
            layout["maplectl_validate_jobs_1_seconds"] = round(statistics.median(one_process), 3)
            layout["maplectl_validate_jobs_1_runs_seconds"] = [round(r, 3) for r in one_process]
            layout["docs_per_second"] = round(count / validate)
            layout["met"] = validate < TARGET_SECONDS
            line += (
                f"; `maplectl validate` {validate:.3f} s (fresh processes, median of {repeat}: "
                + ", ".join(f"{r:.3f}" for r in processes)
                + f"); with --jobs 1 {statistics.median(one_process):.3f} s"
            )
        layouts[label] = layout
        print(line)
    return {
        "benchmark": "validate",
        "what": "maplectl validate DIR as a fresh process (read, strict YAML, JSON Schema, rules, "
        "uniqueness, look-alikes); load_manifests in process for comparison",
        "manifests": count,
        "repeat": repeat,
        "cpus_usable": len(os.sched_getaffinity(0)),
        "layouts": layouts,
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        # Other work on the machine inflates the numbers; the 1-minute load average says how much.
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }


def render_section(result: dict[str, Any]) -> str:
    """The ``## Validate`` section of docs/performance.md."""
    rows = []
    for layout in result["layouts"].values():
        shape = f"{result['manifests']:,} manifests in {layout['files']:,} files"
        if "maplectl_validate_seconds" in layout:
            met = "met" if layout["met"] else "NOT met"
            rows.append(
                f"| `maplectl validate`, {shape} (a fresh process, median) | "
                f"{layout['maplectl_validate_seconds']} s | < {TARGET_SECONDS:g} s | {met} |"
            )
            rows.append(
                f"| the same with `--jobs 1` (one process) | "
                f"{layout['maplectl_validate_jobs_1_seconds']} s | | |"
            )
        rows.append(
            f"| `load_manifests` of the same, in process, as plan and apply load them | "
            f"{layout['load_manifests_seconds']} s | | |"
        )
    return "\n".join(
        [
            "`maplectl validate` of generated manifests (Credits and OneTimeCharges, four shapes "
            f"in turn), on {result['cpus_usable']} CPUs. Rerun: "
            "`.venv/bin/python bench/bench_validate.py` (add `--record` to "
            "write `bench/results/validate.json` and this section; `--profile` shows where the "
            "time goes). By default `validate` shares the files among one process per CPU "
            "([cli.md](cli.md#maplectl-validate-path)); `--jobs 1` is one process.",
            "",
            "| measure | value | target | |",
            "|---|---|---|---|",
            *rows,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-cli", action="store_true", help="skip the `maplectl validate` runs")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each layout")
    harness.add_record_option(parser)
    args = parser.parse_args(argv)
    result = measure(args.count, args.repeat, cli=not args.no_cli, show_profile=args.profile)
    if args.record:
        path = harness.write_results("validate", result)
        harness.update_doc_section("Validate", render_section(result))
        print(f"recorded {path} and the Validate section of {harness.PERFORMANCE_DOC}")
    else:
        print("not recorded (pass --record to write bench/results and docs/performance.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
