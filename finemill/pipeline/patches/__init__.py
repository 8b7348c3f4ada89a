"""The changes a run makes to datatrove and Ray, installed by the run, never by an import.

Process-wide, applied by `install()` (`finemill run` calls it first; every worker process through
`PatchedExecutor`):

    datatrove_dependency_check  one read of the installed distributions for datatrove's dependency check
    datatrove_task_logging      task logs in files only, warnings only on the terminal
    datatrove_progress_bars     datatrove's tqdm bars off (finemill shows one line per stage)
    worker_interrupts           datatrove's extraction process ignores Ctrl-C

Scoped: `ray_loopback.loopback_only()` while a private Ray starts, and `worker_interrupts`'
`start_forkserver_ignoring_interrupts()` / `quiet_pool_worker()`, used by the local executor.
docs/patches.md says what each changes, why, and which test shows datatrove's results unchanged.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    """Apply the process-wide patches, once per process (later calls do nothing)."""
    global _installed
    if _installed:
        return
    # imported here: they import datatrove's executors, which a module importing this one may not need
    from finemill.pipeline.patches import (
        datatrove_dependency_check,
        datatrove_progress_bars,
        datatrove_task_logging,
        worker_interrupts,
    )

    datatrove_dependency_check.install()
    datatrove_task_logging.install()
    datatrove_progress_bars.install()
    worker_interrupts.install()
    _installed = True


def _unpickled_with_patches(cls: type) -> object:
    install()  # before the executor's pipeline is unpickled: its steps run datatrove's dependency check
    return cls.__new__(cls)


class PatchedExecutor:
    """Mixin for a datatrove executor: every process that runs its tasks has finemill's patches installed.

    Workers (forkserver processes, Ray workers, Slurm jobs) receive the executor pickled. Unpickling it
    calls `install()` first, so the pipeline's steps, rebuilt just after, already use the patched
    dependency check; `_run_for_rank` installs them too, for an executor run in the process that made it.
    """

    def __reduce_ex__(self, protocol):
        return _unpickled_with_patches, (type(self),), self.__dict__

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        install()
        return super()._run_for_rank(rank, local_rank, node_rank)
