"""Importing spaCy and presidio without the heavy packages they import only for features finemill never uses.

spaCy's `thinc` imports PyTorch whenever it is installed (~1.6 s per process; finemill installs torch for
training), and presidio's package imports transformers for its Hugging Face engine (~5 s). The word splitter
and the pattern recognizers need neither. Hiding a module for the length of one import makes that import
treat it as not installed (both libraries handle that case); later imports see it again.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# spaCy pipeline packages that run on PyTorch through thinc: with one of them installed, a user may load
# a transformer model for presidio, so torch stays visible to thinc.
SPACY_TORCH_PACKAGES = ("spacy_transformers", "spacy_curated_transformers")


@contextmanager
def hidden(*names: str) -> Iterator[None]:
    """Within the block, `import NAME` raises ImportError for each NAME not imported yet."""
    hiding = [name for name in names if name not in sys.modules]
    for name in hiding:
        sys.modules[name] = None  # the import system's marker for "cannot be imported"
    try:
        yield
    finally:
        for name in hiding:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def torch_unused_by_spacy() -> tuple[str, ...]:
    """("torch",) unless a spaCy transformer package is installed."""
    if any(importlib.util.find_spec(package) is not None for package in SPACY_TORCH_PACKAGES):
        return ()
    return ("torch",)
