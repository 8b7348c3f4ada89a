"""The cost curve: how each stage's time, memory and disk grow with the number of documents.

    python -m benchmarks.speed.scale --sizes 10000,100000                   # pre-extracted text
    python -m benchmarks.speed.scale --sizes 10000,50000 --format warc --mix sentences   # WARC, extraction
    python -m benchmarks.speed.scale --sizes 300 --json scale.json
    python -m benchmarks.speed.scale --sizes 1000000 --json scale.json --append   # slopes from the rows there

For each N of --sizes it builds N crawl-like documents (speed/scale_inputs.py: real paragraphs recombined,
or with --mix sentences paragraphs made of real sentences, which the WARC path needs at large N; a
--duplicates share of planted near-duplicates; --files files), runs `finemill run` on them (the FineWeb
recipe, a child process, --workers 2) and prints per stage (filter, buckets, clusters, finalize) and in
total:

    wall s        the stage's executor.json (written at its start) to its last completion marker; the
                  total is the child process's wall time (imports, planning and stats included)
    CPU s         user + system seconds of the stage's processes (benchmarks/process_sampler.py, sampled); the
                  total is the run's whole process tree, and `other` what no stage ran: imports, planning,
                  the pools' forkserver, merging stats, the dataset card
    CPU ms/doc    CPU seconds / N (every stage divided by the documents read, so the rows add up)
    peak RSS MB   the largest resident set of one process doing the stage's work
    disk B/doc    bytes the stage left in OUT / N (filter: filtered documents, signatures, removed pages;
                  buckets: matching pairs; clusters: remove lists; finalize: kept documents and the
                  duplicates removed)
    slope         log-log slope of CPU seconds against N from the previous size: 1.0 is linear

and the planted near-duplicates against what MinHash removed; from the second size on, the clusters stage's
peak RSS growth per new duplicate pair (the one stage whose memory must grow with them). How the documents
are made: speed/scale_inputs.py. Every figure measured: docs/performance.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.common import child_env, module_command
from benchmarks.process_sampler import OTHER, stage_walls, wait_sampled
from benchmarks.speed.scale_inputs import MIX_HELP, PLANTED_FILE, POOLS, build

STAGES = ("filter", "buckets", "clusters", "finalize")
PAIR_BYTES = 16  # a matching pair in a buckets .dups file: file and document of both sides
# What each stage leaves in OUT, relative to it (a folder's name under removed/ is the step that removed).
STAGE_OUTPUTS = {
    "filter": ("work/filtered", "work/minhash/signatures", "removed/*"),
    "buckets": ("work/minhash/buckets",),
    "clusters": ("work/minhash/remove_ids",),
    "finalize": ("documents", "removed/minhash"),
}
DUMP = "CC-MAIN-2024-33"  # the inputs name no snapshot: one label for all, as a crawl's files have


@dataclass
class Row:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    disk_bytes: int = 0
    slope: float | None = None


@dataclass
class SizeRun:
    documents: int
    format: str
    files: int
    kept: int
    duplicates: dict[str, int]
    mix: str = "paragraphs"  # what the unique documents recombine (scale_inputs.POOLS)
    clusters_rss_bytes_per_pair: float | None = None  # peak RSS growth of the clusters stage per new pair
    removed: dict[str, dict[str, int]] = field(default_factory=dict)  # per step, its reasons (stats.json)
    stages: dict[str, Row] = field(default_factory=dict)
    total: Row = field(default_factory=Row)


def load_runs(path: Path) -> list[SizeRun]:
    """The runs a --json file holds (a later --append run's slopes start from them)."""
    runs = []
    for record in json.loads(path.read_text()):
        stages = {name: Row(**row) for name, row in record.pop("stages").items()}
        total = Row(**record.pop("total"))
        runs.append(SizeRun(**record, stages=stages, total=total))
    return runs


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def stage_disk(out: Path) -> dict[str, int]:
    sizes = {}
    for stage, patterns in STAGE_OUTPUTS.items():
        paths = {p for pattern in patterns for p in out.glob(pattern)}
        if stage == "filter":
            paths.discard(out / "removed" / "minhash")
        sizes[stage] = sum(folder_bytes(p) for p in paths)
    return sizes


def _bare(record_id: str) -> str:
    return record_id.removeprefix("<urn:uuid:").removesuffix(">")


def _filtered_ids(out: Path) -> set[str]:
    """The ids of the documents the filters kept: what MinHash saw."""
    ids = set()
    for path in (out / "work" / "filtered").glob("*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            ids.update(_bare(json.loads(line)["id"]) for line in lines)
    return ids


def duplicate_check(out: Path, planted_file: Path) -> dict[str, int]:
    """The planted near-duplicates against what MinHash removed: `planted`, `planted_reaching_minhash`
    (both the duplicate and its original kept by the filters: the removals to expect), `minhash_removed`,
    and `removed_in_planted_pairs` (removed documents that are a planted duplicate or its original)."""
    import pandas as pd

    pairs = [json.loads(line) for line in planted_file.read_text().splitlines()]
    in_pairs = {record[key] for record in pairs for key in ("id", "original")}
    seen = _filtered_ids(out)
    files = sorted((out / "removed" / "minhash").glob("*.parquet"))
    removed = [_bare(i) for f in files for i in pd.read_parquet(f, columns=["id"])["id"]]
    return {
        "planted": len(pairs),
        "planted_reaching_minhash": sum(r["id"] in seen and r["original"] in seen for r in pairs),
        "minhash_removed": len(removed),
        "removed_in_planted_pairs": sum(i in in_pairs for i in removed),
        "pairs": folder_bytes(out / "work" / "minhash" / "buckets") // PAIR_BYTES,
    }


def run_size(documents: int, args: argparse.Namespace, folder: Path) -> SizeRun:
    build(folder, documents, args.format, args.files, args.duplicates, args.seed, mix=args.mix)
    out = folder / "run"
    command = module_command("finemill.cli", "run", "-i", str(folder / "input"), "-o", str(out))
    command += ["--workers", str(args.workers), "--dump", DUMP, "--quiet", "--force"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=child_env(), stdout=subprocess.DEVNULL)
    code, cpu_s, uses = wait_sampled(process, out / "logs")
    wall_s = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"finemill run failed at N={documents:,} (exit {code}): {' '.join(command)}")
    walls, disk = stage_walls(out / "logs"), stage_disk(out)
    stats = json.loads((out / "stats.json").read_text())
    duplicates = duplicate_check(out, folder / PLANTED_FILE)
    result = SizeRun(documents, args.format, args.files, stats["documents"]["count"], duplicates, args.mix)
    result.removed = {step["name"]: step["removed"] for step in stats["steps"] if step["removed"]}
    for stage in (*STAGES, OTHER):
        use = uses.get(stage)
        result.stages[stage] = Row(
            walls.get(stage, 0.0),
            use.cpu_s if use else 0.0,
            use.peak_rss / 1e6 if use else 0.0,
            disk.get(stage, 0),
        )
    staged_cpu = sum(row.cpu_s for name, row in result.stages.items() if name != OTHER)
    result.stages[OTHER].cpu_s = max(cpu_s - staged_cpu, 0.0)  # exact total minus the sampled stages
    peak = max(row.peak_rss_mb for row in result.stages.values())
    result.total = Row(wall_s, cpu_s, peak, sum(disk.values()))
    return result


def add_slopes(runs: list[SizeRun]) -> None:
    """Each run's slopes from the next smaller size before it (runs of one format and mix, ordered by size)."""
    for before, after in zip(runs, runs[1:], strict=False):
        ratio = math.log(after.documents / before.documents)
        pairs = [(before.stages[s], after.stages[s]) for s in after.stages] + [(before.total, after.total)]
        for old, new in pairs:
            if old.cpu_s > 0 and new.cpu_s > 0 and ratio:
                new.slope = math.log(new.cpu_s / old.cpu_s) / ratio
        # the one stage whose memory must grow: with the duplicate pairs it holds in its union-find
        new_pairs = after.duplicates["pairs"] - before.duplicates["pairs"]
        if new_pairs > 0:
            grown = after.stages["clusters"].peak_rss_mb - before.stages["clusters"].peak_rss_mb
            after.clusters_rss_bytes_per_pair = grown * 1e6 / new_pairs


def print_run(run: SizeRun) -> None:
    print(
        f"\nN = {run.documents:,} documents ({run.format}, {run.mix} recombined, {run.files} files),"
        f" kept {run.kept:,}"
    )
    header = f"{'stage':<10} {'wall s':>8} {'CPU s':>8} {'CPU ms/doc':>11} {'peak RSS MB':>12}"
    print(header + f" {'disk B/doc':>11} {'slope':>6}")
    rows = [*run.stages.items(), ("total", run.total)]
    for name, row in rows:
        slope = f"{row.slope:.2f}" if row.slope is not None else "-"
        print(
            f"{name:<10} {row.wall_s:>8.1f} {row.cpu_s:>8.1f} {row.cpu_s / run.documents * 1000:>11.3f}"
            f" {row.peak_rss_mb:>12.0f} {row.disk_bytes / run.documents:>11.0f} {slope:>6}"
        )
    dups = run.duplicates
    print(
        f"planted near-duplicates: {dups['planted']:,}, {dups['planted_reaching_minhash']:,} with their"
        f" original past the filters; MinHash removed: {dups['minhash_removed']:,}"
        f" ({dups['removed_in_planted_pairs']:,} of them in a planted pair)"
    )
    if run.removed:  # where the documents went (an extraction `timeout` is wall-clock: a loaded machine)
        parts = [
            f"{step} {sum(r.values()):,} ({', '.join(f'{k} {v:,}' for k, v in r.items())})"
            for step, r in run.removed.items()
        ]
        print("removed by step: " + "; ".join(parts))
    if run.clusters_rss_bytes_per_pair is not None:
        print(
            f"clusters stage: {dups['pairs']:,} duplicate pairs, peak RSS growth"
            f" {run.clusters_rss_bytes_per_pair:,.0f} bytes per new pair (its process's resident set)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated document counts")
    parser.add_argument("--format", choices=("jsonl", "warc"), default="jsonl")
    parser.add_argument("--files", type=int, default=16, help="input files (one filter task each)")
    parser.add_argument("--duplicates", type=float, default=0.1, help="planted near-duplicate share")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mix", choices=tuple(POOLS), default="paragraphs", help=MIX_HELP)
    parser.add_argument("--folder", type=Path, help="keep inputs and runs here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="write every figure here too")
    parser.add_argument("--report", action="store_true", help="print the runs in --json again; run nothing")
    parser.add_argument(
        "--append",
        action="store_true",
        help="add the new sizes to the runs already in --json (each slope from the next smaller size there)",
    )
    args = parser.parse_args()
    if (args.append or args.report) and not args.json:
        parser.error("--append and --report need --json (the file of earlier runs)")
    if args.report:
        every = load_runs(args.json)
        for series in sorted({(run.format, run.mix) for run in every}):
            runs = sorted(
                (run for run in every if (run.format, run.mix) == series), key=lambda r: r.documents
            )
            add_slopes(runs)
            for run in runs:
                print_run(run)
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    earlier = load_runs(args.json) if args.append and args.json.exists() else []
    runs = [run for run in earlier if (run.format, run.mix) == (args.format, args.mix)]
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            runs.append(run_size(size, args, (args.folder or Path(tmp)) / f"n{size}-{args.format}"))
            runs.sort(key=lambda run: run.documents)
            add_slopes(runs)
            print_run(next(run for run in runs if run.documents == size))
            sys.stdout.flush()
            if args.json:  # after every size, so a long run's finished sizes are kept if a later one fails
                others = [run for run in earlier if (run.format, run.mix) != (args.format, args.mix)]
                args.json.write_text(json.dumps([asdict(run) for run in others + runs], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
