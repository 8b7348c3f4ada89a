"""Two of trafilatura's text helpers with less work and the same result, for the length of a block.

- `remove_control_characters(string)` drops the characters that are neither printable nor whitespace by
  calling a cached function on every character of every line of the output (its share of the
  extraction's time: docs/performance.md). A string that is printable throughout (`str.isprintable()`,
  most lines) loses nothing, so it is returned as it is; any other goes to trafilatura's function.
- `repair_faulty_html(htmlstring, beginning)` looks at the first four lines of the page for a
  self-closed `<html .../>`, but finds them by splitting the whole page into lines. Here the same
  four lines are split from the start of the page only (`first_lines`), the rest of the repair as
  trafilatura's.

`fast_text_helpers()` sets both names in `trafilatura.utils` (where `load_html` and `line_processing` look
them up) and puts trafilatura's back at the end (`finemill.patches.swap`). It checks that the functions
are the code the equivalents were written for; where not, trafilatura runs as installed, with a
`PatchSkipped` warning.
`tests/steps/extract/test_extraction_speedups.py` checks both against trafilatura's on real pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from finemill.patches.check import checked_modules, code_digest
from finemill.patches.swap import ScopedSwap, attribute

PATCH = "fast text helpers"
FUNCTIONS = {"repair_faulty_html": "138f9914424d", "remove_control_characters": "5bf71f82550d"}
PATTERNS = {"DOCTYPE_TAG": "^< ?! ?DOCTYPE.+?/ ?>", "FAULTY_HTML": r"(<html.*?)\s*/>"}


def first_lines(text: str, count: int) -> list[str]:
    """`text.splitlines()[:count]`, splitting only the start of `text`: a piece of it that splits into
    more than `count` lines holds the first `count` whole (the line after them has begun, so their breaks,
    a CR LF too, are inside the piece). The piece grows fourfold until it does or is the whole text (a
    page without line breaks, which a regular expression over the whole page took 5x longer to find)."""
    size = 1024
    while size < len(text):
        lines = text[:size].splitlines()
        if len(lines) > count:
            return lines[:count]
        size *= 4
    return text.splitlines()[:count]


def _problem(utils) -> str | None:
    for name, digest in FUNCTIONS.items():
        if code_digest(getattr(utils, name, None)) != digest:
            return f"trafilatura.utils.{name} is not the code finemill's equivalent was written for"
    for name, pattern in PATTERNS.items():
        if getattr(getattr(utils, name, None), "pattern", None) != pattern:
            return f"trafilatura.utils.{name} is not the pattern finemill's equivalent was written for"
    return None


@lru_cache(maxsize=1)
def _swap() -> ScopedSwap | None:
    """The two helpers to swap, None where trafilatura.utils no longer looks as expected."""
    found = checked_modules("trafilatura", PATCH, ("trafilatura.utils",), _problem)
    if found is None:
        return None
    (utils,) = found
    remove_control_characters = utils.remove_control_characters
    doctype, faulty_html = utils.DOCTYPE_TAG, utils.FAULTY_HTML

    def printable_or_removed(string: str) -> str:
        return string if string.isprintable() else remove_control_characters(string)

    def repair_from_first_lines(htmlstring: str, beginning: str) -> str:
        if "doctype" in beginning:  # trafilatura's first repair, as it is
            firstline, _, rest = htmlstring.partition("\n")
            htmlstring = doctype.sub("", firstline, count=1) + "\n" + rest
        if any("<html" in line and line.endswith("/>") for line in first_lines(htmlstring, 4)):
            return faulty_html.sub(r"\1>", htmlstring, count=1)
        return htmlstring

    return ScopedSwap(
        [
            attribute(utils, "remove_control_characters", printable_or_removed),
            attribute(utils, "repair_faulty_html", repair_from_first_lines),
        ]
    )


@contextmanager
def fast_text_helpers() -> Iterator[bool]:
    """Within the block, trafilatura uses the two equivalents; yields whether they are in place. Other
    threads calling trafilatura meanwhile use them too (same results, so only their speed changes)."""
    swap = _swap()
    if swap is None:
        yield False
        return
    with swap.applied():
        yield True
