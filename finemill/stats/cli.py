"""`finemill stats` and `finemill inspect`: what a run removed, why, and examples of it."""

from __future__ import annotations

import argparse

STATS_HELP = """Show what each step of a run received, removed and why (from OUT/stats.json, with removal
reasons recounted from OUT/removed/), the languages the language step saw, and MinHash cluster sizes.

  finemill stats OUT                      terminal tables
  finemill stats OUT --html report.html   one self-contained HTML report (+ its charts as PNG beside it)
  finemill stats RUN_A RUN_B              two runs side by side: counts per step and reason, and B - A"""

INSPECT_HELP = """Print random examples of documents a step removed: URL, reason, the measured value against the
filter's threshold (recomputed with the filter's own rule and the run's settings), and the first lines
of text. With --kept, examples of kept documents (OUT/documents) with every measure of the step.

  finemill inspect OUT --step gopher_quality
  finemill inspect OUT --step fineweb_quality --reason line_punct_ratio -n 3
  finemill inspect OUT --step language --language en     English pages scored below the threshold
  finemill inspect OUT --step gopher_quality --kept
  finemill inspect OUT --score-near 0.8     kept documents a quality classifier scored nearest 0.8
                                            (OUT/scores/ of `finemill classify score`, or quality_score)"""


def register(subparsers: argparse._SubParsersAction) -> None:
    stats = subparsers.add_parser(
        "stats",
        help="per-step counts, removal reasons, languages and duplicates of a run (or two)",
        description=STATS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stats.add_argument(
        "runs", nargs="+", metavar="OUT", help="output folder of `finemill run` (two to compare)"
    )
    stats.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report to FILE")
    stats.add_argument(
        "--examples",
        type=int,
        default=3,
        metavar="N",
        help="removed examples per reason in the HTML report (default: 3)",
    )
    stats.add_argument("--seed", type=int, default=0, help="random seed for the examples (default: 0)")
    stats.set_defaults(func=handle_stats)

    inspect = subparsers.add_parser(
        "inspect",
        help="examples of removed (or kept) documents, with the measure that removed them",
        description=INSPECT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument("run", metavar="OUT", help="output folder of `finemill run`")
    inspect.add_argument("--step", help="recipe step, e.g. language, gopher_quality, minhash (required)")
    inspect.add_argument("--reason", help="only this removal reason (default: all, n examples each)")
    inspect.add_argument(
        "--language",
        metavar="LANG",
        help="only documents detected as LANG (e.g. en: English pages the language step removed)",
    )
    inspect.add_argument("-n", type=int, default=5, metavar="N", help="examples per reason (default: 5)")
    inspect.add_argument(
        "--kept", action="store_true", help="kept documents (OUT/documents) instead of removed"
    )
    inspect.add_argument(
        "--lines", type=int, default=8, metavar="N", help="lines of text per example (default: 8)"
    )
    inspect.add_argument(
        "--seed", type=int, default=0, help="random seed (default: 0; same seed, same examples)"
    )
    inspect.add_argument(
        "--score-near",
        type=float,
        metavar="X",
        help="instead of --step: the n kept documents whose classifier score is nearest X, half below it",
    )
    inspect.add_argument("--scores", metavar="NAME", help="with --score-near: OUT/scores/NAME.parquet")
    inspect.set_defaults(func=handle_inspect)


def handle_stats(args: argparse.Namespace) -> int:
    from finemill.errors import FinemillError
    from finemill.stats.load import open_run
    from finemill.stats.summary import summarize
    from finemill.stats.table import print_compare, print_stats

    if len(args.runs) > 2:
        raise FinemillError(f"stats takes one run, or two to compare; got {len(args.runs)}")
    if args.html and len(args.runs) != 1:
        raise FinemillError("--html reports on one run; compare two runs in the terminal")
    if args.examples < 0:
        raise FinemillError("--examples must be >= 0")
    runs = [open_run(path) for path in args.runs]
    for run in runs:
        _update_card(run)
    summaries = [summarize(run) for run in runs]
    if len(summaries) == 2:
        print_compare(*summaries)
        return 0
    print_stats(summaries[0])
    from finemill.stats.scores import score_lines

    for line in score_lines(runs[0].path):
        print(line)
    if args.html:
        from finemill.stats.report import write_report

        written = write_report(summaries[0], args.html, examples=args.examples, seed=args.seed)
        print(f"report: {written[0]}  charts: {', '.join(str(p.name) for p in written[1:])}")
    return 0


def _update_card(run) -> None:
    """Rewrite the run's dataset card (README.md) from its stats.json; a read-only run folder keeps its own."""
    import sys

    from finemill.pipeline.card import write_card

    try:
        write_card(run.path, run.stats, log=lambda line: print(line, file=sys.stderr))
    except OSError as e:
        print(f"note: the dataset card in {run.path} was not updated: {e.strerror or e}", file=sys.stderr)


def handle_inspect(args: argparse.Namespace) -> int:
    from rich.console import Console

    from finemill import run_folder
    from finemill.errors import FinemillError
    from finemill.stats.explain import Explainer
    from finemill.stats.load import open_run
    from finemill.stats.sample import KEPT, readable_text, sample_by_reason
    from finemill.stats.table import example_renderable, make_console

    if args.n < 1 or args.lines < 1:
        raise FinemillError("-n and --lines must be >= 1")
    run = open_run(args.run)
    if args.score_near is not None:
        return _inspect_scores(run.path, args)
    if not args.step:
        raise FinemillError("--step is required (or --score-near X)")
    step = run.step(args.step)
    if args.kept:
        if args.reason:
            raise FinemillError("--reason selects removed documents; leave it out with --kept")
        groups = sample_by_reason(run.document_files(), args.n, args.seed, language=args.language)
        if not groups:
            what = f" detected as {args.language!r}" if args.language else ""
            raise FinemillError(f"no kept document{what} in {run_folder.documents(run.path)}")
    else:
        groups = sample_by_reason(run.removed_files(args.step), args.n, args.seed, args.reason, args.language)
        if not groups:
            removed = step["docs_in"] - step["docs_out"]
            known = ", ".join(step["removed"]) or "none"
            what = f"with reason {args.reason!r} " if args.reason else ""
            what += f"detected as {args.language!r} " if args.language else ""
            raise FinemillError(
                f"no document removed by {args.step} {what}in {run.path} "
                f"({removed:,} removed; reasons: {known})"
            )
    console: Console = make_console()
    explainer = Explainer(run.params)
    for reason, examples in groups.items():
        for i, example in enumerate(examples, 1):
            meta = {
                **example.metadata,
                "language": example.language,
                "language_score": example.language_score,
            }
            # a kept document has no reason: it gets every measure of the step, taken on its final text
            measures = explainer.explain(
                args.step, None if reason == KEPT else reason, example.text, example.url, meta
            )
            excerpt = readable_text(example, args.step)
            console.print(
                example_renderable(args.step, i, len(examples), example, measures, excerpt, args.lines)
            )
    return 0


def _inspect_scores(out, args: argparse.Namespace) -> int:
    """Kept documents scored nearest --score-near, lowest first, each with its score and first lines."""
    from finemill.errors import FinemillError
    from finemill.stats.scores import documents_by_id, load_scores, nearest

    found = load_scores(out, args.scores)
    if found is None:
        raise FinemillError(
            f"no scores in {out}: run `finemill classify score {out} --model M`, or a recipe with a "
            "quality_fasttext or quality_hf step"
        )
    source, ids, scores = found
    picked = nearest(ids, scores, args.score_near, args.n)
    documents = documents_by_id(out, {i for i, _ in picked})
    print(f"{len(picked)} documents scored nearest {args.score_near} ({source})")
    for doc_id, score in picked:
        doc = documents.get(doc_id, {})
        side = "below" if score < args.score_near else "at/above"
        print(f"\n── score {score:.4f} ({side} {args.score_near})  {doc.get('url') or doc_id}")
        for line in [x for x in (doc.get("text") or "").splitlines() if x.strip()][: args.lines]:
            print(f"    {line[:160]}")
    return 0
