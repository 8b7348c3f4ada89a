"""CPU time and peak memory of a `finemill run` child process, per stage, from outside it.

A run writes its stages' step times (stats.json, OUT/logs/<stage>/stats.json) and when each stage started
and finished (OUT/logs/<stage>/executor.json is written at its start, completions/<rank> at each task's
end), but neither CPU time nor memory. The sampler polls the run's process tree (psutil) every INTERVAL_S:

- a process first seen while stage S is the newest one with an executor.json belongs to S, and S is
  charged its user + system seconds (as last seen, so up to INTERVAL_S of a process's CPU before it exits
  is lost; a stage's pool lives as long as the stage, so that is a fraction of a second per stage);
- the run's own process (it runs the one-task clusters stage itself, and plans, merges stats and writes the
  card) is charged, interval by interval, to the stage running then, or to `other` outside any stage;
- a stage's peak RSS per worker is the largest resident set of one of its processes (shared pages, as the
  memory-mapped URL blocklists, count in every process that maps them, as RSS always counts them).
  The forkserver datatrove starts its pools from does no stage work and counts in no stage.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psutil

INTERVAL_S = 0.1
OTHER = "other"


@dataclass
class StageUse:
    cpu_s: float = 0.0
    peak_rss: int = 0


@dataclass
class _Seen:
    stage: str
    cpu_s: float = 0.0


@dataclass
class TreeSampler:
    """Polls the process tree under `pid` in a thread until `stop()`; `stages` holds the result."""

    pid: int
    logs: Path
    stages: dict[str, StageUse] = field(default_factory=dict)
    _seen: dict[int, _Seen] = field(default_factory=dict)
    _root_cpu: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, StageUse]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for seen in self._seen.values():
            self._use(seen.stage).cpu_s += seen.cpu_s
        return self.stages

    def _use(self, stage: str) -> StageUse:
        return self.stages.setdefault(stage, StageUse())

    def _current_stage(self) -> str:
        started = [(p.stat().st_mtime, p.parent.name) for p in self.logs.glob("*/executor.json")]
        return max(started)[1] if started else OTHER

    def _loop(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                self._sample(root)
            except psutil.NoSuchProcess:  # the run itself has ended
                return
            self._stop.wait(INTERVAL_S)

    def _sample(self, root: psutil.Process) -> None:
        stage = self._current_stage()
        with root.oneshot():
            times, rss = root.cpu_times(), root.memory_info().rss
        cpu = times.user + times.system
        self._use(stage).cpu_s += cpu - self._root_cpu
        self._root_cpu = cpu
        root_use = self._use(stage)
        root_use.peak_rss = max(root_use.peak_rss, rss)
        for child in root.children(recursive=True):
            try:
                with child.oneshot():
                    # datatrove's pools start from a forkserver the run's process spawned; its workers are
                    # forks of it (same command line), so only the direct child is the server itself
                    server = child.ppid() == self.pid and "forkserver" in " ".join(child.cmdline())
                    times, rss = child.cpu_times(), child.memory_info().rss
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            seen = self._seen.setdefault(child.pid, _Seen(OTHER if server else stage))
            seen.cpu_s = times.user + times.system
            if not server:
                use = self._use(seen.stage)
                use.peak_rss = max(use.peak_rss, rss)

    def descendants_cpu_s(self) -> float:
        """CPU seconds of every process below the run's own, as last seen."""
        return sum(seen.cpu_s for seen in self._seen.values())


def stage_walls(logs: Path) -> dict[str, float]:
    """Each stage's wall seconds from what the run wrote: its executor.json (written at its start) to its
    last task's completion marker."""
    walls = {}
    for executor in logs.glob("*/executor.json"):
        ends = [p.stat().st_mtime for p in (executor.parent / "completions").glob("*")]
        if ends:
            walls[executor.parent.name] = max(ends) - executor.stat().st_mtime
    return walls


def wait_sampled(process: subprocess.Popen, logs: Path) -> tuple[int, float, dict[str, StageUse]]:
    """Wait for `process` while sampling it: (exit code, CPU seconds of the whole run, per-stage use).
    The total is the run's own process (os.wait4, exact) and its descendants as last seen: the forkserver and
    its workers are not the run's children, so wait4 does not count them."""
    sampler = TreeSampler(process.pid, logs).start()
    _, status, usage = os.wait4(process.pid, 0)
    stages = sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime + sampler.descendants_cpu_s(), stages
