"""A `--workers 2` run SIGKILLed mid-way and run again ends with the uninterrupted run's output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

RUN = [sys.executable, "-m", "finemill.cli", "run", "--workers", "2", "--quiet"]


def kill_when(cwd: Path, marker: str, delay_s: float) -> None:
    """Start `finemill run` in `cwd`, SIGKILL its whole process group `delay_s` after `marker` appears."""
    process = subprocess.Popen(RUN, cwd=cwd, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
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


def frame(files: list[Path]) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f, columns=["id", "text"]) for f in files]).sort_values("id").reset_index(drop=True)


@pytest.mark.parametrize("marker, delay_s", [("out/fineweb/logs/filter/logs/task_00000.log", 4.0),
                                             ("out/fineweb/logs/finalize/logs/task_00000.log", 0.5)],
                         ids=["during-extraction", "during-dedup-filter"])
def test_killed_run_resumes_to_the_same_documents(sample_run, tmp_path, marker, delay_s):
    kill_when(tmp_path, marker, delay_s)
    out = tmp_path / "out" / "fineweb"
    for path in visible_parquet(out):  # whatever is visible after a kill is a complete parquet file
        pq.read_metadata(path)
    result = subprocess.run(RUN, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    documents = sorted(out.glob("documents/*.parquet"))
    pd.testing.assert_frame_equal(frame(documents), frame(sorted(sample_run.glob("documents/*.parquet"))))
    for step in sorted(p.name for p in (sample_run / "removed").iterdir()):
        resumed = frame(sorted((out / "removed" / step).glob("*.parquet")))
        pd.testing.assert_frame_equal(resumed, frame(sorted((sample_run / "removed" / step).glob("*.parquet"))))
    assert not list(out.rglob(".*.partial")), "partial files of the killed tasks are overwritten on rerun"
