"""Evaluation speed: benchmark items/s of `finemill eval`'s scoring (evaluate_tasks) for a model config.

The model is the config's architecture with random weights (speed does not depend on the weights), or a
trained checkpoint with --checkpoint. Without a checkpoint the tokenizer is a byte-level BPE trained on the
task's own texts with the config's vocabulary size (standing in for a run's, so that sequence lengths are
realistic). The timed call is the same `evaluate_tasks` that `finemill eval` runs: tokenization, batched
scoring (bf16 autocast on CUDA), per-item records; one untimed warm-up call on a few items comes first.

    python -m benchmarks.speed.eval --config configs/train-tiny.yaml --device cpu --limit 1000
    python -m benchmarks.speed.eval --config configs/train-gpt2-124m.yaml --device cuda   # all 10,042 HellaSwag items
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.common import REPO


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(REPO / "configs" / "train-tiny.yaml"))
    p.add_argument("--checkpoint", help="time a trained run folder instead of a random model")
    p.add_argument("--device", default="auto")
    p.add_argument("--tasks", default="hellaswag")
    p.add_argument("--limit", type=int, help="items per task (default: all)")
    p.add_argument("--vocab-size", type=int, default=32768, help="BPE vocabulary without --checkpoint")
    p.add_argument("--batch-tokens", type=int, default=16384)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    args = p.parse_args(argv)

    import torch

    from finemill.common import resolve_device
    from finemill.eval.evaluate import evaluate_tasks
    from finemill.eval.tasks import resolve_tasks

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    tasks = resolve_tasks(args.tasks)
    if args.checkpoint:
        from finemill.model.loading import load_model

        loaded = load_model(args.checkpoint, device)
        model, encoder = loaded.model, loaded.encoder
        name = args.checkpoint
    else:
        model, encoder = random_model(args.config, tasks, args.vocab_size, device)
        name = Path(args.config).name
    n_params = sum(p.numel() for p in model.parameters())

    with torch.inference_mode():
        evaluate_tasks(model, encoder, tasks, limit=8, device=device, batch_tokens=args.batch_tokens)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = evaluate_tasks(
            model,
            encoder,
            tasks,
            limit=args.limit,
            device=device,
            batch_tokens=args.batch_tokens,
            progress=True,
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    items = sum(s["n"] for s in result["tasks"].values())
    out = {
        "model": name,
        "params": n_params,
        "vocab": encoder.vocab_size,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "tasks": args.tasks,
        "items": items,
        "seconds": round(seconds, 2),
        "items_per_s": round(items / seconds, 1),
        "batch_tokens": args.batch_tokens,
    }
    print(
        f"{name} ({n_params / 1e6:.1f}M params, vocab {encoder.vocab_size}) on {out['device_name']}: "
        f"{items:,} items of {args.tasks} in {seconds:.1f} s = {out['items_per_s']:,} items/s"
    )
    if args.json:
        print(json.dumps(out))
    return 0


def random_model(config: str, tasks, vocab_size: int, device):
    """The config's GPT with random weights, and a BPE trained on the tasks' texts."""
    import torch

    from finemill.model.config import ModelConfig
    from finemill.model.gpt import GPT
    from finemill.tokenize.encoder import Encoder
    from finemill.tokenize.train_bpe import train_tokenizer
    from finemill.train.config import load_config

    texts = [c + cont for task in tasks for item in task.load() for c, cont in item.requests]
    tok = train_tokenizer(texts, vocab_size)
    encoder = Encoder(tok, *_tiktoken(tok))
    cfg = load_config(config, {})
    torch.manual_seed(0)
    fields = {k: v for k, v in vars(cfg.model).items() if k != "vocab_size"}
    model = GPT(ModelConfig(**fields, vocab_size=encoder.vocab_size)).to(device).eval()
    return model, encoder


def _tiktoken(tok):
    from finemill.tokenize.encoder import NotRepresentable, tiktoken_from_hf

    try:
        return tiktoken_from_hf(tok), ""
    except NotRepresentable as e:
        return None, str(e)


if __name__ == "__main__":
    sys.exit(main())
