"""A recipe is data: a YAML file naming the input, the output and the steps in order.

    name: fineweb
    dump: CC-MAIN-2024-33             # for documents whose input names no snapshot (warcinfo, path)
    dump_from_input: true             # false: every document gets `dump` (what --dump does)
    input: {paths: ["crawl/*.warc.gz"], limit: -1}
    output: out/fineweb
    workers: 2
    executor: {kind: slurm, slurm: {partition: cpu, time: "04:00:00"}}   # optional; default: local
    steps:
      - url_filter: {}
      - extract: {favour_precision: true, timeout: 1.0}
      ...

Each step is one key naming a class in `finemill.pipeline.registry.STEPS`, with that class's keyword
arguments as its value. Validation happens here, before anything runs: unknown keys, unknown steps and
values of the wrong type fail with a message naming the key, so a typo never runs a silent default.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from finemill.config_check import (
    check_settings,
    check_value,
    did_you_mean,
    field_hints,
    given,
    keyword_hints,
    read_yaml,
    unknown_key,
)
from finemill.config_files import PACKAGED_CONFIGS, resolve_config
from finemill.errors import FinemillError
from finemill.pipeline.registry import EXTRACT_STEPS, STEPS, custom_step, snake_case

CONFIGS_DIR = PACKAGED_CONFIGS  # package data (finemill/configs/), also in an installed wheel
DEFAULT_RECIPE = CONFIGS_DIR / "fineweb.yaml"
# The bundled recipes' `dump:`, right for the bundled sample only: real documents labelled with it get a warning.
SAMPLE_DUMP = "CC-MAIN-finemill-sample"


@dataclass
class InputSpec:
    """Where the crawl files come from. An empty `paths` means: the bundled, generated sample."""

    paths: list[str] = field(default_factory=list)
    limit: int = -1  # documents per task, -1 for all (for quick looks at big files)


@dataclass
class StepSpec:
    """One step of the recipe: a registered name and the keyword arguments for its class; for a step of the
    user's own (`- class: pkg.module.Class`), its import path too."""

    name: str
    params: dict[str, Any]
    cls: str | None = None

    def identity(self) -> dict[str, Any]:
        """What a run's fingerprint holds of the step (`cls` only for custom steps: earlier runs resume)."""
        return {"name": self.name, "params": self.params, **({"cls": self.cls} if self.cls else {})}


@dataclass
class RaySpec:
    """Where and with what each task runs on Ray (datatrove's RayPipelineExecutor arguments)."""

    address: str | None = (
        None  # None: a new Ray on this machine (loopback only); "auto", "host:port", "ray://..."
    )
    cpus_per_task: int = 1
    mem_per_cpu_gb: float = 2


@dataclass
class SlurmSpec:
    """sbatch settings of each stage's job array (datatrove's SlurmPipelineExecutor arguments)."""

    partition: str | None = None  # required for kind: slurm
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    qos: str | None = None  # None: the cluster's default
    job_name: str = "finemill"  # each stage's job is named <job_name>-<stage>
    env_command: str | None = None  # shell line run before each task, e.g. "source ~/venv/bin/activate"
    sbatch_args: dict[str, str] | None = None  # more #SBATCH lines, e.g. {account: proj, constraint: cpu}
    max_array_size: int = 1001  # the cluster's MaxArraySize (`scontrol show config`)
    tasks_per_job: int = 1  # datatrove tasks per array element (fewer, longer Slurm jobs)


@dataclass
class ExecutorSpec:
    """What runs the tasks: this machine's processes, a Ray cluster, or Slurm job arrays."""

    kind: typing.Literal["local", "ray", "slurm"] = "local"
    ray: RaySpec = field(default_factory=RaySpec)
    slurm: SlurmSpec = field(default_factory=SlurmSpec)


@dataclass
class Recipe:
    name: str
    dump: str
    input: InputSpec
    output: str
    workers: int
    steps: list[StepSpec]
    executor: ExecutorSpec = field(default_factory=ExecutorSpec)
    # True: a document whose input names its Common Crawl snapshot gets that snapshot, the others `dump`;
    # False (`--dump`): every document gets `dump`.
    dump_from_input: bool = True

    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]


_TOP_KEYS = {f.name for f in fields(Recipe)}


def load_recipe(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read a recipe file (default: configs/fineweb.yaml), apply overrides, validate it."""
    path = resolve_config(path) if path else DEFAULT_RECIPE  # a bare name: a bundled recipe
    if not path.is_file():
        raise FinemillError(f"recipe not found: {path}")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise FinemillError(f"{path}: a recipe is a mapping of keys (name, input, output, steps, ...)")
    return parse_recipe(raw, overrides or {}, source=str(path))


def parse_recipe(raw: dict[str, Any], overrides: dict[str, Any], source: str = "recipe") -> Recipe:
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise unknown_key(source, sorted(unknown)[0], sorted(_TOP_KEYS))
    raw_input = raw.get("input") or {}
    if not isinstance(raw_input, dict):
        raise FinemillError(f"{source}: 'input' must be a mapping with 'paths' and 'limit'")
    unknown = set(raw_input) - {"paths", "limit"}
    if unknown:
        raise unknown_key(source, f"input.{sorted(unknown)[0]}", ["input.limit", "input.paths"])
    paths = raw_input.get("paths") or []
    if isinstance(paths, str):
        paths = [paths]
    recipe = Recipe(
        name=check_value(raw.get("name", "recipe"), str, f"{source}: name"),
        dump=check_value(
            given(overrides.get("dump"), raw.get("dump", "CC-MAIN-unknown")), str, f"{source}: dump"
        ),
        dump_from_input=check_value(
            False if overrides.get("dump") is not None else raw.get("dump_from_input", True),
            bool,
            f"{source}: dump_from_input",
        ),
        input=InputSpec(
            paths=check_value(given(overrides.get("input"), paths), list[str], f"{source}: input.paths"),
            limit=check_value(
                given(overrides.get("limit"), raw_input.get("limit", -1)), int, f"{source}: input.limit"
            ),
        ),
        output=check_value(
            given(overrides.get("output"), raw.get("output", "out")), str, f"{source}: output"
        ),
        workers=check_value(
            given(overrides.get("workers"), raw.get("workers", 1)), int, f"{source}: workers"
        ),
        steps=_parse_steps(raw.get("steps"), source),
        executor=_parse_executor(raw.get("executor"), overrides.get("executor") or {}, source),
    )
    if not recipe.output.strip():
        raise FinemillError(f"{source}: 'output' must name a folder, got {recipe.output!r}")
    if recipe.workers < 1:
        raise FinemillError(f"{source}: 'workers' must be >= 1, got {recipe.workers}")
    return recipe


def _parse_executor(raw: Any, overrides: dict[str, Any], source: str) -> ExecutorSpec:
    """The `executor:` section with command-line overrides ({"kind": ..., "ray": {...}, "slurm": {...}}; None
    values are not given) on top. Checked like the steps: against the dataclasses' fields and types."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise FinemillError(f"{source}: 'executor' must be a mapping (kind, ray, slurm)")
    raw = {**raw, **{k: v for k, v in overrides.items() if not isinstance(v, dict) and v is not None}}
    checked = validate_params(
        ExecutorSpec, {k: v for k, v in raw.items() if k not in ("ray", "slurm")}, source, "executor"
    )
    sections = {}
    for key, spec in (("ray", RaySpec), ("slurm", SlurmSpec)):
        section = raw.get(key) or {}
        if not isinstance(section, dict):
            raise FinemillError(f"{source}: 'executor.{key}' must be a mapping of settings")
        section = {**section, **{k: v for k, v in (overrides.get(key) or {}).items() if v is not None}}
        sections[key] = spec(**validate_params(spec, section, source, f"executor.{key}"))
    executor = ExecutorSpec(**checked, **sections)
    if executor.kind == "slurm" and not executor.slurm.partition:
        raise FinemillError(
            f"{source}: executor.slurm.partition is required to run on Slurm (or --partition)"
        )
    return executor


def _parse_steps(raw_steps: Any, source: str) -> list[StepSpec]:
    if not isinstance(raw_steps, list) or not raw_steps:
        raise FinemillError(f"{source}: 'steps' must be a non-empty list of steps")
    steps: list[StepSpec] = []
    for i, item in enumerate(raw_steps):
        if isinstance(item, dict) and "class" in item:
            steps.append(_custom_step(item, source, f"steps[{i}]"))
            continue
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise FinemillError(f"{source}: steps[{i}] must be one step name mapping to its settings")
        name, params = next(iter(item.items()))
        if name not in STEPS:
            raise FinemillError(
                f"{source}: steps[{i}]: unknown step {name!r}{did_you_mean(str(name), list(STEPS))}; "
                f"known steps: {sorted(STEPS)}"
            )
        params = params or {}
        if not isinstance(params, dict):
            raise FinemillError(f"{source}: steps[{i}].{name} must be a mapping of settings")
        steps.append(
            StepSpec(name, validate_params(STEPS[name].load(), params, source, f"steps[{i}].{name}"))
        )
    names = [s.name for s in steps]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        raise FinemillError(f"{source}: step {sorted(duplicated)[0]!r} appears twice")
    # A second extractor would get text, not HTML: one extraction step per recipe.
    extractors = [n for n in names if n in EXTRACT_STEPS]
    if len(extractors) > 1:
        raise FinemillError(
            f"{source}: steps {extractors[0]!r} and {extractors[1]!r} both extract main text; keep one"
        )
    return steps


NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")  # a step name is a folder name under removed/


def _custom_step(item: dict[str, Any], source: str, where: str) -> StepSpec:
    """`- class: pkg.module.Class` with `name:` (default: the class name in snake case) and the class's keyword
    arguments beside it, checked against its signature like a built-in step's settings."""
    target = check_value(item["class"], str, f"{source}: {where}.class")
    try:
        cls = custom_step(target, "").load()
    except FinemillError as e:
        raise FinemillError(f"{source}: {where}: {e}") from None
    name = check_value(item.get("name", snake_case(cls.__name__)), str, f"{source}: {where}.name")
    if not NAME.fullmatch(name):
        raise FinemillError(
            f"{source}: {where}.name: {name!r} must be lower case letters, digits, _ or - "
            "(it names the folder removed/<name>/)"
        )
    if name in STEPS:
        raise FinemillError(
            f"{source}: {where}: the name {name!r} is a built-in step's; give this step another `name:`"
        )
    params = {k: v for k, v in item.items() if k not in ("class", "name")}
    checked = validate_params(cls, params, source, f"{where}.{name}")
    missing = [p for p in required_arguments(cls) if p not in checked]
    if missing:
        raise FinemillError(
            f"{source}: {where}.{name}: {cls.__name__} needs {missing[0]!r} (its required "
            f"arguments: {', '.join(missing)})"
        )
    return StepSpec(name, checked, cls=target)


def required_arguments(cls: type) -> list[str]:
    """The keyword arguments `cls(...)` cannot do without (no default), but the run's exclusion writer."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [
        p.name
        for p in parameters
        if p.default is p.empty
        and p.name != "exclusion_writer"
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def validate_params(cls: type, params: dict[str, Any], source: str, section: str) -> dict[str, Any]:
    """Check `params` against the keyword arguments `cls(...)` takes (a dataclass: its fields), by the rules of
    `finemill.config_check`; return them converted. Raises FinemillError naming the first bad key."""
    if dataclasses.is_dataclass(cls):
        hints = field_hints(cls)
    else:
        hints = keyword_hints(cls)
        hints.pop(
            "exclusion_writer", None
        )  # where removed documents go is the run's business, not the recipe's
    return check_settings(params, hints, source, section)
