"""The shape of a GPT: what a checkpoint records as `model_config` and a training config's `model:` holds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ModelConfig:
    vocab_size: int | None = None  # None in a training config: the trainer takes it from the token manifest
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 128  # context length in tokens
    tie_embeddings: bool = True  # share the input embedding and output projection (GPT-2 does)
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
