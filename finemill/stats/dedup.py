"""MinHash clusters of a run: how many groups of near-duplicates, and how large.

A run keeps one document per cluster and writes the others to `removed/minhash/`. The cluster sizes
are not in stats.json; they are found, best source first, in:

1. the removed duplicates' metadata (`minhash_cluster_id`, `minhash_cluster_size`), present when the
   run's MinhashDedupCluster saves them and its MinhashDedupFilter loads them;
2. `work/minhash/buckets/*.dups`, the duplicate pairs MinhashDedupCluster joined: the same union of
   pairs gives the same clusters;
3. the cluster stage's own counter in `logs/clusters/stats/` (number of clusters only, no sizes).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from finemill import run_folder
from finemill.stats.load import Run, iter_batches


@dataclass
class Clusters:
    """Near-duplicate clusters: {cluster size: number of clusters} (None when only the count is known)."""

    count: int
    sizes: Counter[int] | None
    source: str

    @property
    def documents(self) -> int | None:
        """Documents in all clusters (kept representatives included)."""
        return sum(size * n for size, n in self.sizes.items()) if self.sizes is not None else None

    def histogram(self, max_rows: int = 16) -> list[tuple[str, int, int]]:
        """(size label, clusters, documents) rows: one per size, or power-of-two ranges (3-4, 5-8, ...) when
        there are more than `max_rows` distinct sizes."""
        if not self.sizes:
            return []
        if len(self.sizes) <= max_rows:
            return [(f"{size:,}", n, size * n) for size, n in sorted(self.sizes.items())]
        rows: dict[int, list[int]] = {}
        for size, n in self.sizes.items():
            upper = 1 << max(size - 1, 1).bit_length()  # 2 -> 2, 3..4 -> 4, 5..8 -> 8, ...
            row = rows.setdefault(upper, [0, 0])
            row[0] += n
            row[1] += size * n
        return [
            (f"{upper // 2 + 1:,}-{upper:,}" if upper > 2 else "2", n, docs)
            for upper, (n, docs) in sorted(rows.items())
        ]


def find_clusters(run: Run) -> Clusters | None:
    """The run's MinHash clusters, or None when the run has no MinHash step."""
    if "minhash" not in run.step_names:
        return None
    return _from_metadata(run) or clusters_from_pairs(run.path) or _from_logs(run.path)


def _from_metadata(run: Run) -> Clusters | None:
    files = run.removed_files("minhash")
    if not files:
        return None
    cluster_size: dict[int, int] = {}
    for batch in iter_batches(files, ["metadata"]):
        meta = batch.column(0)
        # json.dumps writes `"key": value`; a regex over the whole column avoids parsing every row's JSON.
        ids = pc.struct_field(pc.extract_regex(meta, r'"minhash_cluster_id": (?P<v>-?\d+)'), [0])
        sizes = pc.struct_field(pc.extract_regex(meta, r'"minhash_cluster_size": (?P<v>\d+)'), [0])
        if ids.null_count == len(ids) or sizes.null_count == len(sizes):
            return None  # this run did not save cluster ids and sizes
        for cluster_id, size in zip(ids.to_pylist(), sizes.to_pylist(), strict=True):
            if cluster_id is not None and size is not None:
                cluster_size[int(cluster_id)] = int(size)
    return Clusters(len(cluster_size), Counter(cluster_size.values()), "removed/minhash metadata")


def clusters_from_pairs(out: Path) -> Clusters | None:
    """The clusters the duplicate pairs in work/minhash/buckets join into (None when there are none)."""
    dups = sorted(run_folder.minhash(out, "buckets").glob("*.dups"))
    if not dups:
        return None
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def root(node: tuple[int, int]) -> tuple[int, int]:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]  # path halving keeps the trees flat
            node = parent[node]
        return node

    for path in dups:
        # Each record is (file, doc, file, doc) as four little-endian uint32: one matching pair.
        pairs = np.frombuffer(path.read_bytes(), dtype="<u4").reshape(-1, 4)  # local or object storage
        for f1, d1, f2, d2 in pairs.tolist():
            a, b = root((f1, d1)), root((f2, d2))
            if a != b:
                parent[b] = a
    members = Counter(root(node) for node in list(parent))
    return Clusters(len(members), Counter(members.values()), "work/minhash/buckets")


def _from_logs(out: Path) -> Clusters | None:
    count = 0
    files = sorted(run_folder.task_stats(out, "clusters").glob("*.json"))
    for stats_file in files:
        for step in json.loads(stats_file.read_text()):
            size = step.get("stats", {}).get("cluster_size")
            count += size.get("n", 0) if isinstance(size, dict) else 0
    return Clusters(count, None, "logs/clusters (sizes not kept)") if files else None
