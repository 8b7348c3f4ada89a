"""The language filter decides from fastText's best label (k=1): the same labels, scores and decisions as
datatrove's LanguageFilter (k=-1, every label) on real documents, for the recipes' thresholds and below."""

from __future__ import annotations

import csv
import gzip
import json

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import LanguageFilter

from finemill.steps.filters.language import (
    SCORE_SUM_SLACK,
    FastTextLanguageFilter,
    LocalFT176LID,
    find_lid_model,
    load_fasttext,
)
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def real_texts() -> list[str]:
    """Web pages (extracted text of CC-MAIN-2019-30, article bodies of real pages) and Tatoeba sentences in
    many languages: long and short, clear and mixed."""
    with gzip.open(shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz"), "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    pages = json.loads(shared_file("extraction/aeb_ground_truth.json").read_text(encoding="utf-8"))
    texts += [page["articleBody"] for page in pages.values() if page.get("articleBody")]
    with shared_file("lid/tatoeba/tatoeba_long.txt").open(encoding="utf-8") as f:
        texts += [row["text"] for row in csv.DictReader(f, delimiter="\t")]
    return texts


def doc(text: str) -> Document:
    return Document(text=text, id="x", metadata={})


def datatrove_filter(languages: list[str] | None, threshold: float) -> LanguageFilter:
    """datatrove's own filter (k=-1), with the same local model file."""
    reference = LanguageFilter(languages=languages, language_threshold=threshold)
    reference.model = LocalFT176LID(languages, find_lid_model())
    return reference


def test_best_label_and_score_are_bit_identical_and_scores_sum_to_about_one(real_texts):
    model = load_fasttext(find_lid_model())
    for text in real_texts:
        line = text.replace("\n", " ")
        labels, scores = model.predict(line, k=-1)
        top_label, top_score = model.predict(line, k=1)
        assert (top_label[0], top_score[0]) == (labels[0], scores[0])
        assert scores.sum() <= 1 + SCORE_SUM_SLACK / 10  # the slack is ten times the largest sum seen
        assert (scores > 0.5).sum() <= 1  # at most one label can pass a threshold of 0.5 or more


@pytest.mark.parametrize(
    "languages, threshold",
    [
        (["en"], 0.65),  # FineWeb
        (["en"], 0.2),  # below 0.5: some documents need every label's score
        pytest.param(["de", "fr"], 0.65, marks=pytest.mark.slow),  # ~8 s each on 2 busy cores
        pytest.param(None, 0.65, marks=pytest.mark.slow),
        pytest.param(["en"], 0.5, marks=pytest.mark.slow),
        pytest.param(["es", "pt"], 0.3, marks=pytest.mark.slow),
    ],
)
def test_decisions_and_metadata_match_datatrove(real_texts, languages, threshold):
    ours, reference = FastTextLanguageFilter(languages, threshold), datatrove_filter(languages, threshold)
    fallbacks = 0
    predict_all = ours.model.predict

    def counting_predict(document):
        nonlocal fallbacks
        fallbacks += 1
        return predict_all(document)

    ours.model.predict = counting_predict
    kept = 0
    for text in real_texts:
        a, b = doc(text), doc(text)
        decision, expected = ours.filter(a), reference.filter(b)
        assert (decision is True) == bool(expected), text[:200]
        assert decision is True or decision == (False, "below_threshold")
        assert a.metadata == b.metadata  # language and language_score, bit for bit
        kept += decision is True
    assert 0 < kept < len(real_texts)  # both outcomes are exercised
    if threshold > 0.5 + SCORE_SUM_SLACK / 2 or languages is None:
        assert fallbacks == 0  # the best label alone decides every document
    if threshold < 0.5 and languages:
        assert fallbacks > 0  # the band where every label's score is needed is exercised


def test_inspect_shows_the_listed_language_score_of_a_document_in_another_language():
    """The displayed check keeps datatrove's every-label scores: a German text shows its (small, non-zero)
    English score, which a k=1 prediction would not know."""
    text = "Der schnelle braune Fuchs springt über den faulen Hund und läuft dann weiter in den Wald."
    ours = FastTextLanguageFilter(["en"], 0.65)
    (check,) = list(ours.checks(doc(text)))
    _, expected = datatrove_filter(["en"], 0.65).model.predict(doc(text))
    assert check.label == "score of en" and check.value == expected["en"] and 0 < check.value < 0.65
    assert check.removes and ours.filter(doc(text)) == (False, "below_threshold")
