"""Throughput of finemill's recipe against the datatrove-only FineWeb reference, step by step.

    python -m benchmarks.speed.pipeline                  # both real inputs of ../shared/data
    python -m benchmarks.speed.pipeline --recipe configs/fineweb-fast.yaml --json bench.json
    python -m benchmarks.speed.pipeline crawl/ --limit 20    # a quick look: 20 documents per file
    python -m benchmarks.speed.pipeline --repeat 4           # one big file: the real pages 4 times
    python -m benchmarks.speed.pipeline --recipe configs/fineweb2.yaml   # every language, vs FineWeb-2's pipeline

For each input (default: ../shared/data/extraction/real_pages_aeb_trafilatura.warc.gz and
../shared/data/crawl) it runs the reference of benchmarks/reference.py (datatrove's FineWeb example, always
with trafilatura and configs/fineweb.yaml's settings; with `--recipe configs/fineweb2.yaml`, FineWeb-2's pipeline from
datatrove's classes, one MinHash and filter set per language) and finemill's recipe (--recipe) on the same files,
each in its own child process with one worker, one after the other. It prints per step the documents per
second per core of both sides and their ratio (finemill / reference: above 1 finemill is faster), then for
all inputs together:

    ratio: X.XX                   whole run, reference wall time / finemill wall time
    non-extraction ratio: X.XX    the same with each side's extraction step time taken out
    identical: YY.Y%              kept documents identical in URL and text (quality/fidelity.py's comparison)
    peak RSS per worker: reference N MB, finemill M MB
    CPU ratio: X.XX               reference CPU seconds / finemill CPU seconds (whole child processes)
    language ID: S s = P% of finemill's non-extraction time (Q% of its whole run)

How the figures are taken (both sides the same way):
- wall time: the child process's own clock around the run, after both have imported the recipe and its
  step classes (so neither pays for the other's imports); the process wall time is in the JSON too;
- per step: datatrove's time_stats of each task (finemill: its OUT/stats.json, built from them);
  `minhash` is the signature step's own time, the wall time of the buckets and clusters stages (their
  process and per-task overhead included) and the duplicate filter; `read` and `write` are datatrove's
  readers (crawl files, and the intermediate file read back for the last stage) and writers;
- docs/s: documents entering the step / the step's seconds; `read` counts documents read from the crawl;
- peak RSS: ru_maxrss of the child process (and anything it waited for), from os.wait4;
- CPU seconds: user + system time of the child process (and anything it waited for), from os.wait4,
  imports included: on a machine shared with other jobs the sides run at different loads and wall times
  move with it (the two wall-time ratios of one code have differed by 1.5x); CPU time moves far less;
- language ID: finemill's language step, nearly all of it fastText building its input vector from the
  text's words and n-grams, the same call as the reference's: a floor no identical decision can go below,
  shown as a share of what is left once extraction is taken out.
With --limit N both sides read copies of the inputs cut after N documents (response/conversion records)
per file, so they still see exactly the same records.

With --repeat N each input becomes one WARC file holding its WARC records N times (default input: the real
pages alone, 1,167 pages): copy k > 0 of a record gets a new WARC-Record-ID and `copy=k` added to its URL's
query, so every document is distinct to the reader and the URL filter, and MinHash removes the copies (as it
removes a crawl's duplicates). A Common Crawl WARC file holds ~30,000 pages; the inputs here average ~150
per file, so per-process start-up and per-file work weigh on every ratio: the big file shows them amortised.
The copies are the same pages, so per-process caches (finemill's word and XPath-attribute caches) meet
fewer new entries than on as many distinct pages: the big-file ratio is an upper bound for that reason.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.common import REPO, SHARED_DATA, module_command
from benchmarks.reference import (
    execute_finemill,
    execute_reference,
    finemill_kept,
    identical_share,
    readable_by_datatrove,
    reference_kept,
)

REAL_PAGES = SHARED_DATA / "extraction" / "real_pages_aeb_trafilatura.warc.gz"
DEFAULT_INPUTS = [REAL_PAGES, SHARED_DATA / "crawl"]
SIDES = ("reference", "finemill")
ROWS = [
    "read",
    "url_filter",
    "extract",
    "language",
    "gopher_repetition",
    "gopher_quality",
    "c4_quality",
    "fineweb_quality",
    "minhash",
    "pii",
    "write",
]
# Records that make documents: what --limit counts (WARC responses, WET conversions).
DOCUMENT_RECORDS = ("response", "conversion", "resource")
# datatrove 0.10.1's step labels (name after the emoji) in the reference, as recipe steps.
REFERENCE_LABELS = {
    "Url-filter": "url_filter",
    "Trafilatura": "extract",
    "Language ID": "language",
    "Gopher Repetition": "gopher_repetition",
    "Gopher Quality": "gopher_quality",
    "C4 Quality": "c4_quality",
    "FineWeb Quality": "fineweb_quality",
    "PII": "pii",
    "MinHash stage 4": "minhash",  # the duplicate filter
}
SIGNATURE_LABEL = "MinHash stage 1"  # its time_stats wrap the whole loop, upstream steps included
STAGE_WALLS_KEY = "stage_walls"


@dataclass
class StepFigure:
    docs: int = 0
    seconds: float = 0.0

    @property
    def docs_per_s(self) -> float | None:
        return self.docs / self.seconds if self.seconds > 0 else None


@dataclass
class SideRun:
    """One side on one input: its clocks, memory and per-step figures."""

    wall_s: float  # the child's clock around the run
    process_wall_s: float  # the parent's clock around the child process
    peak_rss_mb: float
    stage_walls: dict[str, float]
    steps: dict[str, StepFigure] = field(default_factory=dict)
    cpu_s: float = 0.0  # user + system seconds of the child process

    def seconds(self, row: str) -> float:
        return self.steps[row].seconds if row in self.steps else 0.0


# ---------------------------------------------------------------- child processes (one per side and input)


def time_executor_runs(walls: dict[str, float]) -> None:
    """Record the wall time of every LocalPipelineExecutor.run in this process, keyed by its logging
    folder: both sides run their stages through it, so the stage overhead is measured the same way."""
    from datatrove.executor import LocalPipelineExecutor

    run = LocalPipelineExecutor.run

    def timed_run(executor: LocalPipelineExecutor):
        started = time.perf_counter()
        try:
            return run(executor)
        finally:
            walls[str(Path(executor.logging_dir.path).resolve())] = time.perf_counter() - started

    LocalPipelineExecutor.run = timed_run


def child_main(side: str, spec_file: str) -> int:
    """Run one side as described by the spec file; write its clock and stage walls next to it."""
    from finemill.pipeline.recipe import load_recipe

    spec = json.loads(Path(spec_file).read_text())
    walls: dict[str, float] = {}
    time_executor_runs(walls)
    # Loading a recipe imports every step class (datatrove's included) before the clock starts, on both sides.
    recipe = load_recipe(spec["recipe"])
    if side == "reference" and recipe.name != "fineweb2":  # FineWeb's reference, but for FineWeb-2's recipe
        recipe = load_recipe(None)
    files, out = spec["files"], Path(spec["out"])
    started = time.perf_counter()
    if side == "finemill":
        execute_finemill(recipe, files, out)
    else:
        execute_reference(recipe, files, out)
    result = {"wall_s": time.perf_counter() - started, STAGE_WALLS_KEY: walls}
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


def run_side(side: str, files: list[str], folder: Path, recipe: str | None) -> SideRun:
    """Run one side in a child process; measure its wall time and peak RSS."""
    folder.mkdir(parents=True)
    spec = {
        "files": files,
        "out": str(folder / "out"),
        "recipe": recipe,
        "result": str(folder / "result.json"),
    }
    (folder / "spec.json").write_text(json.dumps(spec))
    command = module_command(__spec__.name, "--child", side, str(folder / "spec.json"))
    with open(folder / "child.log", "wb") as log:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        # wait4 gives this child's own rusage; RUSAGE_CHILDREN would mix it with the other side's.
        _, status, usage = os.wait4(child.pid, 0)
        process_wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = (folder / "child.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{side} run failed (exit {child.returncode}):\n{tail}")
    result = json.loads((folder / "result.json").read_text())
    return SideRun(
        wall_s=result["wall_s"],
        process_wall_s=process_wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        stage_walls=result[STAGE_WALLS_KEY],
        cpu_s=usage.ru_utime + usage.ru_stime,
    )


# ---------------------------------------------------------------- per-step figures from datatrove's task stats


def task_stats(logging_dir: Path) -> list[list[dict]]:
    """Each task's step entries (datatrove's logs/stats/<rank>.json), in pipeline order."""
    return [json.loads(f.read_text()) for f in sorted((logging_dir / "stats").glob("*.json"))]


def entry_seconds(entry: dict) -> float:
    stats = entry.get("time_stats")
    return float(stats.get("total", 0.0)) if isinstance(stats, dict) else float(stats or 0.0)


def entry_kind_and_label(entry: dict) -> tuple[str, str]:
    """('READER', 'Warc') from '📖 - READER: 🕷 Warc': datatrove's step type and the label after the emoji."""
    kind, _, label = entry["name"].partition(": ")
    return kind.split(" - ")[-1].strip(), label.split(" ", 1)[-1].strip()


def counter(entry: dict, key: str) -> int:
    value = entry.get("stats", {}).get(key, 0)
    return int(value["total"] if isinstance(value, dict) else value)


def minhash_only_stages(logging_dirs: list[Path]) -> list[Path]:
    """Stages made only of MinHash steps (buckets, clusters): their whole wall time is MinHash's."""
    return [
        d
        for d in logging_dirs
        if (tasks := task_stats(d)) and all(entry_kind_and_label(e)[0] == "DEDUP" for t in tasks for e in t)
    ]


def stage_wall(stage_walls: dict[str, float], logging_dir: Path) -> float:
    return stage_walls[str(logging_dir.resolve())]


def add_io_rows(steps: dict[str, StepFigure], logging_dirs: list[Path]) -> None:
    """`read` and `write` seconds from every reader and writer step; writers' documents as `write` docs."""
    for folder in logging_dirs:
        for task in task_stats(folder):
            for entry in task:
                kind, _ = entry_kind_and_label(entry)
                if kind == "READER":
                    steps["read"].seconds += entry_seconds(entry)
                elif kind == "WRITER":
                    steps["write"].seconds += entry_seconds(entry)
                    steps["write"].docs += counter(entry, "total")


def reference_steps(out: Path, stage_walls: dict[str, float]) -> dict[str, StepFigure]:
    """Per recipe step: documents in and seconds of the reference run in `out` (logs1..logs4)."""
    dirs = sorted(out.glob("logs*"))
    steps = {row: StepFigure() for row in ROWS}
    add_io_rows(steps, dirs)
    for folder in dirs:
        for task in task_stats(folder):
            upstream = 0.0
            for entry in task:
                kind, label = entry_kind_and_label(entry)
                seconds = entry_seconds(entry)
                if kind == "READER" and folder == dirs[0]:
                    steps["read"].docs += counter(entry, "documents")
                elif label == SIGNATURE_LABEL:
                    steps["minhash"].seconds += max(0.0, seconds - upstream)
                elif label in REFERENCE_LABELS:
                    step = steps[REFERENCE_LABELS[label]]
                    step.docs += counter(entry, "total")
                    step.seconds += seconds
                elif kind not in ("READER", "WRITER", "DEDUP"):
                    raise ValueError(f"reference step not mapped to a recipe step: {entry['name']!r}")
                upstream += seconds
    for folder in minhash_only_stages(dirs):
        steps["minhash"].seconds += stage_wall(stage_walls, folder)
    return steps


def recipe_row(step_name: str) -> str:
    """finemill's step name as a table row: every extractor (extract, extract_resiliparse, ...) is `extract`."""
    return "extract" if step_name.startswith("extract") else step_name


def finemill_steps(out: Path, stage_walls: dict[str, float]) -> dict[str, StepFigure]:
    """Per recipe step: documents in and seconds of the finemill run in `out`, from its stats.json; the
    MinHash-only stages count with their wall time instead of their tasks' step times."""
    stats = json.loads((out / "stats.json").read_text())
    dirs = sorted(p for p in (out / "logs").iterdir() if p.is_dir())
    steps = {row: StepFigure() for row in ROWS}
    add_io_rows(steps, dirs)
    steps["read"].docs = stats["reader"]["documents"]
    for step in stats["steps"]:
        figure = steps.setdefault(recipe_row(step["name"]), StepFigure())
        figure.docs += step["docs_in"]
        figure.seconds += step["time_s"]
    for folder in minhash_only_stages(dirs):
        task_seconds = sum(entry_seconds(e) for task in task_stats(folder) for e in task)
        steps["minhash"].seconds += stage_wall(stage_walls, folder) - task_seconds
    return steps


# ---------------------------------------------------------------- inputs


def limited_copies(files: list[str], limit: int, folder: Path) -> list[str]:
    """Copies of `files` cut after `limit` document records each (other records before them kept)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for number, path in enumerate(files):
        target = folder / f"{number:03d}-{Path(path).name}"
        with open(path, "rb") as source, open(target, "wb") as sink:
            writer, documents = WARCWriter(sink, gzip=path.endswith(".gz")), 0
            for record in ArchiveIterator(source):
                if documents >= limit:
                    break
                writer.write_record(record)
                documents += record.rec_type in DOCUMENT_RECORDS
        copies.append(str(target))
    return copies


def copied_url(url: str, copy: int) -> str:
    """`url` with `copy=<copy>` added to its query (before any #fragment)."""
    base, hash_mark, fragment = url.partition("#")
    return f"{base}{'&' if '?' in base else '?'}copy={copy}{hash_mark}{fragment}"


def repeated_copy(files: list[str], repeat: int, target: Path) -> int:
    """One gzipped WARC file of every record of the WARC `files`, `repeat` times; copy k > 0 gets a new
    record id (derived from the old one and k, so reruns build the same file) and `copy=k` in its URL.
    Returns the number of document records written."""
    import uuid

    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    not_warc = [f for f in files if ".warc" not in Path(f).name]
    if not_warc:
        raise SystemExit(f"--repeat takes WARC files only; not one: {', '.join(not_warc)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    documents = 0
    with open(target, "wb") as sink:
        writer = WARCWriter(sink, gzip=True)
        for copy in range(repeat):
            for path in files:
                with open(path, "rb") as source:
                    for record in ArchiveIterator(source):
                        headers = record.rec_headers
                        if copy and headers.get_header("WARC-Record-ID"):
                            new_id = uuid.uuid5(
                                uuid.NAMESPACE_URL, f"{headers.get_header('WARC-Record-ID')}#{copy}"
                            )
                            headers.replace_header("WARC-Record-ID", f"<urn:uuid:{new_id}>")
                        if copy and headers.get_header("WARC-Target-URI"):
                            headers.replace_header(
                                "WARC-Target-URI", copied_url(headers.get_header("WARC-Target-URI"), copy)
                            )
                        writer.write_record(record)
                        documents += record.rec_type in DOCUMENT_RECORDS
    return documents


def input_files(target: str, limit: int, folder: Path, repeat: int = 1) -> tuple[list[str], list[str]]:
    """(files both sides read, files left out because datatrove's reader stops on them)."""
    from finemill.pipeline.run import resolve_inputs

    files, unreadable = readable_by_datatrove(resolve_inputs([target], Path(".")))
    if limit >= 0:
        files = limited_copies(files, limit, folder / "input")
    if repeat > 1:
        big = folder / "input" / f"repeated-{repeat}x.warc.gz"
        documents = repeated_copy(files, repeat, big)
        print(
            f"big file: {len(files)} file(s) x {repeat} = {documents:,} document records, "
            f"{big.stat().st_size / 1e6:,.0f} MB",
            flush=True,
        )
        files = [str(big)]
    return files, unreadable


# ---------------------------------------------------------------- one input, then the report


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator and denominator else None


def bench_input(target: str, recipe: str | None, limit: int, folder: Path, repeat: int = 1) -> dict:
    """Both sides on one input: per-step figures, clocks, memory and the identical share."""
    files, unreadable = input_files(target, limit, folder, repeat)
    runs: dict[str, SideRun] = {}
    for side in SIDES:
        runs[side] = run_side(side, files, folder / side, recipe)
    out = {side: folder / side / "out" for side in SIDES}
    runs["reference"].steps = reference_steps(out["reference"], runs["reference"].stage_walls)
    runs["finemill"].steps = finemill_steps(out["finemill"], runs["finemill"].stage_walls)
    same, union, share = identical_share(finemill_kept(out["finemill"]), reference_kept(out["reference"]))
    return {
        "input": target,
        "files": files,
        "unreadable": unreadable,
        "runs": runs,
        "identical": {"same": same, "union": union, "share": share},
    }


def combined(results: list[dict]) -> dict:
    """All inputs together: documents and seconds summed, peak RSS the largest."""
    runs = {}
    for side in SIDES:
        parts = [r["runs"][side] for r in results]
        steps: dict[str, StepFigure] = {}
        for part in parts:
            for row, figure in part.steps.items():
                total = steps.setdefault(row, StepFigure())
                total.docs += figure.docs
                total.seconds += figure.seconds
        runs[side] = SideRun(
            wall_s=sum(p.wall_s for p in parts),
            process_wall_s=sum(p.process_wall_s for p in parts),
            peak_rss_mb=max(p.peak_rss_mb for p in parts),
            stage_walls={},
            steps=steps,
            cpu_s=sum(p.cpu_s for p in parts),
        )
    same = sum(r["identical"]["same"] for r in results)
    union = sum(r["identical"]["union"] for r in results)
    return {
        "input": "all inputs",
        "files": [f for r in results for f in r["files"]],
        "unreadable": [f for r in results for f in r["unreadable"]],
        "runs": runs,
        "identical": {"same": same, "union": union, "share": same / union if union else 1.0},
    }


def headline(result: dict) -> dict[str, float | None]:
    """Whole-run and non-extraction ratios (reference time / finemill time: above 1 finemill is faster)."""
    ref, ours = result["runs"]["reference"], result["runs"]["finemill"]
    return {
        "ratio": ratio(ref.wall_s, ours.wall_s),
        "non_extraction_ratio": ratio(
            ref.wall_s - ref.seconds("extract"), ours.wall_s - ours.seconds("extract")
        ),
        "identical_share": result["identical"]["share"],
    }


def language_floor(result: dict) -> dict[str, float | None]:
    """finemill's language ID seconds, as a share of its non-extraction time and of its whole run."""
    ours = result["runs"]["finemill"]
    seconds = ours.seconds("language")
    return {
        "language_s": seconds,
        "language_share_non_extraction": ratio(seconds, ours.wall_s - ours.seconds("extract")),
        "language_share_whole": ratio(seconds, ours.wall_s),
    }


def fmt(value: float | None, spec: str) -> str:
    """`value` formatted by `spec`, or a dash as wide (a step that saw no document has no rate)."""
    width = int("".join(c for c in spec.split(".")[0] if c.isdigit()) or 0)
    return "-".rjust(width) if value is None else format(value, spec)


def print_table(result: dict) -> None:
    ref, ours = result["runs"]["reference"], result["runs"]["finemill"]
    print(
        f"\n== {result['input']}: {len(result['files'])} file(s), {ref.steps['read'].docs:,} documents read"
        + (
            f"; left out (datatrove's reader stops on them): {', '.join(result['unreadable'])}"
            if result["unreadable"]
            else ""
        )
    )
    print(f"{'step':<18} {'reference docs/s':>17} {'finemill docs/s':>16} {'ratio':>7}")
    for row in [r for r in ROWS if r in ref.steps or r in ours.steps]:
        a, b = ref.steps.get(row, StepFigure()), ours.steps.get(row, StepFigure())
        print(
            f"{row:<18} {fmt(a.docs_per_s, '17,.1f')} {fmt(b.docs_per_s, '16,.1f')} "
            f"{fmt(ratio(b.docs_per_s, a.docs_per_s), '7.2f')}"
        )
    for label, run in (("reference", ref), ("finemill", ours)):
        steps_s = sum(f.seconds for f in run.steps.values())
        print(
            f"{label}: wall {run.wall_s:.1f} s (process {run.process_wall_s:.1f} s, CPU {run.cpu_s:.1f} s), "
            f"steps {steps_s:.1f} s, "
            f"extract {run.seconds('extract'):.1f} s, peak RSS {run.peak_rss_mb:,.0f} MB"
        )


def print_summary(result: dict) -> None:
    """The figures of all inputs together, one per line in a fixed form (what the README quotes)."""
    figures = headline(result)
    ref, ours = result["runs"]["reference"], result["runs"]["finemill"]
    print(f"ratio: {fmt(figures['ratio'], '.2f')}")
    print(f"non-extraction ratio: {fmt(figures['non_extraction_ratio'], '.2f')}")
    print(f"identical: {100 * figures['identical_share']:.1f}%")
    print(f"peak RSS per worker: reference {ref.peak_rss_mb:,.0f} MB, finemill {ours.peak_rss_mb:,.0f} MB")
    print(f"CPU ratio: {fmt(ratio(ref.cpu_s, ours.cpu_s), '.2f')}")
    floor = language_floor(result)
    print(
        f"language ID: {floor['language_s']:.1f} s = {fmt(share(floor['language_share_non_extraction']), '.0f')}% "
        f"of finemill's non-extraction time ({fmt(share(floor['language_share_whole']), '.0f')}% of its whole run)"
    )


def share(value: float | None) -> float | None:
    return None if value is None else 100 * value


def as_json(result: dict) -> dict:
    runs = {}
    for side, run in result["runs"].items():
        runs[side] = {
            **asdict(run),
            "steps": {
                row: {"docs": f.docs, "seconds": round(f.seconds, 3), "docs_per_s": f.docs_per_s}
                for row, f in run.steps.items()
            },
        }
    ref, ours = result["runs"]["reference"].steps, result["runs"]["finemill"].steps
    step_ratios = {
        row: ratio(ours[row].docs_per_s, ref[row].docs_per_s) for row in ROWS if row in ref and row in ours
    }
    return {
        **{k: v for k, v in result.items() if k != "runs"},
        **headline(result),
        **language_floor(result),
        "cpu_ratio": ratio(result["runs"]["reference"].cpu_s, result["runs"]["finemill"].cpu_s),
        "step_ratios": step_ratios,
        **runs,
    }


def main(argv: list[str] | None = None) -> int:
    # Importing datatrove's logging module installs its INFO sink: import it first, then quiet it.
    from datatrove.utils.logging import logger

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        default=None,
        help="crawl files or folders; each is measured separately (default: the two real inputs; "
        "with --repeat the real pages alone)",
    )
    parser.add_argument("--recipe", default=None, help="finemill's recipe (default: configs/fineweb.yaml)")
    parser.add_argument("--json", default=None, help="also write every figure to this JSON file")
    parser.add_argument("--limit", type=int, default=-1, help="documents per input file (default: all)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each input as one WARC file of its records N times, with distinct record "
        "ids and URLs (default: 1, the files as they are)",
    )
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(*args.child)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    inputs = args.inputs or [str(p) for p in (DEFAULT_INPUTS if args.repeat == 1 else [REAL_PAGES])]
    logger.remove()  # this process only checks inputs and reads outputs: warnings only
    logger.add(sys.stderr, level="WARNING")
    recipe = str(Path(args.recipe).resolve()) if args.recipe else None
    results = []
    with tempfile.TemporaryDirectory(prefix="pipeline_bench-") as tmp:
        for number, target in enumerate(inputs):
            results.append(bench_input(target, recipe, args.limit, Path(tmp) / f"input{number}", args.repeat))
            print_table(results[-1])
    total = combined(results)
    if len(results) > 1:
        print_table(total)
    print()
    print_summary(total)
    if args.json:
        report = {
            "recipe": recipe or "configs/fineweb.yaml",
            "reference": "benchmarks/reference.py, configs/fineweb.yaml",
            "limit": args.limit,
            "repeat": args.repeat,
            "inputs": [as_json(r) for r in results],
            "total": as_json(total),
        }
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
