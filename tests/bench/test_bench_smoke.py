"""The benchmark harness, run at a tiny size so it cannot rot: sandbox server, workers, results."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module", autouse=True)
def bench_on_path() -> None:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))


def test_plan_benchmark_runs_at_smoke_size(tmp_path: Path) -> None:
    """50 manifests at 0 ms: the plan is right, requests are counted, results are written."""
    import bench_plan
    import harness

    result = bench_plan.run(bench_plan.QUICK, name="smoke", write=False, update_doc=False)
    assert result["size"]["manifests"] == 50
    counts = result["plan_counts"]
    assert counts["create"] == 20 and counts["unchanged"] == 30 and counts["unmanaged"] == 20
    assert result["requests"] == result["client_requests"] > 0
    # The floor replayed exactly the finds maplectl sent, and the run has its ratio.
    assert result["floor"]["requests"] == result["requests"]
    assert result["ratios"]["network_vs_floor"] > 0
    assert 0 < result["peak_rss_mb"] < 1000
    path = harness.write_results("smoke", result, directory=tmp_path)
    assert '"python"' in path.read_text() and '"cores"' in path.read_text()


def test_apply_benchmark_runs_at_smoke_size() -> None:
    """50 creates at 0 ms: each is created exactly once and verified; the floor sent the same
    50 keyed creates (201 each) into the sandbox reset to the same seed."""
    import bench_apply

    result = bench_apply.run(bench_apply.QUICK, write=False, update_doc=False, floor_first=False)
    assert result["outcomes"] == {"created": 50}
    assert result["exactly_once"] and result["verification_problems"] == 0
    assert result["floor"]["statuses"] == {"201": 50} and result["floor"]["exactly_once"]
    assert result["ratios"]["creates_vs_floor"] > 0


def test_doc_section_is_replaced_and_others_kept(tmp_path: Path) -> None:
    """Updating '## Plan' leaves '## Sandbox' (another engineer's) untouched."""
    import harness

    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Sandbox\n\nfast\n\n## Plan\n\nold\n\n## Later\n\nx\n")
    harness.update_doc_section("Plan", "new", path=doc)
    harness.update_doc_section("Apply", "appended", path=doc)
    text = doc.read_text()
    assert "old" not in text and "## Plan\n\nnew\n\n## Later" in text
    assert "## Sandbox\n\nfast\n" in text and text.endswith("## Apply\n\nappended\n")


def test_bar_chart_scales_to_the_longest_bar() -> None:
    """The longest value gets the full width; zero gets no bar."""
    import harness

    chart = harness.bar_chart([("a", 2.0), ("bb", 1.0), ("c", 0.0)], width=10)
    lines = chart.splitlines()[1:-1]
    assert lines[0].count("█") == 10 and lines[1].count("█") == 5 and "█" not in lines[2]


def test_read_chains_links_each_page_to_the_answer_that_gave_its_cursor() -> None:
    """Pages interleaved across threads come apart into one chain per first request."""
    import harness

    def find(query: str, key: str | None, answer: str | None) -> dict[str, object]:
        body = {"pagination": {"from_key": key, "limit": 100}, "query": {"c": query}}
        return {"method": "POST", "path": "/f", "body": body, "next_key": answer}

    calls = [
        find("a", None, "a1"),
        find("b", None, "b1"),
        find("a", "a1", "a2"),
        {"method": "GET", "path": "/customers/x", "body": None, "next_key": None},
        find("b", "b1", None),
        find("a", "a2", None),
    ]
    chains = harness.read_chains(calls)
    assert [[c["body"]["query"]["c"] if c["body"] else "get" for c in ch] for ch in chains] == [
        ["a", "a", "a"],
        ["b", "b"],
        ["get"],
    ]


def test_benchmarks_write_nothing_unless_recording(tmp_path: Path) -> None:
    """Without --record no results file and no doc section is written; with it, both are."""
    import harness

    results, doc = tmp_path / "results", tmp_path / "performance.md"

    def once(record: bool) -> dict[str, object]:
        return harness.record_median(
            lambda: {"phases_seconds": {"x": 1.0}, "floor": 2.0},
            name="t",
            repeat=3,
            phase="x",
            title="T",
            render=lambda r: "body",
            record=record,
            update_doc=True,
            also={"floor": lambda r: float(r["floor"])},  # type: ignore[arg-type]
            results_dir=results,
            doc=doc,
        )

    result = once(record=False)
    assert not results.exists() and not doc.exists()
    assert result["repeats"]["floor"] == [2.0, 2.0, 2.0] and result["medians"]["floor"] == 2.0
    once(record=True)
    assert (results / "t.json").exists() and "## T\n\nbody" in doc.read_text()


def test_every_benchmark_records_only_with_the_record_flag() -> None:
    """Each script takes --record and writes its results and doc section only under it."""
    scripts = sorted(BENCH.glob("bench_*.py"))
    assert len(scripts) >= 5
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        assert "bench_parser(" in text or "add_record_option(" in text, script.name
        assert "record=args.record" in text or "if args.record" in text, script.name


def test_export_benchmark_runs_at_smoke_size_and_writes_no_tracked_file() -> None:
    """100 credits at 0 ms: every object exported, peak RSS far under 200 MiB, and without
    --record neither bench/results nor docs/performance.md is touched."""
    import bench_export
    import harness

    def tracked() -> dict[str, int]:
        files = [*harness.RESULTS_DIR.glob("*"), harness.PERFORMANCE_DOC]
        return {str(p): p.stat().st_mtime_ns for p in files if p.exists()}

    before = tracked()
    result = bench_export.measure(bench_export.QUICK, repeat=1, record=False)
    assert result["documents"] == {"Credit": 100, "OneTimeCharge": 10}
    assert result["files"] == 20 and result["skipped"] == 0
    assert 0 < result["peak_rss_mb"] < 200
    assert tracked() == before
