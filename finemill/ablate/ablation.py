"""`finemill ablate` as a function: data, tokenizer, training runs, report; every part resumable."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from finemill import run_folder
from finemill.ablate import runs
from finemill.ablate.spec import AblationSpec
from finemill.errors import FinemillError


def run_ablation(
    spec: AblationSpec,
    out: str | Path,
    *,
    inputs: list[str] | None = None,
    tokenizer: str | Path | None = None,
    bpb_texts: str | None = None,
    parallel: int = 1,
    device: str = "auto",
    nproc: int = 1,
    html: str | Path | None = None,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the ablation into `out` and return the report (also written as OUT/ablation.json, .png, .html)."""
    from finemill.ablate import data, report
    from finemill.ablate.variants import resolve
    from finemill.train.config import load_config

    if parallel < 1 or nproc < 1:
        raise FinemillError("--parallel and --nproc-per-run must be at least 1")
    plan = resolve(spec, inputs or spec.input or None)
    train_cfg = load_config(spec.train)  # the one read of it here; each run applies run_settings on top
    steps, per_step = runs.budget_steps(train_cfg, spec.tokens, nproc)
    every = max(1, math.ceil(steps / spec.eval.curve_points))
    overrides = runs.overridden(train_cfg, runs.run_settings(steps, every, device))
    for line in runs.describe_overrides(overrides, spec.train):
        log(line)
    out = run_folder.make_output_folder(Path(out))
    _check_resumable(out, _settings(spec, plan, tokenizer, bpb_texts, nproc))

    variants, shared = data.run_variants(plan, out, progress, log)
    heldout = data.heldout_texts(spec, plan, out, shared, bpb_texts)
    log(f"held-out texts: {heldout.source}; {heldout.bytes:,} bytes")
    usable = [v for v in variants if not v.error]
    if usable:
        tok = data.prepare_tokenizer(spec, variants, out, Path(tokenizer) if tokenizer else None, log)
        data.tokenize_variants(usable, tok, log)
    _reject_short(usable, train_cfg.model.block_size)
    units = _units(spec, variants, out, steps, every, device, nproc)
    results = runs.run_units(units, parallel, log, progress) if units else []
    budget = {"steps": steps, "tokens_per_step": per_step, "checkpoint_every": every, "overrides": overrides}
    meta = _meta(spec, plan, out, shared, heldout, tokenizer, budget)
    result = report.build_report(_described(variants, plan, out), results, meta)
    result["written"] = [str(p) for p in report.write_outputs(result, out, Path(html) if html else None)]
    return result


def _meta(
    spec: AblationSpec,
    plan,
    out: Path,
    shared: Path | None,
    heldout,
    tokenizer: str | Path | None,
    budget: dict[str, Any],
) -> dict[str, Any]:
    """ablation.json's `settings`: what was compared, on what budget (and which training settings the
    ablation overrode), measured how."""
    return {
        "ablation_file": spec.source,
        "base": str(spec.base),
        "train": str(spec.train),
        "tokens": spec.tokens,
        "seeds": spec.seeds,
        **budget,
        "shared_steps": [s.name for s in plan.shared_steps],
        "shared_run": str(shared.relative_to(out)) if shared else None,
        "heldout": {
            "source": heldout.source,
            "texts": heldout.texts,
            "bytes": heldout.bytes,
            "fraction": spec.eval.heldout_fraction,
        },
        "tokenizer": str(tokenizer)
        if tokenizer
        else str(run_folder.ablation_tokenizer(out).relative_to(out)),
        "eval": {"tasks": spec.eval.tasks, "limit": spec.eval.limit},
    }


def _reject_short(usable: list, block: int) -> None:
    """A variant with no more training tokens than one context cannot be trained: an error, not a run."""
    for v in usable:
        if v.train_tokens <= block:
            v.error = f"{v.train_tokens:,} training tokens, fewer than one context of {block + 1}"


def _units(
    spec: AblationSpec, variants: list, out: Path, steps: int, every: int, device: str, nproc: int
) -> list[runs.Unit]:
    """One training run per usable variant and seed, in the ablation's order."""
    return [
        runs.Unit(
            variant=v.name,
            seed=seed,
            run_dir=str(run_folder.beneath(out, run_folder.ablation_run(out, v.name, seed))),
            tokens_dir=str(v.tokens_dir),
            train_config=str(spec.train),
            max_steps=steps,
            checkpoint_every=every,
            train_tokens=v.train_tokens,
            heldout=str(run_folder.ablation_heldout(out)),
            tasks=tuple(spec.eval.tasks),
            limit=spec.eval.limit,
            batch_tokens=spec.eval.batch_tokens,
            device=device,
            nproc=nproc,
        )
        for v in variants
        if not v.error
        for seed in spec.seeds
    ]


def _described(variants: list, plan, out: Path) -> list[dict[str, Any]]:
    """Each variant's row of ablation.json before its runs' numbers: steps, documents, tokens, error."""
    return [
        {
            "name": v.name,
            "steps": [s.name for s in p.own_steps],
            "documents": v.documents,
            "chars": v.chars,
            "train_tokens": v.train_tokens,
            "error": v.error,
            "folder": str(v.folder.relative_to(out)),
        }
        for v, p in zip(variants, plan.variants, strict=True)
    ]


def _settings(spec: AblationSpec, plan, tokenizer, bpb_texts, nproc: int) -> dict[str, Any]:
    """What the ablation's folder depends on: a rerun with other settings must not mix into it."""
    return {
        "variants": {v.name: [asdict(s) for s in v.recipe.steps] for v in plan.variants},
        "inputs": plan.reference.recipe.input.paths,
        "limit": plan.reference.recipe.input.limit,
        "dump": plan.reference.recipe.dump,
        "train": hashlib.sha256(spec.train.read_bytes()).hexdigest()[:16],
        "tokens": spec.tokens,
        "seeds": spec.seeds,
        "vocab_size": spec.vocab_size,
        "tokenizer": str(tokenizer) if tokenizer else None,
        "tokenizer_sample_bytes": spec.tokenizer_sample_bytes,
        "eval": asdict(spec.eval),
        "bpb_texts": bpb_texts,
        "nproc": nproc,
    }


def _check_resumable(out: Path, settings: dict[str, Any]) -> None:
    path = run_folder.ablation_settings(out)
    settings = json.loads(json.dumps(settings, default=str))
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        differ = [key for key in sorted(set(before) | set(settings)) if before.get(key) != settings.get(key)]
        if differ:  # e.g. `variants`: the base recipe's steps or settings changed since
            raise FinemillError(
                f"{out} holds an ablation with other settings ({', '.join(differ)} differ); use another --out"
            )
    path.write_text(json.dumps(settings, indent=1), encoding="utf-8")
