"""The recipe's `minhash` settings: FineWeb's MinHash parameters, as datatrove's MinhashConfig."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.utils.hashing import HashConfig


@dataclass
class MinhashDedup:
    """FineWeb's MinHash settings: word 5-grams, 14 buckets x 8 hashes, 64-bit sha1 hashes.

    datatrove now hashes with xxhash by default; FineWeb used sha1 (`hash_fc: sha1`)."""

    n_grams: int = 5
    num_buckets: int = 14
    hashes_per_bucket: int = 8
    seed: int = 1
    hash_fc: Literal["sha1", "xxhash"] = "sha1"
    precision: Literal[32, 64] = 64
    # true: documents of different languages never match (FineWeb-2 deduplicates each language on its own);
    # each document's words are split by its language's splitter
    by_language: bool = False

    def config(self) -> MinhashConfig:
        return MinhashConfig(
            n_grams=self.n_grams,
            num_buckets=self.num_buckets,
            hashes_per_bucket=self.hashes_per_bucket,
            seed=self.seed,
            hash_config=HashConfig(precision=self.precision, hash_fc=self.hash_fc),
        )
