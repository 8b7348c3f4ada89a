"""`finemill stats` and example sampling on a run with a million removed documents.

The folder is written with pyarrow directly (no pipeline), 100k rows at a time. The test checks that the
counts are right and that memory stays far below the size of the removed texts: they are streamed, never
loaded. No timing is asserted (the machine may be shared); the speed is reported, not tested.
"""

from __future__ import annotations

import json
import resource
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finemill.steps.write.parquet import DOCUMENT_SCHEMA, REMOVED_SCHEMA

CHUNK = 100_000
TEXT = "word " * 60  # 300 characters: a million of them are 300 MB, far more than the memory allowed below
PLAN = {  # step -> (rows, reasons); languages only for the language step
    "language": (300_000, ["below_threshold"]),
    "gopher_quality": (
        400_000,
        [
            "gopher_short_doc",
            "gopher_below_alpha_threshold",
            "gopher_enough_stop_words",
            "gopher_too_many_hashes",
        ],
    ),
    "fineweb_quality": (200_000, ["line_punct_ratio", "short_line_ratio", "char_dup_ratio"]),
    "minhash": (100_000, ["duplicate"]),
}
LANGUAGES = ["de", "fr", "es", "ru", "zh", "ja", "it", "pt", "en"]
KEPT = 50_000


def write_removed(folder: Path, step: str, rows: int, reasons: list[str], rng) -> tuple[Counter, Counter]:
    folder.mkdir(parents=True)
    counts, languages = Counter(), Counter()
    with pq.ParquetWriter(folder / "000_00000.parquet", REMOVED_SCHEMA, compression="zstd") as writer:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            reason = np.array(reasons)[rng.integers(0, len(reasons), n)]
            language = (
                np.array(LANGUAGES)[rng.integers(0, len(LANGUAGES), n)] if step == "language" else ["en"] * n
            )
            ids = np.arange(start, start + n)
            metadata = (
                [json.dumps({"minhash_cluster_id": int(i // 4), "minhash_cluster_size": 5}) for i in ids]
                if step == "minhash"
                else ["{}"] * n
            )
            table = pa.table(
                {
                    "text": pa.array([TEXT] * n),
                    "id": pa.array(ids.astype(str)),
                    "url": pa.array([f"https://site{i % 997}.example/{i}" for i in ids]),
                    "step": pa.array([step] * n),
                    "reason": pa.array(reason),
                    "language": pa.array(language),
                    "language_score": pa.array(rng.random(n)),
                    "metadata": pa.array(metadata),
                },
                schema=REMOVED_SCHEMA,
            )
            writer.write_table(table, row_group_size=10_000)
            counts.update(reason.tolist())
            if step == "language":
                languages.update(zip(reason.tolist(), language.tolist(), strict=True))
    return counts, languages


@pytest.fixture(scope="module")
def large_run(tmp_path_factory) -> tuple[Path, dict, Counter]:
    out = tmp_path_factory.mktemp("large") / "run"
    rng = np.random.default_rng(0)
    expected, languages = {}, Counter()
    for step, (rows, reasons) in PLAN.items():
        expected[step], found = write_removed(out / "removed" / step, step, rows, reasons, rng)
        languages.update(found)
    (out / "documents").mkdir()
    kept = pa.table(
        {
            name: pa.array([value] * KEPT, type=DOCUMENT_SCHEMA.field(name).type)
            for name, value in {
                "text": TEXT,
                "id": "k",
                "dump": "CC",
                "url": "https://kept.example/",
                "date": "2024",
                "file_path": "f",
                "language": "en",
                "language_score": 0.9,
            }.items()
        },
        schema=DOCUMENT_SCHEMA,
    )
    pq.write_table(kept, out / "documents" / "00000.parquet")
    docs_in, steps = sum(rows for rows, _ in PLAN.values()) + KEPT, []
    seen = Counter(f"lang_{lang}" for _, lang in languages.elements())
    seen["lang_en"] += docs_in - PLAN["language"][0]  # everything after the language step is English
    for step, (rows, _) in PLAN.items():
        steps.append(
            {
                "name": step,
                "docs_in": docs_in,
                "docs_out": docs_in - rows,
                "removed": dict(expected[step]),
                "chars_in": docs_in * len(TEXT),
                "chars_out": (docs_in - rows) * len(TEXT),
                "time_s": 10.0,
                "docs_per_s": docs_in / 10,
                "counters": seen if step == "language" else {},
            }
        )
        docs_in -= rows
    stats = {
        "recipe": "fineweb",
        "reader": {"files": 1, "documents": steps[0]["docs_in"], "chars": 0, "skipped": {}, "time_s": 1.0},
        "steps": steps,
        "documents": {"count": KEPT, "chars": KEPT * len(TEXT)},
        "wall_time_s": 60.0,
    }
    (out / "stats.json").write_text(json.dumps(stats))
    return out, expected, languages


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def test_a_million_removed_documents_are_counted_and_sampled_by_streaming(large_run, capsys, monkeypatch):
    from finemill.cli import main
    from finemill.stats.load import open_run
    from finemill.stats.sample import sample_by_reason
    from finemill.stats.summary import summarize

    out, expected, languages = large_run
    before = peak_rss_mb()
    summary = summarize(open_run(out))
    steps = {s.name: s for s in summary.steps}
    for step, counts in expected.items():
        assert steps[step].reasons == dict(counts)
    assert (
        Counter({(r, lang): n for r, by in steps["language"].by_language.items() for lang, n in by.items()})
        == languages
    )
    assert summary.clusters.count == 25_000 and summary.clusters.sizes == {5: 25_000}
    for step in PLAN:
        groups = sample_by_reason(open_run(out).removed_files(step), 5, seed=1)
        assert {r: len(v) for r, v in groups.items()} == {r: 5 for r in expected[step]}
        assert all(e.reason == r and e.text == TEXT for r, v in groups.items() for e in v)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["stats", str(out)]) == 0
    shown = capsys.readouterr().out
    assert f"{expected['gopher_quality']['gopher_short_doc']:,}" in shown and "25,000 clusters" in shown
    # The removed texts alone are 300 MB; streaming keeps the growth of the peak far below that.
    assert peak_rss_mb() - before < 150
