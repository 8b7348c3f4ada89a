"""datatrove's local executor, with the terminal kept for finemill's own progress and funnel.

datatrove's task logger writes INFO lines (and a stats dump per task) to stderr. finemill keeps those in
`OUT/logs/<stage>/logs/task_*.log` and shows only warnings and errors in the terminal unless verbose.
"""

from __future__ import annotations

import os
import sys

import datatrove.executor.base as executor_base
from datatrove.executor import LocalPipelineExecutor
from loguru import logger

_datatrove_add_task_logger = executor_base.add_task_logger
_datatrove_close_task_logger = executor_base.close_task_logger


def verbose() -> bool:
    return os.environ.get("FINEMILL_VERBOSE") == "1"


def _add_task_logger(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):
    """datatrove's task logger (a DEBUG log file per task), with a warnings-only terminal sink."""
    if verbose():
        return _datatrove_add_task_logger(logging_dir, rank, local_rank, node_rank)
    logger.remove()
    logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
    _add_terminal_sink()
    logger.add(logfile, level="DEBUG")
    logger.info(f"Launching pipeline for {rank=}")
    return logfile


def _close_task_logger(logfile) -> None:
    _datatrove_close_task_logger(logfile)  # re-adds datatrove's INFO terminal logger
    quiet_parent_logging()


def _add_terminal_sink() -> None:
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
        _add_terminal_sink()


# Patched at import: forkserver workers import this module when they unpickle the executor below.
executor_base.add_task_logger = _add_task_logger
executor_base.close_task_logger = _close_task_logger


class QuietLocalExecutor(LocalPipelineExecutor):
    """LocalPipelineExecutor whose tasks log to files, with warnings only on the terminal."""

