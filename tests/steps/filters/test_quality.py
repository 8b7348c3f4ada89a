"""finemill's Gopher, C4 and FineWeb filters decide, give reasons and rewrite text exactly as datatrove's."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import C4QualityFilter as DatatroveC4
from datatrove.pipeline.filters import FineWebQualityFilter as DatatroveFineWeb
from datatrove.pipeline.filters import GopherQualityFilter as DatatroveGopherQuality
from datatrove.pipeline.filters import GopherRepetitionFilter as DatatroveGopherRepetition
from datatrove.pipeline.filters.gopher_repetition_filter import (
    find_all_duplicate,
    find_top_duplicate,
    get_n_grams,
)

from finemill.steps.filters.fineweb_quality import FineWebQualityFilter
from finemill.steps.filters.quality import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter
from finemill.text import ngrams
from finemill.text.ngrams import NgramStats
from finemill.text.words import SpacyCompatibleTokenizer
from tests.conftest import QUICK_AND_REST, part_of, shared_file

PAIRS = {  # finemill's step (default: fast words) -> datatrove's class with its spaCy splitter
    "gopher_repetition": (GopherRepetitionFilter, DatatroveGopherRepetition, {}),
    "gopher_quality": (GopherQualityFilter, DatatroveGopherQuality, {}),
    "c4_quality": (C4QualityFilter, DatatroveC4, {"filter_no_terminal_punct": False}),
    "fineweb_quality": (FineWebQualityFilter, DatatroveFineWeb, {}),
}


def real_texts(step: int = 2) -> list[str]:
    path = shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    return [json.loads(line)["text"] for line in gzip.open(path, "rt", encoding="utf-8")][::step]


def decide(filter_, text: str) -> tuple[object, str]:
    doc = Document(text=text, id="x")
    return filter_.filter(doc), doc.text


@pytest.mark.parametrize("part", QUICK_AND_REST)
@pytest.mark.parametrize("step", sorted(PAIRS))
def test_same_decisions_reasons_and_text_on_real_documents(step, part):
    ours_cls, theirs_cls, params = PAIRS[step]
    ours, theirs = ours_cls(**params), theirs_cls(**params)
    if step == "fineweb_quality":  # datatrove's current FineWeb rules, to compare the word split alone
        ours = ours_cls(rules="datatrove")
    assert isinstance(ours.language, SpacyCompatibleTokenizer)
    texts = part_of(real_texts(), part, every=4)  # a quarter of the documents quick, the rest slow
    decisions = [decide(ours, t) for t in texts]
    assert decisions == [decide(theirs, t) for t in texts]
    assert any(d is True for d, _ in decisions) and any(d is not True for d, _ in decisions)


def test_words_spacy_brings_back_datatrove_splitter():
    assert GopherRepetitionFilter(words="spacy").language == DatatroveGopherRepetition().language


def test_ngram_stats_equal_datatrove_on_repetitive_and_tricky_words():
    texts = real_texts(step=7)
    cases = [t.split() for t in texts]
    cases += [
        ["buy", "cheap", "shoes", "now"] * 40 + ["end"],  # doorway page
        [
            "ab",
            "c",
            "x",
            "y",
            "z",
            "w",
            "a",
            "bc",
            "x",
            "y",
            "z",
            "w",
        ],  # equal only when joined without spaces
        ["same"] * 30,
        ["a", "b"],
        [],
    ]
    for words in cases:
        stats = NgramStats(words)
        for n in (2, 3, 4):
            if len(words) >= n:
                assert stats.top_duplicate(n) == find_top_duplicate(get_n_grams(words, n))
        for n in range(5, 11):
            assert stats.all_duplicates(n) == find_all_duplicate(words, n), (n, words[:20])


def test_a_hash_collision_falls_back_to_datatrove(monkeypatch):
    # every slice hashing alike: all n-grams look equal, the string check must notice and ask datatrove
    monkeypatch.setattr(
        ngrams.SliceHashes, "hashes", lambda self, starts, ends: np.zeros(len(starts), np.int64)
    )
    words = "the cat sat on the mat and the dog sat on the log while the cat sat on the mat".split()
    stats = NgramStats(words)
    assert stats.top_duplicate(2) == find_top_duplicate(get_n_grams(words, 2))
    assert stats.all_duplicates(5) == find_all_duplicate(words, 5) > 0
