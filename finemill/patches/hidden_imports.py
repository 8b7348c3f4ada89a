"""Importing spaCy and presidio without the heavy packages they import only for features finemill never uses.

spaCy's `thinc` imports PyTorch whenever it is installed (~1.6 s per process; finemill installs torch for
training), and presidio's package imports transformers for its Hugging Face engine (~5 s). The word splitter
and the pattern recognizers need neither. Hiding a module for the length of one import makes that import
treat it as not installed (both libraries handle that case: thinc and presidio import them in
`try/except ImportError`); later imports see it again. Scoped: `with hidden(...)` around the import only.

What is hidden is checked per library: only in the release series where it was tested to be optional
(`THINC_SERIES`, `PRESIDIO_SERIES`); elsewhere nothing is hidden, with a `PatchSkipped` warning. Should a
library need a hidden module all the same, the import fails with a warning saying which.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from finemill.patches.check import PatchSkipped, outside_series, skip

# spaCy pipeline packages that run on PyTorch through thinc: with one of them installed, a user may load
# a transformer model for presidio, so torch stays visible to thinc.
SPACY_TORCH_PACKAGES = ("spacy_transformers", "spacy_curated_transformers")
THINC_SERIES = ("8.",)  # thinc imports torch only if it can (thinc/compat.py)
PRESIDIO_SERIES = ("2.2.",)  # presidio-analyzer imports transformers only if it can (its nlp_engine package)


@contextmanager
def hidden(*names: str) -> Iterator[None]:
    """Within the block, `import NAME` raises ImportError for each NAME not imported yet."""
    hiding = [name for name in names if name not in sys.modules]
    for name in hiding:
        sys.modules[name] = None  # the import system's marker for "cannot be imported"
    try:
        yield
    except ImportError as e:
        if e.name in hiding:
            warnings.warn(
                f"finemill: an import now needs {e.name}, which finemill hides during it "
                "(finemill/patches/hidden_imports.py); update the patch for this version",
                PatchSkipped,
                stacklevel=3,
            )
        raise
    finally:
        for name in hiding:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


@lru_cache(maxsize=1)
def torch_unused_by_spacy() -> tuple[str, ...]:
    """("torch",) unless a spaCy transformer package is installed or thinc is not a tested release."""
    if any(importlib.util.find_spec(package) is not None for package in SPACY_TORCH_PACKAGES):
        return ()
    if problem := outside_series("thinc", THINC_SERIES):
        skip("thinc", "spaCy imported without torch", problem)
        return ()
    return ("torch",)


@lru_cache(maxsize=1)
def transformers_unused_by_presidio() -> tuple[str, ...]:
    """("transformers",) where presidio-analyzer is a tested release."""
    if problem := outside_series("presidio-analyzer", PRESIDIO_SERIES):
        skip("presidio-analyzer", "presidio imported without transformers", problem)
        return ()
    return ("transformers",)
