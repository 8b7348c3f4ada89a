"""datatrove's Gopher and C4 quality filters with finemill's word splitter, and a vectorized Gopher repetition.

The rules and thresholds are datatrove's (= the papers'); only how words are split and n-grams counted
changes, with identical results (`tests/steps/filters/test_quality.py` checks keep/drop, reasons and texts on real pages).
`words: spacy` in a recipe step brings back datatrove's own splitter.

Each filter states its rules once, as `checks(doc)` (see `finemill.steps.filters.checks`): the decision is
the first check that removes, and `finemill inspect` shows the same checks' numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import ClassVar, Literal

from datatrove.data import Document
from datatrove.pipeline.filters import C4QualityFilter as DatatroveC4QualityFilter
from datatrove.pipeline.filters import GopherQualityFilter as DatatroveGopherQualityFilter
from datatrove.pipeline.filters import GopherRepetitionFilter as DatatroveGopherRepetitionFilter
from datatrove.pipeline.filters.c4_filters import CITATION_REGEX, ELLIPSIS, END_PUNCTUATION, POLICY_SUBSTRINGS
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import PUNCTUATION_SET, split_into_sentences, split_into_words
from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer, load_word_tokenizer

from finemill.steps.filters.checks import Check, MeasuredFilter
from finemill.text.ngrams import NgramStats
from finemill.text.words import SpacyCompatibleTokenizer

WordSplitter = Literal["fast", "spacy"]
# spaCy's import (~2.5 s), once per run in the forkserver rather than per worker (pipeline/worker_preload)
SPACY_PRELOAD = ("finemill.text.words:import_spacy_tokenizer",)


def word_splitter(words: WordSplitter, language: str) -> str | WordTokenizer:
    """What datatrove's `split_into_words(text, language)` should get: for English, where datatrove splits with
    spaCy, the memoized spaCy-compatible splitter (English is what it is checked on); else the language, i.e.
    datatrove's own splitter."""
    if words == "fast":
        splitter = load_word_tokenizer(language)
        if isinstance(splitter, SpaCyTokenizer) and splitter.language == "en":
            return SpacyCompatibleTokenizer("en")
    return language


def count_sentences(text: str, language: str | WordTokenizer) -> int:
    """`len(split_into_sentences(text, language))`, counted without building the sentences where finemill's
    splitter can."""
    if isinstance(language, SpacyCompatibleTokenizer):
        return language.sentence_count(text)
    return len(split_into_sentences(text, language))


class FastWords:
    """Mixin: a `words` setting choosing the word splitter of a datatrove filter that splits words."""

    worker_preload: ClassVar[tuple[str, ...]] = SPACY_PRELOAD

    def __init__(self, words: WordSplitter = "fast", **kwargs) -> None:
        super().__init__(**kwargs)
        self.words = words
        self.language = word_splitter(words, self.language)


class GopherQualityFilter(FastWords, MeasuredFilter, DatatroveGopherQualityFilter):
    """Gopher's quality rules (word counts and lengths, symbols, bullets, stop words), datatrove's defaults."""

    def checks(self, doc: Document) -> Iterator[Check]:
        """datatrove's rules in datatrove's order; a setting of None or 0 switches its rule off. Lazy, as
        the decision takes the first check that removes: a later rule is not measured (a ratio per word is
        not divided by no words once too few words removed the document)."""
        text = doc.text
        words = split_into_words(text, self.language)
        # datatrove tests every word's characters; the same counts come from each distinct word once
        counts = Counter(words)
        non_symbol, non_symbol_chars, with_letter = word_tallies(counts)
        yield from self._length_checks(non_symbol, non_symbol_chars)
        yield from self._symbol_checks(text, len(words))
        yield from self._line_checks(text)
        if self.max_non_alpha_words_ratio:  # despite its name, the least share of words with a letter
            yield Check(
                "gopher_below_alpha_threshold",
                "share of words with a letter",
                with_letter / len(words),
                self.max_non_alpha_words_ratio,
                "<",
            )
        if self.min_stop_words:
            yield Check(
                "gopher_enough_stop_words",
                f"distinct stop words ({', '.join(sorted(self.stop_words)[:4])}, ...)",
                len(self.stop_words.intersection(counts)),
                self.min_stop_words,
                "<",
            )

    def _length_checks(self, non_symbol: int, non_symbol_chars: int) -> Iterator[Check]:
        """How many words, how long on average."""
        counted = "words (not only punctuation)"
        if self.min_doc_words:
            yield Check("gopher_short_doc", counted, non_symbol, self.min_doc_words, "<")
        if self.max_doc_words:
            yield Check("gopher_long_doc", counted, non_symbol, self.max_doc_words, ">")
        # datatrove takes numpy's mean: NaN (every comparison false) when no word is left; the sum of the
        # lengths is an exact integer either way
        mean_length = non_symbol_chars / non_symbol if non_symbol else float("nan")
        if self.min_avg_word_length:
            yield Check(
                "gopher_below_avg_threshold", "mean word length", mean_length, self.min_avg_word_length, "<"
            )
        if self.max_avg_word_length:
            yield Check(
                "gopher_above_avg_threshold", "mean word length", mean_length, self.max_avg_word_length, ">"
            )

    def _symbol_checks(self, text: str, words: int) -> Iterator[Check]:
        """Hashes and ellipses per word."""
        if self.max_symbol_word_ratio:
            yield Check(
                "gopher_too_many_hashes",
                "'#' per word",
                text.count("#") / words,
                self.max_symbol_word_ratio,
                ">",
            )
            yield Check(
                "gopher_too_many_ellipsis",
                "ellipses per word",
                (text.count("...") + text.count("…")) / words,
                self.max_symbol_word_ratio,
                ">",
            )

    def _line_checks(self, text: str) -> Iterator[Check]:
        """Lines starting with a bullet, lines ending with an ellipsis."""
        lines = text.splitlines()
        if self.max_bullet_lines_ratio:
            bullets = sum(s.lstrip().startswith("•") or s.lstrip().startswith("-") for s in lines)
            yield Check(
                "gopher_too_many_bullets",
                "share of lines starting with a bullet",
                bullets / len(lines),
                self.max_bullet_lines_ratio,
                ">",
            )
        if self.max_ellipsis_lines_ratio:
            ellipses = sum(s.rstrip().endswith("...") or s.rstrip().endswith("…") for s in lines)
            yield Check(
                "gopher_too_many_end_ellipsis",
                "share of lines ending with an ellipsis",
                ellipses / len(lines),
                self.max_ellipsis_lines_ratio,
                ">",
            )


def word_tallies(counts: Counter) -> tuple[int, int, int]:
    """(words not only punctuation, their characters, words with a letter) of a word count."""
    non_symbol = with_letter = non_symbol_chars = 0
    for word, count in counts.items():
        is_non_symbol, has_letter = word_kinds(word)
        if is_non_symbol:
            non_symbol += count
            non_symbol_chars += len(word) * count
        if has_letter:
            with_letter += count
    return non_symbol, non_symbol_chars, with_letter


_WORD_KINDS: dict[str, tuple[bool, bool]] = {}  # word -> word_kinds(word), per process
_MAX_WORD_KINDS = 500_000


def word_kinds(word: str) -> tuple[bool, bool]:
    """(has a character outside datatrove's PUNCTUATION_SET, has a letter): Gopher's two word tests,
    remembered per word."""
    kinds = _WORD_KINDS.get(word)
    if kinds is None:
        if len(_WORD_KINDS) >= _MAX_WORD_KINDS:
            _WORD_KINDS.clear()  # bounded memory
        kinds = _WORD_KINDS[word] = (
            any(ch not in PUNCTUATION_SET for ch in word),
            any(ch.isalpha() for ch in word),
        )
    return kinds


# C4 rules that remove the whole document when a kept line breaks them (the others drop the line).
C4_DOCUMENT_RULES = {
    "lorem_ipsum": "a kept line contains 'lorem ipsum'",
    "curly_bracket": "a kept line contains a curly bracket",
}
# Why a line is dropped -> datatrove's stat counter for it.
C4_LINE_STATS = {
    why: f"line-filter-{why}"
    for why in ("too_long_word", "no_terminal_punc", "too_few_words", "javascript", "policy")
}


class C4QualityFilter(FastWords, MeasuredFilter, DatatroveC4QualityFilter):
    """C4's rules (lorem ipsum, curly brackets, javascript and policy lines, sentences), datatrove's defaults."""

    def checks(self, doc: Document) -> Iterator[Check]:
        """The line rules, then the sentences in the lines kept. When the document passes, the generator's last
        step replaces its text with the kept lines, as datatrove's filter does."""
        pieces = (
            doc.text.splitlines() if self.split_paragraph else split_into_sentences(doc.text, self.language)
        )
        sentences, kept = 0, []
        for piece in pieces:
            self.stat_update("line-total")
            outcome, line = self._line_outcome(piece.strip())
            if outcome in C4_DOCUMENT_RULES:
                yield Check(outcome, C4_DOCUMENT_RULES[outcome], found=(line,))
                return
            if outcome:
                self.stat_update(C4_LINE_STATS[outcome])
                continue
            if self.min_num_sentences != -1:  # counting costs a sentence split: skipped when it cannot matter
                sentences += count_sentences(line, self.language) if self.split_paragraph else 1
            kept.append(line)
            self.stat_update("line-kept")
        if self.min_num_sentences != -1:
            enough = Check(
                "too_few_sentences", "sentences in the lines C4 keeps", sentences, self.min_num_sentences, "<"
            )
            yield enough
            if enough.removes:
                return
        doc.text = ("\n" if self.split_paragraph else " ").join(kept).strip()

    def _line_outcome(self, line: str) -> tuple[str | None, str]:
        """(None, the line as kept), or (why the line is dropped, as in datatrove's line stats, or the document
        rule it breaks, the line). Rules in datatrove's order: which one applies first decides."""
        words = line.split()
        if self.max_word_length != -1 and any(len(word) > self.max_word_length for word in words):
            return "too_long_word", line
        if self.remove_citations:
            line = CITATION_REGEX.sub("", line)
        if self.filter_no_terminal_punct and (line.endswith(ELLIPSIS) or not line.endswith(END_PUNCTUATION)):
            return "no_terminal_punc", line
        if len(words) < self.min_words_per_line:  # words before citations were removed, as in datatrove
            return "too_few_words", line
        lower = line.lower()
        if self.filter_lorem_ipsum and "lorem ipsum" in lower:
            return "lorem_ipsum", line
        if self.filter_javascript and "javascript" in lower:
            return "javascript", line
        if self.filter_curly_bracket and "{" in line:
            return "curly_bracket", line
        if self.filter_policy and any(p in lower for p in POLICY_SUBSTRINGS):
            return "policy", line
        return None, line


class GopherRepetitionFilter(FastWords, MeasuredFilter, DatatroveGopherRepetitionFilter):
    """Gopher's repetition rules (Rae et al. 2021, table A1), with the n-gram measures of `NgramStats`."""

    def checks(self, doc: Document) -> Iterator[Check]:
        """datatrove's rules in datatrove's order: paragraphs, lines, top n-grams, repeated n-grams."""
        text = doc.text
        if not text:
            yield Check("empty", "the text is empty")
            return
        paragraphs = self.paragraph_exp.split(text.strip())
        yield from self._duplicated_parts(
            paragraphs, len(text), self.dup_para_frac, self.dup_para_char_frac, "para", "paragraphs"
        )
        lines = self._line_splitter.split(text)
        yield from self._duplicated_parts(
            lines, len(text), self.dup_line_frac, self.dup_line_char_frac, "line", "lines"
        )
        words = split_into_words(text, self.language)
        ngrams = NgramStats(words)
        for n, n_frac in self.top_n_grams:
            if len(words) >= n:  # datatrove skips a text with no n-gram
                yield Check(
                    f"top_{n}_gram",
                    f"characters in the most frequent {n}-gram / all",
                    ngrams.top_duplicate(n) / len(text),
                    n_frac,
                    ">",
                )
        for n, n_frac in self.dup_n_grams:
            yield Check(
                f"duplicated_{n}_n_grams",
                f"characters in repeated {n}-grams / all",
                ngrams.all_duplicates(n) / len(text),
                n_frac,
                ">",
            )

    @staticmethod
    def _duplicated_parts(
        parts: list[str], chars: int, frac: float | None, char_frac: float | None, kind: str, kinds: str
    ) -> Iterator[Check]:
        """datatrove's duplicated paragraph/line checks, in its order: share of parts, then of characters."""
        duplicates, duplicate_chars = find_duplicates(parts)
        if frac:
            yield Check(
                f"dup_{kind}_frac", f"share of duplicated {kinds}", duplicates / len(parts), frac, ">"
            )
        if char_frac:
            yield Check(
                f"dup_{kind}_char_frac",
                f"characters in duplicated {kinds} / all",
                duplicate_chars / chars,
                char_frac,
                ">",
            )
