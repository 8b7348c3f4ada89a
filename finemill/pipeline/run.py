"""`finemill run`: resolve inputs, plan the stages, run them (resuming finished work), write stats."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from finemill import __version__
from finemill.errors import FinemillError
from finemill.pipeline.recipe import Recipe

SAMPLE_FILES = 2
CRAWL_FILE = re.compile(r"\.(warc|wet|arc)(\.gz)?$")  # what a folder contributes (not .wat, .jsonl, ...)
OUTPUT_PARTS = ("documents", "removed", "work", "logs", "stats.json", "input")


def resolve_inputs(paths: list[str], out: Path) -> list[str]:
    """Absolute paths of the crawl files named by `paths` (files, folders, globs); the bundled sample when
    `paths` is empty. A folder contributes its WARC/WET/ARC files. Fails when a path matches nothing: a
    run over nothing is a mistake."""
    if not paths:
        return [str(p) for p in bundled_sample(out)]
    files: list[str] = []
    for pattern in paths:
        path = Path(pattern).expanduser()
        if path.is_dir():
            matches = sorted(str(p) for p in path.rglob("*") if p.is_file() and CRAWL_FILE.search(p.name))
        else:
            matches = sorted(glob.glob(str(path), recursive=True))
        if not matches:
            raise FinemillError(f"input not found: {pattern}")
        files.extend(str(Path(m).resolve()) for m in matches if Path(m).is_file())
    return sorted(set(files))


def bundled_sample(out: Path) -> list[Path]:
    """The generated sample crawl, written once into OUT/input/ as SAMPLE_FILES files (one task each, so
    the default run uses two workers). Deterministic: the same bytes every time."""
    from finemill.pipeline.sample_crawl import write_sample_warc

    paths = [out / "input" / f"sample-{part}.warc.gz" for part in range(SAMPLE_FILES)]
    for part, path in enumerate(paths):
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            write_sample_warc(partial, part=part, parts=SAMPLE_FILES)
            partial.rename(path)
    return paths


def run_fingerprint(recipe: Recipe, files: list[str], out: Path) -> dict:
    """What must not change between a run and its resumption: steps, dump, limit and input files (those
    inside OUT, like the bundled sample, relative to it, so a run folder can be moved)."""
    return {
        "steps": [asdict(s) for s in recipe.steps],
        "dump": recipe.dump,
        "limit": recipe.input.limit,
        "files": [os.path.relpath(f, out) if Path(f).is_relative_to(out) else f for f in files],
    }


def clear_run(out: Path) -> None:
    """Delete what a previous run wrote into `out` (and nothing else there)."""
    for part in OUTPUT_PARTS:
        target = out / part
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def check_resumable(out: Path, fingerprint: dict) -> None:
    """Refuse to mix two different runs in one output folder; record this run's fingerprint."""
    marker = out / "work" / "run.json"
    if marker.is_file() and json.loads(marker.read_text()) != fingerprint:
        raise FinemillError(
            f"{out} holds a run of another recipe or other inputs; use another --output, or --force to start over"
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(fingerprint, indent=1, default=str))


def run_recipe(recipe: Recipe, force: bool = False, progress: bool | None = None) -> dict:
    """Run the recipe end to end and return the content of OUT/stats.json (also written there)."""
    from finemill.pipeline.executor import QuietLocalExecutor, quiet_parent_logging
    from finemill.pipeline.plan import plan_stages
    from finemill.pipeline.run_stats import build_run_stats

    quiet_parent_logging()
    out = Path(recipe.output).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    if force:
        clear_run(out)
    files = resolve_inputs(recipe.input.paths, out)
    check_resumable(out, run_fingerprint(recipe, files, out))
    progress = sys.stderr.isatty() if progress is None else progress
    stages = plan_stages(recipe, files, out, progress=progress)
    started = time.perf_counter()
    for number, stage in enumerate(stages, 1):
        stage_started = time.perf_counter()
        print(f"[{number}/{len(stages)}] {stage.name}: {stage.tasks} task(s)", end="", file=sys.stderr, flush=True)
        executor = QuietLocalExecutor(
            stage.pipeline,
            tasks=stage.tasks,
            workers=min(recipe.workers, stage.tasks),
            logging_dir=str(out / "logs" / stage.name),
        )
        _run_stage(executor, stage.name, out)
        print(f", {time.perf_counter() - stage_started:.1f}s", file=sys.stderr, flush=True)
    meta = {
        "finemill_version": __version__,
        "settings": {step.name: step.params for step in recipe.steps},
        "recipe": recipe.name,
        "dump": recipe.dump,
        "inputs": files,
        "workers": recipe.workers,
        "wall_time_s": round(time.perf_counter() - started + _previous_wall_time(out), 3),
        "fingerprint": hashlib.sha256(json.dumps(run_fingerprint(recipe, files, out)).encode()).hexdigest()[:16],
    }
    stats = build_run_stats(stages, out, recipe.step_names(), meta)
    (out / "stats.json").write_text(json.dumps(stats, indent=1, ensure_ascii=False))
    return stats


def _previous_wall_time(out: Path) -> float:
    """Wall time of earlier invocations of this same run (a rerun only adds its own)."""
    previous = out / "stats.json"
    return json.loads(previous.read_text()).get("wall_time_s", 0.0) if previous.is_file() else 0.0


def _run_stage(executor, name: str, out: Path) -> None:
    try:
        executor.run()
    except Exception as e:  # a task crashed: say where its log is, keep what finished for the rerun
        raise FinemillError(
            f"stage {name!r} failed: {type(e).__name__}: {e}; task logs in {out / 'logs' / name / 'logs'}; "
            "finished tasks are kept, rerun to resume"
        ) from e
    incomplete = executor.get_incomplete_ranks(range(executor.world_size))
    if incomplete:
        raise FinemillError(f"stage {name!r}: tasks {incomplete} did not complete; rerun to resume")
