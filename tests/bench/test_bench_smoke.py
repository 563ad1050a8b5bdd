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
    assert 0 < result["peak_rss_mb"] < 1000
    path = harness.write_results("smoke", result, directory=tmp_path)
    assert '"python"' in path.read_text() and '"cores"' in path.read_text()


def test_apply_benchmark_runs_at_smoke_size() -> None:
    """50 creates at 0 ms: each is created exactly once and verified."""
    import bench_apply

    result = bench_apply.run(bench_apply.QUICK, write=False, update_doc=False)
    assert result["outcomes"] == {"created": 50}
    assert result["exactly_once"] and result["verification_problems"] == 0


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
