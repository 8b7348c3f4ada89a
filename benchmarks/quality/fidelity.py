"""Fidelity check: finemill's recipe against the same FineWeb pipeline built from datatrove's classes alone.

    python -m benchmarks.quality.fidelity ../shared/data/extraction/real_pages_aeb_trafilatura.warc.gz ../shared/data/crawl

The reference is datatrove's own FineWeb example run locally (benchmarks/reference.py). It prints, per
input, the kept documents of each side and the share identical in URL and text (`identical: YY.Y%` =
identical / documents kept by either side), PII placeholders compared as equal.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.reference import identical_share, readable_by_datatrove, run_finemill, run_reference


def main() -> int:
    from finemill.pipeline.recipe import load_recipe
    from finemill.pipeline.run import resolve_inputs
    from finemill.pipeline.task_logging import quiet_parent_logging

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("inputs", nargs="+", help="crawl files or folders; each is compared separately")
    parser.add_argument("--recipe", default=None, help="recipe YAML (default: configs/fineweb.yaml)")
    args = parser.parse_args()
    quiet_parent_logging()
    totals = [0, 0]
    for target in args.inputs:
        recipe = load_recipe(args.recipe)
        files, unreadable = readable_by_datatrove(resolve_inputs([target], Path(".")))
        if unreadable:
            print(f"{target}: not compared, datatrove's reader stops on: {', '.join(map(str, unreadable))}")
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            ours = run_finemill(recipe, files, Path(tmp) / "finemill")
            mid = time.perf_counter()
            reference = run_reference(recipe, files, Path(tmp) / "reference")
            done = time.perf_counter()
        same, union, share = identical_share(ours, reference)
        totals[0] += same
        totals[1] += union
        print(
            f"{target}: finemill kept {len(ours)} ({mid - started:.1f}s), reference kept {len(reference)} "
            f"({done - mid:.1f}s), identical {same}/{union} = {100 * share:.1f}%",
            flush=True,
        )
    share = totals[0] / totals[1] if totals[1] else 1.0
    print(f"identical: {100 * share:.1f}% ({totals[0]}/{totals[1]} kept documents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
