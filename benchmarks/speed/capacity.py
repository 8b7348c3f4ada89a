"""Capacity plan: measured throughput per step, extrapolated to one Common Crawl snapshot.

    python -m benchmarks.speed.capacity ../shared/data/extraction/real_pages_aeb_trafilatura.warc.gz ../shared/data/crawl
    python -m benchmarks.speed.capacity ../shared/data/extraction/real_pages_aeb_trafilatura.warc.gz --repeat 4
    python -m benchmarks.speed.capacity --curve scale.json   # from the cost curve (speed/scale.py --json)

Runs `finemill run` (configs/fineweb.yaml, one worker) on the inputs, reads its stats.json, and prints per
step the documents per second per core, then the CPU-hours, peak memory per worker and output disk for a
snapshot of SNAPSHOT_WARC_FILES files of RECORDS_PER_WARC HTML responses each (CC-MAIN-2024-33 order of
magnitude; pass --warc-files/--pages-per-warc for another). The throughput of each step is measured on
the documents that reach it, so the extrapolation scales each step by the share of documents reaching it.
The inputs here are small (~150 pages per file against ~30,000 in a Common Crawl WARC file), so per-process
start-up weighs on the steps that load something; --repeat N measures one WARC file of the inputs' records N
times instead (benchmarks/speed/pipeline.py's big file: distinct record ids and URLs, MinHash removes the
copies; the copies meet warm per-process caches, so that figure is a lower bound).

--curve reads the cost curve instead (speed/scale.py --json, runs nothing): from its two largest WARC sizes,
per stage, the CPU seconds per document (the slope between them) and the fixed seconds per task (the rest:
start-up, paid once per task whatever its documents); a snapshot then costs per_doc x pages + fixed x its
tasks (one filter and one finalize task per WARC file). Growth: a stage whose CPU slope at the curve's
largest pre-extracted size is above 1 has its per-document cost raised by (pages / that size) ** (slope - 1);
the clusters stage's memory is the duplicate pairs per document of the curve's largest run x pages x
--bytes-per-pair (90: what speed/minhash_scale.py measured from 100K to 1M signatures; the curve's own
sampled figure is too noisy at its sizes).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from pathlib import Path

SNAPSHOT_WARC_FILES = 90_000
PAGES_PER_WARC = 30_000  # HTML responses in one ~1 GB compressed Common Crawl WARC file


BYTES_PER_PAIR = 90  # the clusters stage's memory per duplicate pair (docs/performance.md, MinHash's stages)
CURVE_TASKS = {"buckets": 14, "clusters": 1, "other": 1}  # per run; filter and finalize: one per input file


def stage_costs(small: dict, large: dict) -> dict[str, tuple[float, float]]:
    """Per stage, (CPU seconds per document, fixed CPU seconds per task) from two runs of the curve:
    the slope and intercept of CPU seconds against documents, the intercept spread over the run's tasks."""
    costs = {}
    for stage, big in large["stages"].items():
        little, extra = small["stages"][stage], large["documents"] - small["documents"]
        per_doc = max((big["cpu_s"] - little["cpu_s"]) / extra, 0.0)
        fixed = max(little["cpu_s"] - per_doc * small["documents"], 0.0)
        costs[stage] = (per_doc, fixed / CURVE_TASKS.get(stage, small["files"]))
    return costs


def growth(stage: str, jsonl: list[dict], pages: int) -> float:
    """How much a stage's per-document cost grows from the curve's largest size to `pages`: 1 unless its
    CPU slope there is above 1 (then (pages / size) ** (slope - 1))."""
    if not jsonl or (slope := jsonl[-1]["stages"][stage]["slope"]) is None or slope <= 1.0:
        return 1.0
    return (pages / jsonl[-1]["documents"]) ** (slope - 1.0)


def curve_plan(
    runs: list[dict], warc_files: int, pages_per_warc: int, bytes_per_pair: float = BYTES_PER_PAIR
) -> int:
    """Print the snapshot's CPU-hours, disk and the clusters stage's memory from the cost curve."""
    warc = sorted((r for r in runs if r["format"] == "warc"), key=lambda r: r["documents"])
    jsonl = sorted((r for r in runs if r["format"] == "jsonl"), key=lambda r: r["documents"])
    if len(warc) < 2:
        raise SystemExit(
            "--curve needs two WARC sizes (speed/scale.py --format warc --sizes A,B --json FILE)"
        )
    small, large, pages = warc[-2], warc[-1], warc_files * pages_per_warc
    print(f"from the WARC curve at {small['documents']:,} and {large['documents']:,} documents")
    print(f"snapshot: {warc_files:,} WARC files x {pages_per_warc:,} pages = {pages:,} pages\n")
    print(
        f"{'stage':<10} {'CPU ms/doc':>11} {'fixed s/task':>13} {'tasks':>7} {'growth':>7} {'CPU-h':>9} {'disk TB':>8}"
    )
    total_hours = 0.0
    for stage, (per_doc, fixed) in stage_costs(small, large).items():
        tasks = CURVE_TASKS.get(stage, warc_files)
        factor = growth(stage, jsonl, pages)
        hours = (per_doc * factor * pages + fixed * tasks) / 3600
        disk = large["stages"][stage]["disk_bytes"] / large["documents"] * pages / 1e12
        total_hours += hours
        print(
            f"{stage:<10} {per_doc * 1000:>11.3f} {fixed:>13.2f} {tasks:>7,} {factor:>7.2f} {hours:>9,.0f} {disk:>8.2f}"
        )
    disk = large["total"]["disk_bytes"] / large["documents"] * pages / 1e12
    print(
        f"\nCPU-hours (all stages, from the curve): {total_hours:,.0f}  -> {total_hours / 1000:,.1f} h on 1,000 cores"
    )
    print(f"disk per snapshot: {disk:,.1f} TB; peak RSS per worker {large['total']['peak_rss_mb']:,.0f} MB")
    reference = max(runs, key=lambda r: r["documents"])
    pairs = reference["duplicates"]["pairs"] / reference["documents"] * pages
    print(
        f"clusters stage (one task): {pairs:,.0f} duplicate pairs at the {reference['documents']:,}-document"
        f" run's rate, ~{pairs * bytes_per_pair / 1e9:,.0f} GB of memory at {bytes_per_pair:,.0f} bytes per pair"
    )
    return 0


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def repeated_input(inputs: list[str], repeat: int, folder: Path) -> Path:
    """The WARC files of `inputs` as one file of their records `repeat` times (speed/pipeline.py's big file)."""
    from benchmarks.reference import readable_by_datatrove
    from benchmarks.speed.pipeline import repeated_copy
    from finemill.pipeline.run import resolve_inputs

    files, _ = readable_by_datatrove(resolve_inputs(inputs, Path(".")))
    target = folder / f"repeated-{repeat}x.warc.gz"
    documents = repeated_copy(files, repeat, target)
    print(f"big file: {len(files)} file(s) x {repeat} = {documents:,} document records")
    return target


def main() -> int:
    from finemill.pipeline.recipe import load_recipe
    from finemill.pipeline.run import run_recipe
    from finemill.pipeline.task_logging import quiet_parent_logging

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("inputs", nargs="*")
    parser.add_argument(
        "--curve", type=Path, nargs="+", help="plan from the cost curve's JSON files (speed/scale.py --json)"
    )
    parser.add_argument("--bytes-per-pair", type=float, default=BYTES_PER_PAIR)
    parser.add_argument("--warc-files", type=int, default=SNAPSHOT_WARC_FILES)
    parser.add_argument("--pages-per-warc", type=int, default=PAGES_PER_WARC)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run on one WARC file of the inputs' records N times (default: 1, the files as they are)",
    )
    args = parser.parse_args()
    if args.curve:
        runs = [run for path in args.curve for run in json.loads(path.read_text())]
        return curve_plan(runs, args.warc_files, args.pages_per_warc, args.bytes_per_pair)
    if not args.inputs:
        parser.error("name the input files, or --curve")
    quiet_parent_logging()
    with tempfile.TemporaryDirectory() as tmp:
        out, inputs = Path(tmp) / "run", args.inputs
        if args.repeat > 1:
            inputs = [str(repeated_input(inputs, args.repeat, Path(tmp) / "input"))]
        recipe = load_recipe(None, {"input": inputs, "output": str(out), "workers": 1})
        stats = run_recipe(recipe, progress=False)
        output_bytes = {part: folder_bytes(out / part) for part in ("documents", "removed", "work")}
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # workers=1: tasks run in-process

    read = stats["reader"]["documents"]
    pages = args.warc_files * args.pages_per_warc
    print(f"measured on {read:,} documents from {stats['reader']['files']} file(s), one worker\n")
    print(f"{'step':<18} {'docs in':>8} {'docs/s/core':>12} {'share reaching':>15} {'CPU-h / snapshot':>17}")
    total_hours = 0.0
    for step in stats["steps"]:
        rate = step["docs_in"] / step["time_s"] if step["time_s"] else float("inf")
        share = step["docs_in"] / read if read else 0.0
        hours = pages * share / rate / 3600 if rate != float("inf") else 0.0
        total_hours += hours
        print(f"{step['name']:<18} {step['docs_in']:>8,} {rate:>12,.1f} {share:>15.1%} {hours:>17,.0f}")
    kept_share = stats["documents"]["count"] / read if read else 0.0
    scale = pages / read if read else 0.0
    print(f"\nsnapshot: {args.warc_files:,} WARC files x {args.pages_per_warc:,} pages = {pages:,} pages")
    print(f"CPU-hours (all steps): {total_hours:,.0f}  -> {total_hours / 1000:,.1f} h on 1,000 cores")
    extract_hours = (
        sum(pages * s["time_s"] / read / 3600 for s in stats["steps"] if s["name"].startswith("extract"))
        if read
        else 0.0
    )
    if total_hours:
        print(f"extraction: {extract_hours:,.0f} CPU-hours, {extract_hours / total_hours:.0%} of the total")
    print(f"peak RSS of one worker: {peak_rss_mb:,.0f} MB")
    print(f"kept: {kept_share:.1%} of documents")
    for part, size in output_bytes.items():
        print(f"disk, {part}/: {size * scale / 1e12:,.2f} TB per snapshot (measured {size / 1e6:,.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
