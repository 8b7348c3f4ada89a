"""benchmarks/speed/minhash_scale.py: the synthetic signatures are datatrove's format and their planted
clusters are exactly what datatrove's buckets and clusters stages find; the recipe's plan runs datatrove's
classes unchanged, and its clusters step (cluster ids and sizes saved too) removes the same documents as
datatrove's with its defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets, MinhashDedupCluster

from benchmarks.speed import minhash_scale as bench
from finemill.pipeline.plan import plan_stages
from finemill.pipeline.recipe import load_recipe


def test_planted_clusters_come_back_exactly(tmp_path):
    cluster_of = bench.write_signatures(tmp_path / "signatures", 3000, files=4, share=0.2, seed=1)
    assert (cluster_of >= 0).sum() > 0.15 * 3000
    assert len(list((tmp_path / "signatures").glob("bucket_*/*.minhash.sig"))) == bench.NUM_BUCKETS * 4
    for stage in bench.STAGES:
        bench.run_stage(stage, tmp_path)
    check = bench.check_removed(tmp_path, cluster_of, files=4)
    assert check["removed"] == check["expected_removed"] > 0
    assert check["removed_outside_clusters"] == check["clusters_without_one_survivor"] == 0
    assert list((tmp_path / "remove_ids_plan").glob("*.clusters"))  # the plan's step saved cluster ids
    assert bench.same_remove_lists(tmp_path)


def test_the_recipes_plan_runs_datatroves_buckets_and_clusters_classes_unchanged(tmp_path):
    out = (tmp_path / "out").resolve()
    recipe = load_recipe(None, {"input": [str(Path(__file__))], "output": str(out)})
    stages = {stage.name: stage for stage in plan_stages(recipe, [str(Path(__file__).resolve())], out)}
    assert [type(step) for step in stages["buckets"].pipeline] == [MinhashDedupBuckets]
    assert [type(step) for step in stages["clusters"].pipeline] == [MinhashDedupCluster]
    assert stages["buckets"].tasks == 14 and stages["clusters"].tasks == 1
    # the benchmark's steps are the plan's: same classes, same settings
    buckets, clusters = bench.plan_steps(tmp_path)
    assert type(buckets) is MinhashDedupBuckets and type(clusters) is MinhashDedupCluster
    assert buckets.config == stages["buckets"].pipeline[0].config


def test_signature_files_are_sorted_as_datatrove_checks(tmp_path):
    bench.write_signatures(tmp_path, 500, files=2, share=0.3, seed=2)
    rows = np.fromfile(
        tmp_path / "bucket_000" / "00000.minhash.sig", dtype="<u8,<u8,<u8,<u8,<u8,<u8,<u8,<u8,<u4"
    )
    keys = [tuple(row) for row in rows]
    assert keys == sorted(keys) and len(keys) == 250
    assert all(row[0] < bench.MERSENNE_PRIME for row in rows)
