"""The registry of recipe steps: the name used in YAML -> the class that does the work, and what kind of
step it is.

Every entry but `minhash` is a datatrove PipelineStep whose keyword arguments are the step's settings
in the recipe. `minhash` names the settings of the four MinHash stages (signatures, buckets, clusters,
filter), which split the run into stages; see `finemill.pipeline.plan`.

Classes are imported on first use: the stats and inspect commands read runs on machines where a step's
dependencies (datatrove, spaCy, ...) may be missing, and key on the kinds below, which need no import.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

from finemill.errors import FinemillError


@dataclass(frozen=True)
class StepEntry:
    """One recipe step: its name, where its class lives, and its kind."""

    name: str
    target: str | type  # "module:Class", imported on first use (or the class itself)
    removes: bool = True  # drops documents: gets a writer for removed/<step>/
    extracts: bool = False  # turns page HTML into main text; a recipe has at most one such step
    reads_html: bool = False  # sees the page HTML, not extracted text (so its removed rows hold HTML)

    def load(self) -> type:
        """The step's class (importing its module, and so its dependencies, now)."""
        if isinstance(self.target, type):
            return self.target
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


_ENTRIES = (
    StepEntry("url_filter", "finemill.steps.filters.url:OfflineURLFilter", reads_html=True),
    StepEntry(
        "extract", "finemill.steps.extract.trafilatura:TrafilaturaExtractor", extracts=True, reads_html=True
    ),
    # the fast profile (configs/fineweb-fast.yaml)
    StepEntry(
        "extract_resiliparse",
        "finemill.steps.extract.resiliparse:ResiliparseExtractor",
        extracts=True,
        reads_html=True,
    ),
    StepEntry("language", "finemill.steps.filters.language:FastTextLanguageFilter"),
    StepEntry("gopher_repetition", "finemill.steps.filters.per_language:GopherRepetitionFilter"),
    StepEntry("gopher_quality", "finemill.steps.filters.per_language:GopherQualityFilter"),
    StepEntry("c4_quality", "finemill.steps.filters.quality:C4QualityFilter"),
    StepEntry("fineweb_quality", "finemill.steps.filters.per_language:FineWebQualityFilter"),
    StepEntry("minhash", "finemill.steps.dedup.config:MinhashDedup"),
    StepEntry(
        "pii", "finemill.steps.pii.scrubber:PIIScrubber", removes=False
    ),  # rewrites text, drops nothing
    # model-based quality classifiers (#23): a fastText file, a transformers folder
    StepEntry("quality_fasttext", "finemill.steps.filters.quality_fasttext:QualityFastTextFilter"),
    StepEntry("quality_hf", "finemill.steps.filters.quality_hf:QualityHFFilter"),
    # `finemill ablate` holds documents out of every variant by a hash of their URL (their bits per byte text)
    StepEntry("url_holdout", "finemill.ablate.heldout:URLHoldout"),
)

STEPS: dict[str, StepEntry] = {entry.name: entry for entry in _ENTRIES}

# The kinds, derived from the entries.
EXTRACT_STEPS = tuple(name for name, entry in STEPS.items() if entry.extracts)
HTML_STEPS = tuple(name for name, entry in STEPS.items() if entry.reads_html)
REMOVING_STEPS = frozenset(name for name, entry in STEPS.items() if entry.removes)


def step_class(name: str) -> type:
    """The class of a registered step (a KeyError for an unknown name: recipes are checked before)."""
    return STEPS[name].load()


def custom_step(target: str, name: str) -> StepEntry:
    """A recipe step that is any datatrove PipelineStep named by import path (`package.module.Class` or
    `package.module:Class`), imported now. A filter (datatrove's BaseFilter) removes documents: it gets a
    writer for removed/<name>/ like the built-in filters. One-line errors when it does not import or is not a
    PipelineStep."""
    from datatrove.pipeline.base import PipelineStep
    from datatrove.pipeline.filters.base_filter import BaseFilter

    module, sep, attribute = target.partition(":") if ":" in target else target.rpartition(".")
    if not module or not attribute:
        raise FinemillError(
            f"class {target!r}: expected an import path like datatrove.pipeline.filters.RegexFilter"
        )
    try:
        cls = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as e:
        raise FinemillError(f"class {target!r} cannot be imported: {type(e).__name__}: {e}") from None
    if not (isinstance(cls, type) and issubclass(cls, PipelineStep)):
        raise FinemillError(f"class {target!r} is not a datatrove PipelineStep")
    return StepEntry(name, cls, removes=issubclass(cls, BaseFilter))


def snake_case(class_name: str) -> str:
    """RegexFilter -> regex_filter, URLFilter -> url_filter: a custom step's default name."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()
