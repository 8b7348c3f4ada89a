"""The extraction benchmark's metrics, and both extraction steps on a few real labelled pages."""

from __future__ import annotations

import pytest

from benchmarks.quality.extraction import (
    AEB,
    TRAFILATURA_EVAL,
    load_pages,
    recipe_extractor,
    run_extractor,
    score,
    snippet_hits,
    word_prf,
    words,
)
from tests.conftest import shared_file


def test_words_are_lower_cased_and_split_at_whitespace_and_punctuation():
    assert words("Hello, World!\nIt's 2024 -- naïve café.") == [
        "hello",
        "world",
        "it",
        "s",
        "2024",
        "naïve",
        "café",
    ]


def test_word_prf_compares_bags_of_words():
    truth = "the council met on monday"
    assert word_prf("The council met, on Monday.", truth) == (1.0, 1.0, 1.0)
    # Five extra words: half of the extraction is right, all of the truth is found.
    extra = word_prf(truth + " home news about contact login", truth)
    assert extra.precision == 0.5 and extra.recall == 1.0 and extra.f1 == pytest.approx(2 / 3)
    # A word matches as often as it occurs on both sides, not more.
    repeated = word_prf("met met met", truth)
    assert repeated.precision == pytest.approx(1 / 3) and repeated.recall == pytest.approx(1 / 5)
    assert word_prf("", truth) == (0.0, 0.0, 0.0)
    assert word_prf("nothing in common", truth).f1 == 0.0


def test_snippets_are_found_across_line_breaks():
    text = "First paragraph.\n\nThe council  met\non Monday.\nImprint"
    assert snippet_hits(text, ["The council met on Monday.", "missing"], ["Imprint", "Cookie policy"]) == (
        1,
        1,
    )


@pytest.fixture(scope="module")
def real_pages():
    data = shared_file("extraction/real_pages_aeb_trafilatura.warc.gz").parent
    return load_pages(data, limit=8)


@pytest.mark.parametrize("name", ["trafilatura", "resiliparse"])
def test_both_extraction_steps_find_the_article_on_real_pages(real_pages, name):
    assert {p.dataset for p in real_pages} == {AEB, TRAFILATURA_EVAL}
    result = run_extractor(recipe_extractor(name), real_pages)
    scores = score(result, real_pages)
    assert scores["aeb_pages"] == 8 and scores["errors"] == 0
    # Sane floors, far below what either extractor reaches on the full set (see README): a broken step,
    # setting or decoding (empty or whole-page extractions) falls below them.
    assert scores["aeb_f1"] > 0.7 and scores["aeb_precision"] > 0.6 and scores["aeb_recall"] > 0.7
    assert scores["with_found"] > 0.6 and scores["without_absent"] > 0.5
