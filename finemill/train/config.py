"""Training configuration: two dataclasses, read from YAML, validated, overridable from the CLI.

A config file is flat training keys plus one `model:` mapping, e.g.

    model: {n_layer: 4, n_head: 4, n_embd: 128, block_size: 128}
    micro_batch_size: 16
    lr: 3.0e-3

Unknown keys and wrong types are user errors (FinemillError) that name the key, so a typo never
silently falls back to a default; they are checked by `finemill.config_check`, with the same rules as recipes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from finemill.config_check import check_overrides, check_settings, dotted_hints, field_hints, read_yaml
from finemill.errors import FinemillError
from finemill.model.config import ModelConfig


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: str | None = None  # the tokens folder (with manifest.json); --data overrides
    out: str | None = None  # run folder; default: <tokens folder>/../train-<config name>
    seed: int = 0
    # Batch: each optimizer step sees tokens_per_step tokens (all ranks together), reached by
    # gradient accumulation over micro-batches of micro_batch_size x block_size tokens.
    micro_batch_size: int = 16
    tokens_per_step: int | None = None  # None: one micro-batch per rank, no accumulation
    max_steps: int = 1000
    # Optimizer and schedule: AdamW, linear warmup, then cosine or warmup-stable-decay to min_lr.
    lr: float = 3e-4
    min_lr_ratio: float = 0.1  # final lr = lr * min_lr_ratio
    warmup_steps: int = 100
    schedule: Literal["cosine", "wsd"] = "cosine"
    decay_fraction: float = 0.2  # wsd only: the last fraction of the steps decays linearly
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # max global grad norm; 0 disables clipping
    # Logging, evaluation, samples, checkpoints (every N optimizer steps; 0 disables).
    log_every: int = 10
    eval_every: int = 100
    eval_batches: int = 20  # micro-batches (all ranks together) for one validation loss
    val_bpb: bool = True  # also log validation bits per byte, from the same forward passes as the loss
    eval_tasks: list[str] = field(
        default_factory=list
    )  # benchmarks run every eval_every steps, e.g. [hellaswag]
    eval_task_limit: int = 500  # the first N items of each benchmark: the same items at every evaluation
    sample_every: int = 200
    sample_prompt: str = "The"
    sample_tokens: int = 48
    checkpoint_every: int = 500
    keep_checkpoints: int = 2  # older step checkpoints are deleted once a newer one is written
    # System.
    device: str = "auto"  # auto (cuda if available, else cpu), cpu, cuda, cuda:N, mps
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"  # auto: bf16 autocast on CUDA, fp32 elsewhere
    compile: bool = False  # torch.compile the model (needs a C++ compiler on CPU; worth it on GPU)
    # float32 CPU matmuls: auto times oneDNN and torch's BLAS at start and keeps the faster (which one wins
    # depends on the machine: docs/performance.md); onednn or torch forces one.
    cpu_matmul: Literal["auto", "onednn", "torch"] = "auto"
    num_workers: int = 0  # DataLoader worker processes per rank; 0 reads in the training process
    peak_tflops: float | None = None  # accelerator peak for MFU; None: looked up from the GPU name

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Keys that only change how a run is executed or reported, never what it computes: they may differ
# between a checkpoint and the run that resumes it without a warning.
RUNTIME_KEYS = {
    "data",
    "out",
    "device",
    "compile",
    "cpu_matmul",
    "num_workers",
    "log_every",
    "eval_every",
    "eval_batches",
    "val_bpb",
    "eval_tasks",
    "eval_task_limit",
    "sample_every",
    "sample_prompt",
    "sample_tokens",
    "checkpoint_every",
    "keep_checkpoints",
    "peak_tflops",
}


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config (or start from the defaults when `path` is None) and apply `overrides`.

    `overrides` maps dotted keys ("lr", "model.n_layer") to values; strings are parsed as YAML, so
    `--set lr=1e-3` and `--set compile=true` work.
    """
    raw: dict[str, Any] = {}
    source = "config"
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FinemillError(f"config file not found: {p}")
        raw = read_yaml(p) or {}
        if not isinstance(raw, dict):
            raise FinemillError(f"{p}: expected a mapping of config keys at the top level")
        source = str(p)
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    overrides = {k: _parse_scalar(v) if isinstance(v, str) else v for k, v in (overrides or {}).items()}
    check_overrides(overrides, dotted_hints(TrainConfig))  # a typo in --set is named as --set's
    for key, value in overrides.items():
        section, _, sub = key.partition(".")
        if sub:  # model.<key>: the only section (check_overrides let no other through)
            model = raw.setdefault("model", {})
            if not isinstance(model, dict):
                raise FinemillError(f"{source}: model: expected a mapping, got {model!r}")
            model[sub] = value
        else:
            raw[key] = value
    return config_from_dict(raw, source)


def config_from_dict(raw: dict[str, Any], source: str = "config") -> TrainConfig:
    """Build a validated TrainConfig from plain data (a parsed YAML file or a checkpoint's copy); `source`
    names it in errors."""
    raw = dict(raw)
    model_raw = raw.pop("model", None) or {}
    if not isinstance(model_raw, dict):
        raise FinemillError(f"{source}: model: expected a mapping, got {model_raw!r}")
    model = ModelConfig(**check_settings(model_raw, field_hints(ModelConfig), source, "model"))
    hints = {k: v for k, v in field_hints(TrainConfig).items() if k != "model"}
    cfg = TrainConfig(model=model, **check_settings(raw, hints, source))
    _check_values(cfg)
    return cfg


def parse_set_options(items: list[str] | None) -> dict[str, Any]:
    """`--set key=value` strings -> {key: value string}."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FinemillError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value
    return out


def _parse_scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _check_values(cfg: TrainConfig) -> None:
    m = cfg.model
    positive = {
        "model.n_layer": m.n_layer,
        "model.n_head": m.n_head,
        "model.n_embd": m.n_embd,
        "model.block_size": m.block_size,
        "micro_batch_size": cfg.micro_batch_size,
        "max_steps": cfg.max_steps,
        "lr": cfg.lr,
    }
    for key, value in positive.items():
        if value <= 0:
            raise FinemillError(f"config key {key!r} must be positive, got {value}")
    if m.vocab_size is not None and m.vocab_size <= 0:
        raise FinemillError(f"config key 'model.vocab_size' must be positive, got {m.vocab_size}")
    if m.n_embd % m.n_head or (m.n_embd // m.n_head) % 2:
        raise FinemillError(
            f"model.n_embd ({m.n_embd}) must be a multiple of model.n_head ({m.n_head}) "
            "with an even head size (rotary embeddings rotate pairs of channels)"
        )
    non_negative = {
        "warmup_steps": cfg.warmup_steps,
        "weight_decay": cfg.weight_decay,
        "grad_clip": cfg.grad_clip,
        "log_every": cfg.log_every,
        "eval_every": cfg.eval_every,
        "eval_batches": cfg.eval_batches,
        "sample_every": cfg.sample_every,
        "sample_tokens": cfg.sample_tokens,
        "checkpoint_every": cfg.checkpoint_every,
        "num_workers": cfg.num_workers,
    }
    for key, value in non_negative.items():
        if value < 0:
            raise FinemillError(f"config key {key!r} must be >= 0, got {value}")
    if not 0 <= cfg.min_lr_ratio <= 1:
        raise FinemillError(f"config key 'min_lr_ratio' must be in [0, 1], got {cfg.min_lr_ratio}")
    if not 0 < cfg.decay_fraction <= 1:
        raise FinemillError(f"config key 'decay_fraction' must be in (0, 1], got {cfg.decay_fraction}")
    if cfg.eval_task_limit < 1:
        raise FinemillError(f"config key 'eval_task_limit' must be >= 1, got {cfg.eval_task_limit}")
    if cfg.eval_tasks:
        from finemill.eval.tasks import resolve_tasks

        try:
            resolve_tasks(",".join(cfg.eval_tasks))
        except FinemillError as e:
            raise FinemillError(f"config key 'eval_tasks': {e}") from None
    if cfg.keep_checkpoints < 1:
        raise FinemillError(f"config key 'keep_checkpoints' must be >= 1, got {cfg.keep_checkpoints}")
    if cfg.tokens_per_step is not None and cfg.tokens_per_step <= 0:
        raise FinemillError(f"config key 'tokens_per_step' must be positive, got {cfg.tokens_per_step}")
