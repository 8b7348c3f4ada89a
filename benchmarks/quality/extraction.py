"""Extraction quality and speed: the recipe's trafilatura step (as installed, and with finemill's speed-ups,
which must give the same texts) against the fast profile's resiliparse step.

    python -m benchmarks.quality.extraction                    # ../shared/data/extraction, all pages
    python -m benchmarks.quality.extraction --limit 20 --json scores.json
    python -m benchmarks.quality.extraction --extractors trafilatura-lxml trafilatura-xpaths \
        trafilatura-readability trafilatura-copies trafilatura   # identical texts with each speed-up added

Pages come from `real_pages_aeb_trafilatura.warc.gz`, decoded exactly as `finemill run` decodes them, and
go through each step's own `extract` with the settings of its recipe (configs/fineweb.yaml and
configs/fineweb-fast.yaml), in this process: the speed is the extractor's, not the sandbox's.

- 181 pages of the article-extraction-benchmark (AEB): word-level precision, recall and F1 of the
  extracted text against the page's `articleBody`, per page, then the mean over pages. Words are the
  lower-cased runs of letters and digits (split at whitespace and punctuation), compared as bags:
  a word counts as matched as many times as it occurs in both. (AEB's own script uses 4-word shingles;
  single words are the usual word-F1 and forgive a changed word order.) An empty extraction scores 0.
- 986 pages of trafilatura's evaluation set: the share of `with` snippets found in the extracted text
  and of `without` snippets (boilerplate) absent from it, whitespace collapsed on both sides.
- pages/s per core: pages divided by the CPU time of this process spent in `extract`, over every page.
  The extractors take turns page by page (each with its own trafilatura de-duplication cache, as in a
  run of its own), so a machine busy with other work slows them alike and their ratio holds; the order of
  the turns rotates from page to page (the second to run a page finds it in the caches, ~20% faster).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from benchmarks.common import SHARED_DATA

DATA = SHARED_DATA / "extraction"
WARC = "real_pages_aeb_trafilatura.warc.gz"
INDEX = "real_pages_aeb_trafilatura.index.jsonl"
AEB, TRAFILATURA_EVAL = "scrapinghub-aeb", "trafilatura-eval"
# the trafilatura step's speed-up switches (all on in the recipe), in the order they were added
SPEEDUPS = ("compiled_xpaths", "fast_readability", "fewer_tree_copies", "fast_text_helpers", "pause_gc")
# name: (recipe, its extraction step, settings changed from the recipe's)
RECIPES = {
    # trafilatura as installed: every finemill speed-up off
    "trafilatura-lxml": ("fineweb.yaml", "extract", {name: False for name in SPEEDUPS}),
    # each speed-up added in turn, in the order they came: consecutive columns measure one speed-up
    "trafilatura-xpaths": ("fineweb.yaml", "extract", {name: False for name in SPEEDUPS[1:]}),
    "trafilatura-readability": ("fineweb.yaml", "extract", {name: False for name in SPEEDUPS[2:]}),
    "trafilatura-copies": ("fineweb.yaml", "extract", {name: False for name in SPEEDUPS[3:]}),
    "trafilatura-helpers": ("fineweb.yaml", "extract", {name: False for name in SPEEDUPS[4:]}),
    "trafilatura": ("fineweb.yaml", "extract", {}),
    "resiliparse": ("fineweb-fast.yaml", "extract_resiliparse", {}),
}

WORD = re.compile(r"\w+")
SPACE = re.compile(r"\s+")


# --- metrics -------------------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    """Lower-cased words: text split at whitespace and punctuation."""
    return WORD.findall(text.lower())


class PRF(NamedTuple):
    precision: float
    recall: float
    f1: float


def word_prf(extracted: str, truth: str) -> PRF:
    """Bag-of-words precision, recall and F1 of `extracted` against `truth`."""
    got, want = Counter(words(extracted)), Counter(words(truth))
    if not got or not want:
        both_empty = not got and not want
        return PRF(float(both_empty), float(both_empty), float(both_empty))
    matched = sum((got & want).values())
    precision, recall = matched / sum(got.values()), matched / sum(want.values())
    f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
    return PRF(precision, recall, f1)


def collapse(text: str) -> str:
    return SPACE.sub(" ", text).strip()


def snippet_hits(extracted: str, with_: list[str], without: list[str]) -> tuple[int, int]:
    """(`with` snippets found, `without` snippets absent) in `extracted`, whitespace collapsed."""
    text = collapse(extracted)
    found = sum(collapse(s) in text for s in with_)
    absent = sum(collapse(s) not in text for s in without)
    return found, absent


# --- data ----------------------------------------------------------------------------------------------
@dataclass
class Page:
    record_id: str
    url: str
    dataset: str
    html: str
    truth: str = ""  # AEB: the articleBody
    with_: list[str] = field(default_factory=list)  # trafilatura-eval snippets
    without: list[str] = field(default_factory=list)


def load_pages(
    data: Path = DATA, datasets: tuple[str, ...] = (AEB, TRAFILATURA_EVAL), limit: int | None = None
) -> list[Page]:
    """The labelled pages, HTML decoded as `finemill run` decodes it; at most `limit` per dataset."""
    from warcio.archiveiterator import ArchiveIterator

    from finemill.steps.read.warc import record_to_dict

    index = {row["record_id"]: row for row in map(json.loads, (data / INDEX).read_text().splitlines())}
    aeb_truth = json.loads((data / "aeb_ground_truth.json").read_text())
    eval_truth = json.loads((data / "trafilatura_evaldata.json").read_text())
    pages: list[Page] = []
    taken: Counter[str] = Counter()
    with open(data / WARC, "rb") as stream:
        for record in ArchiveIterator(stream):
            row = index.get(record.rec_headers.get("WARC-Record-ID"))
            if row is None or row["dataset"] not in datasets or (limit and taken[row["dataset"]] >= limit):
                continue
            fields = record_to_dict(record, record.content_stream().read())
            if isinstance(fields, str):  # not a page the pipeline would read: say so, do not score it
                print(f"skipped {row['url']}: {fields}", file=sys.stderr)
                continue
            page = Page(row["record_id"], row["url"], row["dataset"], fields["text"])
            if row["dataset"] == AEB:
                page.truth = aeb_truth[row["ground_truth"].split("#", 1)[1]]["articleBody"]
            else:
                snippets = eval_truth[row["evaldata_key"]]
                page.with_, page.without = snippets["with"], snippets["without"]
            pages.append(page)
            taken[row["dataset"]] += 1
    return pages


# --- extractors ----------------------------------------------------------------------------------------
def recipe_extractor(name: str) -> Callable[[str], str]:
    """The `extract` function of the extraction step of `name`'s recipe, with the recipe's settings."""
    from finemill.pipeline.recipe import CONFIGS_DIR, load_recipe
    from finemill.pipeline.registry import step_class

    config, step_name, changes = RECIPES[name]
    spec = next(s for s in load_recipe(CONFIGS_DIR / config).steps if s.name == step_name)
    return step_class(step_name)(**{**spec.params, **changes}).extract


@dataclass
class Result:
    texts: dict[str, str]
    cpu_s: float
    errors: int


def run_extractor(extract: Callable[[str], str], pages: list[Page]) -> Result:
    texts, cpu, errors = {}, 0.0, 0
    if pages:
        extract(pages[0].html)  # warm-up, not timed: trafilatura imports and compiles lazily on first use
    for page in pages:
        start = time.process_time()
        try:
            text = extract(page.html) or ""  # trafilatura returns None for no main text
        except Exception:  # counted, scored as an empty extraction
            text, errors = "", errors + 1
        cpu += time.process_time() - start
        texts[page.record_id] = text
    return Result(texts, cpu, errors)


def run_alternating(extractors: dict[str, Callable[[str], str]], pages: list[Page]) -> dict[str, Result]:
    """Each page through every extractor in turn, CPU time counted per extractor. trafilatura's
    de-duplication cache (module-level) is kept apart per extractor, so each sees only its own history."""
    from trafilatura import deduplication

    caches = {name: deduplication.LRUCache(maxsize=deduplication.LRU_SIZE) for name in extractors}
    shared = deduplication.LRU_TEST
    results = {name: Result({}, 0.0, 0) for name in extractors}
    try:
        for name, extract in extractors.items():  # warm-up, not timed: lazy imports and compilation
            deduplication.LRU_TEST = caches[name]
            if pages:
                extract(pages[0].html)
            caches[name].clear()
        names = list(extractors)
        for i, page in enumerate(pages):
            # the order rotates from page to page: the extractor that runs a page after another finds it
            # in the processor's caches and trafilatura's own (lru_cache on text helpers), ~20% faster
            # than the first to run it, so a fixed order would favour the last extractor
            for name in names[i % len(names) :] + names[: i % len(names)]:
                extract = extractors[name]
                deduplication.LRU_TEST, result = caches[name], results[name]
                start = time.process_time()
                try:
                    text = extract(page.html) or ""
                except Exception:
                    text, result.errors = "", result.errors + 1
                result.cpu_s += time.process_time() - start
                result.texts[page.record_id] = text
    finally:
        deduplication.LRU_TEST = shared
    return results


# --- report --------------------------------------------------------------------------------------------
def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def score(result: Result, pages: list[Page]) -> dict[str, float]:
    aeb = [p for p in pages if p.dataset == AEB]
    prf = [word_prf(result.texts[p.record_id], p.truth) for p in aeb]
    evals = [p for p in pages if p.dataset == TRAFILATURA_EVAL]
    hits = [snippet_hits(result.texts[p.record_id], p.with_, p.without) for p in evals]
    return {
        "aeb_pages": len(aeb),
        "aeb_precision": mean([s.precision for s in prf]),
        "aeb_recall": mean([s.recall for s in prf]),
        "aeb_f1": mean([s.f1 for s in prf]),
        "aeb_empty": sum(not result.texts[p.record_id].strip() for p in aeb),
        "eval_pages": len(evals),
        "with_found": sum(h[0] for h in hits) / max(1, sum(len(p.with_) for p in evals)),
        "without_absent": sum(h[1] for h in hits) / max(1, sum(len(p.without) for p in evals)),
        "eval_empty": sum(not result.texts[p.record_id].strip() for p in evals),
        "pages": len(pages),
        "errors": result.errors,
        "pages_per_cpu_s": len(pages) / result.cpu_s if result.cpu_s else float("nan"),
    }


def print_table(scores: dict[str, dict[str, float]]) -> None:
    rows = [
        ("AEB pages", "aeb_pages", "{:.0f}"),
        ("AEB word precision", "aeb_precision", "{:.3f}"),
        ("AEB word recall", "aeb_recall", "{:.3f}"),
        ("AEB word F1", "aeb_f1", "{:.3f}"),
        ("AEB empty extractions", "aeb_empty", "{:.0f}"),
        ("trafilatura-eval pages", "eval_pages", "{:.0f}"),
        ("`with` snippets found", "with_found", "{:.1%}"),
        ("`without` snippets absent", "without_absent", "{:.1%}"),
        ("trafilatura-eval empty", "eval_empty", "{:.0f}"),
        ("extractor errors", "errors", "{:.0f}"),
        ("pages/s per core", "pages_per_cpu_s", "{:.1f}"),
    ]
    names = list(scores)
    print(f"{'':28}" + "".join(f"{n:>14}" for n in names))
    for label, key, fmt in rows:
        print(f"{label:28}" + "".join(f"{fmt.format(scores[n][key]):>14}" for n in names))
    base = names[0]
    for name in names[1:]:
        print(
            f"{name} is {scores[name]['pages_per_cpu_s'] / scores[base]['pages_per_cpu_s']:.1f}x "
            f"as fast per core as {base}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DATA, help="folder of the labelled pages (default: %(default)s)"
    )
    parser.add_argument("--limit", type=int, default=None, help="at most this many pages per dataset")
    parser.add_argument(
        "--extractors",
        nargs="+",
        choices=list(RECIPES),
        default=["trafilatura-lxml", "trafilatura", "resiliparse"],
    )
    parser.add_argument("--json", type=Path, help="also write scores and every extracted text here")
    args = parser.parse_args(argv)
    if not (args.data / WARC).exists():
        sys.exit(f"labelled pages not found: {args.data / WARC}")

    pages = load_pages(args.data, limit=args.limit)
    print(f"{len(pages)} pages: {dict(Counter(p.dataset for p in pages))}", file=sys.stderr)
    scores, texts = {}, {}
    results = run_alternating({name: recipe_extractor(name) for name in args.extractors}, pages)
    for name, result in results.items():
        scores[name], texts[name] = score(result, pages), result.texts
        print(f"{name}: {result.cpu_s:.1f} s CPU", file=sys.stderr)
    print_table(scores)
    if "trafilatura-lxml" in texts and "trafilatura" in texts:
        same = sum(texts["trafilatura"][p.record_id] == texts["trafilatura-lxml"][p.record_id] for p in pages)
        print(
            f"trafilatura with finemill's speed-ups: {same} of {len(pages)} texts identical to trafilatura "
            "as installed"
        )
    for name in [n for n in texts if n.startswith("trafilatura-") and n != "trafilatura-lxml"]:
        if "trafilatura-lxml" in texts:  # the speed-ups added in turn: which one changes a text
            same = sum(texts[name][p.record_id] == texts["trafilatura-lxml"][p.record_id] for p in pages)
            print(f"{name}: {same} of {len(pages)} texts identical to trafilatura as installed")
    if args.json:
        pages_out = [
            {
                "record_id": p.record_id,
                "url": p.url,
                "dataset": p.dataset,
                **{n: texts[n][p.record_id] for n in texts},
            }
            for p in pages
        ]
        args.json.write_text(json.dumps({"scores": scores, "pages": pages_out}, ensure_ascii=False))


if __name__ == "__main__":
    main()
