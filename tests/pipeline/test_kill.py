"""A `--workers 2` run SIGKILLed mid-way and run again ends with the uninterrupted run's output.

All runs here use FineWeb's recipe with a 60 s extraction timeout instead of 1 s: a page that timed out
under machine load in one run only (it happened, in a resumed run) would change the output for a reason
that has nothing to do with resuming.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import RESUMABLE_RUN, assert_same_outputs, write_resumable_recipe


def kill_when(cwd: Path, marker: str, delay_s: float) -> None:
    """Start `finemill run` in `cwd`, SIGKILL its whole process group `delay_s` after `marker` appears."""
    write_resumable_recipe(cwd)
    process = subprocess.Popen(
        RESUMABLE_RUN, cwd=cwd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while not (cwd / marker).exists():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(delay_s)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def visible_parquet(out: Path) -> list[Path]:
    return sorted(out.glob("documents/*.parquet")) + sorted(out.glob("removed/*/*.parquet"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "marker, delay_s",
    [
        ("out/fineweb/logs/filter/logs/task_00000.log", 4.0),
        ("out/fineweb/logs/finalize/logs/task_00000.log", 0.5),
    ],
    ids=["during-extraction", "during-dedup-filter"],
)
def test_killed_run_resumes_to_the_same_documents(uninterrupted, tmp_path, marker, delay_s):
    kill_when(tmp_path, marker, delay_s)
    out = tmp_path / "out" / "fineweb"
    for path in visible_parquet(out):  # whatever is visible after a kill is a complete parquet file
        pq.read_metadata(path)
    result = subprocess.run(RESUMABLE_RUN, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_outputs(out, uninterrupted)
    assert not list(out.rglob(".*.partial")), "partial files of the killed tasks are overwritten on rerun"
