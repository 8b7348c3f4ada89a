"""Ctrl-C in `finemill run`: one line, no traceback, exit status 130, and the rerun resumes.

Ctrl-C is SIGINT to the terminal's whole foreground process group: here the group of a `finemill run`
subprocess (its own session), so finemill, datatrove's pool workers and their extraction processes all
get it, as they do on a terminal. The runs use the kill tests' recipe (conftest's RESUMABLE_RUN, 60 s
extraction timeout, so load cannot change the output) and their uninterrupted run, once per session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RESUMABLE_RUN, assert_same_outputs, write_resumable_recipe

INTERRUPTED = "finemill run: interrupted; rerun the same command to resume"


def interrupt_when(cwd: Path, ready: Callable[[Path], bool]) -> subprocess.CompletedProcess:
    """Start `finemill run` in `cwd` and send SIGINT to its process group as soon as `ready(out)` holds."""
    write_resumable_recipe(cwd)
    process = subprocess.Popen(
        RESUMABLE_RUN,
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = cwd / "out" / "fineweb"
    deadline = time.monotonic() + 300
    while not ready(out):
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(RESUMABLE_RUN, process.returncode, stdout, stderr)


def reading(stage: str) -> Callable[[Path], bool]:
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


def started(stage: str, delay_s: float) -> Callable[[Path], bool]:
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


@pytest.mark.slow
@pytest.mark.parametrize(
    "stage, ready",
    [("filter", reading("filter")), ("finalize", started("finalize", 0.3))],
    ids=["during-extraction", "during-dedup-filter"],
)
def test_interrupted_run_says_one_line_and_resumes(uninterrupted, tmp_path, stage, ready):
    result = interrupt_when(tmp_path, ready)
    assert result.returncode == 130, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "KeyboardInterrupt" not in result.stderr, result.stderr[-3000:]
    assert result.stderr.count(INTERRUPTED) == 1
    assert result.stderr.splitlines()[-1] == INTERRUPTED, "the message has a line of its own, last"
    out = tmp_path / "out" / "fineweb"
    assert len(list((out / "logs" / stage / "completions").glob("*"))) < 2, (
        "interrupted before the stage ended"
    )

    rerun = subprocess.run(RESUMABLE_RUN, cwd=tmp_path, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_same_outputs(out, uninterrupted)


@pytest.mark.slow
def test_no_worker_outlives_the_interrupt(tmp_path):
    """The pool's workers and their extraction processes end with the run: none is left waiting."""
    write_resumable_recipe(tmp_path)
    process = subprocess.Popen(
        RESUMABLE_RUN,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ready, deadline = reading("filter"), time.monotonic() + 300
    while not ready(tmp_path / "out" / "fineweb"):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    assert len(group_left(process.pid)) > 2, "workers and extraction processes run"
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=120) == 130
    deadline = time.monotonic() + 10
    while group_left(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_left(process.pid) == []


def test_extraction_process_ignores_ctrl_c():
    """The process datatrove's extractors fork lives through a SIGINT (its parent decides when it stops)."""
    from datatrove.pipeline.extractors.base import ExtractorSandbox

    from finemill.pipeline.patches import worker_interrupts

    assert worker_interrupts.install()
    with ExtractorSandbox(timeout=30) as sandbox:
        assert sandbox.process_document("<p>one</p>", str.upper) == "<P>ONE</P>"
        os.kill(sandbox.process.pid, signal.SIGINT)
        time.sleep(0.5)
        assert sandbox.process.is_alive()
        assert sandbox.process_document("<p>two</p>", str.upper) == "<P>TWO</P>"


def test_patch_skipped_where_datatrove_changed(monkeypatch):
    from datatrove.pipeline.dedup import minhash
    from datatrove.pipeline.extractors.base import ExtractorSandbox

    from finemill.patches import PatchSkipped
    from finemill.pipeline.patches import datatrove_progress_bars, worker_interrupts

    monkeypatch.setattr(ExtractorSandbox, "_worker", lambda self, conn, extract_fn, warmup=None: None)
    with pytest.warns(PatchSkipped, match="_worker takes"):
        assert not worker_interrupts.install()
    monkeypatch.setattr(minhash, "tqdm", lambda *args, **kwargs: iter(()))
    with pytest.warns(PatchSkipped, match="no longer draws its bars with tqdm"):
        assert not datatrove_progress_bars.install()


# "ready" is printed inside the `try`: under load the test's SIGINT can land before the next statement
# runs, and had that been outside the `try` nothing would stall: the KeyboardInterrupt would end the script
# at once (Python exits by SIGINT, status -2) and the grace timer would go untested.
STALLING = """
import time
import multiprocess
from finemill.pipeline.interrupt import exit_if_interrupt_stalls
queue = multiprocess.get_context("forkserver").SimpleQueue()  # named semaphores, as datatrove's pool has
with exit_if_interrupt_stalls(grace_s=0.5):
    try:
        print("ready", flush=True)
        time.sleep(60)
    finally:
        time.sleep(60)  # the unwinding stalls, as a pool whose worker died holding its lock would
"""


def test_a_stalled_interrupt_still_ends_the_run():
    process = subprocess.Popen(
        [sys.executable, "-c", STALLING], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready"
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and time.monotonic() - started < 20
    assert stderr.strip().splitlines()[-1] == INTERRUPTED, stderr
    assert "leaked" not in stderr, "the semaphores are unlinked before the forced exit"


FORK_DURING_SIGTERM = """
import os, signal, sys
from finemill.pipeline.patches.worker_interrupts import quiet_pool_worker

armed = False
def terminate_self():  # SIGTERM while the fork's at-fork callbacks run, as datatrove's pool sends it
    if armed:
        os.kill(os.getpid(), signal.SIGTERM)
os.register_at_fork(after_in_parent=terminate_self)
with quiet_pool_worker():
    armed = True
    try:
        pid = os.fork()
    except SystemExit as e:
        print("task ended", e.code)
        sys.exit(0)
    if pid == 0:
        os._exit(0)
    print("the task went on")
"""


def test_a_sigterm_during_the_tasks_fork_ends_the_task_quietly():
    """A SIGTERM that lands while the task forks (its extraction process) ends the task once the fork has
    returned, instead of inside the fork's callbacks, where Python prints it and the task goes on."""
    result = subprocess.run(
        [sys.executable, "-c", FORK_DURING_SIGTERM], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "task ended 143", result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


SIGTERM_IN_A_DEL = """
import os, signal, sys, time
from finemill.pipeline.patches.worker_interrupts import quiet_pool_worker

class Buffer:
    def __del__(self):  # SIGTERM while a __del__ runs: Python swallows the SystemExit raised there
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)

with quiet_pool_worker():
    try:
        Buffer()
        time.sleep(30)
        print("the task went on")
    except SystemExit as e:
        print("task ended", e.code)
"""


def test_a_sigterm_swallowed_in_a_del_still_ends_the_task_quietly():
    """datatrove's pool stops a running task with one SIGTERM. Landing in a `__del__` (regex's, in a real
    run), its SystemExit was printed and dropped; the task went on, then waited for the pool's queue lock,
    and Ctrl-C hung until the 30 s grace, warning of leaked semaphores. It is now raised again outside."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", SIGTERM_IN_A_DEL], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "task ended 143", result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    assert time.monotonic() - started < 10, "ended by the exit raised again, not by the hard-exit timer"


class SlowCounter:
    """datatrove's completed-task counter, slow to update, so that a SIGTERM lands in the bookkeeping that
    follows a task, while the worker holds the manager's lock on the counter."""

    def __init__(self, counting) -> None:
        self.counting = counting

    @property
    def value(self) -> int:
        return 0

    @value.setter
    def value(self, count: int) -> None:
        self.counting.set()
        time.sleep(30)


def end_a_task(completed_lock, counting, ranks) -> None:
    from finemill.pipeline.executors import QuietLocalExecutor

    executor = QuietLocalExecutor.__new__(QuietLocalExecutor)  # only its task wrapper is exercised
    executor._run_for_rank = lambda rank, local_rank: None
    executor._launch_run_for_rank(0, ranks, completed=SlowCounter(counting), completed_lock=completed_lock)


def test_a_sigterm_after_the_task_releases_the_pool_lock():
    """A pool worker stopped in datatrove's bookkeeping after its task releases the manager's lock; killed
    holding it, it left the other worker blocked there and Ctrl-C waited for the 30 s grace."""
    import multiprocess

    manager = multiprocess.Manager()
    try:
        completed_lock, counting, ranks = manager.Lock(), multiprocess.Event(), manager.Queue()
        ranks.put(0)
        worker = multiprocess.get_context("fork").Process(
            target=end_a_task, args=(completed_lock, counting, ranks)
        )
        worker.start()
        assert counting.wait(60)
        worker.terminate()  # SIGTERM, as datatrove's pool stops its workers
        worker.join(30)
        assert worker.exitcode == 128 + signal.SIGTERM
        assert completed_lock.acquire(timeout=5), "the lock was released"
    finally:
        manager.shutdown()
