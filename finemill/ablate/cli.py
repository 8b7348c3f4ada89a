"""`finemill ablate`: should this filter be on? The same crawl with and without it, small models trained on
each variant with the same token budget and seeds, compared on held-out bits per byte and benchmarks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """\
examples:
  finemill ablate configs/ablate-example.yaml             the bundled sample, on CPU: a table and a plot
  finemill ablate my-ablation.yaml --input 'crawl/*.warc.gz' --out ablations/gopher
  finemill ablate my-ablation.yaml --parallel 2           two runs at a time (processes; one per GPU on CUDA)

An ablation file names a base recipe, the variants as overrides of it, the training config, the token budget
per run, the seeds and the evaluation:
  base: configs/fineweb.yaml
  variants:                       # the first one is the reference
    fineweb: {}
    no_fineweb_rules: {remove: [fineweb_quality]}
    lang_0.8: {set: {language.threshold: 0.8}}
    resiliparse: {replace: {extract: extract_resiliparse}}
  train: configs/train-tiny.yaml
  tokens: 2_000_000               # per variant and seed: equal budgets, not equal steps
  seeds: [0, 1, 2]
  eval: {tasks: [hellaswag, arc_easy, piqa], limit: 500, heldout_fraction: 0.02}

Steps every variant shares run once (OUT/shared/); each variant is a run folder (OUT/variants/NAME: `finemill
stats` works on it, and compares two). One tokenizer for all. Bits per byte is measured on documents held out
of every variant by a hash of their URL, right after extraction. Writes OUT/ablation.json, OUT/ablation.png
and OUT/ablation.html. Rerun the same command to resume."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ablate",
        help="compare recipe variants by training small models on each (FineWeb's ablations)",
        description="Run a base recipe and its variants over the same crawl, train the same small model with "
        "the same token budget and seeds on each, and compare them on held-out bits per byte and benchmarks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("ablation", metavar="FILE", help="ablation YAML (or the name of a bundled one)")
    p.add_argument(
        "-i",
        "--input",
        action="append",
        metavar="PATH",
        help="crawl or text files, folders or globs (repeatable); default: the ablation's `input`, "
        "else the base recipe's",
    )
    p.add_argument("-o", "--out", metavar="DIR", help="ablation folder (default: ablations/<file name>)")
    p.add_argument(
        "--tokenizer",
        metavar="JSON",
        help="use this tokenizer.json for every variant instead of "
        "training one on the union of their documents",
    )
    p.add_argument(
        "--bpb-texts",
        metavar="FILE",
        help="more held-out texts for bits per byte (parquet with a text column, or jsonl(.gz))",
    )
    p.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="training runs at a time (default 1; on CUDA at most one per GPU)",
    )
    p.add_argument(
        "--nproc-per-run",
        type=int,
        default=1,
        metavar="N",
        help="train each run with torchrun on N processes (GPUs) (default 1: in this process)",
    )
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--html", metavar="PATH", help="write the HTML page here (default: OUT/ablation.html)")
    p.add_argument("-q", "--quiet", action="store_true", help="only the table")
    p.set_defaults(func=ablate_command)


def ablate_command(args: argparse.Namespace) -> int:
    from finemill.ablate.ablation import run_ablation
    from finemill.ablate.report import print_report
    from finemill.ablate.spec import load_spec

    spec = load_spec(args.ablation)
    out = Path(args.out) if args.out else Path("ablations") / Path(args.ablation).stem
    log = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    report = run_ablation(
        spec,
        out,
        inputs=args.input,
        tokenizer=args.tokenizer,
        bpb_texts=args.bpb_texts,
        parallel=args.parallel,
        device=args.device,
        nproc=args.nproc_per_run,
        html=args.html,
        progress=not args.quiet and sys.stderr.isatty(),
        log=log,
    )
    print_report(report)
    print("wrote " + ", ".join(report["written"]))
    return 0
