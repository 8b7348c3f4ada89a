"""The registry of recipe steps: the name used in YAML -> the class that does the work.

Every entry but `minhash` is a datatrove PipelineStep whose keyword arguments are the step's settings
in the recipe. `minhash` names the settings of the four MinHash stages (signatures, buckets, clusters,
filter), which split the run into stages; see `finemill.pipeline.plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.utils.hashing import HashConfig

from finemill.filters.extract import TrafilaturaExtractor
from finemill.filters.fineweb_quality import FineWebQualityFilter
from finemill.filters.language import FastTextLanguageFilter
from finemill.filters.pii import PIIScrubber
from finemill.filters.quality import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter
from finemill.filters.resiliparse_extract import ResiliparseExtractor
from finemill.filters.url import OfflineURLFilter
from finemill.pipeline.step_kinds import EXTRACT_STEPS


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

    def config(self) -> MinhashConfig:
        return MinhashConfig(
            n_grams=self.n_grams,
            num_buckets=self.num_buckets,
            hashes_per_bucket=self.hashes_per_bucket,
            seed=self.seed,
            hash_config=HashConfig(precision=self.precision, hash_fc=self.hash_fc),
        )


STEPS: dict[str, type] = {
    "url_filter": OfflineURLFilter,
    "extract": TrafilaturaExtractor,
    "extract_resiliparse": ResiliparseExtractor,  # the fast profile (configs/fineweb-fast.yaml)
    "language": FastTextLanguageFilter,
    "gopher_repetition": GopherRepetitionFilter,
    "gopher_quality": GopherQualityFilter,
    "c4_quality": C4QualityFilter,
    "fineweb_quality": FineWebQualityFilter,
    "minhash": MinhashDedup,
    "pii": PIIScrubber,
}

# Steps that remove documents: each gets a writer for `removed/<step>/`.
REMOVING_STEPS = {"url_filter", *EXTRACT_STEPS, "language", "gopher_repetition", "gopher_quality", "c4_quality",
                  "fineweb_quality", "minhash"}
