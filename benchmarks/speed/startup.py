"""Per-process start-up costs finemill avoids, and what its word splitter pays to learn new words.

    python -m benchmarks.speed.startup            # 3 fresh processes per measurement, the median printed
    python -m benchmarks.speed.startup --repeats 5

Each start-up figure is measured in fresh Python processes, as a worker meets it:
- spaCy's tokenizer (`finemill.text.words.spacy_tokenizer`): torch importable (thinc then imports it)
  against finemill's import with torch hidden;
- presidio's recognizers: `presidio_analyzer` imported as installed (its Hugging Face engine imports
  transformers) against finemill's `import_presidio_recognizers` (transformers and torch hidden);
- planning a run of the default recipe on the bundled sample (every step of its four stages built):
  datatrove's dependency check against finemill's (`finemill.pipeline.patches.install()`: one read of the installed
  distributions).
Then, in one process with the tokenizer loaded, the word splitter on the 697 documents of
`../shared/data/crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz`: first pass (learning every run it has not
seen), second pass (lookups only), and the distinct runs learnt.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import time

from benchmarks.common import REPO, SHARED_DATA

DOCUMENTS = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"

# `finemill run`'s planning of the default recipe on the bundled sample: every step of every stage built.
PLAN = """
import tempfile
from pathlib import Path
from finemill.pipeline.plan import plan_stages
{check}
from finemill.pipeline.recipe import DEFAULT_RECIPE, load_recipe
from finemill.pipeline.run import bundled_sample
out = Path(tempfile.mkdtemp())
files = [str(p) for p in bundled_sample(out)]
recipe = load_recipe(DEFAULT_RECIPE)
started = time.perf_counter()
plan_stages(recipe, files, out)
"""
# Each snippet prints the seconds of its timed part. `import time` and the clock come first.
SNIPPETS = {
    "spaCy tokenizer, torch importable": """
import finemill.text.words as words
words.torch_unused_by_spacy = lambda: ()
started = time.perf_counter()
words.spacy_tokenizer("en")
""",
    "spaCy tokenizer, finemill (torch hidden)": """
import finemill.text.words as words
started = time.perf_counter()
words.spacy_tokenizer("en")
""",
    "presidio recognizers, as installed": """
started = time.perf_counter()
from presidio_analyzer import predefined_recognizers
""",
    "presidio recognizers, finemill": """
from finemill.steps.pii.scrubber import import_presidio_recognizers
started = time.perf_counter()
import_presidio_recognizers()
""",
    "run planned (all steps built), datatrove's check": PLAN.format(check=""),  # nothing installed
    "run planned (all steps built), finemill's check": PLAN.format(
        check="""
from finemill.pipeline import patches
patches.install()  # as `finemill run` does first
"""
    ),
}


def fresh_process_seconds(snippet: str) -> float:
    code = "import time\n" + snippet + "\nprint(time.perf_counter() - started)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return float(result.stdout.strip().splitlines()[-1])


def word_learning() -> tuple[int, float, float, int]:
    """(documents, first pass s, second pass s, runs learnt) of the word splitter, tokenizer loaded."""
    from finemill.text.words import SpacyCompatibleTokenizer, spacy_tokenizer, special_case_joins

    spacy_tokenizer("en"), special_case_joins("en")
    with gzip.open(DOCUMENTS, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    splitter = SpacyCompatibleTokenizer("en")
    passes = []
    for _ in range(2):
        started = time.perf_counter()
        for text in texts:
            splitter.word_tokenize(text)
        passes.append(time.perf_counter() - started)
    return len(texts), passes[0], passes[1], len(splitter._runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per measurement (median)")
    args = parser.parse_args(argv)
    for label, snippet in SNIPPETS.items():
        seconds = statistics.median(fresh_process_seconds(snippet) for _ in range(args.repeats))
        print(f"{label:50} {seconds:6.2f} s")
    if DOCUMENTS.exists():
        docs, first, second, runs = word_learning()
        print(
            f"word splitter on {docs} documents: first pass {first:.2f} s ({runs:,} distinct runs learnt, "
            f"{1e6 * (first - second) / runs:.0f} us each), second pass {second:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
