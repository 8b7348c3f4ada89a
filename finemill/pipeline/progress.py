"""Live progress of a stage: documents read, kept, docs/s and an ETA, while its tasks run.

Tasks run in other processes (datatrove's pool, Ray workers), so each task writes its counters to a tiny
JSON file, `OUT/logs/<stage>/progress/<rank>.json` (`finemill.run_folder.progress`), every
REPORT_PERIOD_S seconds from a thread (atomic replace: a reader never sees half a file). finemill's process
polls those files while the stage runs and shows ONE line per stage: a live line on a terminal (rich),
else a plain line every FINEMILL_PROGRESS_INTERVAL seconds (default 30; `finemill.common.plain_interval`).

    documents read   what the stage's reader (its first step) has yielded
    kept             what the stage's last writer has written (the kept documents, or stage 1's
                     filtered ones ahead of MinHash)
    ETA              from the input bytes read (the crawl reader's position in its file) over the
                     stage's input bytes, at this invocation's rate; stages without such a reader show none
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from datatrove.pipeline.readers.base import BaseReader
from datatrove.pipeline.writers.disk_base import DiskWriter

from finemill.common import duration, plain_interval

REPORT_PERIOD_S = 1.0  # how often a task writes its counters
LIVE_REFRESH_S = 0.5  # how often the terminal line is redrawn


@dataclass
class Counts:
    """One task's counters (or a stage's sums)."""

    read: int = 0
    kept: int = 0
    bytes_read: int = 0
    bytes_total: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.read + other.read,
            self.kept + other.kept,
            self.bytes_read + other.bytes_read,
            self.bytes_total + other.bytes_total,
        )


# --- the task side: counters of one task, written to its progress file ---------------------------------


class TaskReporter:
    """Counts the documents the reader yields and the last writer writes, and writes them (with the
    reader's `input_bytes()`, where it has one) every REPORT_PERIOD_S from a thread. Wraps the steps'
    `run` on this task's own copy of the pipeline: the pipeline's steps and their stats stay as they are."""

    def __init__(self, folder: str, rank: int, pipeline: list) -> None:
        self.path = Path(folder) / f"{rank:05d}.json"
        self.counts = Counts()
        self.reader = pipeline[0] if pipeline and isinstance(pipeline[0], BaseReader) else None
        writers = [step for step in pipeline if isinstance(step, DiskWriter)]
        if self.reader is not None:
            self._count_output(self.reader, "read")
        if writers:
            self._count_output(writers[-1], "kept")
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._report_periodically, name="finemill-progress", daemon=True
        )

    def _count_output(self, step, counter: str) -> None:
        step_run, counts = step.run, self.counts

        def run(data=None, rank: int = 0, world_size: int = 1):
            for document in step_run(data, rank, world_size):
                setattr(counts, counter, getattr(counts, counter) + 1)
                yield document

        step.run = run

    def __enter__(self) -> TaskReporter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.write()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.write()

    def _report_periodically(self) -> None:
        while not self._stop.wait(REPORT_PERIOD_S):
            self.write()

    def write(self) -> None:
        counts = self.counts
        if self.reader is not None and hasattr(self.reader, "input_bytes"):
            counts.bytes_read, counts.bytes_total = self.reader.input_bytes()
        partial = self.path.with_name(f".{self.path.name}.partial")
        partial.write_text(json.dumps(asdict(counts)))
        os.replace(partial, self.path)


class ProgressReporting:
    """Mixin for a datatrove executor: each task reports its progress into `progress_folder`, when set."""

    progress_folder: str | None = None

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        counted = self.pipeline and (
            isinstance(self.pipeline[0], BaseReader)
            or any(isinstance(step, DiskWriter) for step in self.pipeline)
        )
        if not self.progress_folder or not counted or self.is_rank_completed(rank):  # nothing to count
            return super()._run_for_rank(rank, local_rank, node_rank)
        with TaskReporter(self.progress_folder, rank, self.pipeline):
            return super()._run_for_rank(rank, local_rank, node_rank)


# --- finemill's side: one line per stage ------------------------------------------------------------------


def read_counts(folder: Path) -> Counts:
    """The sum of the counters of the tasks that have reported in `folder`."""
    total = Counts()
    for path in folder.glob("*.json"):
        try:
            total += Counts(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):  # a task being replaced, or a file of another version
            continue
    return total


def forget_unfinished(folder: Path, ranks: list[int]) -> None:
    """Drop the counters an interrupted earlier invocation left for tasks that will run again."""
    for rank in ranks:
        (folder / f"{rank:05d}.json").unlink(missing_ok=True)


class StageProgress:
    """Shows a running stage: a live line on a terminal, plain lines every `plain_interval()` s elsewhere,
    and a last line with the stage's totals and time. The line always ends before anything else is
    printed (an error, an interrupt)."""

    def __init__(
        self, label: str, tasks: int, folder: Path, completions: Path, input_bytes: int | None, live: bool
    ) -> None:
        self.label, self.tasks, self.folder, self.completions = label, tasks, folder, completions
        self.input_bytes = input_bytes or None
        self.live = live
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._display = None

    def __enter__(self) -> StageProgress:
        self.started = time.perf_counter()
        self.at_start = read_counts(self.folder)
        if self.live:
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            self._text = lambda line: Text(
                line, no_wrap=True, overflow="ellipsis"
            )  # one line, however narrow
            self._display = Live(
                self._text(self.line()),
                console=Console(stderr=True),
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
                transient=False,
            )
            self._display.start()
        else:
            print(f"{self.label}: {self.tasks} task(s)", file=sys.stderr, flush=True)
        self._thread = threading.Thread(
            target=self._show_periodically, name="finemill-stage-progress", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        final = self.final_line() if exc_type is None else self.line()
        if self._display is not None:
            self._display.update(self._text(final), refresh=True)
            self._display.stop()
        elif exc_type is None:
            print(final, file=sys.stderr, flush=True)

    def _show_periodically(self) -> None:
        period = LIVE_REFRESH_S if self.live else plain_interval()
        while not self._stop.wait(period):
            if self._display is not None:
                self._display.update(self._text(self.line()), refresh=True)
            else:
                print(self.line(), file=sys.stderr, flush=True)

    def done_tasks(self) -> int:
        return len(list(self.completions.iterdir())) if self.completions.is_dir() else 0

    def line(self) -> str:
        """The stage as it runs: tasks done, documents read and kept, rate, input read, ETA, time so far."""
        elapsed = time.perf_counter() - self.started
        counts = read_counts(self.folder)
        parts = [f"{self.done_tasks()}/{self.tasks} tasks"]
        if counts.read or counts.kept:
            rate = (counts.read - self.at_start.read) / elapsed if elapsed > 0 else 0.0
            parts += [f"{counts.read:,} read", f"{counts.kept:,} kept", f"{rate:,.1f} docs/s"]
        total = self.input_bytes
        if total and counts.bytes_read:
            parts.append(f"{min(1.0, counts.bytes_read / total):.0%} of input")
            new_bytes = counts.bytes_read - self.at_start.bytes_read
            if new_bytes > 0 and counts.bytes_read < total:
                parts.append(f"ETA {duration((total - counts.bytes_read) * elapsed / new_bytes)}")
        parts.append(duration(elapsed))
        return f"{self.label}: " + ", ".join(parts)

    def final_line(self) -> str:
        """The finished stage: its tasks, documents read and kept (all invocations), and this one's time."""
        counts = read_counts(self.folder)
        parts = [f"{self.tasks} task(s)"]
        if counts.read or counts.kept:
            parts += [f"{counts.read:,} read", f"{counts.kept:,} kept"]
        parts.append(f"{time.perf_counter() - self.started:.1f}s")
        return f"{self.label}: " + ", ".join(parts)
