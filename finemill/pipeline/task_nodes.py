"""Which node ran a task on a cluster: a line of the task's own log, just after datatrove's header.

On a cluster, a task that failed, or was lost with its node, is found by its log (`OUT/logs/<stage>/logs/
task_NNNNN.log`); one line says where it ran:

    Ray node <node id> (<address>)      the id `ray status`, `ray list nodes` and the dashboard show
    Slurm node <node name>              the name `sinfo` and `squeue` show

datatrove's executors set up the task's logger inside their own `_run_for_rank`, so the line is logged when
the task's first step starts, by a wrapper on that step's `run` in this task's copy of the pipeline.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator

from loguru import logger


def ray_node_line() -> str:
    """The line naming the Ray node this process runs on."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    return f"Ray node {node_id} ({ray.util.get_node_ip_address()})"


def slurm_node_line() -> str:
    """The line naming the Slurm node this job runs on (the machine's name where Slurm does not say)."""
    return f"Slurm node {os.environ.get('SLURMD_NODENAME') or socket.gethostname()}"


@contextlib.contextmanager
def logging_the_node(pipeline: list, node_line: Callable[[], str]) -> Iterator[None]:
    """Within the block, the pipeline's first step logs `node_line()` when it is called."""
    first = pipeline[0] if pipeline else None
    if first is None or not callable(getattr(first, "run", None)):  # a plain function: nothing to wrap
        yield
        return
    own = first.__dict__.get("run")  # an earlier wrapper on this copy (progress counting), or none
    step_run = first.run

    def run(data=None, rank: int = 0, world_size: int = 1):
        logger.info(node_line())
        return step_run(data, rank, world_size)

    first.run = run
    try:
        yield
    finally:
        if own is None:
            del first.run
        else:
            first.run = own
