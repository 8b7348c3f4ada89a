"""Fidelity of the FineWeb-2 recipe's filters: finemill's per-language steps against datatrove's multilingual
filter classes built as FineWeb-2's pipeline builds them, on the non-English real pages.

    python -m benchmarks.quality.fidelity_languages            # every non-English page
    python -m benchmarks.quality.fidelity_languages --every 4  # a quarter of them

The pages (`extraction/real_pages_aeb_trafilatura.warc.gz`, those whose HTML does not say English) are
extracted with trafilatura and labelled by lid.176, as the recipe does. Each filter then decides every page
twice: finemill's step with `language_settings: fineweb2` (the recipe's settings), and datatrove's class with
`language=<FineWeb-2's iso3_Script name>` and that language's values from FineWeb-2's config, as in
`fineweb-2-pipeline.py`. Prints per filter the decisions (keep or reason) that agree, per language the pages
kept by the three filters in the recipe's order, and both sides' filter time.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import time
from collections import Counter
from dataclasses import dataclass

from benchmarks.common import SHARED_DATA

PAGES = SHARED_DATA / "extraction" / "real_pages_aeb_trafilatura.warc.gz"
INDEX = SHARED_DATA / "extraction" / "real_pages_aeb_trafilatura.index.jsonl"
FILTERS = ("gopher_repetition", "fineweb_quality", "gopher_quality")  # the recipe's order


@dataclass
class Page:
    text: str
    language: str  # lid.176's label


def non_english_pages(every: int = 1) -> list[Page]:
    """Every `every`-th page whose HTML does not declare English, extracted and labelled (lid.176, kept
    above FineWeb's 0.65 as the recipe's language step keeps it)."""
    from datatrove.data import Document
    from warcio.archiveiterator import ArchiveIterator

    from finemill.steps.extract.trafilatura import TrafilaturaExtractor
    from finemill.steps.filters.language import FastTextLanguageFilter

    english = set()
    with open(INDEX, encoding="utf-8") as f:
        for row in map(json.loads, f):
            if (row.get("html_lang") or "").lower().startswith("en"):
                english.add(row["url"])
    extractor = TrafilaturaExtractor(favour_precision=True, timeout=1.0)
    language = FastTextLanguageFilter(languages=None)
    pages, seen = [], 0
    with gzip.open(PAGES, "rb") as stream:
        for record in ArchiveIterator(stream):
            url = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type != "response" or url in english:
                continue
            seen += 1
            if (seen - 1) % every:
                continue
            html = record.content_stream().read().decode("utf-8", errors="replace")
            text = extractor.extract(html)
            if not text:
                continue
            label, score = language.best_language(Document(text=text, id=url))
            if score > language.language_threshold:
                pages.append(Page(text, label))
    return pages


def finemill_filters() -> dict:
    """The fineweb2 recipe's three filter steps, with its settings."""
    from finemill.pipeline.recipe import load_recipe
    from finemill.pipeline.registry import step_class

    steps = {s.name: s.params for s in load_recipe("fineweb2").steps}
    return {name: step_class(name)(**steps[name]) for name in FILTERS}


def datatrove_filters(language: str, words=None) -> dict | None:
    """datatrove's classes as `fineweb-2-pipeline.py` builds them for `language` (lid.176 label), with
    FineWeb-2's values for it; None where datatrove has no working word tokenizer for it offline (unless
    `words`, a datatrove WordTokenizer, is given to use instead)."""
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    from finemill.steps.filters.languages import fineweb2_name, language_settings

    name = fineweb2_name(language)
    config, _ = language_settings(language)
    if words is None:
        try:
            load_word_tokenizer(name).word_tokenize("probe")
        except Exception:  # not assigned, or its package is not installed
            return None
    name = words or name  # datatrove's filters take a language name or a tokenizer
    return {
        "gopher_repetition": GopherRepetitionFilter(
            language=name,
            dup_para_frac=0,
            dup_line_char_frac=0,
            dup_para_char_frac=0,
            dup_line_frac=config["dup_line_frac"],
            top_n_grams=config["top_n_grams"],
            dup_n_grams=config["dup_n_grams"],
        ),
        "fineweb_quality": FineWebQualityFilter(
            language=name,
            short_line_thr=999,
            char_duplicates_ratio=0.1,
            line_punct_thr=config["line_punct_thr"],
            new_line_ratio=config["new_line_ratio"],
        ),
        "gopher_quality": GopherQualityFilter(
            language=name,
            max_avg_word_length=config["max_avg_word_length"],
            min_avg_word_length=config["min_avg_word_length"],
            stop_words=config["stopwords"],
            max_non_alpha_words_ratio=config["max_non_alpha_words_ratio"],
            min_stop_words=config.get("min_stop_words", 2),
        ),
    }


def decide(step, page: Page):
    from datatrove.data import Document

    outcome = step.filter(Document(text=page.text, id="x", metadata={"language": page.language}))
    return "keep" if outcome is True else (outcome[1] if isinstance(outcome, tuple) else "removed")


@dataclass
class Comparison:
    agree: Counter  # filter -> pages decided alike
    compared: Counter  # filter -> pages compared
    kept: dict  # language -> [pages, kept by finemill's three filters, kept by datatrove's]
    seconds: list  # [finemill, datatrove] filter time
    differences: list  # (filter, language, finemill's decision, datatrove's)
    skipped: Counter  # language -> pages without a datatrove tokenizer offline


def compare(pages: list[Page], languages: set[str] | None = None) -> Comparison:
    """Both sides' decisions on every page (of `languages` only, if given)."""
    pages = [page for page in pages if languages is None or page.language in languages]
    ours = finemill_filters()
    theirs_by_language: dict = {}
    result = Comparison(Counter(), Counter(), {}, [0.0, 0.0], [], Counter())
    for page in pages:
        if page.language not in theirs_by_language:
            theirs_by_language[page.language] = datatrove_filters(page.language)
        theirs = theirs_by_language[page.language]
        if theirs is None:
            result.skipped[page.language] += 1
            continue
        kept = result.kept.setdefault(page.language, [0, 0, 0])
        kept[0] += 1
        alive = [True, True]
        for name in FILTERS:
            started = time.perf_counter()
            mine = decide(ours[name], page)
            middle = time.perf_counter()
            other = decide(theirs[name], page)
            result.seconds[0] += middle - started
            result.seconds[1] += time.perf_counter() - middle
            result.compared[name] += 1
            result.agree[name] += mine == other
            if mine != other:
                result.differences.append((name, page.language, mine, other))
            alive = [alive[0] and mine == "keep", alive[1] and other == "keep"]
        kept[1] += alive[0]
        kept[2] += alive[1]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--every", type=int, default=1, help="compare every N-th non-English page")
    args = parser.parse_args()
    started = time.perf_counter()
    pages = non_english_pages(args.every)
    print(f"{len(pages)} non-English pages extracted and labelled in {time.perf_counter() - started:.1f}s")
    # warm both sides (spaCy classes, finemill's memo) on a copy, so the timing is of the filtering
    compare(copy.deepcopy(pages[: min(20, len(pages))]))
    result = compare(pages)
    for name in FILTERS:
        print(f"{name}: {result.agree[name]}/{result.compared[name]} decisions identical")
    for language, (n, mine, other) in sorted(result.kept.items(), key=lambda kv: -kv[1][0]):
        print(f"  {language}: {n} pages, kept by finemill {mine}, by datatrove {other}")
    for language, n in result.skipped.items():
        print(f"  {language}: {n} pages not compared (datatrove's tokenizer needs a package not installed)")
    for difference in result.differences[:10]:
        print("  differs:", difference)
    ours, theirs = result.seconds
    print(f"filter time: finemill {ours:.2f}s, datatrove {theirs:.2f}s ({theirs / max(ours, 1e-9):.1f}x)")
    return 0 if not result.differences else 1


if __name__ == "__main__":
    raise SystemExit(main())
