"""Hashes of a document's word n-grams, in one pass, equal to datatrove's per-n-gram `hash_func` values."""

from __future__ import annotations

import hashlib

import numpy as np
import xxhash
from datatrove.utils.hashing import HashConfig, create_hash_func


def ngram_strings(words: list[str], n: int) -> list[str]:
    """The n-grams of `words` joined by spaces, in order (datatrove: `" ".join(x) for x in ngrams(words, n)`);
    none when there are fewer than n words."""
    return list(map(" ".join, zip(*(words[k:] for k in range(n)), strict=False)))


def shingle_hashes(shingles: list[str], config: HashConfig) -> np.ndarray:
    """uint64 (N,): the hash of each shingle, as datatrove's `create_hash_func(config)` computes it."""
    if config.hash_fc == "sha1":
        # datatrove: struct.unpack("<Q"/"<I", sha1(s.encode("utf-8")).digest()[:8/4]). Collect all digests,
        # then read the first 8 (or 4) bytes of each as little-endian integers in one numpy view.
        width = 8 if config.precision == 64 else 4
        sha1 = hashlib.sha1
        digests = b"".join([sha1(s.encode("utf-8")).digest() for s in shingles])
        first = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 20)[:, :width]  # uint8 (N, width)
        return np.ascontiguousarray(first).view(f"<u{width}").ravel().astype(np.uint64)
    if config.hash_fc == "xxhash":
        # the functions datatrove's xxhash32/xxhash64 call, without the wrapper call per shingle
        digest = xxhash.xxh64_intdigest if config.precision == 64 else xxhash.xxh32_intdigest
        return np.fromiter(map(digest, shingles), dtype=np.uint64, count=len(shingles))
    hash_func = create_hash_func(config)  # anything newer: datatrove's own function
    return np.fromiter(map(hash_func, shingles), dtype=np.uint64, count=len(shingles))
