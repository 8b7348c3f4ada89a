"""quality_fasttext on real documents: the same decisions as datatrove's FastTextClassifierFilter with the same
model, top_fraction's calibration, and one-line errors on bad settings."""

from __future__ import annotations

import gzip
import json
import math
import pickle

import pytest
from datatrove.data import Document

from finemill.errors import FinemillError
from tests.conftest import SHARED_DATA

CRAWL = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"


@pytest.fixture(scope="module")
def real_texts() -> list[str]:
    if not CRAWL.is_file():
        pytest.skip("../shared/data is absent")
    with gzip.open(CRAWL, "rt", encoding="utf-8") as f:
        return [row["text"] for row in map(json.loads, f) if row.get("text")]


@pytest.fixture(scope="module")
def model(tmp_path_factory, real_texts) -> str:
    """A small classifier trained here: long pages (positive) against short ones (negative), so its scores
    spread over (0, 1) on the real documents."""
    from finemill.classify.train import TrainSettings, train_classifier

    folder = tmp_path_factory.mktemp("classifier")
    ordered = sorted(real_texts, key=len)
    for name, texts in (("long", ordered[-200:]), ("short", ordered[:200])):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    path = folder / "model.bin"
    settings = TrainSettings(dim=8, bucket=50_000, epoch=3)
    train_classifier([str(folder / "long.jsonl")], [str(folder / "short.jsonl")], path, settings)
    return str(path)


@pytest.mark.parametrize("normalisation", ["dclm", "none"])
def test_decisions_equal_datatrove(model, real_texts, normalisation):
    from datatrove.pipeline.filters.fasttext_filter import FastTextClassifierFilter

    from finemill.steps.filters.quality_fasttext import QualityFastTextFilter
    from finemill.text.classifier_text import normalise

    ours = QualityFastTextFilter(model, threshold=0.5, normalisation=normalisation)
    theirs = FastTextClassifierFilter(model, keep_labels=("hq", 0.5), newline_replacement=" ")
    theirs._model = ours.model  # the same file, without datatrove's copy into its cache
    prepare = normalise if normalisation == "dclm" else (lambda t: t)
    texts = [*real_texts, "", "  \n "]  # empty documents: removed by both
    kept = [ours.filter(Document(text=t, id=str(i))) is True for i, t in enumerate(texts)]
    expected = []
    for i, text in enumerate(texts):
        doc = Document(text=prepare(text), id=str(i))
        expected.append(theirs.filter(doc))
        if text.strip():
            assert doc.metadata["__label__hq"] == pytest.approx(ours.score(text), abs=0), i
    assert kept == expected
    assert 0.1 < sum(kept) / len(kept) < 0.9  # the threshold cuts through the real documents


def test_top_fraction_calibrates_on_the_first_documents(model, real_texts):
    from finemill.steps.filters.quality_fasttext import QualityFastTextFilter

    step = QualityFastTextFilter(model, top_fraction=0.25, calibration_docs=200)
    assert step.batch_size == 200
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(real_texts)]
    results = step.filter_batch(docs[:200]) + step.filter_batch(docs[200:])
    first = sorted((d.metadata["quality_score"] for d in docs[:200]), reverse=True)
    assert step.task_threshold == first[math.ceil(0.25 * 200) - 1]
    assert sum(r is True for r in results[:200]) == sum(s >= step.task_threshold for s in first) >= 50
    assert all(
        (r is True) == (d.metadata["quality_score"] >= step.task_threshold)
        for r, d in zip(results, docs, strict=True)
    )
    removed = [d for r, d in zip(results, docs, strict=True) if r is not True]
    assert all(d.metadata["quality_threshold"] == step.task_threshold for d in removed)
    assert step.stats["calibrated_tasks"].total == 1
    copy = pickle.loads(pickle.dumps(step))  # to a Ray or Slurm worker, after use too: without the model
    assert copy._model is None and copy.score(real_texts[0]) == step.score(real_texts[0])


def test_bad_settings_are_one_line_errors(model, tmp_path):
    from finemill.steps.filters.quality_fasttext import QualityFastTextFilter

    with pytest.raises(FinemillError, match="no fastText model file"):
        QualityFastTextFilter(str(tmp_path / "missing.bin"), threshold=0.5)
    with pytest.raises(FinemillError, match="one of `threshold` or `top_fraction`"):
        QualityFastTextFilter(model)
    with pytest.raises(FinemillError, match="top_fraction must be in"):
        QualityFastTextFilter(model, top_fraction=1.5)
    with pytest.raises(FinemillError, match="'nope' is not a label"):
        QualityFastTextFilter(model, label="nope", threshold=0.5).score("some text")


def test_in_a_run(model, tmp_path, capsys, monkeypatch):
    """A recipe with the step on real text: scores in documents/, removals with their scores in removed/,
    the calibrated threshold and the classifier's sources in stats.json, inspect comparing the two."""
    import pyarrow.parquet as pq

    from finemill.cli import main

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: classified\nsteps:\n"
        f"  - quality_fasttext: {{model: {model}, top_fraction: 0.4, calibration_docs: 300}}\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(recipe), "--input", str(CRAWL), "--output", str(out)]) == 0
    stats = json.loads((out / "stats.json").read_text())
    step = stats["steps"][0]
    threshold = step["counters"]["calibrated_threshold_mean"]
    assert stats["classifiers"]["quality_fasttext"]["sources"]["positive"][0].endswith("long.jsonl")
    kept = pq.read_table(out / "documents").to_pylist()
    assert len(kept) == step["docs_out"] > 0 and all(row["quality_score"] >= threshold for row in kept)
    removed = pq.read_table(out / "removed" / "quality_fasttext").to_pylist()
    assert {row["reason"] for row in removed} == {"low_quality_score"}
    assert all(json.loads(row["metadata"])["quality_score"] < threshold for row in removed)
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["inspect", str(out), "--step", "quality_fasttext", "-n", "1"]) == 0
    shown = capsys.readouterr().out
    assert "P(hq): 0." in shown and f"< {threshold:.3f}".rstrip("0") in shown and "(threshold)" in shown
