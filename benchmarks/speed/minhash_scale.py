"""MinHash's buckets and clusters stages at scale, on synthetic signatures with a planted duplicate structure.

    python -m benchmarks.speed.minhash_scale --documents 1000000
    python -m benchmarks.speed.minhash_scale --documents 20000 --json minhash.json

The recipe's signatures come from its own step (the same bytes as datatrove's); the two stages after it are
datatrove's `MinhashDedupBuckets` and `MinhashDedupCluster` as installed, which finemill's plan runs unchanged
(one task per bucket, then one clustering task; tests/benchmarks/test_minhash_scale.py checks the classes).
The plan asks the clustering step for more than datatrove's defaults (each removed document's cluster id and
size, for `finemill inspect`), so the clusters stage runs twice, side by side: `clusters` is datatrove's
step with its defaults, `clusters-plan` the step finemill's plan builds (finemill.pipeline.plan, from the
recipe's own MinHash settings); their remove lists must be the same bytes. The buckets stage is the plan's
(the same class and arguments as datatrove's own use).

The signatures are written in datatrove's format (bucket_BBB/RRRRR.minhash.sig: per document the bucket's
hashes then its id, sorted), --files files of --documents documents in all, FineWeb's settings (14 buckets x 8
hashes, 64-bit). A --duplicates share of the documents sit in planted clusters of 2-5 documents spread over
the files: every member carries its cluster's hashes in one anchor bucket (so the cluster is connected) and in
each other bucket with probability 0.3 (so a pair is found once or several times, as near-duplicates are);
every other hash is random, so no other pair matches. The expected result is known: one survivor per cluster,
the rest removed.

Each stage runs in its own child process with one worker (the buckets' 14 tasks one after another), so:
wall and CPU seconds (os.wait4), peak RSS (the child's VmHWM: the largest task, with the process around
it), disk (the bytes the stage wrote). Every figure measured: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets, MinhashDedupCluster

from benchmarks.common import child_env, module_command

NUM_BUCKETS, HASHES_PER_BUCKET = 14, 8
MERSENNE_PRIME = (
    1 << 61
) - 1  # MinHash values are below it (datatrove stops reading a file at the first above)
ANCHOR_SHARE = 0.3  # chance that a cluster member also matches in a bucket other than its anchor
STAGES = ("buckets", "clusters", "clusters-plan")
OUTPUTS = {"buckets": "buckets", "clusters": "remove_ids", "clusters-plan": "remove_ids_plan"}
PAIR_BYTES = 16  # a matching pair in a .dups file: file and document of both sides, 4 bytes each


def planted_clusters(documents: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """The cluster of every document (-1: none): clusters of 2-5 members over random documents."""
    cluster_of = np.full(documents, -1, dtype=np.int64)
    members = rng.permutation(documents)[: int(documents * share)]
    sizes = rng.integers(2, 6, size=len(members))
    start, cluster = 0, 0
    for size in sizes:
        if start + size > len(members):
            break
        cluster_of[members[start : start + size]] = cluster
        start, cluster = start + size, cluster + 1
    return cluster_of


def write_signatures(folder: Path, documents: int, files: int, share: float, seed: int) -> np.ndarray:
    """Write the signature files; document g is document g // files of file g % files. Returns the
    cluster of every document."""
    rng = np.random.default_rng(seed)
    cluster_of = planted_clusters(documents, share, rng)
    clusters = int(cluster_of.max()) + 1
    anchors = rng.integers(0, NUM_BUCKETS, size=clusters)
    record = np.dtype([(f"h{i}", "<u8") for i in range(HASHES_PER_BUCKET)] + [("doc", "<u4")])
    for bucket in range(NUM_BUCKETS):
        shared = rng.integers(0, MERSENNE_PRIME, size=(clusters, HASHES_PER_BUCKET), dtype=np.uint64)
        (folder / f"bucket_{bucket:03d}").mkdir(parents=True, exist_ok=True)
        for rank in range(files):
            ids = np.arange(rank, documents, files)
            hashes = rng.integers(0, MERSENNE_PRIME, size=(len(ids), HASHES_PER_BUCKET), dtype=np.uint64)
            cluster = cluster_of[ids]
            matches = (cluster >= 0) & (
                (anchors[np.maximum(cluster, 0)] == bucket) | (rng.random(len(ids)) < ANCHOR_SHARE)
            )
            hashes[matches] = shared[cluster[matches]]
            rows = np.empty(len(ids), dtype=record)
            for i in range(HASHES_PER_BUCKET):
                rows[f"h{i}"] = hashes[:, i]
            rows["doc"] = ids // files
            order = np.lexsort([rows["doc"], *(hashes[:, i] for i in reversed(range(HASHES_PER_BUCKET)))])
            rows[order].tofile(folder / f"bucket_{bucket:03d}" / f"{rank:05d}.minhash.sig")
    return cluster_of


def plan_steps(work: Path) -> tuple[MinhashDedupBuckets, MinhashDedupCluster]:
    """The buckets and clusters steps as `finemill run` plans them, on the recipe's MinHash settings."""
    from finemill.pipeline.plan import _dedup_stages
    from finemill.steps.dedup.config import MinhashDedup

    buckets, clusters = _dedup_stages(
        MinhashDedup().config(),
        str(work / "signatures"),
        str(work / OUTPUTS["buckets"]),
        str(work / OUTPUTS["clusters-plan"]),
    )
    return buckets.pipeline[0], clusters.pipeline[0]


def run_stage(stage: str, work: Path) -> None:
    """One stage, in this process, one worker (the child side of `measured_stage`)."""
    from datatrove.executor import LocalPipelineExecutor

    buckets, planned_clusters = plan_steps(work)
    if stage == "buckets":
        step, tasks = buckets, NUM_BUCKETS
    elif stage == "clusters-plan":
        step, tasks = planned_clusters, 1
    else:  # datatrove's clustering step with its defaults, on the same config
        step = MinhashDedupCluster(
            str(work / OUTPUTS["buckets"]), str(work / OUTPUTS[stage]), config=buckets.config
        )
        tasks = 1
    LocalPipelineExecutor([step], tasks=tasks, workers=1, logging_dir=str(work / "logs" / stage)).run()
    (work / f"{stage}.peak_kb").write_text(str(own_peak_kb()))


def same_remove_lists(work: Path) -> bool:
    """Whether datatrove's clusters step with its defaults and the plan's remove the same documents."""
    lists = [
        {path.name: path.read_bytes() for path in (work / OUTPUTS[stage]).glob("*.remove")}
        for stage in ("clusters", "clusters-plan")
    ]
    return lists[0] == lists[1]


def own_peak_kb() -> int:
    """This process's peak resident set since its exec (VmHWM). Not ru_maxrss: Linux carries that over a
    fork and exec, so a child's includes its parent's resident set at the fork."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measured_stage(stage: str, work: Path) -> dict[str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        module_command(__spec__.name, "--child", stage, str(work)), env=child_env(), stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the {stage} stage failed")
    output = work / OUTPUTS[stage]
    return {
        "wall_s": time.perf_counter() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": int((work / f"{stage}.peak_kb").read_text()) / 1024,
        "disk_mb": folder_bytes(output) / 1e6,
    }


def check_removed(work: Path, cluster_of: np.ndarray, files: int) -> dict[str, int]:
    """The planted clusters against the remove lists: removed documents outside any cluster, and clusters
    left with other than one survivor."""
    removed = np.zeros(len(cluster_of), dtype=bool)
    for path in (work / OUTPUTS["clusters"]).glob("*.remove"):
        docs = np.fromfile(path, dtype="<u4").astype(np.int64)
        removed[docs * files + int(path.name.split(".")[0])] = True
    in_cluster = cluster_of >= 0
    members = np.bincount(cluster_of[in_cluster])
    removed_per_cluster = np.bincount(cluster_of[in_cluster & removed], minlength=len(members))
    pair_bytes = sum(path.stat().st_size for path in (work / "buckets").glob("*.dups"))
    return {
        "pairs": pair_bytes // PAIR_BYTES,
        "expected_removed": int((members - 1).sum()),
        "removed": int(removed.sum()),
        "removed_outside_clusters": int((removed & ~in_cluster).sum()),
        "clusters": len(members),
        "clusters_without_one_survivor": int((members - removed_per_cluster != 1).sum()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument(
        "--duplicates", type=float, default=0.1, help="share of documents in planted clusters"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("STAGE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_stage(args.child[0], Path(args.child[1]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        cluster_of = write_signatures(
            work / "signatures", args.documents, args.files, args.duplicates, args.seed
        )
        print(f"{args.documents:,} signatures in {args.files} files: {time.perf_counter() - started:.1f} s,")
        print(f"  {folder_bytes(work / 'signatures') / 1e6:,.1f} MB on disk")
        figures = {stage: measured_stage(stage, work) for stage in STAGES}
        check = check_removed(work, cluster_of, args.files)
        check["plan_removes_the_same"] = same_remove_lists(work)
    print(f"{'stage':<13} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'disk MB':>9}")
    for stage, row in figures.items():
        print(
            f"{stage:<13} {row['wall_s']:>8.1f} {row['cpu_s']:>8.1f} {row['peak_rss_mb']:>12.0f}"
            f" {row['disk_mb']:>9.1f}"
        )
    print(
        f"pairs found: {check['pairs']:,}; planted: {check['clusters']:,} clusters,"
        f" {check['expected_removed']:,} to remove;"
        f" removed {check['removed']:,} ({check['removed_outside_clusters']:,} outside a cluster,"
        f" {check['clusters_without_one_survivor']:,} clusters without exactly one survivor)"
    )
    same = "the same" if check["plan_removes_the_same"] else "NOT the same"
    print(f"finemill's planned clusters step (cluster ids and sizes saved too) removes {same} documents")
    if args.json:
        args.json.write_text(json.dumps({"documents": args.documents, **figures, "check": check}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
