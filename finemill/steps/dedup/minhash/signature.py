"""The MinHash signature step: datatrove's MinhashDedupSignature with the slow parts replaced.

Same signature files, byte for byte: the stage's file layout, sorting and verification are datatrove's own
(`run` is inherited); only the two methods that do per-document work are overridden.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import ClassVar

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from datatrove.utils.typeshelper import Languages
from datatrove.utils.word_tokenizers import load_word_tokenizer

from finemill.steps.dedup.minhash.hashing import ngram_strings, shingle_hashes
from finemill.steps.dedup.minhash.text import simplify
from finemill.steps.filters.languages import fineweb2_name
from finemill.steps.filters.quality import SPACY_PRELOAD, word_splitter
from finemill.text.language_words import language_words

_P = np.uint64((1 << 61) - 1)  # datatrove's Mersenne prime modulus
_SHIFT = np.uint64(61)
# Rows of shingles per block: a (512, 112) uint64 block is 460 KB, so the passes over it stay in cache.
_BLOCK = 512


def min_hashes(hashes: np.ndarray, a: np.ndarray, b: np.ndarray, precision: int = 64) -> np.ndarray:
    """For each permutation j, min over shingles x of ((x * a[j] + b[j]) mod 2**64) mod (2**61 - 1), the
    value datatrove computes, masked to 32 bits first when `precision` is 32.

    hashes: uint64 (N,) or (N, 1), N >= 1; a, b: uint64 (1, H) or (H,). Returns uint64 (H,) (64-bit) or
    uint32 (H,) (32-bit).
    """
    x = np.unique(np.asarray(hashes, dtype=np.uint64).ravel())  # (M,): repeated shingles cannot change a min
    a, b = a.reshape(1, -1), b.reshape(1, -1)  # (1, H)
    out = np.full(a.shape[1], np.iinfo(np.uint64).max, dtype=np.uint64)  # (H,)
    for start in range(0, x.size, _BLOCK):
        v = x[start : start + _BLOCK, None] * a  # (r, H); uint64 products wrap mod 2**64, as in datatrove
        v += b
        # v mod P without a division: 2**61 = 1 (mod P), so v = hi * 2**61 + lo = hi + lo (mod P); hi + lo is
        # at most P + 7, i.e. already reduced unless it is >= P, when v - P is the reduced value.
        hi = v >> _SHIFT
        v &= _P
        v += hi
        if precision == 32:
            np.minimum(v, v - _P, out=v)  # reduced (a value >= P gives the smaller wrapped difference)
            v &= np.uint64(0xFFFFFFFF)  # datatrove masks each value before taking the minimum
            np.minimum(out, v.min(axis=0), out=out)
        else:
            # min of the reduced values = min(min of those < P, min of (those >= P) - P): when v < P, v - P
            # wraps around to a huge number and never wins.
            np.minimum(out, v.min(axis=0), out=out)
            v -= _P
            np.minimum(out, v.min(axis=0), out=out)
    return out.astype(np.uint32) if precision == 32 else out


class MinhashSignature(MinhashDedupSignature):
    """Stage 1 of MinHash dedup: the same signature files as datatrove's MinhashDedupSignature, faster
    (normalisation on numpy arrays, finemill's memoized spaCy-compatible word splitter, one pass of hashing, block-wise
    permutations over distinct shingles)."""

    name = "🎯 MinHash stage 1 (finemill)"
    worker_preload: ClassVar[tuple[str, ...]] = SPACY_PRELOAD

    def __init__(
        self,
        output_folder: DataFolderLike,
        config: MinhashConfig | None = None,
        language: str = Languages.english,
        skip_existing_sigs: bool = False,
    ) -> None:
        super().__init__(
            output_folder, config=config, language=language, skip_existing_sigs=skip_existing_sigs
        )
        # the memoized spaCy-compatible splitter the quality filters use: the same words, once per run
        self.word_tokenizer = load_word_tokenizer(word_splitter("fast", language))

    def get_shingles(self, text: str) -> np.ndarray:
        """uint64 (N, 1): the hashes of the word n-grams of the simplified text, as in datatrove."""
        words = self.word_tokenizer.word_tokenize(simplify(text, self.config.norm_config))
        shingles = ngram_strings(words, self.config.n_grams)
        return shingle_hashes(shingles, self.config.hash_config).reshape(-1, 1)

    def get_signature(self, shingles: np.ndarray) -> list[list[int]]:
        """The signature as datatrove returns it: num_buckets lists of hashes_per_bucket ints."""
        a, b = self.parameters
        sig = min_hashes(
            shingles, a, b, self.config.hash_config.precision
        )  # (num_buckets * hashes_per_bucket,)
        return sig.reshape(self.config.num_buckets, -1).tolist()


def language_key(language: str, precision: int = 64) -> int:
    """A document language's number in its signature: the first 8 bytes of the label's sha1, cut to the
    hashes' range (below 2**61 - 1 at 64 bits, as every MinHash value: datatrove's buckets stage stops reading
    a file at the first record whose first value reaches it). Two labels with the same number would be
    compared: `tests/steps/filters/test_languages.py` checks that lid.176's labels and FineWeb-2's names
    all have distinct ones."""
    key = int.from_bytes(hashlib.sha1(language.encode("utf-8")).digest()[:8], "little")
    return key & 0xFFFFFFFF if precision == 32 else key % int(_P)


def by_language_config(config: MinhashConfig) -> MinhashConfig:
    """The signature files' layout when each bucket's record starts with the document's language key."""
    return dataclasses.replace(config, hashes_per_bucket=config.hashes_per_bucket + 1)


class LanguageMinhashSignature(MinhashSignature):
    """Signatures that never match across languages: each bucket's record starts with the document's
    language key (`language_key` of its `language` metadata), so datatrove's buckets stage, which pairs
    documents whose records are equal, only pairs documents of one language. The words of each document are
    split by its language's splitter (`finemill.text.language_words`), as FineWeb-2 splits per language."""

    name = "🎯 MinHash stage 1, per language (finemill)"

    def __init__(self, output_folder: DataFolderLike, config: MinhashConfig | None = None) -> None:
        super().__init__(output_folder, config=config)
        self.words_config = self.config  # the permutations: num_buckets x hashes_per_bucket
        self.config = by_language_config(self.config)  # the files: one more value per bucket record
        self._language = "unknown"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        def noting_language(documents: DocumentsPipeline) -> DocumentsPipeline:
            for doc in documents:  # datatrove signs each document before it asks for the next
                self._language = doc.metadata.get("language") or "unknown"
                yield doc

        return super().run(noting_language(data), rank, world_size)

    def get_shingles(self, text: str) -> np.ndarray:
        self.word_tokenizer = language_words(fineweb2_name(self._language)).splitter
        return super().get_shingles(text)

    def get_signature(self, shingles: np.ndarray) -> list[list[int]]:
        a, b = self.parameters
        precision = self.config.hash_config.precision
        sig = min_hashes(shingles, a, b, precision).reshape(self.config.num_buckets, -1).tolist()
        key = language_key(self._language, precision)
        return [[key, *bucket] for bucket in sig]
