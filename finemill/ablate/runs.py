"""The training runs of an ablation: one per variant and seed, each trained, then scored on the held-out
texts at every checkpoint (the bits-per-byte curve) and on the benchmarks at the end.

Every variant and seed gets the same model config, schedule and token budget: max_steps = ceil(tokens /
tokens_per_step) for all, so a variant with fewer training tokens than the budget repeats its data (its
epochs are reported). Each run resumes: training from its newest checkpoint, the curve from curve.jsonl,
and a run whose result.json exists is done. Runs are independent: one after another by default, or N at a
time (`--parallel N`: processes on CPU, one GPU each when there are GPUs), and each run's training can be
a `torchrun` of N processes (`--nproc-per-run N`), as `finemill train` runs under torchrun.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finemill.common import set_cpu_threads
from finemill.errors import FinemillError

if TYPE_CHECKING:
    from finemill.train.config import TrainConfig

RESULT = "result.json"
CURVE = "curve.jsonl"


@dataclass(frozen=True)
class Unit:
    """One training run, with everything a worker process needs (plain data: it is pickled)."""

    variant: str
    seed: int
    run_dir: str
    tokens_dir: str
    train_config: str
    max_steps: int
    checkpoint_every: int
    train_tokens: int
    heldout: str  # parquet of held-out texts
    tasks: tuple[str, ...]
    limit: int | None
    batch_tokens: int
    device: str = "auto"
    nproc: int = 1  # > 1: train under torchrun with this many processes


KEEP_ALL = 1_000_000  # keep_checkpoints: every checkpoint stays until the curve is scored


def tokens_per_step(cfg: TrainConfig, nproc: int = 1) -> int:
    """Tokens one optimizer step sees, all processes together: the config's `tokens_per_step`, else one
    micro-batch per process (as the training loop does)."""
    return cfg.tokens_per_step or cfg.micro_batch_size * cfg.model.block_size * nproc


def budget_steps(cfg: TrainConfig, tokens: int, nproc: int = 1) -> tuple[int, int]:
    """(optimizer steps, tokens per step) that reach `tokens`: the same for every variant."""
    per_step = tokens_per_step(cfg, nproc)
    return max(1, math.ceil(tokens / per_step)), per_step


def run_settings(max_steps: int, checkpoint_every: int, device: str) -> dict[str, tuple[Any, str]]:
    """The training settings every run of an ablation gets whatever its training config says: key ->
    (value, why). One list for what the runs are given and for what the ablation says it changed."""
    return {
        "max_steps": (max_steps, "the token budget: ablation tokens / tokens per step"),
        "checkpoint_every": (checkpoint_every, "one checkpoint per point of the bits-per-byte curve"),
        "keep_checkpoints": (KEEP_ALL, "every checkpoint is scored once training ends"),
        "eval_every": (0, "scored on the common held-out texts after training instead"),
        "sample_every": (0, "no samples: scored on the held-out texts instead"),
        "device": (device, "--device"),
    }


def overridden(cfg: TrainConfig, settings: dict[str, tuple[Any, str]]) -> list[dict[str, Any]]:
    """The settings that differ from the training config's: [{key, config, ablate, why}]."""
    return [
        {"key": key, "config": getattr(cfg, key), "ablate": value, "why": why}
        for key, (value, why) in settings.items()
        if getattr(cfg, key) != value
    ]


def describe_overrides(changes: list[dict[str, Any]], config: str | Path) -> list[str]:
    """The lines that tell the user which of their training settings the ablation replaces."""
    if not changes:
        return [f"training settings: {config} as written (but seed, data and out, per run)"]
    return [f"training settings the ablation overrides in {config}:"] + [
        f"  {c['key']}: {c['config']} -> {c['ablate']} ({c['why']})" for c in changes
    ]


def train_overrides(unit: Unit) -> dict[str, Any]:
    """What the ablation sets on top of the training config: the same for every variant but seed and data."""
    fixed = run_settings(unit.max_steps, unit.checkpoint_every, unit.device)
    return {
        "seed": unit.seed,
        "data": unit.tokens_dir,
        "out": unit.run_dir,
        **{key: value for key, (value, _) in fixed.items()},
    }


def run_unit(unit: Unit, progress: bool = False) -> dict[str, Any]:
    """Train, score and write result.json for one run; returns it (read back when it exists)."""
    result_path = Path(unit.run_dir) / RESULT
    if result_path.is_file():
        return json.loads(result_path.read_text(encoding="utf-8"))
    _train(unit, progress)
    result = _score(unit)
    from finemill.tokenize.manifest import write_json_atomic

    write_json_atomic(result_path, result)
    _prune_checkpoints(Path(unit.run_dir))
    return result


def _train(unit: Unit, progress: bool) -> None:
    overrides = train_overrides(unit)
    if unit.nproc > 1:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={unit.nproc}",
            "-m",
            "finemill.cli",
            "train",
            "--config",
            unit.train_config,
            "--no-progress",
        ]
        command += [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]
        done = subprocess.run(command, check=False)
        if done.returncode:
            raise FinemillError(
                f"training {unit.variant} seed {unit.seed} under torchrun failed "
                f"(exit {done.returncode}); rerun to resume"
            )
        return
    from finemill.train.config import load_config
    from finemill.train.loop import train

    cfg = load_config(unit.train_config, overrides)
    train(cfg, config_name=f"{unit.variant}-seed{unit.seed}", show_progress=progress)


def _score(unit: Unit) -> dict[str, Any]:
    """Bits per byte on the held-out texts at every checkpoint (cached in curve.jsonl), benchmarks at the last."""
    import torch

    from finemill.common import resolve_device
    from finemill.model.checkpoint import checkpoint_dir, list_checkpoints

    device = resolve_device(unit.device)
    run_dir = Path(unit.run_dir)
    checkpoints = list_checkpoints(checkpoint_dir(run_dir))
    if not checkpoints:
        raise FinemillError(f"{run_dir}: training left no checkpoint")
    with torch.inference_mode():
        curve, loaded = _score_curve(unit, checkpoints, device)
        last_step, suite, state = _benchmarks(unit, checkpoints[-1], loaded, device)
    return _result(unit, last_step, int(state.get("tokens", 0)), [curve[s] for s in sorted(curve)], suite)


def _score_curve(unit: Unit, checkpoints: list[tuple[int, Path]], device) -> tuple[dict[int, dict], tuple]:
    """The held-out bits per byte at each checkpoint not yet in curve.jsonl, appended to it as scored (a
    kill loses one point at most); returns the whole curve by step and the last (model, encoder, state)
    loaded, or Nones."""
    from finemill.ablate.data import read_heldout_file
    from finemill.eval.bpb import bpb_totals
    from finemill.model.loading import load_model

    texts = read_heldout_file(unit.heldout)
    curve_path = Path(unit.run_dir) / CURVE
    curve = {p["step"]: p for p in _read_jsonl(curve_path)}
    model = encoder = state = None
    for step, path in checkpoints:
        if step in curve:
            continue
        loaded = load_model(path, device)
        model, encoder, state = loaded.model, loaded.encoder, loaded.state
        totals = bpb_totals(model, texts, encoder, device=device, batch_tokens=unit.batch_tokens)
        point = {"step": step, "tokens": int(state.get("tokens", 0)), "bpb": totals.bits_per_byte}
        curve[step] = point
        with open(curve_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(point) + "\n")
    return curve, (model, encoder, state)


def _benchmarks(unit: Unit, last: tuple[int, Path], loaded: tuple, device) -> tuple[int, dict, dict]:
    """(last step, benchmark suite, checkpoint state) of the last checkpoint, reusing `loaded` when it is
    that checkpoint's model."""
    from finemill.eval.evaluate import evaluate_tasks
    from finemill.eval.tasks import resolve_tasks
    from finemill.model.loading import load_model

    model, encoder, state = loaded
    last_step, last_path = last
    if state is None or state.get("step") != last_step:
        fresh = load_model(last_path, device)
        model, encoder, state = fresh.model, fresh.encoder, fresh.state
    suite = (
        evaluate_tasks(
            model, encoder, resolve_tasks(",".join(unit.tasks)), unit.limit, device, unit.batch_tokens
        )
        if unit.tasks
        else {"tasks": {}, "items": {}, "aggregate": None}
    )
    return last_step, suite, state


def _result(unit: Unit, last_step: int, tokens_seen: int, points: list[dict], suite: dict) -> dict[str, Any]:
    """result.json's content for one run."""
    return {
        "variant": unit.variant,
        "seed": unit.seed,
        "steps": last_step,
        "tokens_seen": tokens_seen,
        "train_tokens": unit.train_tokens,
        "epochs": tokens_seen / unit.train_tokens if unit.train_tokens else None,
        "bpb": points[-1]["bpb"],
        "curve": points,
        "tasks": {
            name: {k: s.get(k) for k in ("n", "score", "centered", "chance", "metric", "gold_bpb")}
            for name, s in suite["tasks"].items()
        },
        # per item: 1 when the headline metric picked the right answer (for a paired comparison of variants)
        "items": {
            name: [r["acc_norm" if suite["tasks"][name]["metric"] == "acc_norm" else "acc"] for r in records]
            for name, records in suite["items"].items()
        },
        "aggregate": suite["aggregate"],
        # the gold continuations' bits per byte, mean over tasks: a likelihood proxy that ranks data at small
        # scale where accuracy sits at chance (DataDecide)
        "gold_bpb": _mean([s.get("gold_bpb") for s in suite["tasks"].values()]),
        "unit": asdict(unit),
    }


def _mean(values: list[float | None]) -> float | None:
    numbers = [v for v in values if v is not None]
    return sum(numbers) / len(numbers) if numbers else None


def _prune_checkpoints(run_dir: Path) -> None:
    """Keep the last checkpoint only once the curve is scored (the others were only for the curve)."""
    from finemill.model.checkpoint import checkpoint_dir, list_checkpoints

    for _, path in list_checkpoints(checkpoint_dir(run_dir))[:-1]:
        path.unlink(missing_ok=True)


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            points.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill: scored again
            continue
    return points


def run_units(
    units: list[Unit], parallel: int = 1, log: Callable[[str], None] = print, progress: bool = False
) -> list[dict[str, Any]]:
    """Every unit's result, in order: here one after another, or `parallel` at a time in worker processes
    (each with its share of the CPU threads, or its own GPU when the units run on CUDA)."""
    todo = [u for u in units if not (Path(u.run_dir) / RESULT).is_file()]
    if todo:
        log(
            f"training: {len(todo)} of {len(units)} runs to do ({units[0].max_steps:,} steps each)"
            + (f", {parallel} at a time" if parallel > 1 else "")
        )
    if parallel <= 1 or len(todo) <= 1:
        results = []
        for i, unit in enumerate(units, 1):
            if unit in todo:
                log(f"  [{i}/{len(units)}] {unit.variant} seed {unit.seed}")
            results.append(run_unit(unit, progress))
        return results
    return _run_parallel(units, parallel, log)


def _run_parallel(units: list[Unit], parallel: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    context = mp.get_context("spawn")
    devices = context.Queue()
    gpus = _gpus(units[0].device)
    workers = min(parallel, len(gpus)) if gpus else parallel
    for i in range(workers):
        devices.put(f"cuda:{gpus[i]}" if gpus else "cpu")
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(devices, threads)
    ) as pool:
        futures = [pool.submit(_run_in_worker, unit) for unit in units]
        results = []
        for unit, future in zip(units, futures, strict=True):
            results.append(future.result())
            log(f"  done: {unit.variant} seed {unit.seed}")
    return results


_WORKER: dict[str, str] = {}


def _init_worker(devices, threads: int) -> None:
    set_cpu_threads(threads)
    _WORKER["device"] = devices.get()


def _run_in_worker(unit: Unit) -> dict[str, Any]:
    from dataclasses import replace

    # the worker's own GPU (or the CPU) unless the user named a device for all runs
    device = _WORKER["device"] if unit.device in ("auto", "cuda") else unit.device
    return run_unit(replace(unit, device=device))


def _gpus(device: str) -> list[int]:
    """The CUDA devices the units may spread over (none unless the units run on CUDA)."""
    if device not in ("auto", "cuda"):
        return []
    try:
        import torch
    except ImportError:
        return []
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
