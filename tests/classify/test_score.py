"""`finemill classify score` on a run folder of real documents, then what stats and inspect show of it."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finemill.classify.train import TrainSettings, train_classifier
from finemill.cli import main
from finemill.errors import FinemillError
from finemill.stats.scores import load_scores, nearest, score_lines, threshold_for_fraction
from tests.conftest import SHARED_DATA

CRAWL = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory):
    """A run folder holding 300 real documents (documents/ and a minimal stats.json), and a classifier of
    long against short pages."""
    if not CRAWL.is_file():
        pytest.skip("../shared/data is absent")
    with gzip.open(CRAWL, "rt", encoding="utf-8") as f:
        rows = [r for r in map(json.loads, f) if r.get("text")][:300]
    root = tmp_path_factory.mktemp("scored")
    out = root / "run"
    (out / "documents").mkdir(parents=True)
    table = pa.table(
        {
            "text": [r["text"] for r in rows],
            "id": [r["id"] for r in rows],
            "url": [r["metadata"].get("url") if isinstance(r.get("metadata"), dict) else None for r in rows],
        }
    )
    pq.write_table(table, out / "documents" / "00000.parquet")
    (out / "stats.json").write_text(json.dumps({"reader": {}, "steps": [], "documents": {"count": 300}}))
    ordered = sorted(table.column("text").to_pylist(), key=len)
    for name, texts in (("long", ordered[-100:]), ("short", ordered[:100])):
        (root / f"{name}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    model = root / "pages.bin"
    train_classifier(
        [str(root / "long.jsonl")], [str(root / "short.jsonl")], model, TrainSettings(dim=8, bucket=20_000)
    )
    assert main(["classify", "score", str(out), "--model", str(model)]) == 0
    return out, model


def test_scores_are_the_models_probabilities(scored_run):
    from finemill.steps.filters.quality_fasttext import QualityFastTextFilter

    out, model = scored_run
    source, ids, scores = load_scores(out)
    assert source.endswith("pages.parquet") and len(ids) == 300
    step = QualityFastTextFilter(str(model), threshold=0.5)
    texts = pq.read_table(out / "documents" / "00000.parquet").column("text").to_pylist()
    assert scores[:20].tolist() == [step.score(t) for t in texts[:20]]
    assert 0.05 < np.mean(scores >= 0.5) < 0.95


def test_stats_and_inspect_show_scores(scored_run, capsys):
    out, _ = scored_run
    lines = score_lines(out)
    _, _, scores = load_scores(out)
    assert sum(int(line.split()[3].replace(",", "")) for line in lines[1:11]) == 300  # the histogram's counts
    threshold = threshold_for_fraction(scores, 0.25)
    assert f"top 25%: >= {threshold:.4f}" in lines[11] and np.sum(scores >= threshold) >= 75
    assert main(["inspect", str(out), "--score-near", "0.5", "-n", "4", "--lines", "1"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("── score") == 4 and printed.count("(below 0.5)") == 2


def test_nearest_takes_half_below():
    ids = list("abcdef")
    scores = np.array([0.1, 0.9, 0.4, 0.6, 0.5, 0.2])
    assert nearest(ids, scores, 0.5, 4) == [("f", 0.2), ("c", 0.4), ("e", 0.5), ("d", 0.6)]
    assert [i for i, _ in nearest(ids, scores, 0.95, 2)] == ["d", "b"]  # nothing above: all from below


def test_score_errors(scored_run, tmp_path, capsys):
    out, model = scored_run
    assert main(["classify", "score", str(out), "--model", str(tmp_path / "none.bin")]) == 2
    assert "--model: not found" in capsys.readouterr().err
    assert main(["classify", "score", str(tmp_path), "--model", str(model)]) == 2
    assert "no documents in" in capsys.readouterr().err
    with pytest.raises(FinemillError, match="no scores named 'other'"):
        load_scores(out, "other")


def test_report_section(scored_run):
    from finemill.stats.scores import scores_html

    out, _ = scored_run
    section = "".join(scores_html(out, examples=2))
    _, _, scores = load_scores(out)
    assert (
        "pages.parquet, 300 documents" in section and f"{threshold_for_fraction(scores, 0.25):.4f}" in section
    )
    assert section.count("<li>") == 4 and section.count("<tr>") == 11
