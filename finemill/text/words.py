"""English word and sentence splits identical to datatrove's spaCy splitter, without its per-document cost.

datatrove's quality filters split text with spaCy's blank English pipeline (tokenizer + sentencizer): about
7 ms per 3 KB document, most of it building a `Doc` and a Python `Token` for every word. spaCy's tokenizer
cuts the text at whitespace and tokenizes each whitespace-free run on its own (prefixes, suffixes, infixes,
special cases all act inside a run; see `Tokenizer._tokenize_affixes`), so the tokens of a run depend only on
the run. `SpacyCompatibleTokenizer` asks spaCy once per distinct run and keeps the answer: web text repeats its
words, and after a few documents almost every run is a dictionary lookup.

One thing reaches across runs: spaCy's matcher for special cases made of several tokens (emoticons like `:-)`,
`a.m.`) runs over the tokens of the whole text, and a match over two runs, though it changes nothing itself,
can hide an overlapping match inside a run (`[ :*` keeps `:`, `*` apart; `:*` alone is one token). Where the
end of one run and the start of the next could form such a pair, the runs are tokenized together, as spaCy
sees them.

Whitespace becomes tokens by spaCy's rule, rebuilt here: one space after a token is that token's trailing
space; any other whitespace (or what is left of it) is a token of its own. Word lists drop those, as datatrove's
`strip_strings` does; the sentencizer counts them. `tests/text/test_words.py` checks the splits are identical to
datatrove's on real documents, whole and line by line.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from itertools import chain
from typing import Any

from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer

from finemill.patches.hidden_imports import hidden, torch_unused_by_spacy

# Python's `\s` on str is `str.isspace`, the test spaCy's tokenizer splits on.
RUNS = re.compile(r"\S+")
# Runs are tokenized in batches, one per line: the newline token between two runs keeps spaCy's special-case
# matcher from seeing them as adjacent.
BATCH_SEPARATOR = "\n"
Token = tuple[str, int]  # (text, start offset)
_RUNS: dict[str, dict[str, tuple[str, ...]]] = {}  # per language: run -> its tokens
# A run's effect on the sentencizer: (boundaries, after a final character) entering it not after / after one.
SentenceMoves = tuple[tuple[int, bool], tuple[int, bool]]
_SENTENCE_MOVES: dict[str, dict[str, SentenceMoves]] = {}  # per language: run -> its SentenceMoves


class SpacyCompatibleTokenizer(WordTokenizer):
    """datatrove's `SpaCyTokenizer(language)` splits (words, sentences, sentence spans), memoized per run.

    Instances compare equal per language, so datatrove's `split_into_words` cache, keyed on the tokenizer, is
    shared by every filter of a process, after pickling too."""

    def __init__(self, language: str = "en", max_cached_runs: int = 500_000):
        super().__init__(language)
        self.max_cached_runs = max_cached_runs
        self._spacy: SpaCyTokenizer | None = None
        self._runs = _RUNS.setdefault(language, {})  # run -> its tokens, shared by the process's instances
        self._sentence_moves = _SENTENCE_MOVES.setdefault(
            language, {}
        )  # run -> `_sentence_moves` of its tokens

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.language == self.language

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.language))

    def __getstate__(self) -> dict:
        return {"language": self.language, "max_cached_runs": self.max_cached_runs}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    @property
    def spacy(self) -> SpaCyTokenizer:
        """datatrove's own splitter: for the few texts only it can answer."""
        if self._spacy is None:
            self._spacy = SpaCyTokenizer(self.language)
        return self._spacy

    def word_tokenize(self, text: str) -> list[str]:
        runs = text.split()  # the runs of RUNS.findall: str.split cuts at the same characters, faster
        if "IS_ALPHA" in text:
            return self.spacy.word_tokenize(text)
        try:  # the common case: every run known
            words = self._run_words(runs)
        except KeyError:
            if not self._known(text, runs):
                return self.spacy.word_tokenize(text)
            words = self._run_words(runs)
        joined = self.joins.pieces(text)
        if not joined:
            return words
        words = []
        position = 0
        for start, end in joined:  # a few runs read together, the others as always
            piece = self._spacy_tokens(text[start:end])
            if piece is None:
                return self.spacy.word_tokenize(text)
            words += self._run_words(RUNS.findall(text, position, start))
            words += [token for token, _ in piece if not token.isspace()]
            position = end
        return words + self._run_words(RUNS.findall(text, position))

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        tokens = self._tokens(text) if self._known(text, RUNS.findall(text)) else None
        return self.spacy.span_tokenize(text) if tokens is None else sentence_spans(tokens)

    def sent_tokenize(self, text: str) -> list[str]:
        if "IS_ALPHA" in text:  # datatrove's work-around edits the text: its sentences are not slices of ours
            return self.spacy.sent_tokenize(text)
        sentences = (text[start:end].strip() for start, end in self.span_tokenize(text))
        return [s for s in sentences if s]

    def sentence_count(self, text: str) -> int:
        """`len(split_into_sentences(text))` as datatrove computes it with spaCy: the sentencizer's sentences,
        whitespace-only ones included, and 1 for a text without any (datatrove cuts the text at the sentence
        ends). Where the runs are joined by single spaces, the sentencizer's state (after a sentence-final
        character or not) is carried from run to run with each run's effect remembered; elsewhere the
        sentence spans are counted."""
        runs = text.split()
        if "IS_ALPHA" in text or " ".join(runs) != text or self.joins.pieces(text):
            # other whitespace makes tokens of its own, joined runs need spaCy: the general path
            return max(1, len(self.span_tokenize(text)))
        moves = self._sentence_moves
        try:
            steps = list(map(moves.__getitem__, runs))
        except KeyError:
            if not self._known(text, runs):
                return max(1, len(self.spacy.span_tokenize(text)))
            if len(moves) + len(runs) > self.max_cached_runs:
                moves.clear()
            steps = [
                moves.get(run) or moves.setdefault(run, _sentence_moves(self._runs[run])) for run in runs
            ]
        boundaries, after_final = 0, False
        for plain, final in steps:
            found, after_final = final if after_final else plain
            boundaries += found
        return boundaries + 1

    @property
    def joins(self) -> SpecialCaseJoins:
        return special_case_joins(self.language)

    def _known(self, text: str, runs: list[str]) -> bool:
        """Learn the runs not seen yet. False where only spaCy on the whole text gives its answer: spaCy
        failed on a run, or the text holds the string datatrove works around (`IS_ALPHA`)."""
        if "IS_ALPHA" in text:
            return False
        missing = set(runs).difference(self._runs)
        if missing and len(self._runs) + len(missing) > self.max_cached_runs:
            self._runs.clear()  # bounded memory; the common runs come back within a few documents
            missing = set(runs)
        return not missing or self._learn(missing)

    def _learn(self, runs: set[str]) -> bool:
        """Tokenize `runs` with spaCy in one call and remember their tokens. False if spaCy fails."""
        plain = {run for run in runs if _one_token(run, self.language)}
        self._runs.update((run, (run,)) for run in plain)
        ordered = sorted(runs - plain)
        if not ordered:
            return True
        groups: list[list[str]] = [[]]
        for token, _ in self._spacy_tokens(BATCH_SEPARATOR.join(ordered)) or []:
            if token == BATCH_SEPARATOR:
                groups.append([])
            else:
                groups[-1].append(token)
        if len(groups) != len(ordered) or not all(groups):  # spaCy failed, or merged runs: never guess
            return False
        self._runs.update(zip(ordered, map(tuple, groups), strict=True))
        return True

    def _run_words(self, runs: list[str]) -> list[str]:
        return list(chain.from_iterable(map(self._runs.__getitem__, runs)))

    def _spacy_tokens(self, text: str) -> list[Token] | None:
        tokenizer = spacy_tokenizer(self.language)
        try:
            with (
                tokenizer.vocab.memory_zone()
            ):  # no growth of spaCy's string store over millions of documents
                return [(t.text, t.idx) for t in tokenizer(text)]
        except Exception:
            return None

    def _tokens(self, text: str) -> list[Token] | None:
        """Every token spaCy makes of `text`, whitespace tokens included, with its start offset (None if spaCy
        fails on a stretch of runs read together). Runs must be known (`_known`)."""
        tokens: list[Token] = []
        position = 0
        for start, end in self.joins.pieces(text):
            piece = self._spacy_tokens(text[start:end])
            if piece is None:
                return None
            self._add_run_tokens(tokens, text, position, start)
            tokens += [(token, start + offset) for token, offset in piece]
            position = end
        self._add_run_tokens(tokens, text, position, len(text))
        return tokens

    def _add_run_tokens(self, tokens: list[Token], text: str, begin: int, stop: int) -> None:
        """Append the tokens of text[begin:stop], read run by run, and of the whitespace between them."""
        position = begin
        for match in RUNS.finditer(text, begin, stop):
            start, end = match.span()
            if start > position:
                _add_space(tokens, text[position:start], position)
            for token in self._runs[match.group()]:
                tokens.append((token, start))
                start += len(token)
            position = end
        if position < stop:
            _add_space(tokens, text[position:stop], position)


@cache  # one per language: a multilingual run meets dozens, each ~1 s to build
def spacy_tokenizer(language: str):
    """spaCy's rule-based tokenizer of `spacy.blank(language)`, built the way spaCy's default tokenizer factory
    builds it, without a pipeline: creating a `Language` loads every package's spaCy plugins (presidio's pulls
    in transformers: seconds per process), and the tokenizer needs none of them. spaCy is imported without
    torch (`finemill.patches.hidden_imports`)."""
    util, Tokenizer, Vocab = import_spacy_tokenizer()
    defaults = util.get_lang_class(language).Defaults
    return Tokenizer(
        Vocab(),
        rules=defaults.tokenizer_exceptions,
        prefix_search=util.compile_prefix_regex(defaults.prefixes).search if defaults.prefixes else None,
        suffix_search=util.compile_suffix_regex(defaults.suffixes).search if defaults.suffixes else None,
        infix_finditer=util.compile_infix_regex(defaults.infixes).finditer if defaults.infixes else None,
        token_match=defaults.token_match,
        url_match=defaults.url_match,
    )


def import_spacy_tokenizer() -> tuple[Any, type, type]:
    """spaCy's `util`, `Tokenizer` and `Vocab`, imported without torch (also a worker preload: ~2.5 s)."""
    with hidden(*torch_unused_by_spacy()):
        from spacy import util
        from spacy.tokenizer import Tokenizer
        from spacy.vocab import Vocab
    return util, Tokenizer, Vocab


def _one_token(run: str, language: str) -> bool:
    """Whether spaCy leaves `run` whole without asking it: no special case, and no prefix, suffix or infix
    pattern matches (even emptily), so its affix loop stops at once (`Tokenizer._split_affixes`)."""
    tokenizer = spacy_tokenizer(language)
    return not (
        run in tokenizer.rules
        or tokenizer.prefix_search(run) is not None
        or tokenizer.suffix_search(run) is not None
        or next(tokenizer.infix_finditer(run), None) is not None
    )


@cache
def special_case_joins(language: str) -> SpecialCaseJoins:
    return SpecialCaseJoins(spacy_tokenizer(language))


def _add_space(tokens: list[Token], space: str, start: int) -> None:
    """A whitespace run as spaCy tokenizes it: its first space is the trailing space of the token before."""
    if space[0] == " " and tokens:
        space, start = space[1:], start + 1
    if space:
        tokens.append((space, start))


class SpecialCaseJoins:
    """Where spaCy's special-case matcher could read two runs as one: the end of the first and the start of the
    second are consecutive tokens of a multi-token special case, with one space between them (any other
    whitespace is a token of its own and keeps them apart). Found with one Aho-Corasick pass over the text."""

    def __init__(self, tokenizer) -> None:
        import ahocorasick
        from spacy.tokenizer import Tokenizer

        plain = Tokenizer(
            tokenizer.vocab,
            rules={},
            prefix_search=tokenizer.prefix_search,
            suffix_search=tokenizer.suffix_search,
            infix_finditer=tokenizer.infix_finditer,
            token_match=tokenizer.token_match,
            url_match=tokenizer.url_match,
        )
        self.automaton = ahocorasick.Automaton()
        for case in tokenizer.rules:
            # the test spaCy uses to put a special case into its matcher, and the tokens the matcher looks for
            if tokenizer.find_prefix(case) or tokenizer.find_infix(case) or tokenizer.find_suffix(case):
                tokens = [t.text for t in plain(case)]
                for first, second in zip(tokens, tokens[1:], strict=False):
                    self.automaton.add_word(f"{first} {second}", len(second))
        self.automaton.make_automaton()

    def pieces(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each stretch of runs that must be tokenized together, in order."""
        pieces: list[tuple[int, int]] = []
        for space in sorted({end - length for end, length in self.automaton.iter(text)}):
            start = space
            while start > 0 and not text[start - 1].isspace():
                start -= 1
            end = RUNS.match(text, space + 1).end()
            if pieces and start < pieces[-1][1]:  # a chain of joins: one stretch
                start = pieces.pop()[0]
            pieces.append((start, end))
        return pieces


def sentence_spans(tokens: list[Token]) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences spaCy's sentencizer finds in `tokens`: a sentence ends
    before the first token that is not punctuation after one of the sentencizer's sentence-final characters."""
    if not tokens:
        return []
    final_chars = _sentence_final_chars()
    starts = [0]
    seen_final = False
    for i, (token, _) in enumerate(tokens):
        is_final = token in final_chars
        if seen_final and not is_final and not _is_punct(token):
            starts.append(i)
            seen_final = False
        elif is_final:
            seen_final = True
    ends = [*starts[1:], len(tokens)]
    return [
        (tokens[s][1], tokens[e - 1][1] + len(tokens[e - 1][0])) for s, e in zip(starts, ends, strict=True)
    ]


def _sentence_moves(tokens: tuple[str, ...]) -> SentenceMoves:
    """The sentencizer's rule of `sentence_spans` over one run's tokens, from either state: how many sentences
    start inside the run and whether it ends after a sentence-final character."""
    final_chars = _sentence_final_chars()
    moves = []
    for seen_final in (False, True):
        boundaries = 0
        for token in tokens:
            is_final = token in final_chars
            if seen_final and not is_final and not _is_punct(token):
                boundaries += 1
                seen_final = False
            elif is_final:
                seen_final = True
        moves.append((boundaries, seen_final))
    return moves[0], moves[1]


@lru_cache(maxsize=1)
def _sentence_final_chars() -> frozenset[str]:
    from spacy.pipeline.sentencizer import Sentencizer

    return frozenset(Sentencizer.default_punct_chars)


@lru_cache(maxsize=100_000)
def _is_punct(token: str) -> bool:
    """spaCy's `is_punct` lexical attribute: every character is Unicode punctuation."""
    return all(unicodedata.category(c).startswith("P") for c in token)
