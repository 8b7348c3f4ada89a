"""Float32 matmuls of the model's linear layers on CPU: oneDNN's matmul or torch's default BLAS.

On CPU, torch runs a float32 `F.linear` / `mm` through its BLAS (MKL in the PyPI wheels). oneDNN's matmul
(also in every torch wheel, and what torch itself uses for bf16 on CPU) is the same float32 arithmetic, no
lower-precision shortcut; the sums may round in another order (~1e-6). Which one is faster depends on the
machine's CPU and on the BLAS torch was built with: on some machines oneDNN ran the training shapes much
faster, on others they tie (docs/performance.md has the measurements and their commands). So the train
config's `cpu_matmul: auto` (the default) times both on the model's own matmul shapes when a CPU run
starts (`choose`) and keeps the faster; `onednn` or `torch` forces one.

`linear(x, weight)` is `F.linear(x, weight)` (no bias) for everything else: CUDA, bfloat16, autocast, and
inside `torch.compile`, which picks its own kernels. The oneDNN entry point, `torch.ops.mkldnn.
_linear_pointwise`, is the one torch's own CPU compiler emits; it is not a public API, so it is checked
once per process against `F.linear` and skipped (torch's BLAS, with a warning) when missing or different.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F

SETTINGS = ("auto", "onednn", "torch")  # the train config's cpu_matmul
BACKENDS = ("onednn", "torch")
_backend = "onednn"
# The timing at start: one warm-up call of each backend, then ROUNDS alternating rounds, on at most
# FLOPS_PER_ROUND of matmuls per backend and round (the rows are cut, the model's widths kept), so that it
# stays well under a second on a small CPU model and bounded on a large one.
ROUNDS = 3
FLOPS_PER_ROUND = 2e9


def use(backend: str) -> None:
    """Set the CPU float32 matmul backend for this process: "onednn" (default) or "torch" (as installed)."""
    global _backend
    if backend not in BACKENDS:
        raise ValueError(f"cpu_matmul must be one of {', '.join(BACKENDS)}, not {backend!r}")
    _backend = backend


def backend() -> str:
    """The backend this process's CPU float32 matmuls use."""
    return _backend


def _onednn_mm_nt(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (M, K) @ b (N, K)^T -> (M, N) by oneDNN; b may be a transposed view."""
    return torch.ops.mkldnn._linear_pointwise(a, b, None, "none", [], "")


@functools.cache
def onednn_works() -> bool:
    """oneDNN's linear is present and gives F.linear's result on a small random problem (once per process)."""
    try:
        if not torch.backends.mkldnn.is_available():
            raise RuntimeError("torch was built without oneDNN")
        g = torch.Generator().manual_seed(0)
        a, b = torch.randn(37, 64, generator=g), torch.randn(48, 64, generator=g)
        c = torch.randn(64, 48, generator=g)
        same = torch.allclose(_onednn_mm_nt(a, b), F.linear(a, b), rtol=1e-5, atol=1e-5)
        same = same and torch.allclose(_onednn_mm_nt(a, c.t()), a @ c, rtol=1e-5, atol=1e-5)  # a view as b
        if not same:
            raise RuntimeError("its result differs from F.linear")
    except Exception as e:  # a missing op raises AttributeError or RuntimeError, depending on the version
        warnings.warn(
            f"finemill: oneDNN linear unavailable ({e}); CPU matmuls use torch's BLAS", stacklevel=2
        )
        return False
    return True


def onednn_applies(x: torch.Tensor) -> bool:
    """True where oneDNN takes a matmul of x: float32 on CPU, no autocast, not being compiled."""
    return (
        _backend == "onednn"
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_autocast_enabled("cpu")
        and not torch.compiler.is_compiling()
        and onednn_works()
    )


def mm_nt(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (M, K) @ b (N, K)^T -> (M, N): by oneDNN where it applies, else torch's matmul."""
    return _onednn_mm_nt(a, b) if onednn_applies(a) else a @ b.t()


class _OneDNNLinear(torch.autograd.Function):
    """y = x @ w^T with the forward and input-gradient matmuls by oneDNN; the weight gradient (a sum over
    all tokens) by torch's mm, which was as fast or faster for it on the measured shapes."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        flat = x.reshape(-1, x.shape[-1])  # (N, C_in)
        return _onednn_mm_nt(flat, weight).view(*x.shape[:-1], weight.shape[0])  # (..., C_out)

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, weight = ctx.saved_tensors
        grad_flat = grad_y.reshape(-1, grad_y.shape[-1])  # (N, C_out)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = _onednn_mm_nt(grad_flat, weight.t()).view(x.shape)  # (N, C_out) @ (C_out, C_in)
        if ctx.needs_input_grad[1]:
            grad_w = grad_flat.t() @ x.reshape(-1, x.shape[-1])  # (C_out, C_in)
        return grad_x, grad_w


def linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """F.linear(x, weight) without bias; x (..., C_in), weight (C_out, C_in) -> (..., C_out)."""
    return _OneDNNLinear.apply(x, weight) if onednn_applies(x) else F.linear(x, weight)


# ----------------------------------------------------------------------------------------------------------
# cpu_matmul: auto -- the faster backend on this machine, timed on the model's own shapes.

Shapes = dict[tuple[int, int], int]  # (in_features, out_features) of a linear layer -> how many the model has


def alternate(time_once: Callable[[str], float], rounds: int = ROUNDS) -> dict[str, float]:
    """Total seconds of each backend over `rounds` rounds, after one untimed warm-up call of each. The order
    flips every round, so neither side always runs second on a warmer cache or a quieter machine."""
    for name in BACKENDS:
        time_once(name)
    totals = dict.fromkeys(BACKENDS, 0.0)
    for r in range(rounds):
        for name in BACKENDS if r % 2 == 0 else BACKENDS[::-1]:
            totals[name] += time_once(name)
    return totals


def pick(seconds: dict[str, float]) -> tuple[str, float]:
    """(the faster backend, torch's time / oneDNN's): above 1, oneDNN was faster. A tie keeps oneDNN."""
    ratio = seconds["torch"] / seconds["onednn"] if seconds["onednn"] > 0 else 1.0
    return ("onednn" if ratio >= 1.0 else "torch"), ratio


def matmul_timer(shapes: Shapes, rows: int) -> Callable[[str], float]:
    """time_once(backend) for `alternate`: the forward and input-gradient matmuls of every linear layer (the
    two that `linear` sends to oneDNN) on `rows` tokens, cut to FLOPS_PER_ROUND."""
    flops_per_row = sum(4 * n_in * n_out * count for (n_in, n_out), count in shapes.items())
    rows = max(1, min(rows, int(FLOPS_PER_ROUND // max(1, flops_per_row))))
    g = torch.Generator().manual_seed(0)
    tensors = [
        (torch.randn(rows, n_in, generator=g), torch.randn(n_out, n_in, generator=g), count)
        for (n_in, n_out), count in shapes.items()
    ]
    grads = [torch.randn(rows, w.shape[0], generator=g) for _, w, _ in tensors]

    def time_once(name: str) -> float:
        started = time.perf_counter()
        for (x, w, count), grad in zip(tensors, grads, strict=True):
            for _ in range(count):
                if name == "onednn":
                    _onednn_mm_nt(x, w), _onednn_mm_nt(grad, w.t())
                else:
                    F.linear(x, w), grad @ w
        return time.perf_counter() - started

    return time_once


def choose(
    setting: str,
    shapes: Shapes,
    rows: int,
    *,
    measure: Callable[[Shapes, int], dict[str, float]] | None = None,
) -> str | None:
    """Apply the train config's cpu_matmul; for "auto", return the line that says what it chose and why.

    "onednn" or "torch" is used as is (no line). "auto" times both (`measure`, by default the model's
    matmuls through `alternate`) and keeps the faster; without a working oneDNN it is torch's BLAS, untimed.
    """
    if setting not in SETTINGS:
        raise ValueError(f"cpu_matmul must be one of {', '.join(SETTINGS)}, not {setting!r}")
    if setting != "auto":
        use(setting)
        return None
    if not onednn_works():
        use("torch")
        return "cpu matmul: torch (auto: oneDNN unavailable)"
    if measure is None:
        seconds = _timed(tuple(sorted(shapes.items())), rows, torch.get_num_threads())
    else:
        seconds = measure(shapes, rows)
    name, ratio = pick(seconds)
    use(name)
    return (
        f"cpu matmul: {name} (auto: oneDNN ran this model's matmuls at {ratio:.2f}x the speed of torch's BLAS "
        "on this machine; cpu_matmul: onednn or torch forces one)"
    )


@functools.cache
def _timed(shapes: tuple[tuple[tuple[int, int], int], ...], rows: int, threads: int) -> dict[str, float]:
    """Timed once per process, shapes and thread count: the runs of one process (an ablation, the tests)
    compute with the same kernels, so two of them with the same seed give the same losses."""
    return alternate(matmul_timer(dict(shapes), rows))
