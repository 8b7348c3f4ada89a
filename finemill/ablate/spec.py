"""The ablation file as data: a base recipe, variants as overrides of it, training, token budget, seeds, eval.

    base: configs/fineweb.yaml
    variants:                        # the first variant is the reference the others are compared to
      fineweb: {}
      no_fineweb_rules: {remove: [fineweb_quality]}
      lang_0.8: {set: {language.threshold: 0.8}}
      resiliparse: {replace: {extract: extract_resiliparse}}
    train: configs/train-tiny.yaml
    tokens: 2_000_000                # per variant and seed: equal budgets, not equal steps
    seeds: [0, 1, 2]
    eval: {tasks: [hellaswag, arc_easy], limit: 500}

Paths (base, train, eval.bpb_texts) are relative to the ablation file, or bundled config names. Checked
here, before anything runs, with `finemill.config_check`'s rules: a misspelt key fails naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finemill.config_check import check_settings, check_value, read_yaml, unknown_key
from finemill.config_files import resolve_config
from finemill.errors import FinemillError


@dataclass
class VariantSpec:
    """One variant: the base recipe with steps removed, step settings changed, or steps replaced."""

    name: str
    remove: list[str] = field(default_factory=list)  # step names
    set: dict[str, Any] = field(default_factory=dict)  # "<step>.<setting>" -> value
    replace: dict[str, Any] = field(default_factory=dict)  # step -> new step name, or {name: settings}


@dataclass
class EvalSpec:
    tasks: list[str] = field(default_factory=list)  # benchmark names (finemill.eval.tasks); [] = bpb only
    limit: int | None = 500  # items per task
    bpb_texts: str | None = None  # more held-out texts (parquet / jsonl), besides the URL-hash held-out set
    heldout_fraction: float = 0.02  # documents held out of every variant by a hash of their URL
    heldout_after: str | None = None  # the step the hold-out comes after; None: the extraction step
    curve_points: int = 6  # checkpoints per run scored on the held-out texts (the bpb-vs-tokens curve)
    batch_tokens: int = 16384


@dataclass
class AblationSpec:
    source: str  # the file, for messages
    base: Path
    variants: list[VariantSpec]
    train: Path
    tokens: int
    seeds: list[int]
    eval: EvalSpec
    input: list[str] = field(default_factory=list)  # crawl files/globs; [] = the base recipe's input
    vocab_size: int = 4096
    tokenizer_sample_bytes: int = 50_000_000


_TOP = {
    "base",
    "variants",
    "train",
    "tokens",
    "seeds",
    "eval",
    "input",
    "vocab_size",
    "tokenizer_sample_bytes",
}
_VARIANT_HINTS = {"remove": list[str], "set": dict[str, Any], "replace": dict[str, Any]}
_EVAL_HINTS = {
    "tasks": list[str] | str,
    "limit": int | None,
    "bpb_texts": str | None,
    "heldout_fraction": float,
    "heldout_after": str | None,
    "curve_points": int,
    "batch_tokens": int,
}


def load_spec(path: str | Path) -> AblationSpec:
    """Read and check an ablation file (a path, or the name of a bundled one)."""
    path = resolve_config(path)
    if not path.is_file():
        raise FinemillError(f"ablation file not found: {path}")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise FinemillError(
            f"{path}: an ablation file is a mapping (base, variants, train, tokens, seeds, eval)"
        )
    return parse_spec(raw, path.parent, str(path))


def parse_spec(raw: dict[str, Any], folder: Path, source: str) -> AblationSpec:
    unknown = set(raw) - _TOP
    if unknown:
        raise unknown_key(source, sorted(unknown)[0], sorted(_TOP))
    for key in ("base", "variants", "train", "tokens"):
        if raw.get(key) is None:
            raise FinemillError(f"{source}: '{key}' is required")
    seeds = check_value(raw.get("seeds", [0]), list[int], f"{source}: seeds")
    if not seeds or len(set(seeds)) != len(seeds):
        raise FinemillError(f"{source}: seeds must be a non-empty list of distinct integers, got {seeds}")
    tokens = check_value(raw["tokens"], int, f"{source}: tokens")
    if tokens <= 0:
        raise FinemillError(f"{source}: tokens must be positive, got {tokens}")
    inputs = raw.get("input") or []
    spec = AblationSpec(
        source=source,
        base=_config_path(raw["base"], folder, source, "base"),
        variants=_variants(raw["variants"], source),
        train=_config_path(raw["train"], folder, source, "train"),
        tokens=tokens,
        seeds=seeds,
        eval=_eval(raw.get("eval") or {}, folder, source),
        input=check_value([inputs] if isinstance(inputs, str) else inputs, list[str], f"{source}: input"),
        vocab_size=check_value(raw.get("vocab_size", 4096), int, f"{source}: vocab_size"),
        tokenizer_sample_bytes=check_value(
            raw.get("tokenizer_sample_bytes", 50_000_000), int, f"{source}: tokenizer_sample_bytes"
        ),
    )
    if spec.vocab_size < 257:
        raise FinemillError(f"{source}: vocab_size must be > 256 (the byte tokens), got {spec.vocab_size}")
    return spec


def _config_path(value: Any, folder: Path, source: str, key: str) -> Path:
    value = check_value(value, str, f"{source}: {key}")
    local = (folder / value).expanduser()
    path = local if local.is_file() else resolve_config(value)  # else a bundled name (configs/fineweb.yaml)
    if not path.is_file():
        raise FinemillError(f"{source}: {key}: no such file {value!r} (relative to {folder})")
    return path


def _variants(raw: Any, source: str) -> list[VariantSpec]:
    if not isinstance(raw, dict) or not raw:
        raise FinemillError(f"{source}: 'variants' must map variant names to overrides, e.g. {{base: {{}}}}")
    variants = []
    for name, overrides in raw.items():
        name = str(name)
        if not name or name.startswith(".") or any(c in name for c in "/\\\0") or name.strip() != name:
            raise FinemillError(f"{source}: variant name {name!r} cannot name a folder")
        overrides = overrides or {}
        if not isinstance(overrides, dict):
            raise FinemillError(f"{source}: variants.{name} must be a mapping (remove, set, replace)")
        checked = check_settings(overrides, _VARIANT_HINTS, source, f"variants.{name}")
        variants.append(VariantSpec(name, **checked))
    return variants


def _eval(raw: Any, folder: Path, source: str) -> EvalSpec:
    if not isinstance(raw, dict):
        raise FinemillError(f"{source}: 'eval' must be a mapping (tasks, limit, bpb_texts, heldout_fraction)")
    checked = check_settings(raw, _EVAL_HINTS, source, "eval")
    tasks = checked.pop("tasks", [])
    if isinstance(tasks, str):
        tasks = [] if tasks.strip() == "none" else [t.strip() for t in tasks.split(",") if t.strip()]
    spec = EvalSpec(tasks=tasks, **checked)
    if spec.tasks:
        from finemill.eval.tasks import resolve_tasks

        resolve_tasks(",".join(spec.tasks))  # an unknown task name fails now, naming it
    if spec.bpb_texts:
        spec.bpb_texts = str((folder / spec.bpb_texts).expanduser())
    if not 0 < spec.heldout_fraction < 0.5:
        raise FinemillError(
            f"{source}: eval.heldout_fraction must be in (0, 0.5), got {spec.heldout_fraction}"
        )
    if spec.limit is not None and spec.limit <= 0:
        raise FinemillError(f"{source}: eval.limit must be positive (or null: all items), got {spec.limit}")
    if spec.curve_points < 1 or spec.batch_tokens < 1:
        raise FinemillError(f"{source}: eval.curve_points and eval.batch_tokens must be positive")
    return spec
