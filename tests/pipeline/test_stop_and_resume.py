"""`finemill run` stopped part-way, then the same command again: the uninterrupted run's output.

Two ways to stop a run, each sent to its whole process group (its own session here):
- Ctrl-C (SIGINT, as a terminal sends it to its foreground group, so finemill, datatrove's pool workers
  and their extraction processes all get it): one line, no traceback, exit status 130, no process left.
- SIGKILL (a machine lost): whatever parquet file is visible afterwards is complete.

A stop freezes the run's process group (SIGSTOP) at the chosen moment, checks that the stage is still
running, sends the signal and lets the group go on: the signal lands mid-stage however short the stage is.
Each test stops a run during extraction and its rerun during the dedup filter, one with each signal, so
the four (signal, stage) cases take two tests of three runs each; the third run finishes and must give the
uninterrupted run's kept and removed documents. The runs use conftest's RESUMABLE_RUN (60 s extraction
timeout, so the machine's load cannot change the output) and its uninterrupted run, once per session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from finemill.pipeline.interrupt import INTERRUPTED
from tests.conftest import RESUMABLE_RUN, assert_same_outputs, write_resumable_recipe

Ready = Callable[[Path], bool]

pytestmark = pytest.mark.slow


def reading(stage: str) -> Ready:
    """A task of `stage` has read documents and not yet its whole input (its progress file says so): the
    middle of the stage, on a fast machine as on a loaded one."""

    def ready(out: Path) -> bool:
        for path in (out / "logs" / stage / "progress").glob("*.json"):
            try:
                counts = json.loads(path.read_text())
            except (OSError, ValueError):  # replaced while read
                continue
            if counts["read"] >= 1 and counts["bytes_read"] < counts["bytes_total"]:
                return True
        return False

    return ready


def started(stage: str, delay_s: float) -> Ready:
    """`delay_s` after the first task of `stage` started (for stages too short for a progress report)."""
    seen: list[float] = []

    def ready(out: Path) -> bool:
        if not seen and (out / "logs" / stage / "logs" / "task_00000.log").exists():
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= delay_s

    return ready


def group_left(pgid: int) -> list[str]:
    """The live processes of a process group (zombies waiting to be reaped do not count)."""
    ps = subprocess.run(["ps", "-eo", "pgid=,stat=,args="], capture_output=True, text=True).stdout
    return [
        line
        for line in ps.splitlines()
        if line.split()[0] == str(pgid) and not line.split()[1].startswith("Z")
    ]


def stop_when(cwd: Path, stage: str, ready: Ready, sig: signal.Signals) -> subprocess.CompletedProcess:
    """Start RESUMABLE_RUN in `cwd`; as soon as `ready(out)` holds, freeze its process group (SIGSTOP), check
    that `stage` has not ended, send `sig` and let the group go on (the signal lands where each process
    stood, as a terminal's would, however short the stage); then wait until no process of the group is left."""
    process = subprocess.Popen(
        RESUMABLE_RUN,
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, deadline = cwd / "out" / "fineweb", time.monotonic() + 300
    while not ready(out):
        assert process.poll() is None, f"the run ended before {sig.name}: {process.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGSTOP)
    assert len(list((out / "logs" / stage / "completions").glob("*"))) < 2, "stopped before the stage ended"
    os.killpg(process.pid, sig)
    os.killpg(process.pid, signal.SIGCONT)
    stdout, stderr = process.communicate(timeout=120)
    deadline = time.monotonic() + 10
    while group_left(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_left(process.pid) == [], "no worker or extraction process outlives the run"
    return subprocess.CompletedProcess(RESUMABLE_RUN, process.returncode, stdout, stderr)


def assert_interrupted(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 130, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "KeyboardInterrupt" not in result.stderr, result.stderr[-3000:]
    assert result.stderr.count(INTERRUPTED) == 1
    assert result.stderr.splitlines()[-1] == INTERRUPTED, "the message has a line of its own, last"


def assert_killed(result: subprocess.CompletedProcess, out: Path) -> None:
    assert result.returncode == -signal.SIGKILL
    for path in sorted(out.glob("documents/*.parquet")) + sorted(out.glob("removed/*/*.parquet")):
        pq.read_metadata(path)  # whatever is visible after a kill is a complete parquet file


def assert_resumes_to(cwd: Path, uninterrupted: Path) -> None:
    rerun = subprocess.run(RESUMABLE_RUN, cwd=cwd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    out = cwd / "out" / "fineweb"
    assert_same_outputs(out, uninterrupted)
    assert not list(out.rglob(".*.partial")), "partial files of the killed tasks are overwritten on rerun"


# The extraction stop waits for a task in the middle of its input; the dedup filter (finalize, under a second
# on the sample) is too short for a progress report, so its stop comes 0.1 s after its first task started.
# (Made anew for each run: `started` remembers when it first saw the task.)
def in_extraction() -> tuple[str, Ready]:
    return "filter", reading("filter")


def in_dedup_filter() -> tuple[str, Ready]:
    return "finalize", started("finalize", 0.1)


def test_ctrl_c_in_extraction_then_kill_in_the_dedup_filter(uninterrupted, tmp_path):
    write_resumable_recipe(tmp_path)
    out = tmp_path / "out" / "fineweb"
    assert_interrupted(stop_when(tmp_path, *in_extraction(), signal.SIGINT))
    assert_killed(stop_when(tmp_path, *in_dedup_filter(), signal.SIGKILL), out)
    assert_resumes_to(tmp_path, uninterrupted)


def test_kill_in_extraction_then_ctrl_c_in_the_dedup_filter(uninterrupted, tmp_path):
    write_resumable_recipe(tmp_path)
    out = tmp_path / "out" / "fineweb"
    assert_killed(stop_when(tmp_path, *in_extraction(), signal.SIGKILL), out)
    assert_interrupted(stop_when(tmp_path, *in_dedup_filter(), signal.SIGINT))
    assert_resumes_to(tmp_path, uninterrupted)
