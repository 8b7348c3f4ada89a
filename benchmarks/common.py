"""What every benchmark needs: where the repository and the shared real data are, and how a benchmark
starts a child process of itself (benchmarks that time one side per fresh process)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Real third-party data beside the checkout (../shared/data): crawl files, extraction sets, judged pairs.
SHARED_DATA = REPO.parent / "shared" / "data"


def module_command(module: str, *args: str) -> list[str]:
    """`python -m MODULE ARGS...` with this interpreter: how a benchmark re-runs itself in a child process
    (pass its `__spec__.name`, which is the dotted name whether it runs as `-m` or was imported)."""
    return [sys.executable, "-m", module, *args]


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment with the repository first on PYTHONPATH, so a child started by
    `module_command` finds the `benchmarks` package from any working directory; `extra` is added on top."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}
