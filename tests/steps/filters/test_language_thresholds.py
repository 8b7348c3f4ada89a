"""The language step of the FineWeb-2 recipe: every language above its own threshold, lid.176 or GlotLID."""

from __future__ import annotations

import csv

import pytest
from datatrove.data import Document

from finemill.steps.filters.language import FastTextLanguageFilter
from tests.conftest import shared_file


def test_thresholds_follow_the_model_labels_and_the_recipe():
    step = FastTextLanguageFilter(languages=None, language_settings="fineweb2", thresholds={"de": 0.9})
    assert step.threshold_for("fr") == 0.65  # lid.176: FineWeb's threshold
    assert step.threshold_for("fra_Latn") == 0.824  # GlotLID: FineWeb-2's language_score
    assert step.threshold_for("xyz_Latn") == 0.65  # a GlotLID language without settings
    assert step.threshold_for("de") == 0.9  # the recipe's own


@pytest.fixture(scope="module")
def glotlid_like_model(tmp_path_factory):
    """A small fastText model trained here on Tatoeba's sentences with GlotLID's labels (iso3_Script): the
    real GlotLID model is a download."""
    import fasttext

    rows = list(
        csv.DictReader(shared_file("lid/tatoeba/tatoeba_long.txt").open(encoding="utf-8"), delimiter="\t")
    )
    labels = {"fra": "fra_Latn", "deu": "deu_Latn", "spa": "spa_Latn", "rus": "rus_Cyrl"}
    train = tmp_path_factory.mktemp("glotlid") / "train.txt"
    train.write_text(
        "".join(
            f"__label__{labels[r['Tatoeba-iso-639-3']]} {r['text']}\n"
            for r in rows
            if r["Tatoeba-iso-639-3"] in labels
        )
        * 20,
        encoding="utf-8",
    )
    model = fasttext.train_supervised(
        str(train), epoch=5, minn=2, maxn=4, dim=16, verbose=0, seed=1, thread=1
    )
    path = train.with_name("model.bin")
    model.save_model(str(path))
    return str(path), [r for r in rows if r["Tatoeba-iso-639-3"] in labels]


def test_glotlid_labels_name_the_script_and_get_their_language_threshold(glotlid_like_model):
    path, rows = glotlid_like_model
    step = FastTextLanguageFilter(languages=None, model=path, language_settings="fineweb2")
    seen = set()
    for row in rows:
        doc = Document(text=row["text"], id="x")
        kept = step.filter(doc) is True
        language, score = doc.metadata["language"], doc.metadata["language_score"]
        seen.add(language)
        assert kept == (score > step.threshold_for(language))
    assert {"fra_Latn", "deu_Latn"} <= seen
