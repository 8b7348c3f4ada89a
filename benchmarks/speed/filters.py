"""The quality filters alone: finemill's steps against datatrove's classes, on the same extracted texts.

    python -m benchmarks.speed.filters                       # the 697 real documents of ../shared/data/crawl
    python -m benchmarks.speed.filters out/run/documents     # or the texts of a run's parquet files

Each side runs gopher_repetition -> gopher_quality -> c4_quality -> fineweb_quality (rules: datatrove, so the
only difference is the word splitting and n-gram counting) over every document in one process, as the steps
run in a pipeline: a document leaves at the first filter that removes it. Each side's first call (loading
spaCy, building tables) is timed apart as `start-up`. It prints per filter the documents/s of both and the
ratio, the share of documents with identical decisions, reasons and text (`identical: YY.Y%`), and
`ratio: X.XX` for the four filters together, start-up excluded, and with it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

from benchmarks.common import SHARED_DATA

DEFAULT_INPUT = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"
STEPS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


def load_texts(path: Path) -> list[str]:
    if path.is_dir():
        import pandas as pd

        return [
            t for f in sorted(path.glob("*.parquet")) for t in pd.read_parquet(f, columns=["text"])["text"]
        ]
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def datatrove_filters() -> list:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    return [
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
    ]


def finemill_filters() -> list:
    from finemill.steps.filters.fineweb_quality import FineWebQualityFilter
    from finemill.steps.filters.quality import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter

    return [
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(rules="datatrove"),
    ]


def run_chain(filters: list, texts: list[str]) -> tuple[list, list[float], float]:
    """Each document through the filters until one removes it: (outcome, text) per document, seconds per
    filter, and the seconds of the first document (start-up)."""
    from datatrove.data import Document

    seconds = [0.0] * len(filters)
    outcomes = []
    started = time.perf_counter()
    startup = 0.0
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        outcome: object = "kept"
        for k, step in enumerate(filters):
            t0 = time.perf_counter()
            result = step.filter(doc)
            seconds[k] += time.perf_counter() - t0
            if result is not True:
                outcome = (STEPS[k], result)
                break
        outcomes.append((outcome, doc.text))
        if i == 0:
            startup = time.perf_counter() - started
            seconds = [0.0] * len(filters)
    return outcomes, seconds, startup


def entering(outcomes: list) -> list[int]:
    """Documents that reached each filter."""
    counts = [0] * len(STEPS)
    for outcome, _ in outcomes[1:]:  # the first document is start-up
        last = STEPS.index(outcome[0]) if outcome != "kept" else len(STEPS) - 1
        for k in range(last + 1):
            counts[k] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "input", nargs="?", default=str(DEFAULT_INPUT), help="jsonl.gz with `text`, or a folder of parquet"
    )
    args = parser.parse_args()
    texts = load_texts(Path(args.input))
    theirs, their_seconds, their_startup = run_chain(datatrove_filters(), texts)
    ours, our_seconds, our_startup = run_chain(finemill_filters(), texts)
    counts = entering(theirs)
    print(f"{len(texts):,} documents, {sum(map(len, texts)) / 1e6:.1f} MB of text")
    print(f"{'filter':20s}{'docs in':>9s}{'datatrove docs/s':>18s}{'finemill docs/s':>17s}{'ratio':>8s}")
    for step, n, a, b in zip(STEPS, counts, their_seconds, our_seconds, strict=True):
        print(f"{step:20s}{n:9,d}{n / a:18,.1f}{n / b:17,.1f}{a / b:8.1f}")
    print(f"start-up (first document): datatrove {their_startup:.2f} s, finemill {our_startup:.2f} s")
    same = sum(a == b for a, b in zip(theirs, ours, strict=True))
    print(f"identical: {100 * same / len(texts):.1f}%")
    print(f"ratio: {sum(their_seconds) / sum(our_seconds):.2f}")
    print(
        f"ratio with start-up: {(sum(their_seconds) + their_startup) / (sum(our_seconds) + our_startup):.2f}"
    )


if __name__ == "__main__":
    main()
