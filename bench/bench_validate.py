"""Benchmark: load and validate 10,000 generated manifests with maplectl.manifests.loader.

Writes the manifests into a temporary directory in two layouts (1,000 files of 10 documents, and
10,000 files of one document), times ``load_manifests`` over each (best of ``--repeat`` runs,
after one warm-up run that also proves they are all valid), and writes bench/results/validate.json.

    .venv/bin/python bench/bench_validate.py [--count 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import yaml

from maplectl.manifests.loader import load_manifests


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


def time_load(root: Path, count: int, repeat: int) -> float:
    loaded = load_manifests([root])  # warm-up, and proof that every document is valid
    if len(loaded) != count:
        raise SystemExit(f"expected {count} resources, got {len(loaded)}")
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        load_manifests([root])
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "validate.json"))
    args = parser.parse_args()
    layouts = {}
    for label, per_file in (("10_docs_per_file", 10), ("1_doc_per_file", 1)):
        with tempfile.TemporaryDirectory(prefix="maplectl-bench-") as folder:
            write_tree(Path(folder), args.count, per_file)
            seconds = time_load(Path(folder), args.count, args.repeat)
        layouts[label] = {
            "files": -(-args.count // per_file),
            "wall_seconds": round(seconds, 3),
            "docs_per_second": round(args.count / seconds),
        }
        print(
            f"{label}: {args.count} manifests in {seconds:.3f} s "
            f"({args.count / seconds:,.0f} docs/s)"
        )
    result = {
        "benchmark": "load_manifests (read, strict YAML, JSON Schema, rules, uniqueness)",
        "manifests": args.count,
        "repeat": args.repeat,
        "layouts": layouts,
        "python": platform.python_version(),
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        # Other work on the machine inflates the numbers; the 1-minute load average says how much.
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "platform": sys.platform,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
