"""The recipe on a real Ray cluster (a private head on this machine, loopback only) gives the local executor's
documents, and stats.json is built from the Ray tasks' stats files as from local ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from finemill.pipeline.recipe import RaySpec, load_recipe
from finemill.pipeline.run import run_recipe
from finemill.pipeline.sample_crawl import write_sample_warc
from tests.conftest import SHARED_DATA

ray = pytest.importorskip("ray")

LIMIT = 20  # documents per file: every stage still runs, in seconds rather than minutes
REAL_FILES = ["crawl/sample-0000.warc.gz"]


def crawl_files(folder: Path) -> list[str]:
    """The bundled sample's two files, plus a real WARC file when ../shared/data is there: 3 tasks."""
    folder.mkdir()
    files = []
    for part in range(2):
        write_sample_warc(folder / f"sample-{part}.warc.gz", part=part, parts=2)
        files.append(str(folder / f"sample-{part}.warc.gz"))
    for relative in REAL_FILES:
        if (SHARED_DATA / relative).is_file():
            files.append(str(shutil.copy(SHARED_DATA / relative, folder / f"real-{Path(relative).name}")))
    return files


def recipe_for(files: list[str], out: Path, kind: str):
    recipe = load_recipe(None, {"input": files, "output": str(out), "workers": 2, "limit": LIMIT,
                                "executor": {"kind": kind, "ray": {"mem_per_cpu_gb": 1}}})
    for step in recipe.steps:
        if step.name == "extract":
            step.params["timeout"] = 60.0  # a 1 s extraction timeout depends on the load of the machine
        if step.name == "minhash":
            step.params["num_buckets"] = 4  # fewer bucket tasks (each a Ray actor); same for both runs
    return recipe


def kept(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "documents", columns=["id", "text"]).sort_values("id").reset_index(drop=True)


def test_ray_run_gives_the_local_documents_and_stats(tmp_path):
    from finemill.pipeline.executors import RayBackend

    files = crawl_files(tmp_path / "crawl")
    local = run_recipe(recipe_for(files, tmp_path / "local", "local"), progress=False)
    recipe = recipe_for(files, tmp_path / "ray", "ray")
    with RayBackend(RaySpec(mem_per_cpu_gb=1)).session():  # the session `finemill run --executor ray` starts
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:"), "the Ray head listens on loopback only"
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
        stats = run_recipe(recipe, progress=False)
    assert not ray.is_initialized(), "the Ray finemill started is stopped"

    pd.testing.assert_frame_equal(kept(tmp_path / "ray"), kept(tmp_path / "local"))
    assert len(kept(tmp_path / "ray")) > 0 and stats["reader"]["files"] == len(files) >= 2
    assert stats["executor"] == "ray"
    strip = ("time_s", "docs_per_s")
    counts = [{k: v for k, v in s.items() if k not in strip} for s in stats["steps"]]
    assert counts == [{k: v for k, v in s.items() if k not in strip} for s in local["steps"]]
    assert json.loads((tmp_path / "ray" / "stats.json").read_text())["documents"] == local["documents"]
    for stage in ("filter", "buckets", "clusters", "finalize"):  # datatrove's Ray tasks log like local ones
        assert list((tmp_path / "ray" / "logs" / stage / "logs").glob("task_*.log"))
