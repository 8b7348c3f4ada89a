"""The recipe on a real Ray cluster (a private head on this machine, loopback only) gives the local executor's
documents, and stats.json is built from the Ray tasks' stats files as from local ones."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from finemill.pipeline.recipe import load_recipe
from finemill.pipeline.run import run_recipe
from tests.conftest import kept_documents

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.usefixtures("one_ray_on_this_machine")

TIMING = ("time_s", "docs_per_s")


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
