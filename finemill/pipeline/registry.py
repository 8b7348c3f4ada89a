"""The registry of recipe steps: the name used in YAML -> the class that does the work.

Every entry but `minhash` is a datatrove PipelineStep whose keyword arguments are the step's settings
in the recipe. `minhash` names the settings of the four MinHash stages (signatures, buckets, clusters,
filter), which split the run into stages; see `finemill.pipeline.plan`.
"""

from __future__ import annotations

from finemill.pipeline.step_kinds import EXTRACT_STEPS
from finemill.steps.dedup.config import MinhashDedup
from finemill.steps.extract.resiliparse import ResiliparseExtractor
from finemill.steps.extract.trafilatura import TrafilaturaExtractor
from finemill.steps.filters.fineweb_quality import FineWebQualityFilter
from finemill.steps.filters.language import FastTextLanguageFilter
from finemill.steps.filters.quality import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter
from finemill.steps.filters.url import OfflineURLFilter
from finemill.steps.pii.scrubber import PIIScrubber

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
