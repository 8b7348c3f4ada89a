"""Which Ray node ran a task: the first line of the task's own log after datatrove's header.

On a cluster, a task that failed or was lost with its node is found by its log (`OUT/logs/<stage>/logs/
task_NNNNN.log`); the line `Ray node <node id> (<address>)` says where it ran, with the node id that
`ray status`, `ray list nodes` and the Ray dashboard show. datatrove's Ray executor sets up the task's logger
inside its own `_run_for_rank`, so the line is logged when the task's first step starts, by a wrapper on that
step's `run` in this task's copy of the pipeline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from loguru import logger

NODE_LINE = "Ray node {node_id} ({address})"


def ray_node_line() -> str:
    """The line naming the Ray node this process runs on."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    return NODE_LINE.format(node_id=node_id, address=ray.util.get_node_ip_address())


@contextlib.contextmanager
def logging_the_ray_node(pipeline: list) -> Iterator[None]:
    """Within the block, the pipeline's first step logs `ray_node_line()` when it is called."""
    first = pipeline[0] if pipeline else None
    if first is None or not callable(getattr(first, "run", None)):  # a plain function: nothing to wrap
        yield
        return
    own = first.__dict__.get("run")  # an earlier wrapper on this copy (progress counting), or none
    step_run = first.run

    def run(data=None, rank: int = 0, world_size: int = 1):
        logger.info(ray_node_line())
        return step_run(data, rank, world_size)

    first.run = run
    try:
        yield
    finally:
        if own is None:
            del first.run
        else:
            first.run = own
