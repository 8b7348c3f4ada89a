"""trafilatura made faster for one `extract` call at a time, with the same output: the extract step enters
each in a block around the call (`TrafilaturaExtractor`'s switches turn them off one by one).

    trafilatura_xpaths        `compiled_xpaths()`: finemill's compiled XPaths in trafilatura's lists, and
                              lxml's C class lookups in trafilatura's HTML parser
    trafilatura_readability   `fast_readability()`: two steps of trafilatura's readability with less work
    trafilatura_tree_copies   `fewer_tree_copies(html)`: one copy of the page's tree instead of three
    trafilatura_text_helpers  `fast_text_helpers()`: two text helpers without the work that cannot change
                              their result

Each checks its target first (`PatchSkipped` where it changed) and swaps through `finemill.patches.swap`,
whose concurrency model all four share. docs/patches.md says why each is safe and which test shows it.
"""

from __future__ import annotations

from finemill.steps.extract.patches.trafilatura_readability import fast_readability
from finemill.steps.extract.patches.trafilatura_text_helpers import fast_text_helpers
from finemill.steps.extract.patches.trafilatura_tree_copies import fewer_tree_copies
from finemill.steps.extract.patches.trafilatura_xpaths import compiled_xpaths

__all__ = ["compiled_xpaths", "fast_readability", "fast_text_helpers", "fewer_tree_copies"]
