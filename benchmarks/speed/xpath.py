"""trafilatura's XPath expressions: their share of its time, lxml against finemill's compiled ones.

    python -m benchmarks.speed.xpath                  # every page of both real inputs of ../shared/data
    python -m benchmarks.speed.xpath --limit 200      # the first 200 pages of each input

Runs `trafilatura.extract` as the recipe's `extract` step calls it (favor_precision, no comments, deduplicate)
over the pages, twice in this process: with trafilatura as installed (lxml evaluates its XPaths) and with
finemill's compiled XPaths swapped in (`finemill.steps.extract.patches.compiled_xpaths`). Every expression of trafilatura's
XPath lists is timed where trafilatura calls it. Prints per list the seconds of both, the share of
extraction time spent in those lists, the extraction time of both, and how many pages give the identical
text (`identical: N of M`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from benchmarks.common import SHARED_DATA

INPUTS = [SHARED_DATA / "extraction" / "real_pages_aeb_trafilatura.warc.gz", SHARED_DATA / "crawl"]


class Timed:
    """An expression of trafilatura's lists, timed: each call's seconds go to `spent[name]`."""

    def __init__(self, name: str, expression: Callable, spent: dict[str, float]) -> None:
        self.name, self.expression, self.spent = name, expression, spent

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.expression(*args, **kwargs)
        finally:
            self.spent[self.name] += time.perf_counter() - started


@contextmanager
def timed_lists(spent: dict[str, float]) -> Iterator[None]:
    """Every expression of trafilatura.xpaths' lists wrapped in a timer, as they are now (lxml or compiled)."""
    from trafilatura import xpaths

    lists = {
        name: value for name, value in vars(xpaths).items() if name.isupper() and isinstance(value, list)
    }
    saved = {name: list(value) for name, value in lists.items()}
    for name, value in lists.items():
        value[:] = [Timed(f"{name}[{i}]", x, spent) for i, x in enumerate(value)]
    try:
        yield
    finally:
        for name, value in lists.items():
            value[:] = saved[name]


def extract_all(pages: list[str], spent: dict[str, float]) -> tuple[list[str | None], float]:
    """The texts and the seconds of extracting every page, from a fresh de-duplication cache."""
    import trafilatura
    from trafilatura.deduplication import LRU_TEST

    LRU_TEST.clear()
    texts = []
    with timed_lists(spent):
        started = time.perf_counter()
        for page in pages:
            try:
                texts.append(
                    trafilatura.extract(page, favor_precision=True, include_comments=False, deduplicate=True)
                )
            except Exception as e:  # counted as a text: both sides must fail alike
                texts.append(f"error: {type(e).__name__}")
        return texts, time.perf_counter() - started


def load_pages(limit: int | None) -> list[str]:
    """Page HTML of each input, decoded as `finemill run` decodes it."""
    from finemill.steps.read.warc import CrawlReader

    pages = []
    for target in INPUTS:
        folder, pattern = (target, "*.warc.gz") if target.is_dir() else (target.parent, target.name)
        docs = CrawlReader(str(folder), glob_pattern=pattern, limit=limit or -1).run()
        pages += [doc.text for doc in docs]
    return pages


def main(argv: list[str] | None = None) -> int:
    from datatrove.utils.logging import logger

    from finemill.steps.extract.patches import compiled_xpaths

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="pages per input (default: all)")
    args = parser.parse_args(argv)
    if not INPUTS[0].exists():
        sys.exit(f"real pages not found: {INPUTS[0]}")
    logger.remove()
    pages = load_pages(args.limit)
    import trafilatura

    trafilatura.extract("<html><body><p>warm-up</p></body></html>")  # lazy imports and settings, untimed

    lxml_spent: dict[str, float] = defaultdict(float)
    lxml_texts, lxml_s = extract_all(pages, lxml_spent)
    compiled_spent: dict[str, float] = defaultdict(float)
    with compiled_xpaths() as compiled:
        compiled_texts, compiled_s = extract_all(pages, compiled_spent)

    print(f"{len(pages):,} pages; {compiled} expressions compiled")
    print(f"{'expression':32} {'lxml s':>8} {'compiled s':>11}")
    for name in sorted(lxml_spent, key=lxml_spent.get, reverse=True):
        if lxml_spent[name] >= 0.01:
            print(f"{name:32} {lxml_spent[name]:8.2f} {compiled_spent[name]:11.2f}")
    lxml_xpath, compiled_xpath = sum(lxml_spent.values()), sum(compiled_spent.values())
    print(
        f"XPath share of extraction: lxml {lxml_xpath:.1f} of {lxml_s:.1f} s ({100 * lxml_xpath / lxml_s:.0f}%), "
        f"compiled {compiled_xpath:.1f} of {compiled_s:.1f} s ({100 * compiled_xpath / compiled_s:.0f}%)"
    )
    print(f"extraction: {lxml_s / compiled_s:.2f}x as fast with compiled XPaths")
    same = sum(a == b for a, b in zip(lxml_texts, compiled_texts, strict=True))
    print(f"identical: {same} of {len(pages)}")
    return 0 if same == len(pages) else 1


if __name__ == "__main__":
    sys.exit(main())
