"""OUT/stats.json: what each step of a run received, kept, removed and why, with characters and time.

Built from datatrove's per-task stats files (`OUT/logs/<stage>/stats/<rank>.json`), so it is complete
after a resumed run too (datatrove's merged stats.json only covers the tasks of the last invocation).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from finemill.pipeline.plan import (
    DEFAULT_REASONS,
    MINHASH_SIGNATURE,
    MINHASH_TIME,
    WRITER,
    Stage,
)


def merge_task_stats(stages: list[Stage], out: Path) -> dict[str, dict[str, Any]]:
    """{step name: {"counters": {key: total}, "time_s": seconds}} summed over all tasks of all stages."""
    merged: dict[str, dict[str, Any]] = defaultdict(lambda: {"counters": defaultdict(int), "time_s": 0.0})
    for stage in stages:
        for stats_file in sorted((out / "logs" / stage.name / "stats").glob("*.json")):
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
    return {
        **meta,
        "reader": {
            "files": counters.get("input_files", 0),
            "documents": counters.get("documents", 0),
            "chars": counters.get("doc_len", 0),
            "skipped": {k.removeprefix("skipped_"): v for k, v in counters.items() if k.startswith("skipped_")},
            "time_s": round(reader["time_s"], 3),
        },
        "steps": steps,
        "documents": {"count": docs_in, "chars": chars_in},
    }


def _step_entry(name: str, merged: dict | None, docs_in: int, chars_in: int) -> dict:
    """One step's counts. A step that saw no document (empty input) has no stats of its own."""
    counters = dict(merged["counters"]) if merged else {}
    total = counters.pop("total", docs_in)
    forwarded = counters.pop("forwarded", total - counters.get("dropped", 0))
    dropped = counters.pop("dropped", total - forwarded)
    removed = {k.removeprefix("dropped_"): counters.pop(k) for k in list(counters) if k.startswith("dropped_")}
    if dropped > sum(removed.values()):
        reason = DEFAULT_REASONS.get(name, "unspecified")
        removed[reason] = removed.get(reason, 0) + dropped - sum(removed.values())
    chars_out = counters.pop("doc_len", chars_in if forwarded == total else 0)
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
