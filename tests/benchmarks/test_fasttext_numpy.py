"""The numpy re-implementation of fastText's supervised prediction (benchmarks/fasttext_numpy.py, an
experiment the quality_fasttext benchmark times): fastText's own scores, bit for bit, on real documents and
on the lines where its tokenizer differs from Python's (NUL, Unicode spaces, "</s>" and label tokens,
signed-char hashing of non-ASCII bytes)."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.conftest import SHARED_DATA

CRAWL = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"
TRICKY = [
    "Café, naïve – 日本語の文章! «Quoted» text… done.",
    "tabs\tand\x0bvertical\x0cfeeds\rcarriage\x00nul, and\u00a0no-break\u3000ideographic spaces",
    "a line </s> with an end-of-sentence token, then __label__hq and __label__cc tokens",
    "zzqxj",  # one unknown word: only "</s>" and one bigram
    "first line\nsecond line is not read by fastText",
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    if not CRAWL.is_file():
        pytest.skip("../shared/data is absent")
    with gzip.open(CRAWL, "rt", encoding="utf-8") as f:
        return [row["text"] for row in map(json.loads, f) if row.get("text")]


@pytest.fixture(scope="module")
def model(tmp_path_factory, texts):
    """A tiny classifier on the real documents (long pages against short ones), loaded."""
    from finemill.classify.train import TrainSettings, train_classifier
    from finemill.steps.filters.language import load_fasttext

    folder = tmp_path_factory.mktemp("numpy_fasttext")
    ordered = sorted(texts, key=len)
    for name, part in (("long", ordered[-100:]), ("short", ordered[:100])):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in part))
    settings = TrainSettings(dim=8, bucket=20_000, epoch=1)
    train_classifier([str(folder / "long.jsonl")], [str(folder / "short.jsonl")], folder / "m.bin", settings)
    return load_fasttext(str(folder / "m.bin"))


@pytest.mark.slow  # ~3-4 s to train the tiny model, ~1 s a case
@pytest.mark.parametrize("normalisation", ["dclm", "none"])
def test_scores_equal_fasttext_predict(model, texts, normalisation):
    from benchmarks.fasttext_numpy import SupervisedPredictor, chunk_tokens, numpy_scores
    from finemill.text.classifier_text import one_line

    predictor = SupervisedPredictor.for_model(model, chunk_tokens(normalisation))
    lines = [*texts[:200], *TRICKY]
    ours = {label: numpy_scores(predictor, lines, normalisation, label) for label in model.labels}
    for i, text in enumerate(lines):
        predicted = model.f.predict(one_line(text, normalisation) + "\n", -1, 0.0, "strict")
        for probability, label in predicted:
            assert ours[label][i] == probability, (i, label, ours[label][i] - probability)
    assert len(predictor.cache) < sum(len(t.split()) for t in lines)  # chunks repeat: the cache pays


def test_hash_reads_bytes_as_signed_chars():
    from benchmarks.fasttext_numpy import fasttext_hash

    # fastText's hash sign-extends each byte >= 0x80 (and is kept as int32): not plain FNV-1a there
    assert fasttext_hash("ab") == _plain_fnv1a(b"ab")
    assert fasttext_hash("é") & 0xFFFFFFFF != _plain_fnv1a("é".encode())


def _plain_fnv1a(data: bytes) -> int:
    h = 2166136261
    for byte in data:
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h
