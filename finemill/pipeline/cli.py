"""`finemill run`: the FineWeb recipe from crawl files to clean parquet documents."""

from __future__ import annotations

import argparse
import sys

from finemill.commoncrawl.cli import add_snapshot_arguments
from finemill.errors import FinemillError

HELP = """Run a recipe (default: configs/fineweb.yaml, FineWeb's steps and parameters) over crawl files.

With no arguments it runs the full recipe on a bundled, generated sample crawl and prints the funnel.
Output: OUT/documents/*.parquet (FineWeb's columns), OUT/removed/<step>/*.parquet (every removed
document with its reason), OUT/stats.json (per-step counts, reasons, characters, time).
A rerun with the same recipe and inputs skips finished work and resumes interrupted work.

Executors: local processes (default), a Ray cluster (--executor ray; a private one on this machine unless
--ray-address), or Slurm job arrays (--executor slurm --partition P; submits and exits: once the jobs have
finished, `finemill stats OUT` builds stats.json). The recipe's `executor:` section holds the same settings."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the FineWeb recipe on crawl files",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recipe", nargs="?", help="recipe YAML (default: configs/fineweb.yaml)")
    parser.add_argument(
        "-i",
        "--input",
        action="append",
        metavar="PATH",
        help="WARC/WET file, folder or glob (repeatable; quote globs); default: the bundled sample",
    )
    parser.add_argument(
        "-o", "--output", metavar="DIR", help="output folder (default: the recipe's `output`)"
    )
    parser.add_argument(
        "-w", "--workers", type=int, metavar="N", help="parallel processes (default: recipe's)"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="read at most N documents per input file")
    parser.add_argument(
        "--dump",
        metavar="NAME",
        help="the `dump` of every document (default: the Common Crawl snapshot each input names in "
        "its warcinfo or path, else the recipe's `dump:`)",
    )
    parser.add_argument(
        "--force", action="store_true", help="delete a previous run in the output folder first"
    )
    parser.add_argument("--quiet", action="store_true", help="do not print the funnel")
    cluster = parser.add_argument_group("executor (default: the recipe's `executor:` section, else local)")
    cluster.add_argument("--executor", choices=["local", "ray", "slurm"], help="what runs the tasks")
    cluster.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to use: auto, HOST:PORT or ray://HOST:PORT (default: a new one here)",
    )
    cluster.add_argument("--partition", help="Slurm partition")
    cluster.add_argument("--time", metavar="HH:MM:SS", help="Slurm time limit per task")
    cluster.add_argument("--qos", help="Slurm QOS")
    cluster.add_argument("--cpus-per-task", type=int, metavar="N", help="CPUs per task (Ray, Slurm)")
    cluster.add_argument("--mem-per-cpu-gb", type=int, metavar="GB", help="memory per CPU in GB (Ray, Slurm)")
    add_snapshot_arguments(parser, required=False)
    parser.set_defaults(func=handle_run)


def handle_run(args: argparse.Namespace) -> int:
    from finemill.pipeline.funnel import print_funnel
    from finemill.pipeline.recipe import load_recipe
    from finemill.pipeline.run import start_run

    overrides = {
        "input": args.input,
        "output": args.output,
        "workers": args.workers,
        "dump": args.dump,
        "executor": executor_overrides(args),
    }
    if args.limit is not None:
        overrides["limit"] = args.limit
    recipe = load_recipe(args.recipe, overrides)
    if args.snapshot:
        use_snapshot(args, recipe)
    elif args.files is not None:
        raise FinemillError("--files/--offset need --snapshot")
    outcome = start_run(recipe, force=args.force)
    if outcome.stats is None:
        print_submitted(outcome.jobs, recipe.output)
        return 0
    if not args.quiet:
        print_funnel(outcome.stats)
    for warning in outcome.stats.get("warnings", []):
        print(f"finemill run: warning: {warning}", file=sys.stderr)
    print(
        f"documents: {recipe.output}/documents  removed: {recipe.output}/removed  stats: {recipe.output}/stats.json"
    )
    print(
        f"details: finemill stats {recipe.output}  (--html report.html); examples: finemill inspect "
        f"{recipe.output} --step STEP"
    )
    return 0


def executor_overrides(args: argparse.Namespace) -> dict:
    """The executor options given on the command line, shaped like the recipe's `executor:` section."""
    shared = {"cpus_per_task": args.cpus_per_task, "mem_per_cpu_gb": args.mem_per_cpu_gb}
    return {
        "kind": args.executor,
        "ray": {"address": args.ray_address, **shared},
        "slurm": {"partition": args.partition, "time": args.time, "qos": args.qos, **shared},
    }


def print_submitted(jobs: dict[str, str], output: str) -> None:
    if not jobs:
        print(f"nothing to submit: every task has finished; stats: finemill stats {output}")
        return
    print("submitted Slurm jobs (each starts when the one before has succeeded):")
    for name, job_id in jobs.items():
        print(f"  {job_id}  {name}")
    print(f"follow them with: squeue -j {','.join(jobs.values())}")
    print(
        f"once they have finished: finemill stats {output}  (builds {output}/stats.json); "
        f"a failed task: rerun the same command to resubmit what did not finish"
    )


def use_snapshot(args: argparse.Namespace, recipe) -> None:
    """Download the chosen slice of a Common Crawl snapshot into the cache and make it the run's input."""
    from finemill.commoncrawl.download import download_snapshot

    if args.input:
        raise FinemillError("--snapshot and --input exclude each other")
    if args.files is None:
        raise FinemillError("--snapshot needs --files N")
    files = download_snapshot(
        args.snapshot,
        args.files,
        args.offset,
        base_url=args.base_url,
        cache_dir=args.cache,
        workers=min(4, recipe.workers),
        progress=sys.stderr.isatty(),
    )
    recipe.input.paths = [str(p) for p in files]  # exactly this slice: the cache may hold earlier ones
    if args.dump is None:  # the files name their snapshot too (path, warcinfo); this is the fallback label
        recipe.dump = args.snapshot
