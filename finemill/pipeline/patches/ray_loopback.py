"""Ray's multi-node switch turned off while finemill starts a private Ray on this machine.

Ray binds its processes to this machine's network address, even when asked for 127.0.0.1, unless its
multi-node mode is off (as on macOS/Windows): then the head, raylet and workers all use loopback, and nothing
listens on the network. The switch is an environment variable, read by the processes Ray starts, and a
constant read by this one (ray may already be imported). Scoped: both are put back when the block ends.
Where Ray no longer has them, Ray starts as installed (on the network address), with a `PatchSkipped` warning.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from finemill.patches.check import skip


@contextmanager
def loopback_only() -> Iterator[bool]:
    """Within the block, a Ray started here listens on loopback only. Yields False where the switch is gone."""
    from ray._private import ray_constants

    variable = getattr(ray_constants, "ENABLE_RAY_CLUSTERS_ENV_VAR", None)
    if variable is None or not isinstance(getattr(ray_constants, "ENABLE_RAY_CLUSTER", None), bool):
        skip(
            "ray",
            "a private Ray on loopback only",
            "ray._private.ray_constants has no ENABLE_RAY_CLUSTER / ENABLE_RAY_CLUSTERS_ENV_VAR",
        )
        yield False
        return
    saved_variable, saved_constant = os.environ.get(variable), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[variable], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield True
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_constant
        if saved_variable is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = saved_variable
