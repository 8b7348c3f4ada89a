"""benchmarks/speed/minhash_scale.py: the synthetic signatures are datatrove's format and their planted
clusters are exactly what datatrove's buckets and clusters stages find."""

from __future__ import annotations

import numpy as np

from benchmarks.speed import minhash_scale as bench


def test_planted_clusters_come_back_exactly(tmp_path):
    cluster_of = bench.write_signatures(tmp_path / "signatures", 3000, files=4, share=0.2, seed=1)
    assert (cluster_of >= 0).sum() > 0.15 * 3000
    assert len(list((tmp_path / "signatures").glob("bucket_*/*.minhash.sig"))) == bench.NUM_BUCKETS * 4
    for stage in bench.STAGES:
        bench.run_stage(stage, tmp_path)
    check = bench.check_removed(tmp_path, cluster_of, files=4)
    assert check["removed"] == check["expected_removed"] > 0
    assert check["removed_outside_clusters"] == check["clusters_without_one_survivor"] == 0


def test_signature_files_are_sorted_as_datatrove_checks(tmp_path):
    bench.write_signatures(tmp_path, 500, files=2, share=0.3, seed=2)
    rows = np.fromfile(
        tmp_path / "bucket_000" / "00000.minhash.sig", dtype="<u8,<u8,<u8,<u8,<u8,<u8,<u8,<u8,<u4"
    )
    keys = [tuple(row) for row in rows]
    assert keys == sorted(keys) and len(keys) == 250
    assert all(row[0] < bench.MERSENNE_PRIME for row in rows)
