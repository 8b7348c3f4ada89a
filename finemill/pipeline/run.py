"""`finemill run`: resolve inputs, plan the stages, run them (resuming finished work), write stats."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from finemill import __version__, run_folder, storage
from finemill.errors import FinemillError
from finemill.pipeline.inputs import Inputs, find_inputs
from finemill.pipeline.interrupt import exit_if_interrupt_stalls
from finemill.pipeline.recipe import Recipe
from finemill.run_folder import beneath

SAMPLE_FILES = 2


def run_inputs(paths: list[str], out: Path) -> Inputs:
    """The files named by `paths` (files, folders, globs) by kind, with those of folders and globs that are
    not read and why (finemill.pipeline.inputs); the bundled sample when `paths` is empty. Fails when a path
    matches nothing readable: a run over nothing is a mistake."""
    if not paths:
        return Inputs(files={"crawl": [str(p) for p in bundled_sample(out)]})
    return find_inputs(paths)


def resolve_inputs(paths: list[str], out: Path) -> list[str]:
    """Absolute paths of all the files a run over `paths` reads."""
    return run_inputs(paths, out).all_files


def bundled_sample(out: Path) -> list[Path]:
    """The generated sample crawl, written once into OUT/input/ as SAMPLE_FILES files (one task each, so
    the default run uses two workers). Deterministic: the same bytes every time."""
    from finemill.demo.crawl import write_sample_warc

    paths = [run_folder.input_folder(out) / f"sample-{part}.warc.gz" for part in range(SAMPLE_FILES)]
    for part, path in enumerate(paths):
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            if storage.is_remote(path):  # an object appears whole when its upload ends: no rename needed
                partial = storage.local_cache(str(path), "sample") / path.name
            write_sample_warc(partial, part=part, parts=SAMPLE_FILES)
            if storage.is_remote(path):
                path.fs.put_file(str(partial), str(path))
                partial.unlink()
            else:
                partial.rename(path)
    return paths


def run_fingerprint(recipe: Recipe, files: list[str], out: Path) -> dict:
    """What must not change between a run and its resumption: steps, dump, limit and input files (those
    inside OUT, like the bundled sample, relative to it, so a run folder can be moved)."""
    fingerprint = {
        "steps": [s.identity() for s in recipe.steps],
        "dump": recipe.dump,
        "limit": recipe.input.limit,
        "files": [_relative_to(f, out) for f in files],
    }
    if not recipe.dump_from_input:  # only when forced, so run folders of earlier versions still resume
        fingerprint["dump_from_input"] = False
    return fingerprint


def _relative_to(file: str, out: Path) -> str:
    """An input file inside OUT (the bundled sample) relative to OUT, any other as it is."""
    if storage.is_remote(out):
        return file[len(str(out)) + 1 :] if file.startswith(f"{out}/") else file
    return os.path.relpath(file, out) if Path(file).is_relative_to(out) else file


def clear_run(out: Path) -> None:
    """Delete what a previous run wrote into `out`, and nothing else: only finemill's own output parts, and
    never in a folder that holds anything else (a wrong --output must not cost a home folder)."""
    if storage.is_remote(out):
        return _clear_remote_run(out)
    if out == Path(out.anchor) or out == Path.home().resolve() or out in Path.home().resolve().parents:
        raise FinemillError(f"--force refuses to clear {out}: give the run its own output folder")
    _refuse_foreign_files(out)
    for part in run_folder.RUN_PARTS:
        target = out / part
        if target.is_symlink() or target.is_file():
            target.unlink()  # a link is removed, never followed out of OUT
        elif target.is_dir():
            shutil.rmtree(target)


def _refuse_foreign_files(out: Path) -> None:
    """--force clears only a folder holding nothing but a run's own parts (local or on object storage)."""
    foreign = sorted(p.name for p in out.iterdir() if not run_folder.is_finemill_part(p.name))
    if foreign:
        raise FinemillError(
            f"--force refuses to clear {out}: it holds {foreign[0]!r}, which is not part of a "
            "finemill run; give the run its own output folder"
        )


def _clear_remote_run(out: Path) -> None:
    """clear_run on object storage: the same refusal of a prefix holding anything else, then each part's keys."""
    if out.parent == out:  # a bucket's root
        raise FinemillError(f"--force refuses to clear {out}: give the run its own prefix in the bucket")
    _refuse_foreign_files(out)
    for part in run_folder.RUN_PARTS:
        target = out / part
        if target.exists():
            target.fs.rm(target.path, recursive=target.is_dir())
    shutil.rmtree(storage.local_cache(str(out), "progress"), ignore_errors=True)


def check_resumable(out: Path, fingerprint: dict) -> None:
    """Refuse to mix two different runs in one output folder; record this run's fingerprint."""
    marker = run_folder.run_marker(out)
    if marker.is_file() and json.loads(marker.read_text()) != fingerprint:
        raise FinemillError(
            f"{out} holds a run of another recipe or other inputs; use another --output, or --force to start over"
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(fingerprint, indent=1, default=str))


@dataclass
class RunOutcome:
    """What `finemill run` did: ran the stages here (stats), or submitted them as jobs (job name -> id)."""

    stats: dict | None = None
    jobs: dict[str, str] = field(default_factory=dict)


def run_recipe(recipe: Recipe, force: bool = False, progress: bool | None = None) -> dict:
    """Run the recipe end to end and return the content of OUT/stats.json (also written there)."""
    outcome = start_run(recipe, force, progress)
    if outcome.stats is None:
        raise FinemillError(
            f"the {recipe.executor.kind} executor submits jobs; build the stats with `finemill stats`"
        )
    return outcome.stats


def start_run(recipe: Recipe, force: bool = False, progress: bool | None = None) -> RunOutcome:
    """Plan the run and run it with the recipe's executor: here and now (local, Ray), then write stats.json,
    or as submitted jobs (Slurm), whose stats.json `finemill stats OUT` builds once they have finished."""
    from finemill.pipeline import patches
    from finemill.pipeline.executors import make_backend, submitted_job_ids
    from finemill.pipeline.plan import plan_stages, planned_steps
    from finemill.pipeline.run_stats import save_plan, write_stats
    from finemill.pipeline.task_logging import quiet_parent_logging

    patches.install()  # before any step is built; workers install them too (patches.PatchedExecutor)
    quiet_parent_logging()
    out = run_folder.make_output_folder(recipe.output)  # a file in the way, a missing bucket: one line
    if force:
        clear_run(out)
    inputs = run_inputs(recipe.input.paths, out)  # remote inputs: their buckets checked first
    files = inputs.all_files
    check_resumable(out, run_fingerprint(recipe, files, out))
    live = sys.stderr.isatty() if progress is None else progress  # else plain progress lines
    stages = plan_stages(
        recipe, inputs, out
    )  # datatrove's own bars stay off: one line per stage (progress.py)
    previous_wall_time = _previous_wall_time(out)
    save_plan(out, stages, [s.name for s in planned_steps(recipe, inputs)[0]], _run_meta(recipe, inputs, out))
    backend = make_backend(recipe.executor)
    started = time.perf_counter()
    with backend.session():
        executors = []
        for stage in stages:  # each executor knows the one before: Slurm chains its jobs on it
            previous = executors[-1] if executors else None
            executors.append(
                backend.executor(
                    stage,
                    beneath(out, run_folder.logs(out, stage.name)),
                    recipe.workers,
                    previous,
                    _progress_folder(out, stage.name),
                )
            )
        if backend.submits:
            executors[-1].run()  # submits every stage: each waits for the one before (depends=)
            return RunOutcome(jobs=submitted_job_ids(executors))
        # the ETA of the stage that reads the crawl files comes from their bytes (not with --limit: it stops early)
        input_bytes = None if recipe.input.limit not in (None, -1) else _total_size(files)
        with exit_if_interrupt_stalls():  # Ctrl-C ends the run even if stopping the workers hangs
            _run_stages(stages, executors, out, live, input_bytes)
    return RunOutcome(stats=write_stats(out, time.perf_counter() - started + previous_wall_time))


def _run_stages(stages: list, executors: list, out: Path, live: bool, input_bytes: int | None) -> None:
    """Run the stages one after the other from here, each once the one before has fully finished, with one
    progress line per stage (live on a terminal)."""
    from finemill.pipeline.progress import StageProgress, forget_unfinished
    from finemill.steps.read.warc import CrawlReader

    for number, (stage, executor) in enumerate(zip(stages, executors, strict=True), 1):
        progress = _progress_folder(out, stage.name)
        forget_unfinished(progress, executor.get_incomplete_ranks(range(executor.world_size)))
        reads_crawl = bool(stage.pipeline) and isinstance(stage.pipeline[0], CrawlReader)
        with StageProgress(
            f"[{number}/{len(stages)}] {stage.name}",
            stage.tasks,
            progress,
            run_folder.completions(out, stage.name),
            input_bytes if reads_crawl else None,
            live,
        ):
            _run_stage(executor, stage.name, out)


def _progress_folder(out: Path, stage: str) -> Path:
    """Where the tasks write their progress counters: OUT/logs/<stage>/progress, or for a run folder on
    object storage a local folder standing for it (counters rewritten every second are no objects to PUT)."""
    if storage.is_remote(out):
        return storage.local_cache(str(out), "progress") / stage
    return beneath(out, run_folder.progress(out, stage))


def _total_size(files: list[str]) -> int:
    """The bytes of the input files, local or remote."""
    remote = [f for f in files if storage.is_remote(f)]
    local = sum(os.path.getsize(f) for f in files if not storage.is_remote(f))
    if not remote:
        return local
    fs, _ = storage.filesystem(remote[0])
    return local + sum(fs.sizes(remote))  # concurrent requests on s3fs: a snapshot has ~90,000 files


def _run_meta(recipe: Recipe, inputs: Inputs, out: Path) -> dict:
    """The run's settings, as stats.json reports them."""
    from finemill.pipeline.plan import planned_steps

    files = inputs.all_files
    return {
        "finemill_version": __version__,
        "settings": {step.name: step.params for step in recipe.steps},
        "recipe": recipe.name,
        "dump": recipe.dump,
        "dump_from_input": recipe.dump_from_input,
        "inputs": files,
        "input_kind": inputs.kind,
        "inputs_skipped": inputs.skipped,  # files of the folders and globs given that the run did not read
        "steps_skipped": planned_steps(recipe, inputs)[1],
        "classifiers": _classifiers(recipe),
        "workers": recipe.workers,
        "executor": recipe.executor.kind,
        "fingerprint": hashlib.sha256(json.dumps(run_fingerprint(recipe, files, out)).encode()).hexdigest()[
            :16
        ],
    }


def _classifiers(recipe: Recipe) -> dict:
    """Each quality classifier step's model, its card's sources and benchmark tasks (what `finemill eval` warns
    about) and, for a transformers model, its window in tokens."""
    from finemill.steps.filters.model_card import card_summary
    from finemill.steps.filters.quality_hf import stated_window

    found = {}
    for step in recipe.steps:
        if step.name in ("quality_fasttext", "quality_hf"):
            found[step.name] = card_summary(step.params["model"])
            if step.name == "quality_hf":
                found[step.name]["window_tokens"] = stated_window(
                    step.params["model"], step.params.get("max_tokens")
                )
    return found


def _previous_wall_time(out: Path) -> float:
    """Wall time of earlier invocations of this same run (a rerun only adds its own)."""
    previous = run_folder.read_stats(out)
    return previous.get("wall_time_s", 0.0) if previous else 0.0


def _run_stage(executor, name: str, out: Path) -> None:
    try:
        executor.run()
    except Exception as e:  # a task crashed: say where its log is, keep what finished for the rerun
        raise FinemillError(
            f"stage {name!r} failed: {type(e).__name__}: {e}; task logs in {run_folder.task_logs(out, name)}; "
            "finished tasks are kept, rerun to resume"
        ) from e
    incomplete = executor.get_incomplete_ranks(range(executor.world_size))
    if incomplete:
        raise FinemillError(f"stage {name!r}: tasks {incomplete} did not complete; rerun to resume")
