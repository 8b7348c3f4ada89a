"""datatrove's local executor, with the terminal kept for finemill's own progress and funnel.

datatrove's task logger writes INFO lines (and a stats dump per task) to stderr. finemill keeps those in
`OUT/logs/<stage>/logs/task_*.log` and shows only warnings and errors in the terminal unless verbose: the
task side is a patch of datatrove's task logger (`finemill.patches.datatrove_task_logging`), installed in
every worker by `PatchedExecutor`; this module holds the terminal's settings.
"""

from __future__ import annotations

import os
import sys

import multiprocess
from datatrove.executor import LocalPipelineExecutor
from loguru import logger

from finemill.patches import PatchedExecutor
from finemill.patches.worker_interrupts import quiet_pool_worker, start_forkserver_ignoring_interrupts
from finemill.pipeline.progress import ProgressReporting


def verbose() -> bool:
    return os.environ.get("FINEMILL_VERBOSE") == "1"


def add_terminal_sink() -> None:
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}", filter=_worth_showing)


# Warnings datatrove repeats for every task or stage that are normal in a finemill run: MinhashDedupFilter's
# for each task without duplicates, RayPipelineExecutor's for each stage about a local logging folder (finemill
# says once, itself, that OUT must be shared when it joins a Ray cluster).
ROUTINE_WARNINGS = ("No .remove file", "Logging directory points to a local filesystem")


def _worth_showing(record: dict) -> bool:
    return not any(routine in record["message"] for routine in ROUTINE_WARNINGS)


def quiet_parent_logging() -> None:
    """The launching process: warnings only, unless FINEMILL_VERBOSE=1."""
    if not verbose():
        logger.remove()
        add_terminal_sink()


class QuietLocalExecutor(PatchedExecutor, ProgressReporting, LocalPipelineExecutor):
    """LocalPipelineExecutor whose tasks log to files, with warnings only on the terminal, report their
    progress (`finemill.pipeline.progress`), and leave Ctrl-C to finemill's process: its workers ignore
    SIGINT and end quietly when it stops the pool (`finemill.patches.worker_interrupts`)."""

    def run(self):
        start_forkserver_ignoring_interrupts()  # before datatrove's pool forks its first worker
        return super().run()

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        if multiprocess.parent_process() is None:  # one worker: tasks run here, in finemill's process
            return super()._run_for_rank(rank, local_rank, node_rank)
        with quiet_pool_worker():  # a pool worker, for the length of this task
            return super()._run_for_rank(rank, local_rank, node_rank)
