"""`finemill train` and `finemill sample`. torch is imported inside the handlers to keep --help fast."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from finemill.errors import FinemillError

TRAIN_EPILOG = """\
examples:
  finemill train --config configs/train-tiny.yaml --data OUT/tokens
  finemill train --config configs/train-tiny.yaml --data OUT/tokens --max-steps 50 --set lr=1e-3
  torchrun --standalone --nproc_per_node 8 -m finemill.cli train --config configs/train-gpt2-124m.yaml \\
      --data OUT/tokens --compile

The run folder (default: next to the tokens folder, train-<config name>) receives checkpoints/,
metrics.jsonl, samples.jsonl, loss.png, config.yaml and summary.json. Rerunning the same command
resumes from the newest checkpoint there. Ctrl-C or SIGTERM finishes the current step, saves a checkpoint
of it, writes its metrics line and exits (130 or 143), so the rerun loses nothing. Progress is a live bar on
a terminal, else a plain line every FINEMILL_PROGRESS_INTERVAL seconds (default 30) on stderr.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_train(subparsers)
    _register_sample(subparsers)


def _register_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="pretrain a GPT on token shards",
        description="Pretrain a decoder-only transformer on the token shards written by `finemill tokenize`. "
        "The same command runs on a CPU and, under torchrun, on several GPUs.",
        epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        metavar="YAML",
        help="training config (e.g. configs/train-tiny.yaml; bare train-tiny: the bundled one)",
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        help="tokens folder with manifest.json (e.g. OUT/tokens), or llm.c .bin shards: a folder or a glob",
    )
    p.add_argument("--out", metavar="DIR", help="run folder (default: <tokens>/../train-<config name>)")
    p.add_argument("--max-steps", type=int, metavar="N", help="optimizer steps in the whole run")
    p.add_argument("--device", metavar="DEV", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile the model (worth it on GPU)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set lr=1e-3 --set model.n_layer=6 (repeatable)",
    )
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="CKPT",
        help="continue from the newest checkpoint in the run folder (the default when there is one), "
        "or from CKPT; fails if there is none",
    )
    p.add_argument(
        "--stop-at",
        type=int,
        metavar="STEP",
        help="stop with a checkpoint after this step, keeping the schedule of --max-steps",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar or progress lines (logs still go to metrics.jsonl)",
    )
    p.set_defaults(func=train_command)


def _register_sample(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "sample",
        help="generate text from a trained checkpoint",
        description="Generate text with a checkpoint and its run's tokenizer (KV-cached decoding).",
        epilog='example: finemill sample OUT/train-tiny --prompt "The history of" --max-tokens 100',
    )
    s.add_argument(
        "checkpoint", metavar="CKPT", help="a checkpoint file, or a run folder (its newest checkpoint)"
    )
    s.add_argument("--prompt", default="", help="text to continue (default: start a new document)")
    s.add_argument(
        "--max-tokens", type=int, default=100, metavar="N", help="tokens to generate (default 100)"
    )
    s.add_argument("--temperature", type=float, default=0.8, help="0 = greedy (default 0.8)")
    s.add_argument(
        "--top-k",
        type=int,
        default=50,
        metavar="K",
        help="sample among the K likeliest (default 50; 0 = all)",
    )
    s.add_argument(
        "--num-samples", type=int, default=1, metavar="N", help="independent completions (default 1)"
    )
    s.add_argument("--seed", type=int, default=None, help="random seed, for repeatable samples")
    s.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    s.add_argument("--tokenizer", metavar="JSON", help="tokenizer.json to use (default: the run's)")
    s.set_defaults(func=sample_command)


def train_command(args: argparse.Namespace) -> int:
    from finemill.config_files import resolve_config
    from finemill.train.config import load_config, parse_set_options
    from finemill.train.loop import train

    overrides = parse_set_options(args.set)
    for key, value in (
        ("data", args.data),
        ("out", args.out),
        ("max_steps", args.max_steps),
        ("device", args.device),
        ("compile", args.compile),
    ):
        if value is not None:
            overrides[key] = value
    cfg = load_config(resolve_config(args.config) if args.config else None, overrides)  # a bare name: bundled
    name = Path(args.config).stem if args.config else "run"
    if not args.config and os.environ.get("RANK", "0") == "0":  # once, not by every torchrun rank
        print(f"finemill train: {defaults_notice(cfg)}", file=sys.stderr)
    if args.stop_at is not None and args.stop_at <= 0:
        raise FinemillError("--stop-at must be a positive step")
    from finemill.train.interrupt import RunInterrupted

    try:
        train(
            cfg,
            config_name=name,
            resume=args.resume,
            stop_at=args.stop_at,
            show_progress=not args.no_progress,
        )
    except RunInterrupted as e:  # SIGINT/SIGTERM: the current step was saved
        if e.shown:
            print(f"finemill train: {e}", file=sys.stderr)
        return e.exit_code
    return 0


def defaults_notice(cfg) -> str:
    """What a run without --config trains: finemill's built-in defaults (with any options given on top), said
    out loud so that a forgotten --config is not a silent 1000-step run of a model nobody chose."""
    m = cfg.model
    return (
        f"no --config: built-in defaults with the options given on top: a {m.n_layer}-layer GPT, "
        f"{m.n_head} heads, width {m.n_embd}, context {m.block_size}; lr {cfg.lr:g}, {cfg.max_steps} steps, "
        f"micro-batch {cfg.micro_batch_size}, {cfg.schedule} schedule (every setting: config.yaml in the run "
        "folder; a bundled config: --config train-tiny)"
    )


def sample_command(args: argparse.Namespace) -> int:
    import torch

    from finemill.common import resolve_device
    from finemill.model.generate import complete
    from finemill.model.loading import load_model

    if args.max_tokens <= 0 or args.num_samples <= 0:
        raise FinemillError("--max-tokens and --num-samples must be positive")
    device = resolve_device(args.device)
    loaded = load_model(args.checkpoint, device, args.tokenizer)
    ctx = torch.autocast(device.type, dtype=torch.bfloat16) if device.type == "cuda" else torch.no_grad()
    with ctx:
        texts = complete(
            loaded.model,
            loaded.encoder.hf,
            args.prompt,
            args.max_tokens,
            eot_id=loaded.eot_id,
            temperature=args.temperature,
            top_k=args.top_k or None,
            num_samples=args.num_samples,
            seed=args.seed,
            device=device,
        )
    for i, text in enumerate(texts):
        if i:
            print("\n" + "-" * 40)
        print(args.prompt + text)
    return 0
