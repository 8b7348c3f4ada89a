"""Float32 matmuls of the model's linear layers on CPU through oneDNN instead of torch's default BLAS.

On CPU, torch runs a float32 `F.linear` / `mm` through its BLAS (MKL in the PyPI wheels), which on the AMD
EPYC build machine runs the training shapes at about half the speed of oneDNN's matmul (also in every
torch wheel, and what torch itself uses for bf16 on CPU): 2048 x 128 @ 128 x 768 in 2.23 ms against 4.47 ms
on one core (`python -m benchmarks.speed.train_kernels --threads 1`). Same float32 arithmetic, no
lower-precision shortcut; the sums may round in another order (~1e-6).

`linear(x, weight)` is `F.linear(x, weight)` (no bias) for everything else: CUDA, bfloat16, autocast, and
inside `torch.compile`, which picks its own kernels. The oneDNN entry point, `torch.ops.mkldnn.
_linear_pointwise`, is the one torch's own CPU compiler emits; it is not a public API, so it is checked
once per process against `F.linear` and skipped (torch's BLAS, with a warning) when missing or different.
`use("torch")` (the train config's `cpu_matmul: torch`) turns it off for the process.
"""

from __future__ import annotations

import functools
import warnings

import torch
import torch.nn.functional as F

BACKENDS = ("onednn", "torch")
_backend = "onednn"


def use(backend: str) -> None:
    """Set the CPU float32 matmul backend for this process: "onednn" (default) or "torch" (as installed)."""
    global _backend
    if backend not in BACKENDS:
        raise ValueError(f"cpu_matmul must be one of {', '.join(BACKENDS)}, not {backend!r}")
    _backend = backend


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
