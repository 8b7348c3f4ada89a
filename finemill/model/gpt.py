"""A compact decoder-only transformer (GPT), in the spirit of nanoGPT's model.py.

Choices, all well known, and why:
- Pre-norm residual blocks with RMSNorm (as in Llama): cheaper than LayerNorm, no mean or bias, and
  pre-norm trains stably without warmup tricks.
- Rotary position embeddings (RoPE, Su et al. 2021) on queries and keys instead of a learned position
  table: relative positions, no extra parameters, and a KV cache can keep going past a crop.
- No biases in any linear layer (as in PaLM and Llama): fewer parameters, no loss in quality, and
  bias-free matmuls are what the fast kernels like best.
- SwiGLU MLP (Shazeer 2020) with a hidden size of 8/3 x width, rounded up to a multiple of 64: three
  matrices of 8/3 x width match the 8 x width^2 weights of GPT-2's 4x GELU MLP when no rounding is
  needed (width 768: hidden 2048); at width 128 the rounding (341 -> 384) makes it 12.5% larger.
- Speed (eager CPU, measured with python -m benchmarks.speed.train --vs-nanogpt): RoPE rotates q and k in one call
  as a flip and two products, and q/k/v are split rather than sliced, so the backward pass has no
  zero-filled gradients to add up.
- Speed (CPU training, float32): the output projection and the loss are one step, LinearCrossEntropy, which
  never keeps the (N, V) logits (its measured effect: docs/performance.md).
- Causal attention through F.scaled_dot_product_attention, which picks flash attention on CUDA in bf16.
- Token embedding and output projection tied by default (GPT-2 does this; it saves vocab x width
  parameters, a large share of a small model); untie with `tie_embeddings: false`.
- GPT-2 initialization: N(0, 0.02), residual output projections scaled by 1/sqrt(2 x n_layer) so the
  residual stream's variance does not grow with depth.
- The embedding table is padded to a multiple of 64 rows for tensor-core friendly shapes; the padded
  ids never occur in the data, so training pushes their logits down, and sampling masks them.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from finemill.model import cpu_linear
from finemill.model.config import ModelConfig


def padded_vocab_size(vocab_size: int, multiple: int = 64) -> int:
    return multiple * math.ceil(vocab_size / multiple)


def rope_tables(head_dim: int, max_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and signed sin of position x frequency, each (max_len, head_dim), in fp32.

    Channel pairs are (i, i + D/2), as in Llama: the tables repeat the D/2 angles over both halves, with
    sin negated on the first half, so a rotation is x * cos + swap_halves(x) * sin (see apply_rope).
    """
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))  # (D/2,)
    angles = torch.outer(torch.arange(max_len, dtype=torch.float64), inv_freq)  # (T, D/2)
    cos, sin = angles.cos().float(), angles.sin().float()
    return torch.cat([cos, cos], dim=-1), torch.cat([-sin, sin], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (i, i + D/2) of x (..., T, H, D) by position-dependent angles (cos/sin: (T, D)).

    Equal to (x1 cos - x2 sin, x1 sin + x2 cos) on the halves x1, x2, bit for bit; written as one flip and
    two products it avoids slicing and concatenating, whose backward zero-fills and copies (faster on CPU).
    """
    swapped = x.unflatten(-1, (2, -1)).flip(-2).flatten(-2)  # (x2, x1)
    cos, sin = cos[:, None].to(x.dtype), sin[:, None].to(x.dtype)  # (T, 1, D); bf16 under autocast for flash
    return x * cos + swapped * sin


class LinearCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of softmax(h @ w^T) against the targets, its gradients computed in the forward pass.

    Used for training on CPU in float32, where it makes the output projection + loss faster than `lm_head`
    then `F.cross_entropy` (same matmuls on both sides; measured by `python -m benchmarks.speed.train_kernels`,
    figures in docs/performance.md). That path keeps the (N, V) logits and their log-softmax until the
    backward pass, which then runs a log-softmax backward and a zero-filled (N, V) gradient. Here one (N, V)
    buffer holds the logits, then the softmax, then the logits' gradient (softmax - one-hot), and is freed
    before the forward pass returns; the backward pass only scales the two saved gradients. Same matmuls.
    """

    @staticmethod
    def forward(ctx, h: torch.Tensor, w: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        # h (N, C) final hidden states, w (V, C) output projection, targets (N,) token ids
        logits = cpu_linear.mm_nt(h, w)  # (N, V)
        target_logit = logits.gather(1, targets[:, None]).squeeze(1)  # (N,)
        top = logits.amax(1, keepdim=True)  # (N, 1): subtracted before exp, which then cannot overflow
        probs = logits.sub_(top).exp_()  # unnormalised, in place
        total = probs.sum(1, keepdim=True)  # (N, 1)
        loss = (total.log() + top).squeeze(1).sub_(target_logit).mean()  # logsumexp - target logit
        grad_logits = probs.div_(total)  # softmax, in place
        grad_logits[torch.arange(len(targets)), targets] -= (
            1  # d(loss_i)/d(logits_i), before the 1/N of the mean
        )
        ctx.save_for_backward(cpu_linear.mm_nt(grad_logits, w.t()), grad_logits.t() @ h)  # (N, C), (V, C)
        ctx.n = len(targets)
        return loss

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        grad_h, grad_w = ctx.saved_tensors
        scale = grad_loss / ctx.n
        return grad_h * scale, grad_w * scale, None


def _fused_loss_applies(x: torch.Tensor) -> bool:
    """LinearCrossEntropy where it was measured and a backward pass follows: float32 on CPU, gradients on."""
    return (
        torch.is_grad_enabled()
        and x.requires_grad
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_autocast_enabled("cpu")
    )


class KVCache:
    """Keys and values of the positions seen so far, for incremental decoding.

    One (B, H, max_len, D) buffer pair per layer, allocated on first use with the dtype the attention
    produces (bf16 under autocast). `pos` is the number of positions already cached.
    """

    def __init__(self, n_layer: int, max_len: int) -> None:
        self.max_len = max_len
        self.pos = 0
        self.k: list[torch.Tensor | None] = [None] * n_layer
        self.v: list[torch.Tensor | None] = [None] * n_layer

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store k, v (B, H, T, D) at positions pos..pos+T; return all keys and values (B, H, pos+T, D)."""
        B, H, T, D = k.shape
        if self.k[layer] is None:
            self.k[layer] = k.new_zeros(B, H, self.max_len, D)
            self.v[layer] = v.new_zeros(B, H, self.max_len, D)
        end = self.pos + T
        self.k[layer][:, :, self.pos : end] = k
        self.v[layer][:, :, self.pos : end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]


class Linear(nn.Linear):
    """A bias-free nn.Linear whose float32 CPU matmuls go through finemill.model.cpu_linear (oneDNN or
    torch's BLAS, whichever it was told or measured to use); the same weights and state_dict keys."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cpu_linear.linear(x, self.weight)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = Linear(cfg.n_embd, 3 * cfg.n_embd)  # one matmul for q, k and v
        self.proj = Linear(cfg.n_embd, cfg.n_embd)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None, layer: int
    ) -> torch.Tensor:
        B, T, C = x.shape
        # split, not slicing: its backward is one cat, where each slice's would zero-fill a full-size gradient
        qk, v = (
            self.qkv(x).view(B, T, 3, self.n_head, C // self.n_head).split([2, 1], dim=2)
        )  # (B, T, 2|1, H, D)
        q, k = apply_rope(qk.transpose(1, 2), cos, sin).unbind(1)  # q and k rotated in one go: (B, T, H, D)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.squeeze(2).transpose(1, 2)  # (B, H, T, D) each
        if cache is None or cache.pos == 0:
            if cache is not None:
                cache.append(layer, k, v)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
        else:
            k, v = cache.append(layer, k, v)  # (B, H, P+T, D): past positions and these
            mask = None
            if T > 1:  # query i (at position P+i) sees keys 0..P+i
                mask = torch.ones(T, k.shape[2], dtype=torch.bool, device=x.device).tril(diagonal=cache.pos)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.proj(y)


class SwiGLU(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        hidden = 64 * math.ceil(8 * cfg.n_embd / 3 / 64)
        self.gate_up = Linear(cfg.n_embd, 2 * hidden)  # gate and up in one matmul
        self.down = Linear(hidden, cfg.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)  # (B, T, hidden) each
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.attn_norm = nn.RMSNorm(cfg.n_embd, eps=cfg.norm_eps)
        self.attn = CausalSelfAttention(cfg)
        self.mlp_norm = nn.RMSNorm(cfg.n_embd, eps=cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None, layer: int
    ) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, cache, layer)
        return x + self.mlp(self.mlp_norm(x))


class GPT(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.vocab_size is None:
            raise ValueError(
                "ModelConfig.vocab_size must be set (the trainer takes it from the token manifest)"
            )
        self.config = cfg
        self.padded_vocab = padded_vocab_size(cfg.vocab_size)
        self.wte = nn.Embedding(self.padded_vocab, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm_f = nn.RMSNorm(cfg.n_embd, eps=cfg.norm_eps)
        self.lm_head = Linear(cfg.n_embd, self.padded_vocab)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.wte.weight
        cos, sin = rope_tables(cfg.n_embd // cfg.n_head, cfg.block_size, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)  # (block_size, D), rebuilt, never saved
        self.register_buffer("rope_sin", sin, persistent=False)
        self._init_weights()

    def _init_weights(self) -> None:
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                is_residual_out = name.endswith("attn.proj.weight") or name.endswith("mlp.down.weight")
                nn.init.normal_(p, mean=0.0, std=residual_std if is_residual_out else 0.02)

    def hidden_states(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """idx (B, T) -> the final normalised hidden states (B, T, C), before the output projection `lm_head`
        (evaluation projects only the positions it scores)."""
        T = idx.shape[1]
        start = cache.pos if cache is not None else 0
        if start + T > self.config.block_size:
            raise ValueError(
                f"sequence of {start + T} tokens exceeds the context length {self.config.block_size}"
            )
        cos, sin = self.rope_cos[start : start + T], self.rope_sin[start : start + T]  # (T, D)
        x = self.wte(idx)  # (B, T, C)
        for layer, block in enumerate(self.blocks):
            x = block(x, cos, sin, cache, layer)
        if cache is not None:
            cache.pos += T
        return self.norm_f(x)  # (B, T, C)

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        cache: KVCache | None = None,
        last_only: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) token ids -> (logits (B, T, V_padded) or (B, 1, V_padded) if last_only, loss or None).

        With `targets` (B, T), the loss is the mean next-token cross-entropy, and no logits are returned (None):
        training never needs them, and on CPU the loss is computed without keeping them (LinearCrossEntropy). With a `cache`, idx holds the
        positions after the cached ones, and their keys and values are appended to it.
        """
        B, T = idx.shape
        x = self.hidden_states(idx, cache)  # (B, T, C)
        if targets is None:
            return self.lm_head(x[:, -1:] if last_only else x), None  # (B, T or 1, V)
        if _fused_loss_applies(x):
            return None, LinearCrossEntropy.apply(
                x.view(B * T, -1), self.lm_head.weight, targets.reshape(B * T)
            )
        logits = self.lm_head(x)  # (B, T, V)
        return None, F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameter count (tied weights once); non_embedding leaves out the token embedding table."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.wte.weight.numel()
        return n

    def linear_shapes(self) -> dict[tuple[int, int], int]:
        """(in_features, out_features) of each kind of linear layer -> how many (the output projection once,
        tied or not): what `cpu_linear.choose` times."""
        shapes: dict[tuple[int, int], int] = {}
        layers = {id(m): m for m in self.modules() if isinstance(m, nn.Linear)}
        for m in layers.values():
            shapes[(m.in_features, m.out_features)] = shapes.get((m.in_features, m.out_features), 0) + 1
        return shapes

    def flops_per_token(self) -> float:
        """Training FLOPs (forward + backward) per token, as in PaLM's appendix B and nanoGPT's MFU.

        6 per weight of a matmul (2 forward, 4 backward): every linear layer, the output projection included
        even when tied; the embedding lookup and the norm gains do no matmul and are left out. Plus
        12 x layers x context x width for the attention scores and weighted sum (counted over the full
        context, as is the convention). tests/train/test_mfu.py checks it against torch.utils.flop_counter.
        """
        c = self.config
        weights = {id(m.weight): m.weight.numel() for m in self.modules() if isinstance(m, nn.Linear)}
        return 6 * sum(weights.values()) + 12 * c.n_layer * c.block_size * c.n_embd
