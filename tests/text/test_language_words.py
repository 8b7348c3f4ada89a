"""Each language's word splitter, offline: datatrove's words where datatrove's assigned tokenizer runs."""

from __future__ import annotations

import csv

import pytest
from datatrove.utils.word_tokenizers import load_word_tokenizer

from finemill.errors import FinemillError
from finemill.text.language_words import language_words
from tests.conftest import shared_file

# languages whose spaCy class is quick to load (French's tokenizer exceptions take seconds: the real pages'
# comparison in tests/steps/filters/test_per_language.py covers it)
LANGUAGES = {"deu": "deu_Latn", "spa": "spa_Latn", "pol": "pol_Latn", "ita": "ita_Latn", "por": "por_Latn"}


def tatoeba() -> list[dict]:
    path = shared_file("lid/tatoeba/tatoeba_long.txt")
    return list(csv.DictReader(path.open(encoding="utf-8"), delimiter="\t"))


@pytest.mark.slow  # datatrove's side builds spaCy pipelines: spaCy loads every package's plugins first
@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_same_words_as_datatrove_on_tatoeba(code):
    name = LANGUAGES[code]
    ours = language_words(name)
    assert ours.how.startswith("spacy:")
    theirs = load_word_tokenizer(name)
    texts = [r["text"] for r in tatoeba() if r["Tatoeba-iso-639-3"] == code]
    texts.append("\n".join(texts))  # the sentences as one document, with its newlines
    assert len(texts) > 2
    assert [ours.splitter.word_tokenize(t) for t in texts] == [theirs.word_tokenize(t) for t in texts]


@pytest.mark.slow
def test_whitespace_fallback_is_datatrove_whitespace_tokenizer():
    from datatrove.utils.word_tokenizers import WhitespaceTokenizer

    fallback = language_words("ace_Arab")  # datatrove assigns it its whitespace tokenizer
    assert fallback.how == "whitespace"
    texts = [r["text"] for r in tatoeba()][::9]
    assert [fallback.splitter.word_tokenize(t) for t in texts] == [
        WhitespaceTokenizer().word_tokenize(t) for t in texts
    ]


def test_a_tokenizer_needing_a_package_names_it():
    missing = language_words("kor_Hang")
    if missing.how != "whitespace":
        pytest.skip("kiwipiepy is installed")
    assert missing.missing == "pip install kiwipiepy"
    with pytest.raises(FinemillError, match=r"^language kor_Hang: .*KiwiTokenizer.*pip install kiwipiepy$"):
        language_words("kor_Hang", strict=True)
