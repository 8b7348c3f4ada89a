"""The `finemill` command line: one entry point, one subcommand per stage.

Each stage module exposes `register(subparsers)`, which adds its subcommand and sets `func`.
Those modules import their heavy dependencies (datatrove, torch, ...) inside the handlers, so
`finemill --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from finemill import __version__
from finemill.errors import FinemillError

# Order is the order shown in --help: the life of a run.
COMMAND_MODULES = [
    "finemill.pipeline.cli",  # run
    "finemill.commoncrawl.cli",  # download
    "finemill.stats.cli",  # stats, inspect
    "finemill.tokenize.cli",  # tokenize
    "finemill.train.cli",  # train, sample
    "finemill.eval.cli",  # eval
    "finemill.classify.cli",  # classify train, classify score
    "finemill.export.cli",  # export
    "finemill.ablate.cli",  # ablate
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finemill",
        description="From a raw web crawl to a pretrained base model: the FineWeb recipe on datatrove.",
        epilog="Start with `finemill run` (no arguments) to run the full recipe on the bundled sample.",
    )
    parser.add_argument("--version", action="version", version=f"finemill {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:  # a stage not built yet must not break the others
            if e.name == name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except FinemillError as e:
        print(f"finemill {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"finemill {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
