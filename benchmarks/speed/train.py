"""Training throughput: tokens/s (and MFU on CUDA) of finemill's training step, optionally against nanoGPT's.

It times the trainer's own pieces (GPT, configure_optimizer, autocast_context, optional torch.compile):
forward + backward on one micro-batch, gradient clipping and an AdamW step, on random token ids (or real
shards with --data), after a few untimed warmup steps (which absorb compilation).

    python -m benchmarks.speed.train --config configs/train-tiny.yaml --device cpu --vocab-size 4096
    python -m benchmarks.speed.train --config configs/train-gpt2-124m.yaml --device cuda --json  # bf16, compiled
    python -m benchmarks.speed.train --config configs/train-tiny.yaml --device cpu --vocab-size 4096 \\
        --vs-nanogpt ~/src/nanoGPT      # a checkout of github.com/karpathy/nanoGPT (not bundled)

The vocabulary comes from --data's manifest, else --vocab-size, else the config's model.vocab_size, else
32768; the output says which. With --vs-nanogpt PATH it imports PATH/model.py, builds nanoGPT's GPT at the
same n_layer, n_head, n_embd, block_size and (padded) vocabulary, with nanoGPT train.py's defaults (no
biases, no dropout, its configure_optimizers, grad clip, fp32 on CPU, torch's own kernels), and alternates
the two, --steps steps each per round, for --rounds rounds in one process: a load change hits both sides
alike, and the ratio reported is the median of the per-round ratios. finemill's side runs as the trainer
does, CPU matmuls on the backend `cpu_matmul` picks (auto: the faster of oneDNN and torch's BLAS on this
machine); `--set cpu_matmul=torch` gives it torch's BLAS, as nanoGPT has. FLOPs per token are counted the
same way for both (6 per matmul weight, the tied output projection included, plus 12 x layers x context x
width for attention), so a SwiGLU MLP (3 matrices of 8/3 width) is charged more than a GELU MLP (2 of 4 x
width).

Output: human-readable lines, and with --json one JSON object (for collecting results).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import REPO

DEFAULT_VOCAB = 32768


@dataclass
class Side:
    """One model under test: its training step and what it costs per token."""

    name: str
    step: Callable[[], object]  # one optimizer step; returns the loss tensor
    params: int
    flops_per_token: float
    seconds: float = 0.0
    steps: int = 0


def matmul_flops_per_token(model, n_layer: int, n_embd: int, block_size: int) -> float:
    """6 per weight of every nn.Linear (tied ones once), plus attention's 12 x layers x context x width."""
    import torch.nn as nn

    weights = {id(m.weight): m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear)}
    return 6 * sum(weights.values()) + 12 * n_layer * block_size * n_embd


def make_step(
    model, optimizer, batches, device, autocast, grad_clip: float, run=None
) -> Callable[[], object]:
    """The trainer's step shape: forward + backward, clip, AdamW, zero the gradients."""
    import torch

    run = model if run is None else run  # not `or`: a compiled module has no truth value

    def step() -> torch.Tensor:
        x, y = next(batches)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast:
            _, loss = run(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip or math.inf)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def load_nanogpt(path: str):
    """nanoGPT's model.py from a checkout, imported under its own module name."""
    model_py = Path(path).expanduser() / "model.py"
    if not model_py.is_file():
        sys.exit(f"--vs-nanogpt: no model.py in {path} (give the folder of a nanoGPT checkout)")
    spec = importlib.util.spec_from_file_location("nanogpt_model", model_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_nanogpt(path: str, cfg, vocab: int, device, autocast, batches) -> Side:
    import torch

    nano = load_nanogpt(path)
    m = cfg.model
    gcfg = nano.GPTConfig(
        block_size=m.block_size,
        vocab_size=vocab,
        n_layer=m.n_layer,
        n_head=m.n_head,
        n_embd=m.n_embd,
        dropout=0.0,
        bias=False,  # nanoGPT train.py's defaults
    )
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints parameter counts
        model = nano.GPT(gcfg).to(device)
        optimizer = model.configure_optimizers(cfg.weight_decay, cfg.lr, (cfg.beta1, cfg.beta2), device.type)
    run = torch.compile(model) if cfg.compile else model
    return Side(
        name="nanoGPT",
        step=make_step(model, optimizer, batches, device, autocast, cfg.grad_clip, run),
        params=sum(p.numel() for p in model.parameters()),
        flops_per_token=matmul_flops_per_token(model, m.n_layer, m.n_embd, m.block_size),
    )


def timed(side: Side, steps: int, sync: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = side.step()
    loss.item()  # also waits for the GPU
    sync()
    dt = time.perf_counter() - t0
    side.seconds += dt
    side.steps += steps
    return dt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(REPO / "configs" / "train-tiny.yaml"))
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--steps", type=int, default=20, help="timed optimizer steps (per round with --vs-nanogpt)"
    )
    p.add_argument("--rounds", type=int, default=5, help="with --vs-nanogpt: alternating rounds (default 5)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation, allocator)")
    p.add_argument("--micro-batch-size", type=int, help="override the config's micro_batch_size")
    p.add_argument(
        "--vocab-size", type=int, help=f"vocab without --data (default: the config's, else {DEFAULT_VOCAB})"
    )
    p.add_argument("--data", help="a tokens folder: time real batches (and take its vocab)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--threads", type=int, help="torch CPU threads, set for both sides (default: torch's)")
    p.add_argument("--peak-tflops", type=float, help="accelerator peak for MFU (default: from the GPU name)")
    p.add_argument(
        "--vs-nanogpt", metavar="PATH", help="a nanoGPT checkout: time its GPT alternately, same shape"
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config override")
    p.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    args = p.parse_args(argv)

    import torch

    from finemill.common import resolve_device
    from finemill.model import cpu_linear
    from finemill.model.gpt import GPT, padded_vocab_size
    from finemill.tokenize.tokens_folder import TokenData
    from finemill.train.config import load_config, parse_set_options
    from finemill.train.data import TokenLoader
    from finemill.train.metrics import mfu, peak_tflops
    from finemill.train.optimizer import configure_optimizer
    from finemill.train.setup import autocast_context

    overrides = parse_set_options(args.set)
    overrides["device"] = args.device
    if args.micro_batch_size:
        overrides["micro_batch_size"] = args.micro_batch_size
    if args.compile is not None:
        overrides["compile"] = args.compile
    cfg = load_config(args.config, overrides)
    torch.set_num_threads(args.threads or torch.get_num_threads())  # explicit, the same for both sides
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")

    data = TokenData(args.data) if args.data else None
    if data:
        vocab, vocab_from = data.vocab_size, "the data's manifest"
    elif args.vocab_size:
        vocab, vocab_from = args.vocab_size, "--vocab-size"
    elif cfg.model.vocab_size:
        vocab, vocab_from = cfg.model.vocab_size, "the config"
    else:
        vocab, vocab_from = DEFAULT_VOCAB, "the default; the config leaves it to the tokens' manifest"
    cfg.model.vocab_size = vocab
    B, T = cfg.micro_batch_size, cfg.model.block_size

    if data:
        loader = TokenLoader(data, "train", B, T, pin_memory=device.type == "cuda")
        batches = (b for b in loader)
    else:
        fixed = torch.randint(0, vocab, (B, T + 1), generator=torch.Generator().manual_seed(0))
        x, y = fixed[:, :-1].contiguous(), fixed[:, 1:].contiguous()  # (B, T) each, as a loader gives them
        batches = iter(lambda: (x, y), None)

    torch.manual_seed(0)
    model = GPT(cfg.model).to(device)
    if device.type == "cpu":  # as the trainer does; `--set cpu_matmul=torch` times torch's BLAS
        chosen = cpu_linear.choose(cfg.cpu_matmul, model.linear_shapes(), B * T)
        print(chosen or f"cpu matmul: {cfg.cpu_matmul}", file=sys.stderr)
    optimizer = configure_optimizer(model, cfg, device)
    autocast, dtype = autocast_context(cfg, device)
    run = torch.compile(model) if cfg.compile else model
    sides = [
        Side(
            "finemill",
            make_step(model, optimizer, batches, device, autocast, cfg.grad_clip, run),
            model.num_params(),
            model.flops_per_token(),
        )
    ]
    if args.vs_nanogpt:
        sides.append(build_nanogpt(args.vs_nanogpt, cfg, padded_vocab_size(vocab), device, autocast, batches))

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for side in sides:
        for _ in range(args.warmup):
            side.step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    ratios = []
    for _ in range(args.rounds if len(sides) > 1 else 1):
        times = [timed(side, args.steps, sync) for side in sides]
        if len(sides) > 1:
            ratios.append(times[1] / times[0])  # finemill's speed over nanoGPT's in this round
    loss = sides[0].step().item()

    def rate(side: Side) -> float:
        return side.steps * B * T / side.seconds

    tokens_per_s = rate(sides[0])
    result = {
        "config": Path(args.config).name,
        "device": str(device),
        "dtype": dtype,
        "compile": cfg.compile,
        "cpu_matmul": cpu_linear.backend() if device.type == "cpu" else None,
        "params_m": round(model.num_params() / 1e6, 3),
        "vocab": vocab,
        "vocab_from": vocab_from,
        "padded_vocab": model.padded_vocab,
        "micro_batch": B,
        "context": T,
        "mflop_per_token": round(model.flops_per_token() / 1e6, 2),
        "steps": sides[0].steps,
        "ms_per_step": round(1000 * sides[0].seconds / sides[0].steps, 2),
        "tokens_per_s": round(tokens_per_s, 1),
        "gflop_per_s": round(tokens_per_s * model.flops_per_token() / 1e9, 2),
        "threads": torch.get_num_threads(),
        "loss": round(loss, 4),
        "torch": torch.__version__,
    }
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        peak = args.peak_tflops or cfg.peak_tflops or peak_tflops(name, dtype)
        result.update(
            gpu=name, peak_tflops=peak, max_memory_gb=round(torch.cuda.max_memory_allocated() / 2**30, 2)
        )
        if peak:
            result["mfu"] = round(mfu(model.flops_per_token(), tokens_per_s, peak), 4)
    cpu_gemm = f", cpu_matmul {cpu_linear.backend()}" if device.type == "cpu" else ""
    line = (
        f"{result['config']}: {model.num_params() / 1e6:.2f}M params, vocab {vocab} ({vocab_from}), "
        f"{result['mflop_per_token']} MFLOP/token, {B}x{T} tokens/step on {device} ({dtype}"
        f"{', compiled' if cfg.compile else ''}, {result['threads']} threads{cpu_gemm}): {tokens_per_s:,.0f} tokens/s, "
        f"{result['ms_per_step']} ms/step"
    )
    if "mfu" in result:
        line += f", MFU {100 * result['mfu']:.1f}% of {result['peak_tflops']:.0f} TFLOP/s ({dtype} peak)"
    print(line)
    if len(sides) > 1:
        nano = sides[1]
        result["nanogpt"] = {
            "params_m": round(nano.params / 1e6, 3),
            "mflop_per_token": round(nano.flops_per_token / 1e6, 2),
            "tokens_per_s": round(rate(nano), 1),
            "gflop_per_s": round(rate(nano) * nano.flops_per_token / 1e9, 2),
            "ms_per_step": round(1000 * nano.seconds / nano.steps, 2),
        }
        result["rounds"] = args.rounds
        result["round_ratios"] = [round(r, 3) for r in ratios]
        result["ratio_vs_nanogpt"] = round(statistics.median(ratios), 3)
        print(
            f"nanoGPT (same shape, GELU MLP, learned positions): {nano.params / 1e6:.2f}M params, "
            f"{result['nanogpt']['mflop_per_token']} MFLOP/token: {rate(nano):,.0f} tokens/s, "
            f"{result['nanogpt']['ms_per_step']} ms/step"
        )
        print(
            f"finemill / nanoGPT tokens/s: {result['ratio_vs_nanogpt']:.3f}x (median of {args.rounds} alternating "
            f"rounds of {args.steps} steps: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
