"""What the cost curve's two input mixes (speed/scale_inputs.py --mix) give: the figures docs/performance.md
cites for them.

    python -m benchmarks.speed.scale_mixes                        # extraction on 1,500 and 6,000 pages
    python -m benchmarks.speed.scale_mixes --pages 500,2500

Per mix:
- the pool: the paragraphs, or the whole sentences, that unique documents recombine;
- words per unique document and HTML bytes per page (2,000 unique documents, seed 5 as in
  tests/benchmarks/test_scale.py);
- the largest share of their words (shared over their union) that two of 2,000 unique documents share by
  chance, counted in whole paragraphs or sentences: MinHash's threshold is near 0.72;
- the share of the documents' paragraphs that FineWeb's extraction keeps when one process extracts the
  first N pages (--pages; 10% planted duplicates, seed 11): trafilatura's duplicate cache drops a text
  segment it has seen three times, so recurring paragraphs are lost the more pages a process extracts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter, defaultdict

from benchmarks.speed import scale_inputs
from benchmarks.speed.scale_inputs import POOLS, Document, Page

SAMPLE, SAMPLE_SEED = 2000, 5  # unique documents for the size and overlap figures (the tests' seed)


def units(document: Document, mix: str) -> list[str]:
    """What a document of `mix` recombines: its paragraphs, or the sentences they are made of."""
    if mix == "sentences":
        return [s for p in document.paragraphs for s in scale_inputs.SENTENCE_END.split(p)]
    return document.paragraphs


def largest_overlap(documents: list[list[str]]) -> float:
    """The largest word Jaccard of two documents (each given as its units) counting the units they share."""
    words = {unit: len(unit.split()) for held in documents for unit in held}
    holding = defaultdict(list)
    for number, held in enumerate(documents):
        for unit in held:
            holding[unit].append(number)
    sizes = [sum(words[unit] for unit in held) for held in documents]
    largest = 0.0
    for number, held in enumerate(documents):
        shared = Counter()
        for unit in held:
            for other in holding[unit]:
                if other > number:
                    shared[other] += words[unit]
        for other, common in shared.items():
            largest = max(largest, common / (sizes[number] + sizes[other] - common))
    return largest


def extraction_kept_shares(pages: list[Page], mix: str, counts: list[int]) -> list[float]:
    """For each of `counts`, the share of the paragraphs of the first that many documents (10% planted
    duplicates, seed 11) found in what the recipe's extractor returns, one process extracting the pages in
    order (whitespace aside). One pass: the first N pages are extracted as they would be on their own."""
    from trafilatura.meta import reset_caches

    from finemill.steps.extract.trafilatura import TrafilaturaExtractor

    extractor = TrafilaturaExtractor()
    reset_caches()  # trafilatura's duplicate cache is per process: the pass starts with it empty
    kept = total = 0
    shares = {}
    documents = scale_inputs.documents(max(counts), 0.1, seed=11, pages=pages, mix=mix)
    for number, document in enumerate(documents, start=1):
        text = " ".join((extractor.extract(scale_inputs.page_html(document).decode()) or "").split())
        kept += sum(" ".join(p.split()) in text for p in document.paragraphs)
        total += len(document.paragraphs)
        if number in counts:
            shares[number] = kept / total
    return [shares[count] for count in counts]


def describe(pages: list[Page], mix: str, sizes: list[int]) -> None:
    pooled = POOLS[mix](pages).summary
    documents = list(scale_inputs.documents(SAMPLE, 0.0, seed=SAMPLE_SEED, pages=pages, mix=mix))
    words = statistics.mean(len(d.text.split()) for d in documents)
    html = statistics.mean(len(scale_inputs.page_html(d)) for d in documents)
    overlap = largest_overlap([units(d, mix) for d in documents])
    print(f"{mix}: pool {pooled}; {words:.0f} words per document, {html:,.0f} bytes of HTML per page;")
    print(f"  largest chance overlap of two of {SAMPLE:,} unique documents: {overlap:.2f}")
    for size, share in zip(sizes, extraction_kept_shares(pages, mix, sizes), strict=True):
        print(f"  paragraphs extraction keeps, {size:,} pages in one process: {share:.1%}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", default="1500,6000", help="comma-separated page counts to extract")
    args = parser.parse_args()
    pages = scale_inputs.source_pages()
    for mix in POOLS:
        describe(pages, mix, [int(size) for size in args.pages.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
