"""quality_hf on a tiny BERT made here with random weights and a word-level vocabulary written here: batched
and truncated scores equal one-at-a-time scores, FineWeb-Edu's int_score, the classification head, and the
one-line errors on bad models."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from finemill.errors import FinemillError
from tests.conftest import SHARED_DATA

CRAWL = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"


def real_texts(n: int) -> list[str]:
    import gzip

    if not CRAWL.is_file():
        pytest.skip("../shared/data is absent")
    with gzip.open(CRAWL, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(n), f, strict=False)]


def tiny_bert(folder, texts: list[str], num_labels: int, positions: int = 64):
    """A 2-layer BERT of width 32 with random weights, and a word-level vocabulary of the texts' words."""
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    counts = Counter(w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower()))
    words = sorted(w for w, _ in counts.most_common(3000))
    vocab = folder / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n", encoding="utf-8"
    )
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(vocab), model_max_length=positions)
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=positions,
        num_labels=num_labels,
        id2label={i: name for i, name in enumerate(["low", "mid", "high"][:num_labels])}
        if num_labels > 1
        else None,
    )
    if num_labels == 1:
        config.problem_type = "regression"
    model = transformers.BertForSequenceClassification(config)
    model.eval()
    with torch.no_grad():  # random weights give near-equal logits: spread them over FineWeb-Edu's 0-5 range
        logits = torch.cat(
            [model(**tokenizer(t, truncation=True, return_tensors="pt")).logits for t in texts]
        )
        mean, std = logits.mean(dim=0), logits.std(dim=0)
        model.classifier.weight.mul_((1.5 / std)[:, None])
        model.classifier.bias.copy_((model.classifier.bias - mean) * 1.5 / std + 2.5)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return real_texts(40)


@pytest.fixture(scope="module")
def regression_model(tmp_path_factory, texts):
    return tiny_bert(tmp_path_factory.mktemp("edu"), texts, 1)


def docs(texts: list[str]):
    from datatrove.data import Document

    return [Document(text=t, id=str(i)) for i, t in enumerate(texts)]


@pytest.mark.slow  # transformers' import and two tiny models: ~10 s on a loaded machine
def test_batched_truncated_scores_equal_one_at_a_time(regression_model, texts):
    from finemill.steps.filters.quality_hf import QualityHFFilter

    step = QualityHFFilter(str(regression_model), batch_tokens=256, device="cpu", threads=1)
    assert step.window == 64
    batch = docs(texts)
    decisions = step.filter_batch(batch)
    alone = [step.score_texts([t])[0] for t in texts]
    batched = [d.metadata["quality_score"] for d in batch]
    # float32 sums in another order: equal to ~1e-4 of the scores' spread (the head is scaled up to spread them)
    assert batched == pytest.approx(alone, abs=2e-3)
    near_boundary = [abs(s % 1 - 0.5) < 2e-3 for s in alone]
    assert [round(s) for s, n in zip(batched, near_boundary, strict=True) if not n] == [
        round(s) for s, n in zip(alone, near_boundary, strict=True) if not n
    ]
    assert len(set(round(s, 3) for s in batched)) >= 5  # the texts are told apart
    for doc, kept in zip(batch, decisions, strict=True):
        score = doc.metadata["quality_score"]
        assert doc.metadata["int_score"] == int(round(max(0, min(score, 5))))
        assert (kept is True) == (doc.metadata["int_score"] >= 3)
    assert 0 < sum(k is True for k in decisions) < len(batch)
    assert step.stats["truncated"].total >= sum(len(t.split()) > 64 for t in texts) > 0


@pytest.mark.slow
def test_classification_head_keeps_labels(tmp_path, texts):
    from finemill.steps.filters.quality_hf import QualityHFFilter

    folder = tiny_bert(tmp_path, texts[:10], 3)
    step = QualityHFFilter(str(folder), keep_labels=["high"], min_probability=0.4, device="cpu")
    batch = docs(texts[:10])
    decisions = step.filter_batch(batch)
    import torch

    probabilities = torch.softmax(_logits(folder, texts[:10]), dim=-1)[:, 2].tolist()
    # the head is scaled up to spread the random model's outputs: float rounding grows with it
    assert [d.metadata["quality_score"] for d in batch] == pytest.approx(probabilities, abs=1e-3)
    assert [k is True for k, p in zip(decisions, probabilities, strict=True) if abs(p - 0.4) > 1e-3] == [
        p >= 0.4 for p in probabilities if abs(p - 0.4) > 1e-3
    ]


def _logits(folder, texts):
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        return torch.cat([model(**tokenizer(t, truncation=True, return_tensors="pt")).logits for t in texts])


def test_bad_models_are_one_line_errors(tmp_path):
    from finemill.steps.filters.quality_hf import QualityHFFilter

    with pytest.raises(FinemillError, match="no transformers model folder"):
        QualityHFFilter(str(tmp_path / "missing"))
    (tmp_path / "config.json").write_text(json.dumps({"num_labels": 1}))
    with pytest.raises(FinemillError, match="regression head"):  # the wrong head for keep_labels
        QualityHFFilter(str(tmp_path), keep_labels=["high"])
    (tmp_path / "config.json").write_text(json.dumps({"num_labels": 3}))
    with pytest.raises(FinemillError, match="3-label head"):
        QualityHFFilter(str(tmp_path))
    with pytest.raises(FinemillError, match="unknown: \\['top'\\]"):
        QualityHFFilter(str(tmp_path), keep_labels=["top"])
