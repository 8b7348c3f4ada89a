"""The two CPU training kernels finemill swaps in, each against what it replaces, alternating in one process.

    python -m benchmarks.speed.train_kernels                 # torch's threads
    python -m benchmarks.speed.train_kernels --threads 1

1. Matmuls of the tiny config's linear layers (16 x 128 tokens, width 128, vocab 4096): forward x @ W^T by
   torch (`F.linear`, its BLAS) and by `finemill.model.cpu_linear` (oneDNN), same inputs, in turns.
2. Output projection + loss, forward and backward: `lm_head` then `F.cross_entropy` against
   `finemill.model.gpt.LinearCrossEntropy`, both with torch's matmuls (`cpu_matmul: torch`), so that
   only the fusion is measured.

Prints milliseconds per call of each side (median over the rounds) and their ratio (above 1: finemill
faster), and checks the results agree before timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from finemill.model import cpu_linear
from finemill.model.gpt import LinearCrossEntropy


def alternate(
    a: Callable[[], object], b: Callable[[], object], rounds: int, calls: int
) -> tuple[float, float]:
    """Median seconds per call of a and of b, timed in turns (a load change hits both)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for side, fn in zip(times, (a, b), strict=True):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            side.append((time.perf_counter() - start) / calls)
    return statistics.median(times[0]), statistics.median(times[1])


def report(name: str, torch_s: float, finemill_s: float) -> None:
    print(
        f"{name:<34} torch {1e3 * torch_s:7.2f} ms   finemill {1e3 * finemill_s:7.2f} ms   {torch_s / finemill_s:.2f}x"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--rounds", type=int, default=10)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not cpu_linear.onednn_works():
        sys.exit("oneDNN's linear is not available in this torch build")
    g = torch.Generator().manual_seed(0)
    tokens, width, vocab, hidden = 16 * 128, 128, 4096, 384
    print(f"{torch.get_num_threads()} threads, {tokens} tokens, width {width}, vocab {vocab}")
    for n_in, n_out in [
        (width, 3 * width),
        (width, 2 * hidden),
        (hidden, width),
        (width, width),
        (width, vocab),
    ]:
        x, w = torch.randn(tokens, n_in, generator=g), torch.randn(n_out, n_in, generator=g)
        torch.testing.assert_close(cpu_linear.linear(x, w), F.linear(x, w), rtol=1e-4, atol=1e-3)
        report(
            f"linear {tokens}x{n_in} @ {n_in}x{n_out}",
            *alternate(
                lambda x=x, w=w: F.linear(x, w), lambda x=x, w=w: cpu_linear.linear(x, w), args.rounds, 10
            ),
        )

    h0 = torch.randn(tokens, width, generator=g)
    w0 = 0.02 * torch.randn(vocab, width, generator=g)
    targets = torch.randint(0, vocab, (tokens,), generator=g)

    def loss_and_grads(fused: bool) -> tuple[torch.Tensor, ...]:
        h, w = h0.clone().requires_grad_(), w0.clone().requires_grad_()
        loss = LinearCrossEntropy.apply(h, w, targets) if fused else F.cross_entropy(h @ w.t(), targets)
        loss.backward()
        return loss.detach(), h.grad, w.grad

    cpu_linear.use("torch")  # the fusion alone: its matmuls on torch's BLAS, as the unfused side's
    for got, expected in zip(loss_and_grads(True), loss_and_grads(False), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)
    report(
        "output projection + loss, fwd+bwd",
        *alternate(lambda: loss_and_grads(False), lambda: loss_and_grads(True), args.rounds, 2),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
