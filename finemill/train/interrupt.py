"""Ctrl-C and SIGTERM during training: finish the step, save a checkpoint, exit, instead of losing the run.

While a `StopSignals` block is active, SIGINT (Ctrl-C) and SIGTERM (what Slurm and torchrun send before
they kill a job) only record that a stop was asked for; the training loop reads that at a step boundary,
saves a checkpoint of the finished step and raises `RunInterrupted`. Further signals while the stop is
pending are ignored: torchrun forwards the terminal's Ctrl-C to ranks that already received it, and a
second signal must not abort the save. SIGKILL (or Ctrl-\\) still ends the process at once.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(KeyboardInterrupt):
    """Training stopped on a signal after saving; `exit_code` is the shell's 128 + signal number.
    `shown` is False on the ranks other than 0, which stay quiet."""

    def __init__(self, message: str, signum: int, shown: bool = True) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum
        self.shown = shown


class StopSignals:
    """Context manager: SIGINT/SIGTERM set `signum` instead of interrupting the code that runs.

    Handlers can only be installed from the main thread; elsewhere (training started from a thread)
    nothing is installed and signals behave as before.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            # None: the previous handler was not installed from Python; the default is the closest.
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum


def ignore_stop_signals(worker_id: int = 0) -> None:
    """DataLoader `worker_init_fn`: loader workers ignore the SIGINT/SIGTERM sent to the whole process group
    (torch's default lets SIGTERM kill them), so they keep serving batches while the training process
    finishes its step; they end with it."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
