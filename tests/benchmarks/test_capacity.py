"""benchmarks/speed/capacity.py --curve: the snapshot plan's arithmetic from the cost curve (start-up
separated from the per-document cost, growth applied only where a stage grows faster than linear)."""

from __future__ import annotations

import pytest

from benchmarks.speed import capacity

STAGES = ("filter", "buckets", "clusters", "finalize", "other")


def run(documents: int, fmt: str, per_doc_ms: float, fixed_s: float, slope: float | None = None) -> dict:
    """A curve row whose every stage costs fixed_s + per_doc_ms per document (as scale.py's --json)."""
    row = {"cpu_s": fixed_s + per_doc_ms / 1000 * documents, "disk_bytes": 1000 * documents, "slope": slope}
    stages = {stage: dict(row, peak_rss_mb=200.0) for stage in STAGES}
    return {
        "documents": documents,
        "format": fmt,
        "files": 16,
        "duplicates": {"pairs": documents // 10},
        "clusters_rss_bytes_per_pair": 90.0,
        "stages": stages,
        "total": dict(row, peak_rss_mb=200.0),
    }


def test_two_sizes_separate_start_up_from_per_document_cost():
    costs = capacity.stage_costs(run(10_000, "warc", 12.0, 32.0), run(50_000, "warc", 12.0, 32.0))
    assert costs["filter"] == pytest.approx((0.012, 32.0 / 16))  # the intercept spread over 16 file tasks
    assert costs["buckets"] == pytest.approx((0.012, 32.0 / 14))
    assert costs["clusters"] == pytest.approx((0.012, 32.0))


def test_growth_applies_only_above_linear():
    linear = [run(1_000_000, "jsonl", 7.0, 0.0, slope=0.98)]
    faster = [run(1_000_000, "jsonl", 7.0, 0.0, slope=1.1)]
    assert capacity.growth("buckets", linear, 10**9) == 1.0
    assert capacity.growth("buckets", faster, 10**9) == pytest.approx(1000**0.1)
    assert capacity.growth("buckets", [], 10**9) == 1.0


def test_the_plan_adds_per_document_and_per_task_costs(capsys):
    runs = [run(10_000, "warc", 10.0, 3600.0), run(50_000, "warc", 10.0, 3600.0)]
    runs.append(run(1_000_000, "jsonl", 7.0, 0.0, slope=1.0))
    capacity.curve_plan(runs, warc_files=100, pages_per_warc=1000)
    printed = capsys.readouterr().out
    # 5 stages x 0.01 s x 100,000 pages; each stage's 3,600 s of start-up is per task: filter and finalize
    # pay 3,600 / 16 per WARC file (100), buckets 3,600 / 14 for each of 14, clusters and other once
    expected = (5 * 0.01 * 100_000 + 2 * 100 * 3600 / 16 + 3600 + 3600 + 3600) / 3600
    assert round(expected) == 17
    assert "CPU-hours (all stages, from the curve): 17 " in printed
    # the largest run's 0.1 pairs per document over 100,000 pages, 90 bytes each
    assert "10,000 duplicate pairs at the 1,000,000-document run's rate" in printed
    assert "100,000 pages" in printed


def test_a_curve_without_two_warc_sizes_is_one_clear_error():
    with pytest.raises(SystemExit, match="two WARC sizes"):
        capacity.curve_plan([run(10_000, "warc", 10.0, 16.0)], 100, 1000)
