"""finemill's terminal during a run: warnings and errors only, finemill's own progress and funnel around them.

datatrove's task logger writes INFO lines (and a stats dump per task) to stderr. finemill keeps those in
`OUT/logs/<stage>/logs/task_*.log` and shows only warnings and errors in the terminal unless verbose: the
task side is a patch of datatrove's task logger (`finemill.pipeline.patches.datatrove_task_logging`,
installed in every worker by `PatchedExecutor`); this module holds the terminal's settings.
"""

from __future__ import annotations

import os
import sys

from loguru import logger


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
