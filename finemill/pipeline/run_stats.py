"""OUT/stats.json: what each step of a run received, kept, removed and why, with characters and time.

Built from datatrove's per-task stats files (`OUT/logs/<stage>/stats/<rank>.json`), so it is complete
after a resumed run too (datatrove's merged stats.json only covers the tasks of the last invocation).
Every executor (local, Ray, Slurm) writes those files the same way. A run first saves its plan
(`OUT/work/plan.json`: stages, their steps and tasks, the run's settings), so stats.json can also be built
later by another process: `finemill stats OUT` does it after a Slurm run, whose jobs finish without finemill.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from finemill import run_folder
from finemill.errors import FinemillError
from finemill.pipeline.language_funnel import is_by_language, language_funnel
from finemill.pipeline.plan import (
    DEFAULT_REASONS,
    MINHASH_SIGNATURE,
    MINHASH_TIME,
    WRITER,
    Stage,
)
from finemill.pipeline.recipe import SAMPLE_DUMP


def save_plan(out: Path, stages: list[Stage], step_order: list[str], meta: dict) -> None:
    """What building stats.json needs besides the logs, written before the first task runs."""
    plan = {
        "stages": [{"name": s.name, "step_names": s.step_names, "tasks": s.tasks} for s in stages],
        "step_order": step_order,
        "meta": meta,
        "started": time.time(),
    }
    run_folder.plan_file(out).write_text(json.dumps(plan, indent=1, ensure_ascii=False))


def write_stats(out: Path, wall_time_s: float | None = None) -> dict:
    """Build OUT/stats.json from the saved plan and the tasks' stats files; fails naming the stages that have
    unfinished tasks. Without `wall_time_s` (another process ran the tasks), the wall time is from the plan's
    writing (submission) to the last task's completion."""
    plan_file = run_folder.plan_file(out)
    if not plan_file.is_file():
        raise FinemillError(
            f"{out} has no {plan_file.relative_to(out).as_posix()}: not a finemill run, "
            "or one from an older version"
        )
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    stages = [Stage(s["name"], [], s["step_names"], s["tasks"]) for s in plan["stages"]]
    completions = {s.name: _completions(out, s) for s in stages}
    unfinished = [
        f"{s.name} {s.tasks - len(completions[s.name])}/{s.tasks}"
        for s in stages
        if len(completions[s.name]) < s.tasks
    ]
    if unfinished:
        detail = ", ".join(unfinished)
        raise FinemillError(
            f"the run in {out} has unfinished tasks (stage unfinished/total: {detail}); "
            "wait for its jobs to finish, or rerun `finemill run` to resume"
        )
    if wall_time_s is None:
        last = max((p.stat().st_mtime for paths in completions.values() for p in paths), default=0.0)
        wall_time_s = last - plan["started"]
    stats = build_run_stats(
        stages, out, plan["step_order"], {**plan["meta"], "wall_time_s": round(wall_time_s, 3)}
    )
    run_folder.write_stats(out, stats)
    from finemill.pipeline.card import write_card

    write_card(out, stats)  # the dataset card says what stats.json says, so it is written with it
    return stats


def _completions(out: Path, stage: Stage) -> list[Path]:
    folder = run_folder.completions(out, stage.name)
    return [folder / f"{rank:05d}" for rank in range(stage.tasks) if (folder / f"{rank:05d}").is_file()]


def merge_task_stats(stages: list[Stage], out: Path) -> dict[str, dict[str, Any]]:
    """{step name: {"counters": {key: total}, "time_s": seconds}} summed over all tasks of all stages."""
    merged: dict[str, dict[str, Any]] = defaultdict(lambda: {"counters": defaultdict(int), "time_s": 0.0})
    for stage in stages:
        for stats_file in sorted(run_folder.task_stats(out, stage.name).glob("*.json")):
            task_steps = json.loads(stats_file.read_text())
            upstream_s = 0.0
            for name, step in zip(stage.step_names, task_steps, strict=True):
                seconds = _seconds(step.get("time_stats"))
                if name == MINHASH_SIGNATURE:
                    seconds = max(0.0, seconds - upstream_s)
                upstream_s += seconds
                if name is None:
                    continue
                target = merged[name.split(":")[0]]
                target["time_s"] += seconds
                if name in (MINHASH_TIME, MINHASH_SIGNATURE):
                    continue
                for key, value in step.get("stats", {}).items():
                    target["counters"][key] += value["total"] if isinstance(value, dict) else value
    return merged


def build_run_stats(stages: list[Stage], out: Path, step_order: list[str], meta: dict) -> dict:
    """The content of OUT/stats.json."""
    merged = merge_task_stats(stages, out)
    reader = merged.get("reader", {"counters": {}, "time_s": 0.0})
    counters = reader["counters"]
    steps, chars_in = [], counters.get("doc_len", 0)
    docs_in = counters.get("documents", 0)
    for name in step_order:
        step = _step_entry(name, merged.get(name), docs_in, chars_in)
        steps.append(step)
        docs_in, chars_in = step["docs_out"], step["chars_out"]
    written = merged.get(WRITER, {"counters": {}})["counters"]
    if steps and "doc_len" in written:  # formatters (pii) change lengths without counting them
        steps[-1]["chars_out"] = chars_in = written["doc_len"]
    stats = {
        **meta,
        "reader": {
            "files": counters.get("input_files", 0),
            "documents": counters.get("documents", 0),
            "chars": counters.get("doc_len", 0),
            "skipped": {
                k.removeprefix("skipped_"): v for k, v in counters.items() if k.startswith("skipped_")
            },
            "time_s": round(reader["time_s"], 3),
        },
        "steps": steps,
        "documents": {"count": docs_in, "chars": chars_in},
    }
    if is_by_language(out):  # a multilingual run: each language's funnel
        stats["languages"] = language_funnel(out, step_order)
    warnings = [w for w in (_sample_label_warning(stats, counters, out),) if w]
    if warnings:
        stats["warnings"] = warnings
    return stats


def _sample_label_warning(stats: dict, reader_counters: dict, out: Path) -> str | None:
    """Documents of a real input (not the bundled sample) that got the bundled sample's `dump` label, because
    their input names no snapshot and nobody set one: their provenance would be wrong without a word."""
    sample_folder = str(run_folder.input_folder(out).resolve())
    inputs = stats.get("inputs", [])
    if stats.get("dump") != SAMPLE_DUMP or all(f.startswith(f"{sample_folder}/") for f in inputs):
        return None
    read = reader_counters.get("documents", 0)
    from_input = reader_counters.get("dump_from_input", 0) if stats.get("dump_from_input", True) else 0
    labelled = read - from_input
    if labelled <= 0:
        return None
    return (
        f"{labelled:,} of {read:,} documents got the bundled sample's label dump={SAMPLE_DUMP} (their input "
        "names no CC-MAIN-YYYY-WW snapshot): rerun with --dump NAME (--force) or set `dump:` in the recipe"
    )


def _step_entry(name: str, merged: dict | None, docs_in: int, chars_in: int) -> dict:
    """One step's counts. A step that saw no document (empty input) has no stats of its own."""
    counters = dict(merged["counters"]) if merged else {}
    total = counters.pop("total", docs_in)
    forwarded = counters.pop("forwarded", total - counters.get("dropped", 0))
    dropped = counters.pop("dropped", total - forwarded)
    removed = {
        k.removeprefix("dropped_"): counters.pop(k) for k in list(counters) if k.startswith("dropped_")
    }
    if dropped > sum(removed.values()):
        reason = DEFAULT_REASONS.get(name, "removed")  # what RemovedWriter writes for a reasonless removal
        removed[reason] = removed.get(reason, 0) + dropped - sum(removed.values())
    chars_out = counters.pop("doc_len", chars_in if forwarded == total else 0)
    if counters.get("calibrated_tasks"):  # quality_fasttext's top_fraction: the tasks' mean threshold
        counters["calibrated_threshold_mean"] = round(
            counters["calibrated_threshold_sum"] / counters["calibrated_tasks"], 6
        )
    time_s = merged["time_s"] if merged else 0.0
    return {
        "name": name,
        "docs_in": total,
        "docs_out": forwarded,
        "removed": dict(sorted(removed.items(), key=lambda kv: -kv[1])),
        "chars_in": chars_in,
        "chars_out": chars_out,
        "time_s": round(time_s, 3),
        "docs_per_s": round(total / time_s, 1) if time_s > 0 else None,
        "counters": counters,  # everything else the step counted (languages seen, PII replaced, ...)
    }


def _seconds(time_stats: Any) -> float:
    if isinstance(time_stats, dict):
        return float(time_stats.get("total", 0.0))
    return float(time_stats or 0.0)
