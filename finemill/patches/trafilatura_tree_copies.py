"""Two of the three copies of the page's tree in trafilatura's `bare_extraction` skipped, for one call.

trafilatura 1.11's `bare_extraction` copies the parsed page three times (a tenth of its time on real
pages, copying and freeing the trees):

    tree_backup = copy(tree)                    # the page as parsed
    cleaned_tree_backup = copy(cleaned_tree)    # the page after tree_cleaning, for justext
    compare_extraction(cleaned_tree_backup, deepcopy(tree_backup), ...)   # readability changes its copy
    baseline(deepcopy(tree_backup))             # only when the extraction is still too short

`compare_extraction` hands its first tree only to `justext_rescue` (1 real page in 28), and only the
baseline (1 in 100) reads `tree_backup` after readability. Within `fewer_tree_copies(html)`:

- readability gets `tree_backup` itself instead of a copy;
- the baseline gets `html` parsed again by trafilatura's `load_html` (the same parser on the same text:
  the tree `tree_backup` was a copy of);
- `cleaned_tree_backup` is a `DeferredTree`, built only when `justext_rescue` receives it: `html` parsed
  again and cleaned by trafilatura's `tree_cleaning` with the call's options (what `cleaned_tree` was).

This holds for `extract(html, ...)` without `prune_xpath` or `with_metadata` (neither changes the parsed
tree then), as the extract step calls it. The names `copy` and `deepcopy` of `trafilatura.core` and
`justext_rescue` of `trafilatura.external` are swapped for the block; they act only in the thread that
entered it (others get real copies). The patch checks that those functions are the code it was written
for; where not, trafilatura runs as installed, with a `PatchSkipped` warning.
`tests/test_extraction_speedups.py` checks identical `extract` output on real pages.
"""

from __future__ import annotations

import copy as copying
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from finemill.patches.check import checked_modules, code_digest

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


@dataclass
class Swap:
    modules: dict  # "core", "external": trafilatura's modules; empty where they no longer look as expected
    originals: dict
    replacements: dict


_local = threading.local()
_lock = threading.Lock()  # guards _active: the names are swapped while any thread is in a block


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
    return _swap().modules["core"].load_html(call.html)  # for the baseline: the page as parsed


def _justext_rescue(tree, options, *args, **kwargs):
    swap = _swap()
    if isinstance(tree, DeferredTree):
        tree = tree.build(swap.modules["core"], options)
    return swap.originals["justext_rescue"](tree, options, *args, **kwargs)


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
def _swap() -> Swap:
    found = checked_modules("trafilatura", PATCH, ("trafilatura.core", "trafilatura.external"), _problem)
    if found is None:
        return Swap({}, {}, {})
    core, external = found
    modules = {"core": core, "external": external}
    originals = {"copy": core.copy, "deepcopy": core.deepcopy, "justext_rescue": external.justext_rescue}
    replacements = {"copy": _copy, "deepcopy": _deepcopy, "justext_rescue": _justext_rescue}
    return Swap(modules, originals, replacements)


def _module_of(name: str) -> str:
    return "external" if name == "justext_rescue" else "core"


_active = 0


@contextmanager
def fewer_tree_copies(html: str) -> Iterator[bool]:
    """Within the block, one `trafilatura.extract(html, ...)` call in this thread copies its tree once
    instead of three times; yields whether the patch is in place (False where the target changed)."""
    global _active
    swap = _swap()
    if not swap.modules or _call() is not None:  # nothing to swap, or nested in this thread
        yield bool(swap.modules)
        return
    _local.call = Call(html)
    with _lock:
        if _active == 0:
            for name, function in swap.replacements.items():
                setattr(swap.modules[_module_of(name)], name, function)
        _active += 1
    try:
        yield True
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                for name, function in swap.originals.items():
                    setattr(swap.modules[_module_of(name)], name, function)
        _local.call = None
