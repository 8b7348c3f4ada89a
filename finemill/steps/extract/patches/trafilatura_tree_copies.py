"""Two of the three copies of the page's tree in trafilatura's `bare_extraction` skipped, for one call.

trafilatura 1.11's `bare_extraction` copies the parsed page three times (copying and freeing the trees
is a share of its time on real pages: docs/performance.md):

    tree_backup = copy(tree)                    # the page as parsed
    cleaned_tree_backup = copy(cleaned_tree)    # the page after tree_cleaning, for justext
    compare_extraction(cleaned_tree_backup, deepcopy(tree_backup), ...)   # readability changes its copy
    baseline(deepcopy(tree_backup))             # only when the extraction is still too short

`compare_extraction` hands its first tree only to `justext_rescue` (on few real pages), and only the
baseline (on fewer still) reads `tree_backup` after readability. Within `fewer_tree_copies(html)`:

- readability gets `tree_backup` itself instead of a copy;
- the baseline gets `html` parsed again by trafilatura's `load_html` (the same parser on the same text:
  the tree `tree_backup` was a copy of);
- `cleaned_tree_backup` is a `DeferredTree`, built only when `justext_rescue` receives it: `html` parsed
  again and cleaned by trafilatura's `tree_cleaning` with the call's options (what `cleaned_tree` was).

This holds for `extract(html, ...)` without `prune_xpath` or `with_metadata` (neither changes the parsed
tree then), as the extract step calls it. The names `copy` and `deepcopy` of `trafilatura.core` and
`justext_rescue` of `trafilatura.external` are swapped for the block (`finemill.patches.swap`); they act
only in the thread that entered it (other threads get real copies, and their own `justext_rescue`). The
patch checks that those functions are the code it was written for; where not, trafilatura runs as
installed, with a `PatchSkipped` warning.
`tests/steps/extract/test_extraction_speedups.py` checks identical `extract` output on real pages.
"""

from __future__ import annotations

import copy as copying
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from finemill.patches.check import checked_modules, code_digest
from finemill.patches.swap import ScopedSwap, attribute

PATCH = "fewer tree copies"
# the code of the functions whose use of the copies this patch relies on, as it was written for
FUNCTIONS = {
    ("core", "bare_extraction"): "38d0261ef00e",
    ("external", "compare_extraction"): "30b59ce8caf7",
    ("external", "justext_rescue"): "71f7a829af13",
}


class DeferredTree:
    """`cleaned_tree_backup`, built from the page's HTML when it is first needed. Any other use than
    being handed to `justext_rescue` fails loudly (it has no element methods)."""

    __slots__ = ("html",)

    def __init__(self, html: str):
        self.html = html

    def build(self, core, options):
        return core.tree_cleaning(core.load_html(self.html), options)


@dataclass
class Call:
    """One `extract` call's state: its HTML, how many trees `core.copy` copied, the first (tree_backup)
    and whether it was lent to readability."""

    html: str
    copies: int = 0
    backup: object = None
    backup_lent: bool = False


@dataclass(frozen=True)
class Patch:
    """trafilatura.core as checked, trafilatura's own `justext_rescue`, and the names to swap."""

    core: object
    justext_rescue: Callable
    swap: ScopedSwap


_local = threading.local()  # the thread's `Call`, while it is in a block


def _call() -> Call | None:
    return getattr(_local, "call", None)


def _copy(tree):
    call = _call()
    if call is None:
        return copying.copy(tree)
    call.copies += 1
    if call.copies == 1:  # tree_backup
        call.backup = copying.copy(tree)
        return call.backup
    if call.copies == 2:  # cleaned_tree_backup
        return DeferredTree(call.html)
    return copying.copy(tree)


def _deepcopy(tree, memo=None):
    call = _call()
    if call is None or call.backup is None or tree is not call.backup:
        return copying.deepcopy(tree, memo)
    if not call.backup_lent:  # for readability: nothing but the baseline reads tree_backup after it
        call.backup_lent = True
        return tree
    return _swap().core.load_html(call.html)  # for the baseline: the page as parsed


def _justext_rescue(tree, options, *args, **kwargs):
    patch = _swap()
    if isinstance(tree, DeferredTree):
        tree = tree.build(patch.core, options)
    return patch.justext_rescue(tree, options, *args, **kwargs)


def _problem(core, external) -> str | None:
    modules = {"core": core, "external": external}
    for (module, name), digest in FUNCTIONS.items():
        function = getattr(modules[module], name, None)
        if function is None or code_digest(function) != digest:
            return f"trafilatura.{module}.{name} is not the code finemill's patch was written for"
    core = modules["core"]
    if (
        getattr(core, "copy", None) is not copying.copy
        or getattr(core, "deepcopy", None) is not copying.deepcopy
    ):
        return "trafilatura.core no longer uses copy.copy and copy.deepcopy"
    if not all(callable(getattr(core, name, None)) for name in ("load_html", "tree_cleaning")):
        return "trafilatura.core has no load_html or tree_cleaning"
    return None


@lru_cache(maxsize=1)
def _swap() -> Patch | None:
    """The names to swap, None where trafilatura no longer looks as expected."""
    found = checked_modules("trafilatura", PATCH, ("trafilatura.core", "trafilatura.external"), _problem)
    if found is None:
        return None
    core, external = found
    swap = ScopedSwap(
        [
            attribute(core, "copy", _copy),
            attribute(core, "deepcopy", _deepcopy),
            attribute(external, "justext_rescue", _justext_rescue),
        ]
    )
    return Patch(core, external.justext_rescue, swap)


@contextmanager
def fewer_tree_copies(html: str) -> Iterator[bool]:
    """Within the block, one `trafilatura.extract(html, ...)` call in this thread copies its tree once
    instead of three times; yields whether the patch is in place (False where the target changed)."""
    patch = _swap()
    if patch is None:
        yield False
        return
    if _call() is not None:  # nested in this thread: the outer block's call goes on
        yield True
        return
    _local.call = Call(html)
    try:
        with patch.swap.applied():
            yield True
    finally:
        _local.call = None
