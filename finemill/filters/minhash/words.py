"""datatrove's spaCy word tokenizer with a cache per whitespace-separated chunk: the same tokens, faster.

spaCy's rule-based tokenizer first splits the text on whitespace and then tokenizes each chunk on its own
(prefixes, suffixes, infixes and special cases such as "dont" -> "do", "nt"), so a text's tokens are its
chunks' tokens in order. datatrove runs the whole spaCy pipeline (tokenizer and sentencizer) on every
document inside a memory zone, which also discards spaCy's own chunk cache after each document. Here each
distinct chunk is tokenized once, then read from a dict. A new chunk that is no special case and where none of
the tokenizer's prefix, suffix and infix patterns matches is one token (spaCy would leave it whole, and it
avoids spaCy creating a lexeme with all its attributes, the bulk of spaCy's time); the document's other new
chunks go to spaCy in one call. Anything unexpected (a tokenizer that is not rule-based, a spaCy error, tokens that do not add up to
their chunk) falls back to datatrove's `word_tokenize` for that document.
"""

from __future__ import annotations

from itertools import chain

from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer


class CachedWordSplitter:
    """`tokenizer.word_tokenize(text)`, cached per chunk. `max_entries` bounds memory (~250 B a chunk, so
    ~50 MB by default): the cache is emptied when full, and the frequent words come back at once; cheaper
    than keeping an LRU order on every lookup."""

    def __init__(self, tokenizer: WordTokenizer, max_entries: int = 200_000) -> None:
        self.reference = tokenizer
        self.max_entries = max_entries
        self._cache: dict[str, list[str]] = {}
        self._cacheable: bool | None = None  # decided on first use (loading spaCy is lazy in datatrove)
        self.fallbacks = 0  # documents handed to datatrove's word_tokenize after all

    def __getstate__(self) -> dict:
        # Pipeline steps are pickled to worker processes: send no cache along.
        return {**self.__dict__, "_cache": {}}

    def _can_cache(self) -> bool:
        if self._cacheable is None:
            self._cacheable = False
            if isinstance(self.reference, SpaCyTokenizer) and self.reference.language != "ja":
                from spacy.tokenizer import Tokenizer

                # Only spaCy's rule-based tokenizer works chunk by chunk (not jieba, pyvi, mecab, ...).
                self._cacheable = type(self.reference.tokenizer.tokenizer) is Tokenizer
        return self._cacheable

    def word_tokenize(self, text: str) -> list[str]:
        if not self._can_cache():
            return self.reference.word_tokenize(text)
        chunks = text.split()
        cache = self._cache
        missing = set(chunks).difference(cache)
        if missing:
            if len(cache) + len(missing) > self.max_entries:
                cache.clear()  # all of this document's chunks are then new (it may exceed the bound alone)
                missing = set(chunks)
            # sorted: the same spaCy input whatever the set order (each chunk's tokens do not depend on it)
            if not self._tokenize_chunks(sorted(missing)):
                self.fallbacks += 1
                return self.reference.word_tokenize(text)
        return list(chain.from_iterable(map(cache.__getitem__, chunks)))  # the chunks' tokens, in order

    def _tokenize_chunks(self, chunks: list[str]) -> bool:
        """Cache the tokens of each of `chunks`; False if that cannot be trusted for some chunk."""
        tokenizer = self.reference.tokenizer.tokenizer
        special, prefix, suffix, infix = (tokenizer.rules, tokenizer.prefix_search, tokenizer.suffix_search,
                                          tokenizer.infix_finditer)
        hard = []
        for chunk in chunks:
            # spaCy's _split_affixes/_attach_tokens: no special case, prefix, suffix or infix -> one token.
            # Any match at all, even an empty one, sends the chunk to spaCy.
            if (chunk in special or (prefix is not None and prefix(chunk) is not None)
                    or (suffix is not None and suffix(chunk) is not None)
                    or (infix is not None and next(infix(chunk), None) is not None)):
                hard.append(chunk)
            else:
                self._cache[chunk] = [chunk]
        return not hard or self._spacy_chunks(hard)

    def _spacy_chunks(self, chunks: list[str]) -> bool:
        """Tokenize `chunks` in one spaCy call and cache each chunk's tokens; False if that cannot be trusted."""
        nlp = self.reference.tokenizer
        joined = " ".join(chunks)
        try:
            with nlp.memory_zone():  # spaCy's strings from this call are freed afterwards, as in datatrove
                tokens = [(token.idx, token.text) for token in nlp.tokenizer(joined)]
        except Exception:  # datatrove has a workaround for texts that break spaCy: let it handle them
            return False
        # Assign each token to the chunk its character offset falls in.
        groups: list[list[str]] = [[] for _ in chunks]
        ends, end = [], -1
        for chunk in chunks:
            end += len(chunk) + 1
            ends.append(end)  # offset of the space after the chunk
        i = 0
        for idx, token_text in tokens:
            while idx >= ends[i]:
                i += 1
            groups[i].append(token_text)
        if any("".join(group) != chunk for group, chunk in zip(groups, chunks, strict=True)):
            return False  # a token crossed a chunk boundary: chunks are not independent here
        for chunk, group in zip(chunks, groups, strict=True):
            # datatrove's strip_strings: strip tokens, drop empty ones (a chunk has no whitespace: no-op)
            self._cache[chunk] = [t.strip() for t in group if t.strip()]
        return True
