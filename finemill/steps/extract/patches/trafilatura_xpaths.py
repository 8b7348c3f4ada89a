"""finemill's compiled XPaths swapped into trafilatura's lists for the length of a block.

trafilatura keeps its XPath expressions in module-level lists (`trafilatura.xpaths`, shared by the modules
that use them). `compiled_xpaths()` puts the expressions `finemill.steps.extract.fast_xpath` compiles (the
same elements, in the same order, faster: docs/performance.md) in place in those lists, and lxml's back
at the end (`finemill.patches.swap`). Scoped: the extract step wraps each `extract` call in it; no other
trafilatura user is affected. Within the block the compiled expressions keep the elements they visit
alive (`fast_xpath.kept_alive`), so that later expressions reuse lxml's objects for them instead of making
new ones.
It checks that trafilatura still has such lists of lxml XPath objects: where it has not, trafilatura runs
as installed, with a `PatchSkipped` warning.

Within the block trafilatura's HTML parser also picks the Python class of each element object in C
(`c_class_lookup`): lxml.html's parser asks `HtmlElementClassLookup.lookup`, a Python method, every time
lxml makes an element object (hundreds of times per page), for a choice that
depends on the tag name only: five form tags have their own classes, every other element is an
`HtmlElement`, comments, processing instructions and entities have theirs. lxml's own
`ElementNamespaceClassLookup` over an `ElementDefaultClassLookup` makes the same choice for the names the
HTML parser gives (lower case, no namespace). Checked: lxml.html's parser and lookup are the code this was
written for (`PatchSkipped` otherwise, and the parser keeps its lookup); at the end the parser gets a new
`HtmlElementClassLookup`, as lxml.html's parser makes for itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from finemill.patches.check import code_digest, skip
from finemill.patches.swap import Replacement, ScopedSwap, fresh_attribute, list_contents
from finemill.steps.extract import fast_xpath

# lxml.html's code the C lookup stands for: HTMLParser.__init__ (sets an HtmlElementClassLookup()) and the
# lookup's __init__ and lookup methods
LXML_HTML_LOOKUP = {
    "HTMLParser.__init__": "9a9712818d7d",
    "lookup": "fedd067d0a87",
    "__init__": "83b8379dc3e5",
}


@dataclass(frozen=True)
class Swap:
    """What `compiled_xpaths()` swaps: trafilatura's lists with the compiled expressions in place, the
    compiled expressions' kept elements, and trafilatura's parser's class lookup."""

    compiled: int  # how many expressions are compiled: 0 where trafilatura no longer looks as expected
    scoped: ScopedSwap | None  # None where there is nothing to swap


@lru_cache(maxsize=1)
def _swap() -> Swap:
    """Read trafilatura's lists once, before any swap."""
    try:
        from trafilatura import xpaths
    except ImportError:
        skip("trafilatura", "compiled XPaths", "trafilatura.xpaths cannot be imported")
        return Swap(0, None)
    lists = {}
    for name, expressions in vars(xpaths).items():
        if name.isupper() and isinstance(expressions, list):
            lists[name] = [
                (fast_xpath.compile_xpath(x) if isinstance(x, etree.XPath) else None) or x
                for x in expressions
            ]
    count = sum(isinstance(x, fast_xpath.CompiledXPath) for compiled in lists.values() for x in compiled)
    if count == 0:
        skip(
            "trafilatura",
            "compiled XPaths",
            "trafilatura.xpaths has no list of lxml XPath expressions that finemill compiles",
        )
        return Swap(0, None)
    replacements = [
        list_contents(f"trafilatura.xpaths.{name}", getattr(xpaths, name), compiled)
        for name, compiled in lists.items()
    ]
    # the elements visited, kept for the length of the block: a new list per block, dropped at its end
    replacements.append(fresh_attribute(fast_xpath, "kept_alive", list))
    lookups = _lookup_swap()
    if lookups.parser is not None:
        replacements.append(
            Replacement(
                "trafilatura.utils.HTML_PARSER's element class lookup",
                get=lookups.python_lookup,  # lxml has no getter: lxml.html's parser makes this one for itself
                put=lookups.parser.set_element_class_lookup,
                make=lambda: lookups.c_lookup,
            )
        )
    return Swap(count, ScopedSwap(replacements))


@dataclass
class LookupSwap:
    """trafilatura's HTML parser, the C lookup to give it in the block and a maker of lxml.html's own."""

    parser: object | None  # trafilatura.utils.HTML_PARSER, None where lxml.html or trafilatura changed
    c_lookup: object | None
    python_lookup: type | None


@lru_cache(maxsize=1)
def _lookup_swap() -> LookupSwap:
    import lxml.html as html

    none = LookupSwap(None, None, None)
    try:
        from trafilatura import utils
    except ImportError:
        return none  # _swap() has said so
    lookup_class = html.HtmlElementClassLookup
    digests = {
        "HTMLParser.__init__": code_digest(html.HTMLParser.__init__),
        "lookup": code_digest(lookup_class.lookup),
        "__init__": code_digest(lookup_class.__init__),
    }
    parser = getattr(utils, "HTML_PARSER", None)
    if digests != LXML_HTML_LOOKUP or type(parser) is not html.HTMLParser:
        skip(
            "lxml",
            "C element class lookup",
            "lxml.html's parser or its class lookup is not the code expected",
        )
        return none
    c_lookup = c_class_lookup(lookup_class()._element_classes)
    return LookupSwap(parser, c_lookup, lookup_class)


def c_class_lookup(element_classes: dict) -> object:
    """lxml's C lookups choosing as `HtmlElementClassLookup(classes=element_classes).lookup` does for
    lower-case names without a namespace (those the HTML parser makes)."""
    import lxml.html as html

    default = etree.ElementDefaultClassLookup(
        element=html.HtmlElement,
        comment=html.HtmlComment,
        pi=html.HtmlProcessingInstruction,
        entity=html.HtmlEntity,
    )
    by_name = etree.ElementNamespaceClassLookup(default)
    by_name.get_namespace(None).update(element_classes)
    return by_name


@contextmanager
def compiled_xpaths() -> Iterator[int]:
    """Within the block, trafilatura uses the compiled expressions: they are swapped into its lists in place
    (trafilatura's modules import the lists themselves, so they see the change) and lxml's are put back at
    the end. Yields how many expressions are compiled. Other threads calling trafilatura meanwhile use the
    compiled expressions too; as they select the same elements, that changes their speed, not their output."""
    swap = _swap()
    if swap.scoped is None:
        yield swap.compiled
        return
    with swap.scoped.applied():
        yield swap.compiled
