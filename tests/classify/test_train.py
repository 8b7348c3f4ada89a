"""`finemill classify train`: metrics on a separable toy set, the model card, and one-line errors on bad
sources."""

from __future__ import annotations

import json
import random

import pytest

from finemill.classify.metrics import precision_recall, roc_auc
from finemill.classify.train import TrainSettings, train_classifier
from finemill.cli import main
from finemill.errors import FinemillError

SCIENCE = "photosynthesis converts light energy into chemical energy stored in glucose molecules".split()
SPAM = "click here now buy cheap deals free shipping best price limited offer today".split()


def write_jsonl(path, texts: list[str]) -> str:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def toy_sources(tmp_path_factory) -> tuple[str, str]:
    """Two classes with disjoint vocabularies, 120 documents each."""
    rng = random.Random(0)
    folder = tmp_path_factory.mktemp("toy")

    def docs(words: list[str]) -> list[str]:
        return [" ".join(rng.choice(words) for _ in range(30)).capitalize() + "." for _ in range(120)]

    return write_jsonl(folder / "pos.jsonl", docs(SCIENCE)), write_jsonl(folder / "neg.jsonl", docs(SPAM))


def test_separable_toy_set_is_separated(toy_sources, tmp_path):
    model = tmp_path / "toy.bin"
    card = train_classifier([toy_sources[0]], [toy_sources[1]], model, TrainSettings(dim=8, bucket=10_000))
    metrics = card["metrics"]
    assert (metrics["heldout_positive"], metrics["heldout_negative"]) == (12, 12)
    assert metrics["precision"] == metrics["recall"] == metrics["roc_auc"] == 1.0
    written = json.loads((tmp_path / "toy.card.json").read_text())
    assert written["normalisation"] == "dclm" and written["settings"]["word_ngrams"] == 2
    assert written["documents"] == {"hq": 120, "cc": 120}
    assert "ROC AUC 1.0" in (tmp_path / "toy.card.md").read_text()


def test_metrics_against_hand_counts():
    scores = [0.9, 0.8, 0.8, 0.3, 0.6, 0.1]
    positive = [True, True, False, True, False, False]
    assert precision_recall(scores, positive, 0.5) == (2 / 4, 2 / 3)
    # pairs (positive above negative) of 9: 0.9 beats 3, 0.8 beats 2 and ties 1, 0.3 beats 1
    assert roc_auc(scores, positive) == pytest.approx((3 + 2.5 + 1) / 9)


def test_cli_prints_metrics(toy_sources, tmp_path, capsys):
    out = tmp_path / "m.bin"
    args = ["classify", "train", "--positive", toy_sources[0], "--negative", toy_sources[1]]
    assert main([*args, "--output", str(out), "--dim", "8", "--bucket", "10000"]) == 0
    printed = capsys.readouterr().out
    assert "precision 1.0  recall 1.0" in printed and "ROC AUC 1.0" in printed
    assert out.is_file()


def test_bad_sources_are_one_line_errors(toy_sources, tmp_path):
    empty = write_jsonl(tmp_path / "empty.jsonl", ["", "   "])
    settings = TrainSettings(dim=8, bucket=10_000)
    with pytest.raises(FinemillError, match="--positive: 0 non-empty document"):
        train_classifier([empty], [toy_sources[1]], tmp_path / "m.bin", settings)
    with pytest.raises(FinemillError, match="source not found"):
        train_classifier([str(tmp_path / "nope.jsonl")], [toy_sources[1]], tmp_path / "m.bin", settings)
    with pytest.raises(FinemillError, match="no --negative source"):
        train_classifier([toy_sources[0]], [], tmp_path / "m.bin", settings)
    (tmp_path / "bad.jsonl").write_text('{"body": "x"}\n')
    with pytest.raises(FinemillError, match="no `text` field"):
        train_classifier([str(tmp_path / "bad.jsonl")], [toy_sources[1]], tmp_path / "m.bin", settings)
