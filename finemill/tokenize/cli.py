"""`finemill tokenize`: train a BPE tokenizer on a run's documents and write token shards; inspect a shard.

Only argparse is imported at module level; the handler imports the rest, so `finemill --help` stays fast.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from finemill.errors import FinemillError

_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}

EPILOG = """\
examples:
  finemill tokenize out/                         train a 32768-token BPE, write out/tokens/
  finemill tokenize out/ --vocab-size 50304 --sample-bytes 2G --workers 16
  finemill tokenize out/ --tokenizer tokenizer.json   use an existing tokenizer instead of training
  finemill tokenize --inspect out/tokens/val/shard_00000.parquet --row 3

  finemill tokenize out/ --format megatron,llmc,datatrove   also the shards Megatron, llm.c, nanotron read

writes out/tokens/: tokenizer.json, train/ and val/shard_NNNNN.parquet (columns id, input_ids,
num_tokens; no end-of-text inside a row) and manifest.json (what the training loop reads).
Rerun the same command to resume: finished shards are kept, an interrupted one is rewritten."""


def parse_size(text: str) -> int:
    """'100M' -> 100_000_000 (decimal units: k, M, G, T); plain integers too."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 500000, 100M, 1G)")
    return int(float(m.group(1)) * _SUFFIXES[m.group(2).lower()])


def format_names(given: list[str] | None) -> tuple[str, ...]:
    """`--format a,b --format c` as ('parquet', 'a', 'b', 'c'): parquet first and always, no repeats."""
    names = ["parquet"]
    for chunk in given or []:
        for name in (part.strip().lower() for part in chunk.split(",")):
            if name and name not in names:
                names.append(name)
    return tuple(names)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tokenize",
        help="train a byte-level BPE tokenizer and write train/val token shards",
        description="Train a byte-level BPE tokenizer (GPT-4-style split, 256 byte tokens, an end-of-text "
        "token) on a run's documents, or use an existing tokenizer.json, and write the documents as "
        "parquet token shards with a manifest for training.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "out", nargs="?", metavar="OUT", help="run folder from `finemill run` (reads OUT/documents)"
    )
    _tokenizer_arguments(p.add_argument_group("tokenizer"))
    _shard_arguments(p.add_argument_group("shards"))
    _inspect_arguments(p.add_argument_group("inspect"))
    p.set_defaults(func=handle)


def _tokenizer_arguments(t: argparse._ArgumentGroup) -> None:
    """Which tokenizer: trained here (vocabulary, sample, end-of-text token) or given."""
    t.add_argument(
        "--vocab-size",
        type=int,
        default=32768,
        metavar="N",
        help="vocabulary size to train, end-of-text included (default: %(default)s)",
    )
    t.add_argument(
        "--tokenizer",
        type=Path,
        metavar="PATH",
        help="use this tokenizer.json instead of training one (copied to OUT/tokens/)",
    )
    t.add_argument(
        "--sample-bytes",
        type=parse_size,
        default="1G",
        metavar="SIZE",
        help="train on this much text, e.g. 100M; 0 = all documents (default: 1G)",
    )
    t.add_argument(
        "--eot-token",
        default="<|endoftext|>",
        metavar="TOKEN",
        help="the end-of-text token that separates documents (default: %(default)s)",
    )


def _shard_arguments(s: argparse._ArgumentGroup) -> None:
    """How the documents become train/val shards."""
    s.add_argument(
        "--shard-tokens",
        type=parse_size,
        default="100M",
        metavar="SIZE",
        help="tokens per shard; a shard ends at a document boundary (default: 100M)",
    )
    s.add_argument(
        "--val-fraction",
        type=float,
        default=0.005,
        metavar="F",
        help="share of documents in val, chosen by a hash of the id (default: %(default)s)",
    )
    s.add_argument(
        "--format",
        dest="formats",
        action="append",
        metavar="NAMES",
        help="also write the shards as megatron (.bin + .idx), llmc (llm.c .bin) and/or datatrove (.ds + "
        ".index), from the same encoding pass; comma-separated or repeated; parquet is always written "
        "(default: parquet)",
    )
    s.add_argument(
        "--languages",
        metavar="LANG=W,...",
        help="a run written per language: only these languages, mixed by these shares of their text, "
        "e.g. fr=0.5,de=0.5 (default: every document)",
    )
    s.add_argument("--seed", type=int, default=0, help="seed of the document order (default: %(default)s)")
    s.add_argument(
        "--workers",
        type=int,
        default=_cpus(),
        metavar="N",
        help="encoding processes (default: the CPUs available, here %(default)s)",
    )
    s.add_argument(
        "--overwrite",
        action="store_true",
        help="delete OUT/tokens' previous shards, manifest and tokenizer first",
    )
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")


def _inspect_arguments(i: argparse._ArgumentGroup) -> None:
    """--inspect SHARD: a row of a shard shown as text with its token boundaries."""
    i.add_argument(
        "--inspect",
        type=Path,
        metavar="SHARD",
        help="show a row of a shard as text with token boundaries, and its ids",
    )
    i.add_argument("--row", type=int, default=0, help="row to show with --inspect (default: 0)")
    i.add_argument(
        "--max-tokens",
        type=int,
        default=2000,
        metavar="N",
        help="show at most N tokens with --inspect; 0 = all (default: %(default)s)",
    )


def handle(args: argparse.Namespace) -> int:
    if args.inspect is not None:
        from finemill.tokenize.inspect_shard import show

        return show(args.inspect, row=args.row, tokenizer=args.tokenizer, max_tokens=args.max_tokens)
    if args.out is None:
        raise FinemillError("give the run folder OUT, or --inspect SHARD (see `finemill tokenize --help`)")

    from finemill import run_folder, storage
    from finemill.tokenize.manifest import MANIFEST_NAME
    from finemill.tokenize.mix import parse_languages
    from finemill.tokenize.run import tokenize_run
    from finemill.tokenize.shards import ShardSettings

    def log(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr)

    settings = ShardSettings(
        shard_tokens=args.shard_tokens,
        val_fraction=args.val_fraction,
        seed=args.seed,
        workers=args.workers,
        formats=format_names(args.formats),
        languages=parse_languages(args.languages) if args.languages else (),
    )
    manifest = tokenize_run(
        args.out,
        tokenizer=args.tokenizer,
        vocab_size=args.vocab_size,
        sample_bytes=args.sample_bytes,
        eot_token=args.eot_token,
        settings=settings,
        overwrite=args.overwrite,
        progress=not args.quiet and sys.stderr.isatty(),
        log=log,
    )
    if not args.quiet:
        tokens_dir = run_folder.tokens(storage.as_path(args.out))
        for name, split in manifest["splits"].items():
            print(
                f"{name:5s}: {split['documents']:,} documents, {split['tokens']:,} tokens, "
                f"{len(split['shards'])} shard(s)"
            )
        tok = manifest["tokenizer"]
        print(
            f"vocab {tok['vocab_size']} ({manifest['dtype']}), eot id {tok['eot_id']}, "
            f"{manifest['bytes_per_token']} bytes/token; "
            f"{manifest['source']['empty_documents']} empty document(s) skipped"
            + (", or left out of the languages' mix" if args.languages else "")
        )
        others = [name for name in manifest.get("formats", []) if name != "parquet"]
        if others:
            print(f"also as {', '.join(others)}: {', '.join(str(tokens_dir / name) for name in others)}")
        print(f"manifest: {tokens_dir / MANIFEST_NAME}")
    return 0
