"""Ctrl-C always ends `finemill run`, even where stopping the workers hangs.

On Ctrl-C finemill's process unwinds: datatrove's pool is terminated, each task's cleanup runs, and the
CLI prints one line. Should that unwinding ever stall (a pool worker killed while holding the pool's
queue lock), the user would be left at a frozen terminal. `exit_if_interrupt_stalls()` starts a timer at
the first Ctrl-C; if the process is still there after `grace_s`, it kills its own worker processes and
exits with the same line and status 130. Nothing is lost: unfinished tasks have no completion marker and
rerun, as after `kill -9` (tests/pipeline/test_kill.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

GRACE_S = 30.0
INTERRUPTED = "finemill run: interrupted; rerun the same command to resume"


def _force_exit() -> None:
    import multiprocess

    for child in multiprocess.active_children():  # datatrove's pool workers
        child.kill()
    _unlink_named_semaphores()
    print(INTERRUPTED, file=sys.stderr, flush=True)
    os._exit(130)


def _unlink_named_semaphores() -> None:
    """Unlink the pool's named semaphores, as `multiprocess` does at a normal exit, which os._exit skips: left,
    they would stay in /dev/shm and its resource tracker would print a warning after finemill's last line.
    Reads multiprocess's registry of exit finalizers (private: where it has changed, the warning stays)."""
    from multiprocess import util
    from multiprocess.synchronize import SemLock

    for finalizer in list(getattr(util, "_finalizer_registry", {}).values()):
        if getattr(finalizer, "_callback", None) is SemLock._cleanup:
            finalizer()


@contextlib.contextmanager
def exit_if_interrupt_stalls(grace_s: float = GRACE_S) -> Iterator[None]:
    """Within the block, the first SIGINT raises KeyboardInterrupt as usual and arms a `grace_s` timer that
    ends the process if it has not ended by itself. Only from the main thread (signals are delivered there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum, frame):
        signal.signal(signal.SIGINT, signal.default_int_handler)
        timer = threading.Timer(grace_s, _force_exit)
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
