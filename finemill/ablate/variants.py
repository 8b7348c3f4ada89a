"""From an ablation file to recipes: each variant's steps, and the prefix of steps they all share.

Each variant is the base recipe's step list with its overrides applied (`remove`, `replace`, `set`), and
the hold-out step (`url_holdout`, finemill.ablate.heldout) inserted right after extraction. Every variant is
then checked as a recipe (`parse_recipe`), so an unknown step or setting fails before anything runs, naming
the variant and the key.

Work is shared: the longest run of leading steps that is the same (name and settings) in every variant runs
once, as its own finemill run (OUT/shared/<key>/), and each variant runs only its remaining steps on that
run's documents. The prefix is shared only when it contains the hold-out step (so extraction is in it: the
variants read text), and it always leaves each variant at least one step of its own.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finemill.ablate.heldout import STEP as HOLDOUT_STEP
from finemill.ablate.spec import AblationSpec, VariantSpec
from finemill.config_check import did_you_mean, read_yaml, unknown_key
from finemill.errors import FinemillError
from finemill.pipeline.recipe import Recipe, StepSpec, parse_recipe
from finemill.pipeline.registry import EXTRACT_STEPS, STEPS


@dataclass
class ResolvedVariant:
    name: str
    recipe: Recipe  # all its steps, the hold-out step included
    own_steps: list[StepSpec]  # the steps it runs itself (after the shared prefix)


@dataclass
class AblationPlan:
    variants: list[ResolvedVariant]
    shared_steps: list[StepSpec]  # [] when nothing is shared
    shared_key: str | None  # names OUT/shared/<key>/

    @property
    def reference(self) -> ResolvedVariant:
        return self.variants[0]


def resolve(
    spec: AblationSpec,
    inputs: list[str] | None = None,
    holdout_fraction: float | None = None,
    dump: str | None = None,
) -> AblationPlan:
    """The variants as checked recipes and the shared prefix. `inputs` (crawl or text files, globs) replace
    the base recipe's input."""
    base = _read_base(spec.base)
    fraction = spec.eval.heldout_fraction if holdout_fraction is None else holdout_fraction
    variants = []
    for variant in spec.variants:
        source = f"{spec.source}: variants.{variant.name}"
        steps = apply_overrides(_step_list(base, str(spec.base)), variant, source)
        steps = insert_holdout(steps, fraction, spec.eval.heldout_after, source)
        raw = {**{k: v for k, v in base.items() if k not in ("steps", "output", "executor")}, "steps": steps}
        overrides: dict[str, Any] = {"input": inputs or None, "dump": dump}
        recipe = parse_recipe(raw, overrides, source=source)
        variants.append(ResolvedVariant(variant.name, recipe, recipe.steps))
    shared = shared_prefix([v.recipe.steps for v in variants])
    key = None
    if shared:
        for v in variants:
            v.own_steps = v.recipe.steps[len(shared) :]
        first = variants[0].recipe
        key = _key(
            {
                "steps": [s.identity() for s in shared],
                "inputs": first.input.paths,
                "limit": first.input.limit,
                "dump": first.dump,
                "dump_from_input": first.dump_from_input,
            }
        )
    return AblationPlan(variants, shared, key)


def _read_base(path: Path) -> dict[str, Any]:
    raw = read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
        raise FinemillError(f"{path}: the base is a recipe (a mapping with a list of steps)")
    return raw


def _step_list(base: dict[str, Any], source: str) -> list[tuple[str, dict]]:
    """The base recipe's steps as (name, recipe item) pairs, items copied (variants must not share them)."""
    return [
        (_item_name(item, f"{source}: steps[{i}]"), _as_item(copy.deepcopy(item)))
        for i, item in enumerate(base["steps"])
    ]


def _as_item(item: Any) -> dict:
    return {item: {}} if isinstance(item, str) else item


def _item_name(item: Any, where: str) -> str:
    """A recipe item's step name: its key, or for a step of the user's own (`- class: ...`) its `name:`, else
    its class name in snake case (as the recipe names it)."""
    from finemill.pipeline.registry import snake_case

    item = _as_item(item)
    if not isinstance(item, dict) or not item:
        raise FinemillError(f"{where}: must be one step name mapping to its settings")
    if "class" in item:
        return str(item.get("name") or snake_case(str(item["class"]).replace(":", ".").rsplit(".", 1)[-1]))
    if len(item) != 1:
        raise FinemillError(f"{where}: must be one step name mapping to its settings")
    return str(next(iter(item)))


def _settings_of(item: dict) -> dict:
    """Where a step's settings live in its item: beside `class:` for a custom step, else under its name."""
    if "class" in item:
        return item
    name = next(iter(item))
    if item[name] is None:
        item[name] = {}
    return item[name]


def apply_overrides(steps: list[tuple[str, dict]], variant: VariantSpec, source: str) -> list[dict]:
    """The step list with the variant's `remove`, then `replace`, then `set` applied, as recipe items."""
    names = [name for name, _ in steps]
    for name in variant.remove:
        if name not in names:
            raise FinemillError(
                f"{source}: remove: {name!r} is not a step of the base recipe (its steps: {', '.join(names)})"
            )
    steps = [s for s in steps if s[0] not in variant.remove]
    names = [name for name, _ in steps]
    for old, new in variant.replace.items():
        if old not in names:
            raise FinemillError(
                f"{source}: replace: {old!r} is not a step of the variant (its steps: {', '.join(names)})"
            )
        item = _as_item(copy.deepcopy(new))
        new_name = _item_name(item, f"{source}: replace.{old}")
        if "class" not in item and new_name not in STEPS:
            raise FinemillError(
                f"{source}: replace.{old}: unknown step {new_name!r}{did_you_mean(new_name, list(STEPS))}; "
                f"known steps: {sorted(STEPS)}"
            )
        steps[names.index(old)] = (new_name, item)
        names = [name for name, _ in steps]
    for dotted, value in variant.set.items():
        step, _, key = str(dotted).partition(".")
        if not key:
            raise FinemillError(
                f"{source}: set: {dotted!r} must be <step>.<setting>, e.g. language.threshold"
            )
        if step not in names:
            if step in STEPS:
                raise FinemillError(
                    f"{source}: set: {dotted!r}: step {step!r} is not in this variant (its steps: "
                    f"{', '.join(names)})"
                )
            raise unknown_key(source, f"set.{dotted}", [f"set.{n}.<setting>" for n in names])
        target = _settings_of(steps[names.index(step)][1])
        if (
            not isinstance(target, dict)
            or key in ("class", "name")
            and "class" in steps[names.index(step)][1]
        ):
            raise FinemillError(f"{source}: set: {dotted!r}: not a setting of step {step!r}")
        target[key] = value  # checked with the step's other settings by parse_recipe
    return [item for _, item in steps]


def insert_holdout(
    steps: list[dict], fraction: float, after: str | None = None, source: str = ""
) -> list[dict]:
    """The hold-out step right after `after`, by default the extraction step (first when there is none: text
    inputs). A later step (e.g. `language`) makes the held-out texts those that passed it."""
    names = [_item_name(item, "steps") for item in steps]
    if HOLDOUT_STEP in names:
        raise FinemillError(f"{HOLDOUT_STEP} is added by finemill ablate itself; take it out of the recipe")
    if after is not None:
        if after not in names:
            raise FinemillError(
                f"{source}: eval.heldout_after: {after!r} is not a step of this variant (its steps: "
                f"{', '.join(names)})"
            )
        at = names.index(after) + 1
    else:
        at = next((i + 1 for i, name in enumerate(names) if name in EXTRACT_STEPS), 0)
    return [*steps[:at], {HOLDOUT_STEP: {"fraction": fraction}}, *steps[at:]]


def shared_prefix(step_lists: list[list[StepSpec]]) -> list[StepSpec]:
    """The leading steps equal in every list, if they include the hold-out step; each list keeps at least one
    step of its own (a variant with nothing left to run would have no run of its own)."""
    limit = min(len(steps) for steps in step_lists) - 1
    n = 0
    while n < limit and all(steps[n] == step_lists[0][n] for steps in step_lists):
        n += 1
    prefix = step_lists[0][:n]
    return prefix if any(s.name == HOLDOUT_STEP for s in prefix) else []


def _key(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]
