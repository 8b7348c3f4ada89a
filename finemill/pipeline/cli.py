"""`finemill run`: the FineWeb recipe from crawl files to clean parquet documents."""

from __future__ import annotations

import argparse
import sys

from finemill.errors import FinemillError
from finemill.pipeline.download import add_snapshot_arguments

HELP = """Run a recipe (default: configs/fineweb.yaml, FineWeb's steps and parameters) over crawl files.

With no arguments it runs the full recipe on a bundled, generated sample crawl and prints the funnel.
Output: OUT/documents/*.parquet (FineWeb's columns), OUT/removed/<step>/*.parquet (every removed
document with its reason), OUT/stats.json (per-step counts, reasons, characters, time).
A rerun with the same recipe and inputs skips finished work and resumes interrupted work."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run the FineWeb recipe on crawl files", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recipe", nargs="?", help="recipe YAML (default: configs/fineweb.yaml)")
    parser.add_argument("-i", "--input", action="append", metavar="PATH",
                        help="WARC/WET file, folder or glob (repeatable; quote globs); default: the bundled sample")
    parser.add_argument("-o", "--output", metavar="DIR", help="output folder (default: the recipe's `output`)")
    parser.add_argument("-w", "--workers", type=int, metavar="N", help="parallel processes (default: recipe's)")
    parser.add_argument("--limit", type=int, metavar="N", help="read at most N documents per input file")
    parser.add_argument("--force", action="store_true", help="delete a previous run in the output folder first")
    parser.add_argument("--quiet", action="store_true", help="do not print the funnel")
    add_snapshot_arguments(parser, required=False)
    parser.set_defaults(func=handle_run)


def handle_run(args: argparse.Namespace) -> int:
    from finemill.pipeline.funnel import print_funnel
    from finemill.pipeline.recipe import load_recipe
    from finemill.pipeline.run import run_recipe

    overrides = {"input": args.input, "output": args.output, "workers": args.workers}
    if args.limit is not None:
        overrides["limit"] = args.limit
    recipe = load_recipe(args.recipe, overrides)
    if args.snapshot:
        use_snapshot(args, recipe)
    elif args.files is not None:
        raise FinemillError("--files/--offset need --snapshot")
    stats = run_recipe(recipe, force=args.force)
    if not args.quiet:
        print_funnel(stats)
    print(f"documents: {recipe.output}/documents  removed: {recipe.output}/removed  stats: {recipe.output}/stats.json")
    print(f"details: finemill stats {recipe.output}  (--html report.html); examples: finemill inspect "
          f"{recipe.output} --step STEP")
    return 0


def use_snapshot(args: argparse.Namespace, recipe) -> None:
    """Download the chosen slice of a Common Crawl snapshot into the cache and make it the run's input."""
    from finemill.pipeline.download import download_snapshot

    if args.input:
        raise FinemillError("--snapshot and --input exclude each other")
    if args.files is None:
        raise FinemillError("--snapshot needs --files N")
    files = download_snapshot(args.snapshot, args.files, args.offset, base_url=args.base_url,
                              cache_dir=args.cache, workers=min(4, recipe.workers), progress=sys.stderr.isatty())
    recipe.input.paths = [str(p) for p in files]  # exactly this slice: the cache may hold earlier ones
    recipe.dump = args.snapshot  # the documents' `dump` column
