"""An experiment, kept so that it is not tried again blind: fastText's supervised prediction computed in
numpy from the model's own matrices, many documents at a time, with a per-process cache of the chunks it has
seen. `python -m benchmarks.speed.quality_fasttext` times it beside the step and checks its scores; see
docs/performance.md (Quality classifiers) for why the step keeps calling fastText's `predict`.

What fastText computes for one line (its dictionary.cc, model.cc, loss.cc and densematrix.cc, read to learn):

- tokens: the line split on ' ', '\\n', '\\r', '\\t', '\\v', '\\f', '\\0'; the newline that ends the line
  is the token "</s>" (a "</s>" token also ends it); a token that starts with the label prefix takes no part;
- each token's 32-bit FNV-1a hash over its UTF-8 bytes, each byte read as a *signed* char (sign-extended);
- input rows: the in-vocabulary tokens' ids in order (an unknown token adds nothing when maxn == 0), then
  for each token i and j in (i, i + wordNgrams): nwords + h mod bucket, h = h * 116049371 + hash[j] in
  64-bit arithmetic from hash[i], the 32-bit hashes sign-extended (fastText keeps them as int32);
- hidden = those rows summed in that order in float32, times float32(1 / number of rows);
- softmax over the output rows' dot products (float32 sums in column order; exp in double), and the
  probability it returns, exp(log(p + 1e-5)) (in double, stored as float32).

Every sum here runs in fastText's order, so the scores are fastText's bit for bit on the real documents
(tested). Only softmax models without character n-grams and not quantized are computed (`for_model` returns
None otherwise): what `finemill classify train` produces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import chain

import numpy as np

from finemill.text.classifier_text import PUNCTUATION_CHARACTERS, one_line

FNV_OFFSET, FNV_PRIME, NGRAM_PRIME = 2166136261, 16777619, 116049371
EOS = "</s>"
# A byte as fastText's hash reads it: a signed char, sign-extended to 32 bits before the xor.
_SIGNED_BYTE = [b | 0xFFFFFF00 if b >= 0x80 else b for b in range(256)]
MAX_CACHED_CHUNKS = 1_000_000  # the cache starts again past this (memory stays bounded)
# DCLM's tokens, as `finemill.text.classifier_text.normalise` finds them (a difference would show in the test)
TOKEN = re.compile(f"[^\\s{re.escape(PUNCTUATION_CHARACTERS)}]+|[{re.escape(PUNCTUATION_CHARACTERS)}]")
# fastText splits a line on these; str.split() would also split on Unicode spaces, which fastText keeps.
_SEPARATORS = str.maketrans({c: " " for c in "\t\v\f\r\0"})


def fasttext_hash(token: str) -> int:
    """fastText's `Dictionary::hash` of a token, sign-extended to 64 bits as its word n-grams use it."""
    h = FNV_OFFSET
    for byte in token.encode("utf-8"):
        h = ((h ^ _SIGNED_BYTE[byte]) * FNV_PRIME) & 0xFFFFFFFF
    return h | 0xFFFFFFFF00000000 if h >= 0x80000000 else h


def fasttext_chunks(text: str, normalisation: str, newline_replacement: str = " ") -> list[str]:
    """`one_line(text, ...)` as fastText's predict reads it, in whitespace-free chunks that `chunk_tokens`
    splits into fastText's tokens (normalising and splitting fused: a chunk seen before is a cache hit).
    DCLM: the lower-cased text split on whitespace (its punctuation is split off per chunk). None: the line's
    tokens themselves, up to a newline or a "</s>" token (where fastText's line ends)."""
    if normalisation == "dclm":
        return text.lower().split()
    line = one_line(text, normalisation, newline_replacement).partition("\n")[0]
    tokens = [t for t in line.translate(_SEPARATORS).split(" ") if t]
    return tokens[: tokens.index(EOS)] if EOS in tokens else tokens


def chunk_tokens(normalisation: str) -> Callable[[str], list[str]]:
    """Chunk of `fasttext_chunks` -> its fastText tokens: DCLM's tokens (fastText also splits on NUL, which
    is not whitespace to Python), or (no normalisation) the chunk itself."""
    if normalisation == "dclm":
        return lambda chunk: TOKEN.findall(chunk.replace("\0", " "))
    return lambda chunk: [chunk]


class GrowingColumn:
    """A numpy column appended to (amortised doubling), read as `values`."""

    def __init__(self, dtype: type) -> None:
        self._data, self.size = np.empty(1024, dtype=dtype), 0

    def extend(self, values: list) -> None:
        end = self.size + len(values)
        if end > len(self._data):
            self._data = np.resize(self._data, max(end, 2 * len(self._data)))
        self._data[self.size : end] = values
        self.size = end

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]


class ChunkCache(dict):
    """Chunk (a whitespace-free piece of a line) -> its index. Chunk i's tokens are `tokens[start[i]:
    start[i] + length[i]]`, indices into the token columns `row` (input-matrix row, -1 for an unknown word),
    `hash` and `is_word` (False for a label token). A chunk is tokenised and its new tokens looked up on first
    sight (`__missing__`); later it costs one dict lookup."""

    def __init__(self, tokenise: Callable[[str], list[str]], word_id: Callable[[str], int], label: str):
        super().__init__()
        self.tokenise, self.word_id, self.label_prefix = tokenise, word_id, label
        self.token_index: dict[str, int] = {}
        self.start, self.length, self.tokens = (GrowingColumn(np.int64) for _ in range(3))
        self.row, self.hash, self.is_word = (
            GrowingColumn(np.int64),
            GrowingColumn(np.uint64),
            GrowingColumn(bool),
        )
        self.has_labels = False  # a label-like token was seen: is_word must be applied
        self.eos = self.token(EOS)

    def __missing__(self, chunk: str) -> int:
        tokens = [self.token(t) for t in self.tokenise(chunk)]
        self.start.extend([self.tokens.size])
        self.length.extend([len(tokens)])
        self.tokens.extend(tokens)
        index = self[chunk] = len(self)
        return index

    def token(self, token: str) -> int:
        index = self.token_index.get(token)
        if index is None:
            is_word = not token.startswith(self.label_prefix)
            self.has_labels = self.has_labels or not is_word
            self.row.extend([self.word_id(token) if is_word else -1])
            self.hash.extend([fasttext_hash(token)])
            self.is_word.extend([is_word])
            index = self.token_index[token] = len(self.token_index)
        return index

    def line_tokens(self, lines: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """The lines' token indices one after the other, each line ending with "</s>", and where each line's
        "</s>" is."""
        counts = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
        chunks = np.array(list(map(self.__getitem__, chain.from_iterable(lines))), dtype=np.int64)
        lengths = self.length.values[chunks]
        first = np.cumsum(lengths) - lengths  # each chunk's first token in the output
        positions = np.arange(int(lengths.sum())) + np.repeat(self.start.values[chunks] - first, lengths)
        tokens = self.tokens.values[positions]
        # tokens per line: the lengths summed per line (cumsum differences, as lines may have no chunk)
        ends = np.concatenate([[0], np.cumsum(lengths)])[np.cumsum(counts)]
        if self.has_labels:  # labels take no part in a line: drop them, and count again
            words = self.is_word.values[tokens]
            ends = np.concatenate([[0], np.cumsum(words)])[ends]
            tokens = tokens[words]
        tokens = np.insert(tokens, ends, self.eos)
        return tokens, ends + np.arange(len(lines))


class SupervisedPredictor:
    """Scores lines given as chunks (`finemill.text.classifier_text.fasttext_chunks`), many at a time, as
    fastText's supervised `predict(line + "\\n", k=-1)` scores each."""

    def __init__(self, model, tokenise: Callable[[str], list[str]]) -> None:
        args = model.f.getArgs()
        self.model = model  # keeps the matrices (numpy views of fastText's memory) alive
        self.nwords, self.bucket, self.ngrams = len(model.words), args.bucket, args.wordNgrams
        self.input = np.asarray(model.f.getInputMatrix())
        self.output = np.asarray(model.f.getOutputMatrix())
        self.labels = list(model.labels)
        self.label_prefix, self.tokenise = args.label, tokenise
        self.reset_cache()

    @classmethod
    def for_model(cls, model, tokenise: Callable[[str], list[str]]) -> SupervisedPredictor | None:
        """The predictor, or None where this computation is not fastText's (see the module's docstring)."""
        args = model.f.getArgs()
        supported = (
            args.model.name == "supervised"
            and args.loss.name == "softmax"
            and args.maxn <= 0
            and not model.is_quantized()
        )
        return cls(model, tokenise) if supported else None

    def reset_cache(self) -> None:
        self.cache = ChunkCache(self.tokenise, self.model.get_word_id, self.label_prefix)

    def probabilities(self, lines: list[list[str]]) -> np.ndarray:
        """(line, label) -> the probability fastText returns (labels in `self.labels`' order); NaN for a
        line with no input row, for which fastText returns no label."""
        if len(self.cache) > MAX_CACHED_CHUNKS:
            self.reset_cache()
        tokens, eos = self.cache.line_tokens(lines)
        rows, sizes = self.input_rows(tokens, eos)
        return self.softmax(self.hidden(rows, sizes))

    def input_rows(self, tokens: np.ndarray, eos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All lines' input rows one line after the other, each line's known words' rows then its word n-grams'
        bucket rows (fastText's order), and each line's number of rows."""
        known = self.cache.row.values[tokens] >= 0
        line_of = np.repeat(np.arange(len(eos)), np.diff(eos, prepend=-1))
        words = np.bincount(line_of[known], minlength=len(eos))
        grams, gram_line = self.ngram_buckets(self.cache.hash.values[tokens], eos, line_of)
        ngram_counts = np.bincount(gram_line, minlength=len(eos))
        # a word's place: its rank among all known words plus the n-grams of the lines before its line
        # (an n-gram's place: its rank among all n-grams plus the words of its line and the lines before)
        rows = np.empty(len(grams) + int(known.sum()), dtype=np.int64)
        rows[np.arange(words.sum()) + (np.cumsum(ngram_counts) - ngram_counts)[line_of[known]]] = (
            self.cache.row.values[tokens[known]]
        )
        rows[np.arange(len(grams)) + np.cumsum(words)[gram_line]] = grams + self.nwords
        return rows, words + ngram_counts

    def ngram_buckets(
        self, hashes: np.ndarray, eos: np.ndarray, line_of: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each word n-gram's bucket (2..wordNgrams tokens, not past its line's "</s>"), ordered by first
        token, then length, as fastText adds them; and each one's line."""
        n, bucket, prime = len(hashes), np.uint64(self.bucket), np.uint64(NGRAM_PRIME)
        grams = np.zeros((n, max(self.ngrams - 1, 0)), dtype=np.uint64)  # [i, k]: tokens i..i+k+1
        valid = np.zeros(grams.shape, dtype=bool)
        last = eos[line_of]  # the index of each token's line's last token
        h = hashes
        with np.errstate(over="ignore"):  # fastText's uint64 arithmetic wraps around
            for k in range(self.ngrams - 1):
                h = h[: n - k - 1] * prime + hashes[k + 1 :]
                grams[: n - k - 1, k] = h % bucket
                valid[: n - k - 1, k] = np.arange(k + 1, n) <= last[: n - k - 1]
        return grams[valid].astype(np.int64), np.broadcast_to(line_of[:, None], grams.shape)[valid]

    def hidden(self, rows: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Each line's mean row, times float32(1 / n) as fastText scales it; NaN for a line without rows.
        The sum is a sparse product (one row per line, a 1 per input row, in fastText's order): scipy adds
        1 * row after row into a float32 vector, fastText's sum bit for bit, without gathering the rows."""
        from scipy.sparse import csr_matrix

        indptr = np.concatenate([[0], np.cumsum(sizes)])
        ones = np.ones(len(rows), dtype=np.float32)
        selection = csr_matrix((ones, rows, indptr), shape=(len(sizes), len(self.input)))
        with np.errstate(divide="ignore", invalid="ignore"):  # no row: NaN, as fastText returns nothing
            scale = np.where(sizes > 0, (1.0 / sizes).astype(np.float32), np.float32(np.nan))
        return (selection @ self.input) * scale[:, None]

    def softmax(self, hidden: np.ndarray) -> np.ndarray:
        """fastText's softmax (dot products and normaliser summed in order: cumsum; exp in double, stored as
        float32), then the probability it returns: exp(log(p + 1e-5)), in double, stored as float32."""
        products = hidden[:, None, :] * self.output[None, :, :]
        logits = np.cumsum(products, axis=2, dtype=np.float32)[:, :, -1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exps = np.exp(shifted.astype(np.float64)).astype(np.float32)
        probabilities = exps / np.cumsum(exps, axis=1)[:, -1:]
        logs = np.log(probabilities.astype(np.float64) + 1e-5).astype(np.float32)
        return np.exp(logs.astype(np.float64)).astype(np.float32)


def numpy_scores(predictor: SupervisedPredictor, texts: list[str], normalisation: str, label: str) -> list:
    """Each text's probability of `label`, batch by batch (NaN where fastText returns no label)."""
    column, batch = predictor.labels.index(label), 256
    scores = []
    for start in range(0, len(texts), batch):
        lines = [fasttext_chunks(t, normalisation) for t in texts[start : start + batch]]
        scores += predictor.probabilities(lines)[:, column].tolist()
    return scores
