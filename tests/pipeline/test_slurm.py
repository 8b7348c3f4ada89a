"""`finemill run --executor slurm`: one job array per stage through datatrove's SlurmPipelineExecutor, each
depending on the one before; finemill submits and exits, and `finemill stats OUT` builds stats.json once the
jobs have finished.

Two tests: the submitted scripts and their dependencies, with a fake `sbatch` on PATH (always runs), and a
real run on a Slurm cluster when one answers (`sinfo`; CI starts a single-node one with .ci/slurm-up)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from finemill.pipeline.recipe import DEFAULT_RECIPE
from tests.conftest import kept_documents

FINEMILL = [sys.executable, "-m", "finemill.cli"]
STAGES = ["filter", "buckets", "clusters", "finalize"]

FAKE_SBATCH = """#!/usr/bin/env bash
# Records each submission (arguments, script) in $FAKE_SLURM and answers like sbatch.
n=$(( $(cat "$FAKE_SLURM/last" 2>/dev/null || echo 100) + 1 ))
echo "$n" > "$FAKE_SLURM/last"
printf '%s\\n' "$@" > "$FAKE_SLURM/$n.args"
cp "${@: -1}" "$FAKE_SLURM/$n.sh"
echo "Submitted batch job $n"
"""


def sbatch_lines(script: str) -> dict[str, str]:
    return dict(re.findall(r"^#SBATCH --([\w-]+)=?(.*)$", script, flags=re.M))


@pytest.fixture
def fake_sbatch(tmp_path, monkeypatch) -> Path:
    bin_dir, record = tmp_path / "bin", tmp_path / "submitted"
    bin_dir.mkdir()
    record.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH)
    (bin_dir / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM", str(record))
    return record


def test_slurm_submits_one_array_per_stage_each_after_the_one_before(fake_sbatch, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        DEFAULT_RECIPE.read_text()
        + """
executor:
  kind: slurm
  slurm: {partition: cpu, time: "01:00:00", cpus_per_task: 2, mem_per_cpu_gb: 3, sbatch_args: {account: proj}}
"""
    )
    out = tmp_path / "out"
    result = subprocess.run(
        [*FINEMILL, "run", str(recipe), "-o", str(out), "--qos", "high"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    submitted = {}  # job name -> (job id, sbatch arguments, #SBATCH settings, script)
    for args_file in sorted(fake_sbatch.glob("*.args")):
        script = (fake_sbatch / f"{args_file.stem}.sh").read_text()
        settings = sbatch_lines(script)
        is_merge = "merge_stats" in script  # datatrove's small job merging each stage's own stats.json
        submitted[settings["job-name"] + ("/merge" if is_merge else "")] = (
            args_file.stem,
            args_file.read_text().split("\n"),
            settings,
            script,
        )
    assert sorted(submitted) == sorted(
        [f"finemill-{s}" for s in STAGES] + [f"finemill-{s}/merge" for s in STAGES]
    )

    tasks = {"filter": 2, "buckets": 14, "clusters": 1, "finalize": 2}  # bundled sample: 2 files; 14 buckets
    previous = None
    for stage in STAGES:
        job_id, args, settings, script = submitted[f"finemill-{stage}"]
        assert settings["partition"] == "cpu" and settings["time"] == "01:00:00" and settings["qos"] == "high"
        assert (
            settings["cpus-per-task"] == "2"
            and settings["mem-per-cpu"] == "3G"
            and settings["account"] == "proj"
        )
        assert (
            settings["array"] == f"0-{tasks[stage] - 1}%{min(2, tasks[stage])}"
        )  # recipe workers: 2 at once
        assert Path(settings["output"]).parent == out / "logs" / stage / "slurm_logs"
        assert f"launch_pickled_pipeline {out / 'logs' / stage / 'executor.pik'}" in script
        assert (out / "logs" / stage / "executor.pik").is_file()
        dependency = [a for a in args if a.startswith("--dependency=")]
        assert dependency == ([f"--dependency=afterok:{previous}"] if previous else [])
        assert f"--dependency=afterok:{job_id}" in submitted[f"finemill-{stage}/merge"][3]
        assert job_id in result.stdout
        previous = job_id
    assert f"finemill stats {out}" in result.stdout

    # Before the jobs ran, `finemill stats` says what is unfinished, in one line.
    stats = subprocess.run([*FINEMILL, "stats", str(out)], capture_output=True, text=True, timeout=120)
    assert stats.returncode == 2 and "unfinished tasks" in stats.stderr and "filter 2/2" in stats.stderr
    assert len(stats.stderr.strip().splitlines()) == 1


def slurm_partition() -> str:
    """The default partition of a Slurm cluster that answers, or skip."""
    if not shutil.which("sbatch") or not shutil.which("sinfo"):
        pytest.skip("no Slurm here (CI starts one with .ci/slurm-up)")
    try:
        result = subprocess.run(["sinfo", "-h", "-o", "%P %t"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.skip("Slurm does not answer")
    partitions = [line.split()[0] for line in result.stdout.splitlines() if "idle" in line or "mix" in line]
    if result.returncode != 0 or not partitions:
        pytest.skip(f"no idle Slurm partition: {result.stderr.strip() or result.stdout.strip()}")
    return next((p for p in partitions if p.endswith("*")), partitions[0]).rstrip("*")


def wait_for_jobs(job_ids: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        queued = subprocess.run(
            ["squeue", "-h", "-j", ",".join(job_ids)], capture_output=True, text=True
        ).stdout
        if not queued.strip():
            return
        time.sleep(3)
    pytest.fail(f"Slurm jobs {job_ids} still queued after {timeout_s} s")


def partition_nodes(partition: str) -> dict[str, int]:
    """{node name: CPUs} of a Slurm partition."""
    listing = subprocess.run(
        ["sinfo", "-h", "-N", "-p", partition, "-o", "%N %c"], capture_output=True, text=True, timeout=20
    ).stdout
    return {name: int(cpus.rstrip("+")) for name, cpus in (line.split() for line in listing.splitlines())}


@dataclass
class SlurmRun:
    out: Path
    nodes: dict[str, int]  # the partition's nodes and their CPUs


@pytest.fixture(scope="module")
def real_slurm_run(small_local_run, tmp_path_factory) -> SlurmRun:
    """The small run submitted to a real Slurm's default partition, waited for, and its stats built. With
    two or more nodes, each task asks for a whole node's CPUs, so tasks running at once run on different
    nodes."""
    partition = slurm_partition()
    nodes = partition_nodes(partition)
    cpus = ["--cpus-per-task", str(min(nodes.values()))] if len(nodes) > 1 else []
    out = tmp_path_factory.mktemp("slurm") / "out"
    result = subprocess.run(
        [*FINEMILL, "run", str(small_local_run.recipe), "-o", str(out), "--executor", "slurm"]
        + ["--partition", partition, "--time", "00:20:00", "--mem-per-cpu-gb", "1", *cpus],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    job_ids = re.findall(r"^\s+(\d+)\s+finemill-", result.stdout, flags=re.M)
    assert len(job_ids) == len(STAGES)
    assert not (out / "stats.json").exists(), "finemill exits after submitting"
    wait_for_jobs(job_ids, timeout_s=900)

    stats_cli = subprocess.run([*FINEMILL, "stats", str(out)], capture_output=True, text=True, timeout=120)
    assert stats_cli.returncode == 0, (stats_cli.stderr, sorted(out.glob("logs/*/slurm_logs/*")))
    return SlurmRun(out, nodes)


@pytest.mark.slow
def test_real_slurm_run_gives_the_local_documents_and_stats(real_slurm_run, small_local_run):
    out = real_slurm_run.out
    stats = json.loads((out / "stats.json").read_text())
    local = json.loads((small_local_run.out / "stats.json").read_text())
    pd.testing.assert_frame_equal(kept_documents(out), kept_documents(small_local_run.out))
    assert stats["executor"] == "slurm" and stats["documents"] == local["documents"]
    assert [s["docs_out"] for s in stats["steps"]] == [s["docs_out"] for s in local["steps"]]
    assert stats["wall_time_s"] > 0


@pytest.mark.slow
def test_real_slurm_run_on_two_nodes_runs_tasks_on_each(real_slurm_run):
    if len(real_slurm_run.nodes) < 2:
        pytest.skip("a one-node Slurm (`source .ci/slurm-up DIR 2` starts two node daemons)")
    ran_on = {}  # task log -> the Slurm node it names
    for log in sorted((real_slurm_run.out / "logs").glob("*/logs/task_*.log")):
        names = re.findall(r"Slurm node (\S+)", log.read_text())
        ran_on[str(log.relative_to(real_slurm_run.out / "logs"))] = names[-1] if names else None
    assert ran_on and None not in ran_on.values(), ran_on  # every task names its node
    # filter: 3 tasks, 2 at once, each taking a whole node's CPUs: the first two ran on different nodes
    filter_nodes = {node for log, node in ran_on.items() if log.startswith("filter/")}
    assert len(filter_nodes) == 2 and filter_nodes <= set(real_slurm_run.nodes), ran_on
