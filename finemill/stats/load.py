"""Reading a run's outputs without loading them: stats.json, the recipe it ran, parquet column by column.

A large run has millions of removed documents; everything here streams record batches of only the
columns asked for (`ParquetFile.iter_batches`) and keeps counts, never rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from finemill import run_folder, storage
from finemill.errors import FinemillError

BATCH_ROWS = 65_536  # rows per record batch: a few MB of short strings, and few Python round trips


@dataclass
class Run:
    """One output folder of `finemill run`."""

    path: Path
    stats: dict
    params: dict[str, dict] = field(default_factory=dict)  # the recipe's settings per step (work/run.json)

    @property
    def label(self) -> str:
        return self.path.name or str(self.path)

    @property
    def step_names(self) -> list[str]:
        return [step["name"] for step in self.stats["steps"]]

    def step(self, name: str) -> dict:
        for step in self.stats["steps"]:
            if step["name"] == name:
                return step
        raise FinemillError(
            f"{self.path}: no step {name!r} in this run; its steps: {', '.join(self.step_names)}"
        )

    def removed_files(self, step: str) -> list[Path]:
        return parquet_files(run_folder.removed(self.path, step))

    def document_files(self) -> list[Path]:
        return parquet_files(run_folder.documents(self.path))


def open_run(path: str | Path) -> Run:
    """The run in `path`, or a one-line error saying why it is not one."""
    if storage.is_remote(path):
        storage.check_reachable(str(path))  # a missing bucket, denied access, no endpoint: one line
    path = storage.as_path(path)
    if not path.is_dir():
        raise FinemillError(f"not a folder: {path}")
    stats_file = run_folder.stats_file(path)
    if not stats_file.is_file() and run_folder.plan_file(path).is_file():
        from finemill.pipeline.run_stats import write_stats

        write_stats(path.resolve())  # a run whose tasks ran elsewhere (Slurm jobs): build it from their logs
    stats = run_folder.read_stats(path)
    if stats is None:
        hint = (
            "the run has not finished; rerun `finemill run` to resume it"
            if (path / run_folder.LOGS).is_dir()
            else "is it the output folder of `finemill run`?"
        )
        raise FinemillError(f"no {run_folder.STATS_FILE} in {path}: {hint}")
    missing = {"reader", "steps", "documents"} - set(stats)
    if missing:
        raise FinemillError(f"{stats_file}: not a finemill stats file (missing {', '.join(sorted(missing))})")
    settings = stats.get("settings")  # {step: settings}, when the run records them in stats.json
    params = settings if isinstance(settings, dict) else _recipe_params(path)
    return Run(path=path, stats=stats, params=params)


def _recipe_params(path: Path) -> dict[str, dict]:
    """The settings each step ran with, from the resume marker work/run.json. Without it (work/ deleted to
    save space) the filters' defaults are assumed."""
    marker = run_folder.run_marker(path)
    try:
        steps = json.loads(marker.read_text(encoding="utf-8")).get("steps", [])
        return {step["name"]: dict(step.get("params") or {}) for step in steps}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("**/*.parquet")) if folder.is_dir() else []  # documents/<language>/ too


def count_rows(files: Iterable[Path]) -> int:
    """Rows in parquet files, from their footers: no data read."""
    return sum(storage.parquet_file(f).metadata.num_rows for f in files)


def iter_batches(
    files: Iterable[Path], columns: list[str], batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Record batches of `columns` over all `files`, one batch in memory at a time."""
    for f in files:
        parquet = storage.parquet_file(f)
        missing = set(columns) - set(parquet.schema_arrow.names)
        if missing:
            raise FinemillError(f"{f}: no column {sorted(missing)[0]!r}: not a finemill output file")
        yield from parquet.iter_batches(batch_size=batch_rows, columns=columns)


def value_counts(files: Iterable[Path], columns: list[str]) -> Counter[tuple]:
    """How many rows have each combination of values of `columns` (None for nulls), streamed."""
    counts: Counter[tuple] = Counter()
    for batch in iter_batches(files, columns):
        # pyarrow's group-by runs in C++: a million rows take milliseconds, not a Python loop.
        grouped = pa.Table.from_batches([batch]).group_by(columns).aggregate([([], "count_all")])
        for row in grouped.to_pylist():
            counts[tuple(row[c] for c in columns)] += row["count_all"]
    return counts
