"""Which datatrove executor runs the stages of a run: the one place that knows local, Ray and Slurm.

A backend turns each planned stage into a datatrove executor, and says how they run:

    local   LocalPipelineExecutor, stage after stage on this machine (processes)
    ray     RayPipelineExecutor, stage after stage on a Ray cluster (a new one on this machine by default)
    slurm   SlurmPipelineExecutor, one job array per stage, each depending on the one before; finemill
            submits them all and exits (`finemill stats OUT` builds stats.json once they have finished)

Every backend writes the same datatrove bookkeeping under OUT/logs/<stage>/ (per-task stats, logs and
completion markers), which is what stats.json is built from and what a rerun skips.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

import multiprocess
from datatrove.executor import LocalPipelineExecutor, RayPipelineExecutor, SlurmPipelineExecutor
from datatrove.executor.base import PipelineExecutor

from finemill.errors import FinemillError
from finemill.pipeline import worker_preload
from finemill.pipeline.patches import PatchedExecutor
from finemill.pipeline.patches.ray_loopback import loopback_only
from finemill.pipeline.patches.worker_interrupts import (
    quiet_pool_worker,
    start_forkserver_ignoring_interrupts,
)
from finemill.pipeline.plan import Stage
from finemill.pipeline.progress import ProgressReporting
from finemill.pipeline.recipe import ExecutorSpec, RaySpec, SlurmSpec
from finemill.pipeline.task_logging import verbose
from finemill.pipeline.task_nodes import logging_the_node, ray_node_line, slurm_node_line


class QuietLocalExecutor(PatchedExecutor, ProgressReporting, LocalPipelineExecutor):
    """LocalPipelineExecutor whose tasks log to files, with warnings only on the terminal, report their
    progress (`finemill.pipeline.progress`), and leave Ctrl-C to finemill's process: its workers ignore
    SIGINT and end quietly when it stops the pool (`finemill.pipeline.patches.worker_interrupts`)."""

    preload: Sequence[
        str
    ] = ()  # what the forkserver loads for the workers (`finemill.pipeline.worker_preload`)

    def run(self):
        if self.workers > 1:  # datatrove forks a pool from the forkserver; one worker runs the tasks here
            with worker_preload.loading(self.preload):  # started before the pool forks its first worker
                start_forkserver_ignoring_interrupts()
        return super().run()

    def _launch_run_for_rank(self, *args, **kwargs):
        if multiprocess.parent_process() is None:  # one worker: tasks run here, in finemill's process
            return super()._launch_run_for_rank(*args, **kwargs)
        # A pool worker, for the task and datatrove's bookkeeping after it: a SIGTERM there must release the
        # manager's lock on the completed-task counter, or the other worker blocks on it as it ends.
        with quiet_pool_worker():
            return super()._launch_run_for_rank(*args, **kwargs)


class PatchedRayExecutor(PatchedExecutor, ProgressReporting, RayPipelineExecutor):
    """datatrove's Ray executor; its Ray workers install finemill's patches (`finemill.pipeline.patches`),
    report their progress (`finemill.pipeline.progress`: OUT is on a filesystem they share), and name the
    Ray node they ran on in each task's log (`finemill.pipeline.task_nodes`)."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        with logging_the_node(self.pipeline, ray_node_line):
            return super()._run_for_rank(rank, local_rank, node_rank)


class PatchedSlurmExecutor(PatchedExecutor, SlurmPipelineExecutor):
    """datatrove's Slurm executor; its jobs install finemill's patches (`finemill.pipeline.patches`) and
    name the Slurm node they ran on in each task's log (`finemill.pipeline.task_nodes`)."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        with logging_the_node(self.pipeline, slurm_node_line):
            return super()._run_for_rank(rank, local_rank, node_rank)


class Backend(Protocol):
    # True: run() of the last executor only submits the stages (chained with depends=) and returns.
    submits: ClassVar[bool]

    def session(self) -> contextlib.AbstractContextManager: ...

    def executor(
        self,
        stage: Stage,
        logs: Path,
        workers: int,
        previous: PipelineExecutor | None,
        progress: Path | None = None,
    ) -> PipelineExecutor: ...


@dataclass
class LocalBackend:
    submits: ClassVar[bool] = False
    preload: list[str] = field(default_factory=list)  # one list, shared by this run's executors (`executor`)

    def session(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def executor(
        self,
        stage: Stage,
        logs: Path,
        workers: int,
        previous: PipelineExecutor | None,
        progress: Path | None = None,
    ) -> PipelineExecutor:
        executor = QuietLocalExecutor(
            stage.pipeline, tasks=stage.tasks, workers=min(workers, stage.tasks), logging_dir=str(logs)
        )
        executor.progress_folder = str(progress) if progress else None  # where tasks report (progress.py)
        # One forkserver serves every stage's pool and starts with the first stage: it loads what the workers
        # of every stage need. The run plans all stages before it runs any, so by then this list has them all.
        self.preload[:] = dict.fromkeys([*self.preload, *worker_preload.entries(stage.pipeline)])
        executor.preload = self.preload
        return executor


@contextlib.contextmanager
def environment_restored() -> Iterator[None]:
    """os.environ as it was, afterwards: ray.init leaves variables behind after its shutdown (RAY_AUTH_MODE=token
    among them), which a Ray started later from the same process, or its child processes, would inherit."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


RAY_WORKER_NICENESS = "RAY_worker_niceness"  # Ray's `worker_niceness` setting (default 15), by environment


@dataclass
class RayBackend:
    spec: RaySpec
    submits: ClassVar[bool] = False

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Connected to the Ray cluster for the whole run; a Ray started here is stopped at the end."""
        try:
            import ray
        except ImportError:
            raise FinemillError('the Ray executor needs ray: pip install -e ".[ray]"') from None
        if ray.is_initialized():  # a caller (a notebook, a test) already chose the cluster
            yield
            return
        with environment_restored():
            yield from self._connected(ray)

    def _connected(self, ray) -> Iterator[None]:
        if self.spec.address is None:
            # Ray runs its workers at nice 15, below every other process of the machine: on a busy machine
            # the run's tasks would wait behind anything at the default priority (the local executor's
            # workers run at finemill's own). Read by the raylet this starts; os.environ is restored after.
            os.environ[RAY_WORKER_NICENESS] = str(os.nice(0))
            with loopback_only():  # a private Ray on this machine: nothing listens on the network
                ray.init(
                    address="local", include_dashboard=False, log_to_driver=verbose(), configure_logging=False
                )
        else:
            print(
                f"Ray cluster {self.spec.address}: finemill must be installed on every node, and the output "
                "folder on a filesystem they all share",
                file=sys.stderr,
            )
            ray.init(address=self.spec.address, log_to_driver=verbose(), configure_logging=False)
        try:
            yield
        finally:
            ray.shutdown()

    def executor(
        self,
        stage: Stage,
        logs: Path,
        workers: int,
        previous: PipelineExecutor | None,
        progress: Path | None = None,
    ) -> PipelineExecutor:
        # No depends=: stages run one after the other from here, and a failed stage stops the run (datatrove's
        # depends= would wait forever for a dependency with failed tasks).
        executor = PatchedRayExecutor(
            stage.pipeline,
            tasks=stage.tasks,
            workers=min(workers, stage.tasks),
            logging_dir=str(logs),
            cpus_per_task=self.spec.cpus_per_task,
            mem_per_cpu_gb=self.spec.mem_per_cpu_gb,
        )
        executor.progress_folder = str(progress) if progress else None
        return executor


@dataclass
class SlurmBackend:
    spec: SlurmSpec
    submits: ClassVar[bool] = True

    def session(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def executor(
        self,
        stage: Stage,
        logs: Path,
        workers: int,
        previous: PipelineExecutor | None,
        progress: Path | None = None,
    ) -> PipelineExecutor:
        spec = self.spec  # no progress: finemill submits the jobs and exits
        return PatchedSlurmExecutor(
            stage.pipeline,
            tasks=stage.tasks,
            workers=min(workers, stage.tasks),
            logging_dir=str(logs),
            depends=previous,  # afterok: a stage starts only when every task of the one before succeeded
            job_name=f"{spec.job_name}-{stage.name}",
            partition=spec.partition,
            time=spec.time,
            cpus_per_task=spec.cpus_per_task,
            mem_per_cpu_gb=spec.mem_per_cpu_gb,
            qos=spec.qos,
            env_command=spec.env_command,
            sbatch_args=dict(spec.sbatch_args or {}),
            max_array_size=spec.max_array_size,
            tasks_per_job=spec.tasks_per_job,
        )


def make_backend(spec: ExecutorSpec) -> Backend:
    backends = {
        "local": LocalBackend,
        "ray": lambda: RayBackend(spec.ray),
        "slurm": lambda: SlurmBackend(spec.slurm),
    }
    return backends[spec.kind]()


def submitted_job_ids(executors: list[PipelineExecutor]) -> dict[str, str]:
    """{job name: Slurm job id} of the stages submitted (a finished stage has none: datatrove skips it)."""
    return {e.job_name: str(e.job_id) for e in executors if e.job_id not in (None, -1)}
