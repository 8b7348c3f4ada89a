"""The spaCy-compatible word splitter gives datatrove's spaCy splits, words and sentences, exactly."""

from __future__ import annotations

import gzip
import json
import pickle
import random

import pytest
from datatrove.pipeline.filters.c4_filters import CITATION_REGEX
from datatrove.utils.text import split_into_sentences
from datatrove.utils.word_tokenizers import SpaCyTokenizer

from finemill.text.words import SpacyCompatibleTokenizer
from tests.conftest import QUICK_AND_REST, part_of, shared_file

EDGE_CASES = [
    "",
    " ",
    "\n",
    "  two  spaces  ",
    "\n\nHello world.\n\n",
    " leading",
    "trailing ",
    "a\u00a0b\u2003c",
    "I can't do it :) really.",
    "e.g. this (a.m.) test at 5p.m. sharp",
    "Mr. Smith went to Washington. He left!",
    "\t\ttab\tstart",
    "a .  b",
    "...",
    "\u201cQuoted.\u201d Next one",
    "U.S.A. is big. Yes.",
    # emoticons split across a space: spaCy's special-case matcher reads the two runs together
    "[ :*, next",
    "x: ) y",
    "end. O.O wow",
    ":-) :-( ;-) (-: 8-)",
    "She said :P then left.",
    "datatrove's work-around: IS_ALPHA inside a text",
    "http://example.com/a?b=c. Next sentence",
]


def random_punctuation_strings(count: int) -> list[str]:
    rng = random.Random(0)
    chars = list(" \n\t.,:;!?'\"()[]{}-\u2013\u2014\u2026abcXYZOoPD0138@#$%&*/\\\u00a0\u2003")
    return ["".join(rng.choice(chars) for _ in range(rng.randint(1, 60))) for _ in range(count)]


def assert_same_splits(texts: list[str]) -> None:
    spacy, fast = SpaCyTokenizer("en"), SpacyCompatibleTokenizer("en")
    for text in texts:
        assert fast.word_tokenize(text) == spacy.word_tokenize(text), text[:200]
        assert fast.span_tokenize(text) == spacy.span_tokenize(text), text[:200]
        assert fast.sent_tokenize(text) == spacy.sent_tokenize(text), text[:200]
        assert fast.sentence_count(text) == len(split_into_sentences(text, spacy)), text[:200]


def test_edge_cases_and_adversarial_punctuation_split_as_spacy_does():
    assert_same_splits(EDGE_CASES + random_punctuation_strings(1000))


def test_every_special_case_alone_spelled_out_and_among_neighbours():
    # spaCy's special cases (contractions, abbreviations, emoticons): whole, split into characters, glued to
    # neighbours and to each other
    rules = list(SpaCyTokenizer("en").tokenizer.tokenizer.rules)
    texts = [" ".join(rules)]
    for rule in rules:
        texts += [rule, " ".join(rule), f"x {rule} y", rule + rule, f"({rule})"]
    spacy, fast = SpaCyTokenizer("en"), SpacyCompatibleTokenizer("en")
    assert [fast.word_tokenize(t) for t in texts] == [spacy.word_tokenize(t) for t in texts]


@pytest.mark.parametrize("part", QUICK_AND_REST)
def test_real_documents_split_as_spacy_does_whole_and_line_by_line(part):
    path = shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    texts = [json.loads(line)["text"] for line in gzip.open(path, "rt", encoding="utf-8")]
    lines = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    assert len(texts) == 697
    assert_same_splits(part_of(texts + lines[:1000], part))  # C4 counts sentences line by line


@pytest.mark.parametrize("part", QUICK_AND_REST)
def test_sentence_counts_of_every_c4_line_of_real_documents_as_datatrove_counts(part):
    # C4 counts the sentences of each kept line (stripped, citations removed) with datatrove's
    # split_into_sentences; finemill counts them run by run where the runs are joined by single spaces
    path = shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    texts = [json.loads(line)["text"] for line in gzip.open(path, "rt", encoding="utf-8")]
    # every other document (~10 s of spaCy); tests/steps/filters/test_quality.py runs C4 on all of them
    lines = [CITATION_REGEX.sub("", line.strip()) for text in texts[::2] for line in text.splitlines()]
    assert len(lines) > 10_000
    lines = part_of(lines, part) + [
        "e[1] . x",
        "Hi.  ",
        "a.  b",
        "x\u00a0y. z",
        ". . .",
        "Mr. Smith. He left!",
    ]
    spacy, fast = SpaCyTokenizer("en"), SpacyCompatibleTokenizer("en")
    assert [fast.sentence_count(t) for t in lines] == [len(split_into_sentences(t, spacy)) for t in lines]


def test_instances_are_interchangeable_after_pickling():
    fast = SpacyCompatibleTokenizer("en")
    fast.word_tokenize("Warm the cache, please.")
    copy = pickle.loads(pickle.dumps(fast))
    # equal and hash-equal: datatrove's split_into_words cache is shared by all filters of a process
    assert copy == fast and hash(copy) == hash(fast)
    assert copy.word_tokenize("Warm the cache, please.") == ["Warm", "the", "cache", ",", "please", "."]
    assert len(pickle.dumps(fast)) < 200  # no spaCy pipeline or cache travels to the workers


def test_cache_is_bounded_and_stays_correct():
    fast = SpacyCompatibleTokenizer("en", max_cached_runs=3)
    fast._runs = {}  # a private cache for this test
    # the third text needs the cache emptied while it holds one of the text's own runs ("four")
    for text in ["one two three", "four five six seven", "four eight nine", "eight nine", "one two three"]:
        assert fast.word_tokenize(text) == text.split()
        assert len(fast._runs) <= 4
        assert fast.sentence_count(text) == 1
