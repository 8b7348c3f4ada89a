"""The MinHash signature step: datatrove's MinhashDedupSignature with the slow parts replaced.

Same signature files, byte for byte: the stage's file layout, sorting and verification are datatrove's own
(`run` is inherited); only the two methods that do per-document work are overridden.
"""

from __future__ import annotations

import numpy as np
from datatrove.io import DataFolderLike
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from datatrove.utils.typeshelper import Languages
from datatrove.utils.word_tokenizers import load_word_tokenizer

from finemill.steps.dedup.minhash.hashing import ngram_strings, shingle_hashes
from finemill.steps.dedup.minhash.text import simplify
from finemill.steps.filters.quality import word_splitter

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
