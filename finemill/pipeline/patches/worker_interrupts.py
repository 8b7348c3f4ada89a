"""Ctrl-C in `finemill run`: one line from finemill, no traceback from any worker.

Ctrl-C sends SIGINT to every process of the terminal's foreground group: finemill, datatrove's local pool
workers and the extraction process each of them forks (`ExtractorSandbox._worker`). Each one raised
KeyboardInterrupt wherever it was and printed its traceback. With this patch only finemill's own process
takes the interrupt; it stops the pool (datatrove's pool terminates its workers with SIGTERM when the run
is interrupted), and every worker winds down quietly:

- `start_forkserver_ignoring_interrupts()`: the forkserver that forks datatrove's pool workers is started
  with SIGINT ignored, so the workers ignore it from birth (between tasks too);
- `quiet_pool_worker()`, around each task in a pool worker: SIGINT ignored (in case the forkserver
  was started by someone else), and SIGTERM ends the task with SystemExit, so its cleanup runs
  (the extraction process is stopped, the task log closed, a writer's partial file left hidden) and the
  worker exits without a traceback. A SystemExit that lands where Python swallows it (a `__del__`, a weakref
  callback) is raised again just after, silently; a task still unwinding `CLEANUP_GRACE_S` after SIGTERM
  ends its worker at once. Without these, the task went on after the pool had stopped waiting for it, then
  blocked on the pool's queue lock, and the pool's join hung until the 30 s grace of
  `finemill.pipeline.interrupt` ended the run;
- `install()`, process-wide: datatrove's extraction process ignores SIGINT and dies at once on SIGTERM, as
  a plain process does (it inherits the pool worker's handlers when forked).

A task cut short is not marked complete: the rerun runs it again, as after any failure.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from finemill.patches.check import outside_series, parameters_differ, skip

TESTED_SERIES = ("0.10.",)
WORKER_PARAMETERS = ("self", "conn", "extract_fn")
CLEANUP_GRACE_S = 10.0  # a task's cleanup (stopping its extraction process) takes well under a second
RAISE_AGAIN_AFTER_S = 0.05  # long enough for Python to have left the `__del__` that swallowed the exit

_ending = threading.Event()  # set once SIGTERM has asked this process's task to end


def _end_task(signum: int, frame) -> None:
    if not _ending.is_set():
        _ending.set()
        hard_exit = threading.Timer(CLEANUP_GRACE_S, os._exit, (128 + signum,))
        hard_exit.daemon = True
        hard_exit.start()
    raise SystemExit(128 + signum)  # multiprocessing ends a process on SystemExit without a traceback


def _raise_swallowed_exit_again(previous_hook: Callable) -> Callable:
    """An unraisable-exception hook: the task's SystemExit, swallowed where Python cannot raise (a `__del__`,
    a weakref callback), is not printed but sent again as SIGTERM, to land once Python is out of there."""

    def hook(unraisable) -> None:
        if _ending.is_set() and isinstance(unraisable.exc_value, SystemExit):
            again = threading.Timer(RAISE_AGAIN_AFTER_S, os.kill, (os.getpid(), signal.SIGTERM))
            again.daemon = True
            again.start()
            return
        previous_hook(unraisable)

    return hook


def _fork_holding_sigterm(fork: Callable[[], int]) -> Callable[[], int]:
    """os.fork with SIGTERM held back until it has returned. Python runs the fork's at-fork callbacks
    (logging's lock release among them) as Python code; a SIGTERM landing in one would raise SystemExit
    there, where Python prints it as an ignored exception, traceback included, and the task goes on."""

    def fork_holding_sigterm() -> int:
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            return fork()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)  # a held SIGTERM is handled here, in both

    return fork_holding_sigterm


@contextlib.contextmanager
def quiet_pool_worker() -> Iterator[None]:
    """In a pool worker, for one task: Ctrl-C is the parent's business; SIGTERM ends the task cleanly, also
    while the task forks its extraction process. Between tasks SIGTERM kills the worker at once, as before:
    datatrove's pool stops idle workers so at every stage's end, and one must never stop while holding the
    pool's queue lock."""
    fork, unraisable_hook = os.fork, sys.unraisablehook
    os.fork = _fork_holding_sigterm(fork)
    sys.unraisablehook = _raise_swallowed_exit_again(unraisable_hook)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _end_task)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.unraisablehook = unraisable_hook
        os.fork = fork


def start_forkserver_ignoring_interrupts() -> bool:
    """Start the forkserver of `multiprocess` (datatrove's pool) with SIGINT ignored, unless it runs already.
    False where it cannot be done from here (not the main thread, or datatrove's pool is not forkserver's)."""
    from datatrove.executor.local import LocalPipelineExecutor
    from multiprocess import forkserver

    start_method = inspect.signature(LocalPipelineExecutor.__init__).parameters.get("start_method")
    if start_method is None or start_method.default != "forkserver":
        skip(
            "datatrove",
            "pool workers ignore Ctrl-C",
            "LocalPipelineExecutor's default start method is not forkserver",
        )
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()  # its children restore the handlers it started with: SIGINT ignored
    finally:
        signal.signal(signal.SIGINT, previous)
    return True


def _target():
    from datatrove.pipeline.extractors.base import ExtractorSandbox

    return ExtractorSandbox


def install() -> bool:
    """datatrove's extraction process ignores SIGINT; False, with a warning, where datatrove has changed."""
    sandbox = _target()
    if getattr(sandbox._worker, "finemill_patched", False):
        return True
    problem = outside_series("datatrove", TESTED_SERIES) or parameters_differ(
        sandbox, "_worker", WORKER_PARAMETERS
    )
    if problem:
        skip("datatrove", "the extraction process ignores Ctrl-C", problem)
        return False
    datatrove_worker = sandbox._worker

    def _worker(self, conn, extract_fn):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the process that forked it decides when to stop it
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        return datatrove_worker(self, conn, extract_fn)

    _worker.finemill_patched = True
    sandbox._worker = _worker
    return True
