"""Training throughput: tokens/s (and MFU on CUDA) of finemill's training step.

It times the trainer's own pieces (GPT, configure_optimizer, autocast_context, optional torch.compile):
forward + backward on one micro-batch, gradient clipping and an AdamW step, on random token ids (or real
shards with --data), after a few untimed warmup steps (which absorb compilation).

    python benchmarks/train_bench.py --config configs/train-tiny.yaml --device cpu --vocab-size 4096
    python benchmarks/train_bench.py --config configs/train-gpt2-124m.yaml --device cuda      # bf16, compiled

Output: a human-readable line, and with --json one JSON object (for collecting results).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(REPO / "configs" / "train-tiny.yaml"))
    p.add_argument("--device", default="auto")
    p.add_argument("--steps", type=int, default=20, help="timed optimizer steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation, allocator)")
    p.add_argument("--micro-batch-size", type=int, help="override the config's micro_batch_size")
    p.add_argument("--vocab-size", type=int, default=32768, help="vocab when no --data (default 32768)")
    p.add_argument("--data", help="a tokens folder: time real batches (and take its vocab)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--peak-tflops", type=float, help="accelerator peak for MFU (default: from the GPU name)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config override")
    p.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    args = p.parse_args(argv)

    import torch

    from finemill.train.config import load_config, parse_set_options
    from finemill.train.data import TokenData, TokenLoader
    from finemill.train.loop import autocast_context, configure_optimizer, resolve_device
    from finemill.train.metrics import mfu, peak_tflops
    from finemill.train.model import GPT

    overrides = parse_set_options(args.set)
    overrides["device"] = args.device
    if args.micro_batch_size:
        overrides["micro_batch_size"] = args.micro_batch_size
    if args.compile is not None:
        overrides["compile"] = args.compile
    cfg = load_config(args.config, overrides)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")

    data = TokenData(args.data) if args.data else None
    vocab = data.vocab_size if data else args.vocab_size
    cfg.model.vocab_size = vocab
    torch.manual_seed(0)
    model = GPT(cfg.model).to(device)
    optimizer = configure_optimizer(model, cfg, device)
    autocast, dtype = autocast_context(cfg, device)
    run = torch.compile(model) if cfg.compile else model
    B, T = cfg.micro_batch_size, cfg.model.block_size

    if data:
        loader = TokenLoader(data, "train", B, T, pin_memory=device.type == "cuda")
        batches = (b for b in loader)
    else:
        fixed = torch.randint(0, vocab, (B, T + 1))
        batches = iter(lambda: (fixed[:, :-1], fixed[:, 1:]), None)

    def step() -> torch.Tensor:
        x, y = next(batches)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast:
            _, loss = run(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or math.inf)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    loss = loss.item()  # also waits for the GPU
    sync()
    elapsed = time.perf_counter() - t0

    tokens_per_s = args.steps * B * T / elapsed
    result = {
        "config": Path(args.config).name, "device": str(device), "dtype": dtype, "compile": cfg.compile,
        "params_m": round(model.num_params() / 1e6, 2), "vocab": vocab, "micro_batch": B, "context": T,
        "mflop_per_token": round(model.flops_per_token() / 1e6, 1), "steps": args.steps,
        "ms_per_step": round(1000 * elapsed / args.steps, 2), "tokens_per_s": round(tokens_per_s, 1),
        "threads": torch.get_num_threads(), "loss": round(loss, 4), "torch": torch.__version__,
    }
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        peak = args.peak_tflops or peak_tflops(name)
        result.update(gpu=name, peak_tflops=peak, max_memory_gb=round(torch.cuda.max_memory_allocated() / 2**30, 2))
        if peak:
            result["mfu"] = round(mfu(model.flops_per_token(), tokens_per_s, peak), 4)
    line = (
        f"{result['config']}: {result['params_m']}M params, {B}x{T} tokens/step on {device} ({dtype}"
        f"{', compiled' if cfg.compile else ''}): {tokens_per_s:,.0f} tokens/s, {result['ms_per_step']} ms/step"
    )
    if "mfu" in result:
        line += f", MFU {100 * result['mfu']:.1f}% of {result['peak_tflops']:.0f} TFLOP/s"
    print(line)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
