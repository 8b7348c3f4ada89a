"""finemill's compiled XPaths swapped into trafilatura's lists for the length of a block.

trafilatura keeps its XPath expressions in module-level lists (`trafilatura.xpaths`, shared by the modules
that use them). `compiled_xpaths()` puts the expressions `finemill.steps.extract.fast_xpath` compiles (the
same elements, in the same order, ~2x faster extraction overall) in place in those lists, and lxml's back
at the end. Scoped: the extract step wraps each `extract` call in it; no other trafilatura user is affected.
Within the block the compiled expressions keep the elements they visit alive (`fast_xpath.kept_alive`),
so that later expressions reuse lxml's objects for them instead of making new ones.
It checks that trafilatura still has such lists of lxml XPath objects: where it has not, trafilatura runs
as installed, with a `PatchSkipped` warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from finemill.patches.check import skip


@dataclass
class Swap:
    """trafilatura's XPath lists: for each list name, its original expressions and the same with the
    compiled ones in place."""

    module: object | None  # trafilatura.xpaths, None where trafilatura no longer looks as expected
    lists: dict[str, tuple[list, list]]
    compiled: int  # how many expressions are compiled


@lru_cache(maxsize=1)
def _swap() -> Swap:
    """Read trafilatura's lists once, before any swap."""
    from lxml import etree

    from finemill.steps.extract.fast_xpath import CompiledXPath, compile_xpath

    try:
        from trafilatura import xpaths
    except ImportError:
        skip("trafilatura", "compiled XPaths", "trafilatura.xpaths cannot be imported")
        return Swap(None, {}, 0)
    lists = {}
    for name, expressions in vars(xpaths).items():
        if name.isupper() and isinstance(expressions, list):
            compiled = [(compile_xpath(x) if isinstance(x, etree.XPath) else None) or x for x in expressions]
            lists[name] = (list(expressions), compiled)
    count = sum(isinstance(x, CompiledXPath) for _, compiled in lists.values() for x in compiled)
    if count == 0:
        skip(
            "trafilatura",
            "compiled XPaths",
            "trafilatura.xpaths has no list of lxml XPath expressions that finemill compiles",
        )
        return Swap(None, {}, 0)
    return Swap(xpaths, lists, count)


_active = False


@contextmanager
def compiled_xpaths() -> Iterator[int]:
    """Within the block, trafilatura uses the compiled expressions: they are swapped into its lists in place
    (trafilatura's modules import the lists themselves, so they see the change) and lxml's are put back at
    the end. Yields how many expressions are compiled. Other threads calling trafilatura meanwhile use the
    compiled expressions too; as they select the same elements, that changes their speed, not their output."""
    global _active
    from finemill.steps.extract import fast_xpath

    swap = _swap()
    if _active or swap.module is None:  # nested (already swapped in), or nothing to swap
        yield swap.compiled
        return
    _active = True
    try:
        for name, (_, compiled) in swap.lists.items():
            getattr(swap.module, name)[:] = compiled
        fast_xpath.kept_alive = []  # the elements visited, kept for the length of the block
        yield swap.compiled
    finally:
        fast_xpath.kept_alive = None
        for name, (originals, _) in swap.lists.items():
            getattr(swap.module, name)[:] = originals
        _active = False
