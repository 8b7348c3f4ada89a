"""The classifier's text normalisation (DCLM's, from its description) and the fast form the step feeds
fastText: the same tokens on real documents and on the edge cases."""

from __future__ import annotations

import gzip
import json

import pytest

from finemill.text.classifier_text import normalise, one_line, spaced_line
from tests.conftest import SHARED_DATA

CRAWL = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"


def test_normalise_lowercases_splits_punctuation_collapses_whitespace():
    assert normalise("Hello, World!\n\n  Bye…\tIt's 3.5") == "hello , world ! bye … it ' s 3 . 5"
    assert normalise("A\u00a0B\u3000C") == "a b c"  # Unicode spaces are whitespace too
    assert normalise(" \n ") == ""


@pytest.mark.parametrize(
    "text", ["", "a", "«Quoted» — text.", "x\u2028y\u00a0z", "emoji 🙂, tabs\t\tand\r\n"]
)
def test_spaced_line_has_normalise_tokens(text):
    assert spaced_line(text).split() == normalise(text).split()
    assert "\n" not in spaced_line(text)


def test_spaced_line_on_real_documents():
    if not CRAWL.is_file():
        pytest.skip("../shared/data is absent")
    with gzip.open(CRAWL, "rt", encoding="utf-8") as f:
        texts = [row["text"] for row in map(json.loads, f)]
    assert all(spaced_line(t).split() == normalise(t).split() for t in texts)
    assert one_line("a\nb ", "none") == "a b" and one_line("a\nb", "none", "") == "ab"  # datatrove's way
