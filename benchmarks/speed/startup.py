"""Per-process start-up costs finemill avoids, and what its word splitter pays to learn new words.

    python -m benchmarks.speed.startup            # 3 fresh processes per measurement, the median printed
    python -m benchmarks.speed.startup --repeats 5
    python -m benchmarks.speed.startup --workers 1     # the run's fixed cost with one worker (no pool)

Each start-up figure is measured in fresh Python processes, as a worker meets it:
- spaCy's tokenizer (`finemill.text.words.spacy_tokenizer`): torch importable (thinc then imports it)
  against finemill's import with torch hidden;
- presidio's recognizers: `presidio_analyzer` imported as installed (its Hugging Face engine imports
  transformers) against finemill's `import_presidio_recognizers` (transformers and torch hidden);
- planning a run of the default recipe on the bundled sample (every step of its four stages built):
  datatrove's dependency check against finemill's (`finemill.pipeline.patches.install()`: one read of the installed
  distributions).
A run's fixed cost: `finemill run` of the default recipe on the bundled sample's first 2 documents per file
(--workers 2 unless told, four stages), the CPU seconds of its whole process tree (benchmarks/process_sampler.py) and its
wall time, with the forkserver loading the workers' imports once (`finemill.pipeline.worker_preload`)
against every worker importing them itself (the preload list emptied), the two taking turns. With
--workers 1 there is one run to time: one worker runs its tasks in finemill's process and no forkserver starts.
Then, in one process with the tokenizer loaded, the word splitter on the 697 documents of
`../shared/data/crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz`: first pass (learning every run it has not
seen), second pass (lookups only), and the distinct runs learnt.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

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


# `finemill run` with the workers' preload emptied: each pool worker imports what it needs itself.
WITHOUT_PRELOAD = """
import sys
from finemill.pipeline import worker_preload
worker_preload.entries = lambda pipeline: []
from finemill.cli import main
sys.exit(main())
"""


def tiny_run(recipe: Path, out: Path, preload: bool, workers: int) -> tuple[float, float]:
    """(CPU seconds of the whole process tree, wall seconds) of one `finemill run` of `recipe` into `out`."""
    from benchmarks.process_sampler import wait_sampled

    shutil.rmtree(out, ignore_errors=True)
    launch = ["-m", "finemill.cli"] if preload else ["-c", WITHOUT_PRELOAD]
    command = [
        sys.executable,
        *launch,
        "run",
        str(recipe),
        "-o",
        str(out),
        "--workers",
        str(workers),
        "--quiet",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    code, cpu_s, _ = wait_sampled(process, out / "logs")
    if code != 0:
        raise RuntimeError(process.stderr.read()[-2000:])
    return cpu_s, time.perf_counter() - started


def fixed_run_cost(repeats: int, workers: int) -> None:
    from finemill.pipeline.recipe import DEFAULT_RECIPE

    sides = (
        (False, True) if workers > 1 else (True,)
    )  # one worker: no pool, no forkserver, nothing to compare
    with tempfile.TemporaryDirectory() as folder:
        recipe, out = Path(folder) / "tiny.yaml", Path(folder) / "out"
        raw = yaml.safe_load(DEFAULT_RECIPE.read_text())
        recipe.write_text(yaml.safe_dump({**raw, "input": {"paths": [], "limit": 2}}))  # the bundled sample
        runs = {preload: [] for preload in sides}
        for _ in range(repeats):
            for preload in sides:
                runs[preload].append(tiny_run(recipe, out, preload, workers))
    medians = {p: [statistics.median(r[i] for r in runs[p]) for i in (0, 1)] for p in sides}
    labels = {False: "importing for themselves", True: "forkserver preload" if workers > 1 else "in finemill"}
    for preload in sides:
        label = f"run of 4 documents, {workers} worker(s), {labels[preload]}"
        print(f"{label:50} {medians[preload][0]:6.2f} CPU-s {medians[preload][1]:6.2f} s wall")
    if workers > 1:
        (cpu_without, wall_without), (cpu_with, wall_with) = medians[False], medians[True]
        print(f"ratio: {cpu_without / cpu_with:.2f}x CPU, {wall_without / wall_with:.2f}x wall")


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
    parser.add_argument("--workers", type=int, default=2, help="the tiny run's --workers (1: no pool)")
    args = parser.parse_args(argv)
    for label, snippet in SNIPPETS.items():
        seconds = statistics.median(fresh_process_seconds(snippet) for _ in range(args.repeats))
        print(f"{label:50} {seconds:6.2f} s")
    fixed_run_cost(args.repeats, args.workers)
    if DOCUMENTS.exists():
        docs, first, second, runs = word_learning()
        print(
            f"word splitter on {docs} documents: first pass {first:.2f} s ({runs:,} distinct runs learnt, "
            f"{1e6 * (first - second) / runs:.0f} us each), second pass {second:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
