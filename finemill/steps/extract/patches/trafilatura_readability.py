"""finemill's faster equivalents of two readability steps, in trafilatura's readability for the length of a block.

`fast_readability()` sets `remove_unlikely_candidates` and `transform_misused_divs_into_paragraphs` of
`trafilatura.readability_lxml.Document` (trafilatura's own copy of readability, used only by trafilatura)
to `finemill.steps.extract.fast_readability`'s, which change the tree the same way with less work, and puts
readability's back at the end (`finemill.patches.swap`). Scoped: the extract step wraps each `extract`
call in it. It checks that the
methods and the patterns they use are still the ones the equivalents were written for; where they are not,
readability runs as installed, with a `PatchSkipped` warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from finemill.patches.check import checked_modules, code_digest
from finemill.patches.swap import ScopedSwap, attribute
from finemill.steps.extract.fast_readability import MisusedDivs, UnlikelyCandidates

PATCH = "fast readability steps"
# the code of the two methods replaced, and the pattern texts they use, as the equivalents were written for
METHODS = {
    "remove_unlikely_candidates": "33705e99e077",
    "transform_misused_divs_into_paragraphs": "1d019825c816",
}
PATTERNS = {
    "unlikelyCandidatesRe": "combx|comment|community|disqus|extra|foot|header|menu|remark|rss|shoutbox|sidebar|"
    "sponsor|ad-break|agegate|pagination|pager|popup|tweet|twitter",
    "okMaybeItsACandidateRe": "and|article|body|column|main|shadow",
    "divToPElementsRe": "<(?:a|blockquote|dl|div|img|ol|p|pre|table|ul)",
}


def _problem(readability) -> str | None:
    document = getattr(readability, "Document", None)
    regexes = getattr(readability, "REGEXES", {})
    for name, pattern in PATTERNS.items():
        if getattr(regexes.get(name), "pattern", None) != pattern:
            return (
                f"readability_lxml.REGEXES[{name!r}] is not the pattern finemill's equivalent was written for"
            )
    if getattr(readability, "FRAME_TAGS", None) != {"body", "html"}:
        return "readability_lxml.FRAME_TAGS changed"
    for name, digest in METHODS.items():
        method = getattr(document, name, None)
        if method is None or code_digest(method) != digest:
            return f"readability_lxml.Document.{name} is not the code finemill's equivalent was written for"
    return None


@lru_cache(maxsize=1)
def _swap() -> ScopedSwap | None:
    """The two methods to swap, None where readability no longer looks as expected."""
    found = checked_modules("trafilatura", PATCH, ("trafilatura.readability_lxml",), _problem)
    if found is None:
        return None
    (readability_lxml,) = found
    regexes, document = readability_lxml.REGEXES, readability_lxml.Document
    unlikely = UnlikelyCandidates(
        regexes["unlikelyCandidatesRe"], regexes["okMaybeItsACandidateRe"], readability_lxml.FRAME_TAGS
    )
    divs = MisusedDivs(regexes["divToPElementsRe"], readability_lxml._tostring)
    steps = {"remove_unlikely_candidates": unlikely, "transform_misused_divs_into_paragraphs": divs}
    # plain functions, so that `document.method()` passes the Document as the first argument
    return ScopedSwap([attribute(document, name, _as_method(step)) for name, step in steps.items()])


def _as_method(step):
    def method(self) -> None:
        step(self)

    method.__name__ = type(step).__name__
    return method


@contextmanager
def fast_readability() -> Iterator[bool]:
    """Within the block, trafilatura's readability uses finemill's two steps; yields whether they are in
    place (False where the target changed). Other threads using trafilatura meanwhile use them too; they
    change the tree as readability's do, so that changes their speed, not their output."""
    swap = _swap()
    if swap is None:
        yield False
        return
    with swap.applied():
        yield True
