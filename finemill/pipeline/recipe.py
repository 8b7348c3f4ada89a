"""A recipe is data: a YAML file naming the input, the output and the steps in order.

    name: fineweb
    dump: CC-MAIN-2024-33
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

import inspect
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from finemill.config_files import PACKAGED_CONFIGS, resolve_config
from finemill.errors import FinemillError
from finemill.pipeline.registry import EXTRACT_STEPS, STEPS

CONFIGS_DIR = PACKAGED_CONFIGS  # package data (finemill/configs/), also in an installed wheel
DEFAULT_RECIPE = CONFIGS_DIR / "fineweb.yaml"


@dataclass
class InputSpec:
    """Where the crawl files come from. An empty `paths` means: the bundled, generated sample."""

    paths: list[str] = field(default_factory=list)
    limit: int = -1  # documents per task, -1 for all (for quick looks at big files)


@dataclass
class StepSpec:
    """One step of the recipe: a registered name and the keyword arguments for its class."""

    name: str
    params: dict[str, Any]


@dataclass
class RaySpec:
    """Where and with what each task runs on Ray (datatrove's RayPipelineExecutor arguments)."""

    address: str | None = None  # None: a new Ray on this machine (loopback only); "auto", "host:port", "ray://..."
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

    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]


_TOP_KEYS = {f.name for f in fields(Recipe)}


def load_recipe(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read a recipe file (default: configs/fineweb.yaml), apply overrides, validate it."""
    path = resolve_config(path) if path else DEFAULT_RECIPE  # a bare name: a bundled recipe
    if not path.is_file():
        raise FinemillError(f"recipe not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise FinemillError(f"{path}: invalid YAML: {e}".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise FinemillError(f"{path}: a recipe is a mapping of keys (name, input, output, steps, ...)")
    return parse_recipe(raw, overrides or {}, source=str(path))


def parse_recipe(raw: dict[str, Any], overrides: dict[str, Any], source: str = "recipe") -> Recipe:
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise FinemillError(f"{source}: unknown key {sorted(unknown)[0]!r}; valid keys: {sorted(_TOP_KEYS)}")
    raw_input = raw.get("input") or {}
    if not isinstance(raw_input, dict):
        raise FinemillError(f"{source}: 'input' must be a mapping with 'paths' and 'limit'")
    unknown = set(raw_input) - {"paths", "limit"}
    if unknown:
        raise FinemillError(f"{source}: unknown key 'input.{sorted(unknown)[0]}'; valid keys: ['limit', 'paths']")
    paths = raw_input.get("paths") or []
    if isinstance(paths, str):
        paths = [paths]
    recipe = Recipe(
        name=_typed(raw.get("name", "recipe"), str, "name", source),
        dump=_typed(raw.get("dump", "CC-MAIN-unknown"), str, "dump", source),
        input=InputSpec(
            paths=_typed(overrides.get("input") or paths, list, "input.paths", source),
            limit=_typed(overrides.get("limit", raw_input.get("limit", -1)), int, "input.limit", source),
        ),
        output=_typed(overrides.get("output") or raw.get("output", "out"), str, "output", source),
        workers=_typed(overrides.get("workers") or raw.get("workers", 1), int, "workers", source),
        steps=_parse_steps(raw.get("steps"), source),
        executor=_parse_executor(raw.get("executor"), overrides.get("executor") or {}, source),
    )
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
    checked = validate_params(ExecutorSpec, {k: v for k, v in raw.items() if k not in ("ray", "slurm")},
                              f"{source}: executor")
    sections = {}
    for key, spec in (("ray", RaySpec), ("slurm", SlurmSpec)):
        section = raw.get(key) or {}
        if not isinstance(section, dict):
            raise FinemillError(f"{source}: 'executor.{key}' must be a mapping of settings")
        section = {**section, **{k: v for k, v in (overrides.get(key) or {}).items() if v is not None}}
        sections[key] = spec(**validate_params(spec, section, f"{source}: executor.{key}"))
    executor = ExecutorSpec(**checked, **sections)
    if executor.kind == "slurm" and not executor.slurm.partition:
        raise FinemillError(f"{source}: executor.slurm.partition is required to run on Slurm (or --partition)")
    return executor


def _parse_steps(raw_steps: Any, source: str) -> list[StepSpec]:
    if not isinstance(raw_steps, list) or not raw_steps:
        raise FinemillError(f"{source}: 'steps' must be a non-empty list of steps")
    steps: list[StepSpec] = []
    for i, item in enumerate(raw_steps):
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise FinemillError(f"{source}: steps[{i}] must be one step name mapping to its settings")
        name, params = next(iter(item.items()))
        if name not in STEPS:
            raise FinemillError(f"{source}: steps[{i}]: unknown step {name!r}; known steps: {sorted(STEPS)}")
        params = params or {}
        if not isinstance(params, dict):
            raise FinemillError(f"{source}: steps[{i}].{name} must be a mapping of settings")
        steps.append(StepSpec(name, validate_params(STEPS[name].load(), params, f"{source}: steps[{i}].{name}")))
    names = [s.name for s in steps]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        raise FinemillError(f"{source}: step {sorted(duplicated)[0]!r} appears twice")
    # A second extractor would get text, not HTML: one extraction step per recipe.
    extractors = [n for n in names if n in EXTRACT_STEPS]
    if len(extractors) > 1:
        raise FinemillError(f"{source}: steps {extractors[0]!r} and {extractors[1]!r} both extract main text; "
                            "keep one")
    return steps


def validate_params(cls: type, params: dict[str, Any], where: str) -> dict[str, Any]:
    """Check `params` against the keyword arguments of `cls.__init__`; return them with lists made tuples
    where the class expects a tuple. Raises FinemillError naming the first bad key."""
    settable, hints = _settable_params(cls)
    checked = {}
    for key, value in params.items():
        if key not in settable:
            raise FinemillError(f"{where}: unknown key {key!r}; valid keys: {sorted(settable)}")
        checked[key] = _check_type(value, hints.get(key, Any), f"{where}.{key}")
    return checked


def _settable_params(cls: type) -> tuple[set[str], dict[str, Any]]:
    """The keyword arguments `cls(...)` takes and their type hints: those of each `__init__` down the MRO, as
    long as the one before passes `**kwargs` on (a subclass adding a setting to its parent's)."""
    names: set[str] = set()
    hints: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = list(inspect.signature(init).parameters.values())[1:]  # without self
        names.update(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        hints = {**_type_hints(init), **hints}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    names.discard("exclusion_writer")
    return names, hints


def _type_hints(fn: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # third-party annotations that do not resolve: validate names only
        return {}


def _check_type(value: Any, annotation: Any, where: str) -> Any:
    """Accept `value` if it fits `annotation` (basic types, unions, list/tuple of basic types)."""
    if annotation is Any or annotation is inspect.Parameter.empty:
        return value
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        for option in options:
            try:
                return _check_type(value, option, where)
            except FinemillError:
                continue
        raise FinemillError(f"{where}: expected {_describe(annotation)}, got {value!r}")
    if origin is typing.Literal:
        if value in typing.get_args(annotation):
            return value
        raise FinemillError(f"{where}: expected one of {list(typing.get_args(annotation))}, got {value!r}")
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise FinemillError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): str(v) if isinstance(v, (int, float)) else v for k, v in value.items()}
    if origin in (list, tuple) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise FinemillError(f"{where}: expected a list, got {value!r}")
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        items = [_check_type(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)] if args else list(value)
        return tuple(items) if (origin or annotation) is tuple else items
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(annotation, type):
        if isinstance(value, annotation) and not (annotation is int and isinstance(value, bool)):
            return value
        raise FinemillError(f"{where}: expected {_describe(annotation)}, got {value!r}")
    return value  # annotations we cannot check (callables, writers): leave to the class


def _describe(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _typed(value: Any, expected: type, key: str, source: str) -> Any:
    return _check_type(value, expected, f"{source}: {key}")
