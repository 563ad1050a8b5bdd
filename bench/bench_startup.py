"""Benchmark (issue 15): how long the command line takes to start.

    .venv/bin/python bench/bench_startup.py            # prints the results
    .venv/bin/python bench/bench_startup.py --record   # ... and writes bench/results/startup.json
                                                       #     and the Start-up section of the doc

Each measure is a fresh process, run ``--runs`` times (after one untimed run that warms the
disk cache); the median is reported and every run recorded:

* ``python -c pass``: the interpreter alone, the floor of any start-up on this machine;
* ``maplectl --version``: the console script, click and the group (no command module, no httpx,
  jsonschema, deepdiff or yaml: ``tests/e2e/test_startup.py`` proves which are imported);
* ``maplectl validate FILE`` of one valid Credit manifest: what an editor hook or a pre-commit
  check pays per call.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

MAPLECTL = Path(sys.executable).with_name("maplectl")
VERSION_TARGET_MS = 250
MANIFEST = """apiVersion: maplectl/v1
kind: Credit
metadata:
  name: acme-goodwill
spec:
  customer_id: cus_acme
  name: Goodwill credit
  type: AMOUNT
  amount: {currency: USD, value_in_cents: 2500}
  expiration_date: "2030-12-31T23:59:59Z"
"""


def time_command(argv: list[str], runs: int) -> list[float]:
    """Wall seconds of each run of ``argv`` (after one untimed run); fails if it fails."""
    subprocess.run(argv, capture_output=True, check=True)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        seconds.append(time.perf_counter() - started)
    return seconds


def summary(seconds: list[float]) -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]
    return {
        "median_ms": round(statistics.median(ms), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
        "runs_ms": [round(m, 1) for m in ms],
    }


def measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="maplectl-bench-startup-") as tmp:
        manifest = Path(tmp) / "credit.yaml"
        manifest.write_text(MANIFEST, encoding="utf-8")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "maplectl --version": [str(MAPLECTL), "--version"],
            "maplectl validate FILE": [str(MAPLECTL), "validate", str(manifest)],
        }
        measured = {name: summary(time_command(argv, runs)) for name, argv in commands.items()}
    version = measured["maplectl --version"]["median_ms"]
    return {
        "runs": runs,
        "commands": measured,
        "version_target_ms": VERSION_TARGET_MS,
        "version_met": version < VERSION_TARGET_MS,
    }


def render_section(result: dict[str, Any]) -> str:
    """The ``## Start-up`` section of docs/performance.md."""
    rows = []
    for name, m in result["commands"].items():
        target = f"< {VERSION_TARGET_MS} ms" if name == "maplectl --version" else ""
        met = ("met" if result["version_met"] else "NOT met") if target else ""
        rows.append(
            f"| `{name}` | {m['median_ms']} ms (min {m['min_ms']}, max {m['max_ms']}) "
            f"| {target} | {met} |"
        )
    chart = harness.bar_chart(
        [(name, m["median_ms"]) for name, m in result["commands"].items()], unit="ms"
    )
    return "\n".join(
        [
            f"A fresh process each time, median of {result['runs']} runs. Rerun: "
            "`.venv/bin/python bench/bench_startup.py` (add `--record` to write "
            "`bench/results/startup.json` and this section). A command imports only what it "
            "needs: `--version` loads no command module, and no command loads httpx, "
            "jsonschema or deepdiff before it uses them (jsonschema only to explain a "
            "rejected manifest).",
            "",
            chart,
            "",
            "| command | median | target | |",
            "|---|---|---|---|",
            *rows,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    harness.add_record_option(parser)
    args = parser.parse_args(argv)
    result = measure(args.runs)
    for name, m in result["commands"].items():
        print(f"{name}: median {m['median_ms']} ms (min {m['min_ms']}, max {m['max_ms']})")
    met = "met" if result["version_met"] else "NOT MET"
    print(f"target --version < {VERSION_TARGET_MS} ms: {met}")
    if args.record:
        path = harness.write_results("startup", result)
        harness.update_doc_section("Start-up", render_section(result))
        print(f"recorded {path} and the Start-up section of {harness.PERFORMANCE_DOC}")
    else:
        print("not recorded (pass --record to write bench/results and docs/performance.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
