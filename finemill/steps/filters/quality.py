"""datatrove's Gopher and C4 quality filters with finemill's word splitter, and a vectorized Gopher repetition.

The rules and thresholds are datatrove's (= the papers'); only how words are split and n-grams counted
changes, with identical results (`tests/test_quality.py` checks keep/drop, reasons and texts on real pages).
`words: spacy` in a recipe step brings back datatrove's own splitter.
"""

from __future__ import annotations

from typing import Literal

from datatrove.data import Document
from datatrove.pipeline.filters import C4QualityFilter as DatatroveC4QualityFilter
from datatrove.pipeline.filters import GopherQualityFilter as DatatroveGopherQualityFilter
from datatrove.pipeline.filters import GopherRepetitionFilter as DatatroveGopherRepetitionFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import split_into_words
from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer, load_word_tokenizer

from finemill.text.ngrams import NgramStats
from finemill.text.words import SpacyCompatibleTokenizer

WordSplitter = Literal["fast", "spacy"]


def word_splitter(words: WordSplitter, language: str) -> str | WordTokenizer:
    """What datatrove's `split_into_words(text, language)` should get: for English, where datatrove splits with
    spaCy, the memoized spaCy-compatible splitter (English is what it is checked on); else the language, i.e.
    datatrove's own splitter."""
    if words == "fast":
        splitter = load_word_tokenizer(language)
        if isinstance(splitter, SpaCyTokenizer) and splitter.language == "en":
            return SpacyCompatibleTokenizer("en")
    return language


class FastWords:
    """Mixin: a `words` setting choosing the word splitter of a datatrove filter that splits words."""

    def __init__(self, words: WordSplitter = "fast", **kwargs) -> None:
        super().__init__(**kwargs)
        self.words = words
        self.language = word_splitter(words, self.language)


class GopherQualityFilter(FastWords, DatatroveGopherQualityFilter):
    """Gopher's quality rules (word counts and lengths, symbols, bullets, stop words), datatrove's defaults."""


class C4QualityFilter(FastWords, DatatroveC4QualityFilter):
    """C4's rules (lorem ipsum, curly brackets, javascript and policy lines, sentences), datatrove's defaults."""


class GopherRepetitionFilter(FastWords, DatatroveGopherRepetitionFilter):
    """Gopher's repetition rules (Rae et al. 2021, table A1), with the n-gram measures of `NgramStats`."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not text:
            return False, "empty"
        paragraphs = self.paragraph_exp.split(text.strip())
        reason = self._duplicated_parts(paragraphs, len(text), self.dup_para_frac, self.dup_para_char_frac, "para")
        if reason:
            return False, reason
        lines = self._line_splitter.split(text)
        reason = self._duplicated_parts(lines, len(text), self.dup_line_frac, self.dup_line_char_frac, "line")
        if reason:
            return False, reason
        words = split_into_words(text, self.language)
        ngrams = NgramStats(words)
        for n, n_frac in self.top_n_grams:
            if len(words) >= n and ngrams.top_duplicate(n) / len(text) > n_frac:
                return False, f"top_{n}_gram"
        for n, n_frac in self.dup_n_grams:
            if ngrams.all_duplicates(n) / len(text) > n_frac:
                return False, f"duplicated_{n}_n_grams"
        return True

    @staticmethod
    def _duplicated_parts(parts: list[str], chars: int, frac: float | None, char_frac: float | None,
                          kind: str) -> str | None:
        """datatrove's duplicated paragraph/line checks, in its order: share of parts, then of characters."""
        duplicates, duplicate_chars = find_duplicates(parts)
        if frac and duplicates / len(parts) > frac:
            return f"dup_{kind}_frac"
        if char_frac and duplicate_chars / chars > char_frac:
            return f"dup_{kind}_char_frac"
        return None
