"""datatrove's dependency check on step creation, answered from one read of the installed distributions.

Every datatrove `PipelineStep` checks, when it is created (and when it is copied or unpickled, which the
executors do for every task), that its packages are installed. For each pip distribution name datatrove
reads the metadata of every installed distribution again, for every process and every step (the time it
costs: docs/performance.md). `is_distribution_available` gives the same answer from one read; `install()`
puts it in place of datatrove's private `_is_distribution_available` (called by
`finemill.pipeline.patches.install()`).
"""

from __future__ import annotations

import importlib.metadata
from functools import lru_cache

import datatrove.utils._import_utils as datatrove_import_utils

from finemill.patches.check import outside_series, parameters_differ, skip

TESTED_SERIES = ("0.10.",)  # datatrove releases whose _is_distribution_available this answers as

# datatrove's own, kept for comparison (tests/pipeline/test_recipe.py, benchmarks/speed/startup.py)
datatrove_is_distribution_available = getattr(datatrove_import_utils, "_is_distribution_available", None)


@lru_cache(maxsize=1)
def installed_distributions() -> frozenset[str]:
    """The lower-cased names of the installed distributions, read once per process."""
    return frozenset(
        name.lower()
        for dist in importlib.metadata.distributions()
        if (name := (getattr(dist, "metadata", None) or {}).get("Name"))
    )


def is_distribution_available(distribution_name: str) -> bool | None:
    """datatrove's `_is_distribution_available`: True when an installed distribution's lower-cased name
    equals `distribution_name` (as given, not lower-cased), else None."""
    return True if distribution_name in installed_distributions() else None


def install() -> bool:
    """Replace datatrove's check; False, with a warning, where datatrove no longer looks as expected."""
    if getattr(datatrove_import_utils, "_is_distribution_available", None) is is_distribution_available:
        return True
    problem = outside_series("datatrove", TESTED_SERIES) or parameters_differ(
        datatrove_import_utils, "_is_distribution_available", ("distribution_name",)
    )
    if problem:
        skip("datatrove", "one-read dependency check", problem)
        return False
    datatrove_import_utils._is_distribution_available = is_distribution_available
    return True
