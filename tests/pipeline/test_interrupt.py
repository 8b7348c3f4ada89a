"""The parts of Ctrl-C and SIGTERM handling in `finemill run`, one at a time: the extraction process lives
through Ctrl-C, a patch steps aside where datatrove changed, a stalled interrupt still ends the run, and a
SIGTERM landing in a fork, a `__del__` or the pool's bookkeeping ends its task quietly. Whole runs stopped
and resumed: test_stop_and_resume.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from finemill.pipeline.interrupt import INTERRUPTED


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
