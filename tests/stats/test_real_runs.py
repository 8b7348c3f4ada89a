"""`finemill stats` on real runs: the bundled sample (conftest's `sample_run`) and the small real crawl files
of ../shared/data/crawl (skipped when absent). What the table shows must equal counts recomputed from
the run's files, every removed document must fail the measure shown for it, and the HTML report must
render in headless Chromium.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pandas as pd
import pytest

from tests.stats.test_stats import chromium, cli, number, render, steps_shown


@pytest.fixture(params=["sample_run", "real_run"])
def run(request) -> Path:
    return request.getfixturevalue(request.param)


def removed_frame(run: Path, step: str) -> pd.DataFrame:
    folder = run / "removed" / step
    if not folder.is_dir():
        return pd.DataFrame({"reason": pd.Series(dtype=str), "language": pd.Series(dtype=str)})
    return pd.read_parquet(folder, columns=["reason", "language"])


def test_numbers_shown_equal_counts_from_the_files(run, capsys, monkeypatch):
    code, out, _ = cli(capsys, monkeypatch, "stats", str(run))
    assert code == 0
    shown = steps_shown(out)
    stats = json.loads((run / "stats.json").read_text())
    kept = len(pd.read_parquet(run / "documents", columns=["id"]))
    reader = stats["reader"]
    assert number(shown["read (records)"]["cells"][1]) == reader["documents"]
    docs = reader["documents"]
    for step in stats["steps"]:
        row, frame = shown[step["name"]], removed_frame(run, step["name"])
        assert number(row["cells"][0]) == docs  # each step gets what the previous one kept
        assert number(row["cells"][2]) == len(frame)
        assert number(row["cells"][1]) == docs - len(frame)
        assert {r: number(c[2]) for r, c in row["reasons"].items()} == frame[
            "reason"
        ].value_counts().to_dict()
        docs -= len(frame)
        if step["name"] == "language":
            by_language = {k: number(c[2]) for k, c in row["languages"].items()}
            assert by_language == frame.groupby(["reason", "language"]).size().to_dict()
    assert docs == kept
    assert f"kept {kept:,} of {reader['documents']:,} documents" in out


def test_languages_shown_equal_what_the_language_step_counted(run, capsys, monkeypatch):
    _, out, _ = cli(capsys, monkeypatch, "stats", str(run))
    stats = json.loads((run / "stats.json").read_text())
    language = next(s for s in stats["steps"] if s["name"] == "language")
    seen = {k.removeprefix("lang_"): v for k, v in language["counters"].items() if k.startswith("lang_")}
    assert sum(seen.values()) == language["docs_in"]
    table = out.split("Languages detected by the language step")[1].split("└")[0]
    rows = {
        cells[0]: cells[1:]
        for line in table.splitlines()
        if line.startswith("│")
        for cells in [[c.strip() for c in line.split("│")[1:-1]]]
    }
    removed = removed_frame(run, "language")["language"].value_counts().to_dict()
    assert {lang: number(cells[0]) for lang, cells in rows.items()} == seen
    assert {lang: number(cells[2]) for lang, cells in rows.items()} == {k: removed.get(k, 0) for k in seen}


# Every removed document failing the measure shown for it, and kept ones passing: tests/stats/test_explain.py.


def test_sample_run_clusters_account_for_every_duplicate(sample_run):
    from finemill.stats.dedup import clusters_from_pairs, find_clusters
    from finemill.stats.load import open_run

    opened = open_run(sample_run)
    clusters = find_clusters(opened)
    removed = len(removed_frame(sample_run, "minhash"))
    assert removed > 0 and clusters.count > 0
    assert sum((size - 1) * n for size, n in clusters.sizes.items()) == removed  # one kept per cluster
    # the cluster stage's own count agrees with the clusters rebuilt from its duplicate pairs
    logged = json.loads(next((sample_run / "logs" / "clusters" / "stats").glob("*.json")).read_text())
    assert logged[0]["stats"]["cluster_size"]["n"] == clusters_from_pairs(sample_run).count
    pairs = sum(
        len(p.read_bytes()) // struct.calcsize("<4I")
        for p in (sample_run / "work" / "minhash" / "buckets").glob("*.dups")
    )
    assert pairs >= removed


@pytest.mark.slow  # a headless browser renders the report (~7 s): out of the quick subset, which stays under 3 minutes
def test_report_of_the_sample_run_renders_in_headless_chromium(sample_run, tmp_path, capsys, monkeypatch):
    if not chromium():
        pytest.skip("chromium not installed (apt-get install chromium)")
    html = tmp_path / "report.html"
    code, out, _ = cli(capsys, monkeypatch, "stats", str(sample_run), "--html", str(html))
    assert code == 0 and f"report: {html}" in out
    screenshot = tmp_path / "report.png"
    result = render(html, tmp_path, f"--screenshot={screenshot}", "--window-size=1280,2000")
    assert result.returncode == 0, result.stderr[-2000:]
    assert ":CONSOLE" not in result.stderr  # no blocked resource, no script error
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and struct.unpack(">II", png[16:24]) == (1280, 2000)
    assert len(png) > 50_000  # a page with charts, not a blank one
