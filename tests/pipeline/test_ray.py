"""The recipe on Ray gives the local executor's documents and counts.

- One node: the private head `finemill run --executor ray` starts on this machine (loopback only); stats.json
  is built from the Ray tasks' stats files as from local ones.
- Two nodes (a head and a worker, one CPU each, both on this machine's loopback, started with Ray's own
  `ray.cluster_utils.Cluster`), through `finemill run --ray-address`: tasks run on both nodes, the worker node
  is lost mid-stage, its task reruns on the head; the same command again changes nothing.

Both in one file: under `-n 2 --dist loadfile` a file runs in one process, so the two never start Ray at once
(two Ray sessions on one machine share its defaults: /tmp/ray, the latest-session pointer).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from finemill.pipeline.recipe import load_recipe
from finemill.pipeline.run import run_recipe
from tests.conftest import assert_same_outputs, kept_documents

ray = pytest.importorskip("ray")
TIMING = ("time_s", "docs_per_s")
STAGES = ("filter", "buckets", "clusters", "finalize")


@dataclass
class TwoNodes:
    cluster: object  # ray.cluster_utils.Cluster
    worker: object  # its worker node (ray._private.node.Node)


@pytest.fixture  # stopped as its test ends: the one-node test must not find it running
def two_nodes(monkeypatch):
    from ray.cluster_utils import Cluster

    from finemill.pipeline.executors import RAY_WORKER_NICENESS
    from finemill.pipeline.patches.ray_loopback import loopback_only

    # as docs/scaling-out.md tells a user starting their own nodes: tasks at the default priority, not Ray's 15
    monkeypatch.setenv(RAY_WORKER_NICENESS, "0")
    with loopback_only():  # both nodes listen on 127.0.0.1 only
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
    yield TwoNodes(cluster, worker)
    cluster.shutdown()


def ray_run(recipe: Path, out: Path, address: str) -> list[str]:
    return [sys.executable, "-m", "finemill.cli", "run", str(recipe), "-o", str(out), "--quiet"] + [
        "--executor",
        "ray",
        "--ray-address",
        address,
        "--mem-per-cpu-gb",
        "1",
    ]


# The cluster listens on loopback only: the driver must not swap 127.0.0.1 for this machine's address.
LOOPBACK_DRIVER = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def task_nodes(out: Path, stage: str) -> dict[str, str]:
    """{task log: the Ray node id it names} for a stage's finished tasks."""
    nodes = {}
    for log in sorted((out / "logs" / stage / "logs").glob("task_*.log")):
        found = re.findall(r"Ray node (\w+) \(", log.read_text())
        nodes[log.name] = found[-1] if found else None
    return nodes


def assert_local_results(out: Path, reference: Path) -> None:
    """`out` holds exactly the local run's kept documents (ids and text) and per-step counts."""
    pd.testing.assert_frame_equal(kept_documents(out), kept_documents(reference))
    stats = json.loads((out / "stats.json").read_text())
    local = json.loads((reference / "stats.json").read_text())
    assert stats["executor"] == "ray" and stats["documents"] == local["documents"]
    counts = [{k: v for k, v in s.items() if k not in TIMING} for s in stats["steps"]]
    assert counts == [{k: v for k, v in s.items() if k not in TIMING} for s in local["steps"]]


def wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout_s} s")
        time.sleep(0.2)


def lose_node(cluster, node) -> None:
    """The node's machine gone at once: its Ray processes killed, and every process they had started (on one
    machine, a task's pool process outlives its killed Ray worker and would go on writing into OUT)."""
    import psutil

    tree = []
    for process in node.live_processes():  # (kind, Popen) of the raylet, its agents, ...
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(process[1].pid)
            tree += [root, *root.children(recursive=True)]
    cluster.remove_node(node, allow_graceful=False)
    for process in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


@pytest.mark.slow
def test_two_node_ray_run_uses_both_nodes_and_survives_losing_one(two_nodes, small_local_run, tmp_path):
    out = tmp_path / "ray2"
    command = ray_run(small_local_run.recipe, out, two_nodes.cluster.address)
    head, worker = two_nodes.cluster.head_node.node_id, two_nodes.worker.node_id
    run = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=LOOPBACK_DRIVER
    )
    try:
        # The last stage with two tasks reporting progress at once, on nodes of one CPU each: one runs on
        # the worker node. Then the worker node is lost.
        progress = out / "logs" / "finalize" / "progress"
        done = out / "logs" / "finalize" / "completions"
        wait_until(
            lambda: len(list(progress.glob("*.json"))) >= 2 or run.poll() is not None,
            500,
            "two finalize tasks",
        )
        if run.poll() is not None:
            pytest.fail(
                f"the run ended (exit {run.returncode}) before its finalize stage: {run.stderr.read()[-3000:]}"
            )
        assert not list(done.glob("*")), "the finalize stage is still running"
        lose_node(two_nodes.cluster, two_nodes.worker)
        stdout, stderr = run.communicate(timeout=600)
    finally:
        run.kill()
    assert run.returncode == 0, stderr[-3000:]
    assert all(None not in task_nodes(out, stage).values() for stage in STAGES), "each log names its node"
    # filter: 3 tasks, 2 at once, one CPU per node: the first two ran on different nodes
    assert set(task_nodes(out, "filter").values()) == {head, worker}
    assert "RayActorError" in stderr  # datatrove's warning: the lost task is run again
    assert set(task_nodes(out, "finalize").values()) == {head}, "the lost task reran on the head"
    assert_local_results(out, small_local_run.out)
    assert_same_outputs(out, small_local_run.out)

    # The rerun (the same command) finds every task done: the same documents, nothing lost or doubled.
    rerun = subprocess.run(command, capture_output=True, text=True, env=LOOPBACK_DRIVER, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_local_results(out, small_local_run.out)
    assert_same_outputs(out, small_local_run.out)


@pytest.mark.slow
def test_ray_run_gives_the_local_documents_and_stats(small_local_run, tmp_path):
    from finemill.pipeline.executors import make_backend

    out = tmp_path / "ray"
    recipe = load_recipe(
        small_local_run.recipe,
        {"output": str(out), "executor": {"kind": "ray", "ray": {"mem_per_cpu_gb": 1}}},
    )
    environment = dict(os.environ)
    with make_backend(recipe.executor).session():  # the session `finemill run --executor ray` starts
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:"), (
            "the Ray head listens on loopback only"
        )
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
        # its tasks run at finemill's own priority, not at Ray's default nice 15
        assert ray.get(ray.remote(lambda: os.nice(0)).remote()) == os.nice(0)
        stats = run_recipe(recipe, progress=False)
    assert not ray.is_initialized(), "the Ray finemill started is stopped"
    assert dict(os.environ) == environment, "ray.init's variables (RAY_AUTH_MODE, ...) are not left behind"

    local = json.loads((small_local_run.out / "stats.json").read_text())
    pd.testing.assert_frame_equal(kept_documents(out), kept_documents(small_local_run.out))
    assert len(kept_documents(out)) > 0 and stats["reader"]["files"] == len(recipe.input.paths) >= 2
    assert stats["executor"] == "ray" and stats["documents"] == local["documents"]
    counts = [{k: v for k, v in s.items() if k not in TIMING} for s in stats["steps"]]
    assert counts == [{k: v for k, v in s.items() if k not in TIMING} for s in local["steps"]]
    for stage in ("filter", "buckets", "clusters", "finalize"):  # datatrove's Ray tasks log like local ones
        assert list((out / "logs" / stage / "logs").glob("task_*.log"))
