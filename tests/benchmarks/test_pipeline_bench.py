"""benchmarks/speed/pipeline.py: step mapping of datatrove's task stats, --limit copies, and one real run
of both sides on a few documents of the bundled sample (report lines, JSON, identical share)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from benchmarks.speed import pipeline as bench
from finemill.pipeline.run import bundled_sample
from tests.conftest import REPO


def entry(name: str, seconds: float, **stats: int) -> dict:
    return {"name": name, "time_stats": {"total": seconds}, "stats": stats}


def write_task(logging_dir: Path, rank: int, entries: list[dict]) -> None:
    (logging_dir / "stats").mkdir(parents=True, exist_ok=True)
    (logging_dir / "stats" / f"{rank:05d}.json").write_text(json.dumps(entries))


def test_reference_steps_map_datatrove_steps_to_recipe_steps(tmp_path):
    out = tmp_path / "reference"
    write_task(
        out / "logs1",
        0,
        [
            entry("📖 - READER: 🕷 Warc", 0.5, documents=10),
            entry("🔻 - FILTER: 😈 Url-filter", 2.0, total=10),
            entry("🛢 - EXTRAC: ⛏ Trafilatura", 4.0, total=9),
            entry("🔻 - FILTER: 🌍 Language ID", 1.0, total=8),
            entry("💽 - WRITER: 🐿 Jsonl", 0.5, total=5),
            entry("🫂 - DEDUP: 🎯 MinHash stage 1", 9.0, total=5),  # 8.0 s of it is the steps upstream
        ],
    )
    write_task(out / "logs2", 0, [entry("🫂 - DEDUP: 🎯 MinHash stage 2", 0.1)])
    write_task(out / "logs3", 0, [entry("🫂 - DEDUP: 🎯 MinHash stage 3", 0.1)])
    write_task(
        out / "logs4",
        0,
        [
            entry("📖 - READER: 🐿 Jsonl", 0.25, documents=5),
            entry("🫂 - DEDUP: 🎯 MinHash stage 4", 0.25, total=5),
            entry("✂️ - FORMAT: 📞 PII", 0.5, total=4),
            entry("💽 - WRITER: 🐿 Jsonl", 0.5, total=4),
        ],
    )
    walls = {str((out / f"logs{n}").resolve()): wall for n, wall in ((1, 20.0), (2, 2.0), (3, 3.0), (4, 1.0))}
    steps = bench.reference_steps(out, walls)
    assert (steps["read"].docs, steps["read"].seconds) == (10, 0.75)
    assert (steps["url_filter"].docs, steps["extract"].docs, steps["language"].docs) == (10, 9, 8)
    # signature's own 1 s + the buckets and clusters stages' wall time + the duplicate filter
    assert steps["minhash"].docs == 5 and steps["minhash"].seconds == pytest.approx(1.0 + 2.0 + 3.0 + 0.25)
    assert (steps["pii"].docs, steps["write"].docs, steps["write"].seconds) == (4, 9, 1.0)
    assert steps["extract"].docs_per_s == pytest.approx(9 / 4.0)


def test_limited_copies_keep_the_first_documents_of_each_file(tmp_path):
    files = [str(p) for p in bundled_sample(tmp_path)]
    copies = bench.limited_copies(files, 3, tmp_path / "limited")
    for copy in copies:
        with open(copy, "rb") as stream:
            kinds = [record.rec_type for record in ArchiveIterator(stream)]
        assert sum(kind in bench.DOCUMENT_RECORDS for kind in kinds) == 3


def test_copied_url_adds_the_copy_to_the_query():
    assert bench.copied_url("https://a.org/p", 2) == "https://a.org/p?copy=2"
    assert bench.copied_url("https://a.org/p?x=1#top", 3) == "https://a.org/p?x=1&copy=3#top"


def test_repeated_copy_holds_every_record_n_times_with_distinct_ids_and_urls(tmp_path):
    files = bench.limited_copies([str(p) for p in bundled_sample(tmp_path)], 4, tmp_path / "limited")
    big = tmp_path / "big.warc.gz"
    assert bench.repeated_copy(files, 3, big) == 3 * 4 * len(files)
    originals, copies = [], []
    for path, into in [(f, originals) for f in files] + [(str(big), copies)]:
        with open(path, "rb") as stream:
            into += [
                (
                    r.rec_headers.get_header("WARC-Record-ID"),
                    r.rec_headers.get_header("WARC-Target-URI"),
                    r.content_stream().read(),
                )
                for r in ArchiveIterator(stream)
                if r.rec_type == "response"
            ]
    assert copies[: len(originals)] == originals  # the first copy is the input as it is
    assert len({ident for ident, _, _ in copies}) == len({url for _, url, _ in copies}) == len(copies)
    for k in (1, 2):
        part = copies[k * len(originals) : (k + 1) * len(originals)]
        assert [body for _, _, body in part] == [body for _, _, body in originals]  # the same pages
        assert all(url.endswith(f"copy={k}") for _, url, _ in part)
    with pytest.raises(SystemExit, match="WARC files only"):
        bench.repeated_copy([str(tmp_path / "pages.jsonl.gz")], 2, tmp_path / "x.warc.gz")


def test_headline_ratios_are_reference_time_over_finemill_time():
    def run(wall: float, extract: float) -> bench.SideRun:
        return bench.SideRun(wall, wall, 100.0, {}, {"extract": bench.StepFigure(10, extract)})

    result = {
        "runs": {"reference": run(30.0, 10.0), "finemill": run(15.0, 10.0)},
        "identical": {"same": 3, "union": 4, "share": 0.75},
    }
    assert bench.headline(result) == {"ratio": 2.0, "non_extraction_ratio": 4.0, "identical_share": 0.75}


def test_language_floor_is_a_share_of_finemills_time_without_extraction(capsys):
    def run(wall: float) -> bench.SideRun:
        return bench.SideRun(
            wall,
            wall,
            100.0,
            {},
            {"extract": bench.StepFigure(10, 10.0), "language": bench.StepFigure(9, 1.25)},
        )

    result = {
        "runs": {"reference": run(30.0), "finemill": run(15.0)},
        "identical": {"same": 3, "union": 3, "share": 1.0},
    }
    assert bench.language_floor(result) == {
        "language_s": 1.25,
        "language_share_non_extraction": 0.25,
        "language_share_whole": 1.25 / 15.0,
    }
    bench.print_summary(result)
    assert (
        "language ID: 1.2 s = 25% of finemill's non-extraction time (8% of its whole run)"
        in capsys.readouterr().out
    )


@pytest.mark.slow
def test_both_sides_on_a_big_file_of_repeated_sample_documents(tmp_path):
    """The whole script, one worker per side, --repeat 2 on 4 documents of one sample file: 8 documents read
    by both sides, every report line, identical outputs, and MinHash keeps at most one of each pair of copies.
    One run of the script (~40 s on 2 idle cores: mostly the start-up of the URL filter and the word
    splitter, once per side): --limit and --repeat together take the same path as --limit alone, then
    join the cut copies into one file (the unit tests above check both)."""
    sample = bundled_sample(tmp_path)[0]
    report = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.speed.pipeline",
            str(sample),
            "--limit",
            "4",
            "--repeat",
            "2",
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert "big file: 1 file(s) x 2 = 8 document records" in result.stdout
    assert re.search(r"^step +reference docs/s +finemill docs/s +ratio$", result.stdout, re.M)
    for row in bench.ROWS:
        assert any(line.startswith(row + " ") for line in lines), row
    assert re.search(r"^ratio: \d+\.\d\d$", result.stdout, re.M)
    assert re.search(r"^non-extraction ratio: \d+\.\d\d$", result.stdout, re.M)
    assert "identical: 100.0%" in lines
    assert re.search(r"^peak RSS per worker: reference [\d,]+ MB, finemill [\d,]+ MB$", result.stdout, re.M)
    assert re.search(r"^language ID: \d+\.\d s = \d+% of finemill's non-extraction time", result.stdout, re.M)
    assert re.search(r"^CPU ratio: \d+\.\d\d$", result.stdout, re.M)

    figures = json.loads(report.read_text())
    total = figures["total"]
    assert figures["repeat"] == 2 and figures["limit"] == 4
    assert total["identical"] == {
        "same": total["identical"]["union"],
        "union": total["identical"]["union"],
        "share": 1.0,
    }
    assert 0 < total["identical"]["union"] <= 4  # at most one of each pair of copies kept
    for side in ("reference", "finemill"):
        assert set(bench.ROWS) <= set(total[side]["steps"])
        assert total[side]["steps"]["read"]["docs"] == 8
        assert total[side]["wall_s"] > 0 and total[side]["peak_rss_mb"] > 0
        assert 0 < total[side]["cpu_s"] < 10 * total[side]["process_wall_s"]
    assert total["ratio"] > 0 and total["non_extraction_ratio"] > 0
