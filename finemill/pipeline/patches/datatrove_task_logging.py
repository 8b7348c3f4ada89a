"""datatrove's task logger, with the terminal kept for finemill's own progress and funnel.

datatrove's task logger writes INFO lines (and a stats dump per task) to stderr. finemill keeps those in
`OUT/logs/<stage>/logs/task_*.log` and shows only warnings and errors in the terminal unless
FINEMILL_VERBOSE=1. `install()` replaces the two functions that datatrove's `PipelineExecutor._run_for_rank`
calls around each task (the local and Slurm executors' path; Ray's executor keeps its own logger).
"""

from __future__ import annotations

import datatrove.executor.base as executor_base
from loguru import logger

from finemill.patches.check import outside_series, parameters_differ, skip
from finemill.pipeline.task_logging import add_terminal_sink, quiet_parent_logging, verbose

TESTED_SERIES = ("0.10.",)
ADD_PARAMETERS = ("logging_dir", "rank", "local_rank", "node_rank")
CLOSE_PARAMETERS = ("logfile",)

datatrove_add_task_logger = getattr(executor_base, "add_task_logger", None)
datatrove_close_task_logger = getattr(executor_base, "close_task_logger", None)


def add_task_logger(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):
    """datatrove's task logger (a DEBUG log file per task), with a warnings-only terminal sink."""
    if verbose():
        return datatrove_add_task_logger(logging_dir, rank, local_rank, node_rank)
    logger.remove()
    logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
    add_terminal_sink()
    logger.add(logfile, level="DEBUG")
    logger.info(f"Launching pipeline for {rank=}")
    return logfile


def close_task_logger(logfile) -> None:
    datatrove_close_task_logger(logfile)  # re-adds datatrove's INFO terminal logger
    quiet_parent_logging()


def install() -> bool:
    """Replace datatrove's task logger; False, with a warning, where datatrove no longer looks as expected."""
    if getattr(executor_base, "add_task_logger", None) is add_task_logger:
        return True
    problem = (
        outside_series("datatrove", TESTED_SERIES)
        or parameters_differ(executor_base, "add_task_logger", ADD_PARAMETERS)
        or parameters_differ(executor_base, "close_task_logger", CLOSE_PARAMETERS)
    )
    if problem:
        skip("datatrove", "task logs to files, warnings only on the terminal", problem)
        return False
    executor_base.add_task_logger = add_task_logger
    executor_base.close_task_logger = close_task_logger
    return True
