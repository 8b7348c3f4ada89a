"""URL filter: datatrove's URLFilter (offline) against finemill's OfflineURLFilter.

    python -m benchmarks.speed.url_filter [--data ../shared/data] [--rounds 3] [--cold] [--pipeline]

Each measurement runs in a fresh process, as a datatrove worker task would (datatrove's executor sends
each task a fresh copy of the pipeline), alternating the two filters; figures are medians over rounds.
Per filter: the load (constructing the filter, loading its lists, first URL), the RSS the load adds and
the peak RSS of the process, the steady filter rate on all real URLs, and the per-document throughput of
one task on one file of real URLs (the ~1,170 URLs of the extraction index), load included. `ratio` is
finemill's over datatrove's for that last figure. `--cold` also times finemill's one-time build of its
cache (in an empty temporary cache folder); `--pipeline` runs the step through finemill's executor, as a
run does. The machine's other load makes single figures noisy: compare
the two filters within one run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import SHARED_DATA, child_env, module_command

FILTERS = ("datatrove", "finemill")


def datatrove_filter_class() -> type:
    """datatrove's URLFilter, offline (the bundled public-suffix list), as finemill's filter was before."""
    from datatrove.pipeline.filters import URLFilter
    from tldextract import TLDExtract

    class DatatroveOfflineURLFilter(URLFilter):
        name = "😈 URL filter"

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.tldextractor = TLDExtract(suffix_list_urls=(), cache_dir=None)

    return DatatroveOfflineURLFilter


def build_filter(kind: str):
    if kind == "datatrove":
        return datatrove_filter_class()()
    from finemill.steps.filters.url import OfflineURLFilter

    return OfflineURLFilter()


def pipeline_run(kind: str, inputs: list[str], workers: int) -> dict:
    """`finemill run` with the url_filter step alone, one task per input file, in this process's executor."""
    from dataclasses import replace

    from finemill.pipeline.recipe import parse_recipe
    from finemill.pipeline.registry import STEPS
    from finemill.pipeline.run import run_recipe
    from finemill.pipeline.task_logging import quiet_parent_logging

    if kind == "datatrove":
        STEPS["url_filter"] = replace(STEPS["url_filter"], target=datatrove_filter_class())
    quiet_parent_logging()
    with tempfile.TemporaryDirectory() as tmp:
        recipe = parse_recipe({"steps": ["url_filter"], "workers": workers}, {"input": inputs, "output": tmp})
        start = time.perf_counter()
        stats = run_recipe(recipe, progress=False)
        wall = time.perf_counter() - start
    step = stats["steps"][0]
    return {
        "wall_s": wall,
        "step_s": step["time_s"],
        "docs": step["docs_in"],
        "files": stats["reader"]["files"],
        "removed": step["removed"],
    }


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(kind: str, urls_path: str, task_urls: int) -> dict:
    """One fresh process: load, then one task's file, then the steady rate on all URLs."""
    import resource

    from datatrove.data import Document

    urls = json.loads(Path(urls_path).read_text())
    docs = [Document(text="", id=str(i), metadata={"url": u}) for i, u in enumerate(urls)]
    build_filter(kind)  # imports done here, outside the timings
    before = rss_mb()
    start = time.perf_counter()
    f = build_filter(kind)
    f.download_data()
    f.filter(docs[0])  # the public-suffix list is parsed on the first URL
    load_s = time.perf_counter() - start
    load_rss = rss_mb() - before
    start = time.perf_counter()
    for d in docs[:task_urls]:
        f.filter(d)
    task_filter_s = time.perf_counter() - start
    rounds, start = 0, time.perf_counter()
    while rounds < 3 or time.perf_counter() - start < 1.0:
        for d in docs:
            f.filter(d)
        rounds += 1
    per_url_s = (time.perf_counter() - start) / (rounds * len(docs))
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del f  # the worker's next task: a new filter (datatrove's executor sends a fresh pipeline per task)
    gc.collect()
    start = time.perf_counter()
    second = build_filter(kind)
    second.download_data()
    second.filter(docs[0])
    second_load_s = time.perf_counter() - start
    return {
        "load_s": load_s,
        "load_rss_mb": load_rss,
        "second_load_s": second_load_s,
        "peak_rss_mb": peak_rss,
        "urls_per_s": 1 / per_url_s,
        "task_docs_per_s": task_urls / (load_s + task_filter_s),
    }


def run_child(kind: str, urls_path: Path, task_urls: int, env: dict | None = None) -> dict:
    out = subprocess.run(
        module_command(__spec__.name, "--child", kind, str(urls_path), str(task_urls)),
        capture_output=True,
        text=True,
        check=True,
        env=env or child_env(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_build_s() -> float:
    """finemill's one-time cache build, in a fresh process with an empty cache folder."""
    code = (
        "import time; t = time.perf_counter(); from finemill.steps.filters.url_blocklists import integrated_lists; "
        "integrated_lists(); print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = child_env(FINEMILL_URL_FILTER_CACHE=cache)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--pipeline-child":
        print(json.dumps(pipeline_run(sys.argv[2], sys.argv[4:], int(sys.argv[3]))))
        return 0
    from tests.real_urls import INDEX, real_urls

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time finemill's one-time cache build")
    parser.add_argument(
        "--pipeline",
        action="store_true",
        help="also run the url_filter step alone through finemill's executor (2 workers, one task "
        "per file) on the crawl files and the extraction WARC",
    )
    args = parser.parse_args()
    if not (args.data / INDEX).exists():
        print(f"real data not found in {args.data}", file=sys.stderr)
        return 1
    urls = real_urls(args.data)
    task_urls = sum(1 for _ in (args.data / INDEX).open())  # the URLs of one file: the task of the ratio
    from finemill.steps.filters.url_blocklists import integrated_lists

    integrated_lists()  # build the cache if this machine has none: the build is not what is measured here
    results: dict[str, list[dict]] = {k: [] for k in FILTERS}
    with tempfile.TemporaryDirectory() as tmp:
        urls_path = Path(tmp) / "urls.json"
        urls_path.write_text(json.dumps(urls))
        for _ in range(args.rounds):
            for kind in FILTERS:
                results[kind].append(run_child(kind, urls_path, task_urls))

    print(
        f"{len(urls):,} real URLs; task = one file of {task_urls:,} URLs; median of {args.rounds} fresh processes\n"
    )
    keys = [
        ("load_s", "load (s)", "{:.3f}"),
        ("second_load_s", "2nd filter (s)", "{:.3f}"),
        ("load_rss_mb", "load RSS (MB)", "{:.0f}"),
        ("peak_rss_mb", "peak RSS (MB)", "{:.0f}"),
        ("urls_per_s", "URLs/s", "{:,.0f}"),
        ("task_docs_per_s", "task docs/s", "{:,.0f}"),
    ]
    print(f"{'filter':<10}" + "".join(f"{label:>16}" for _, label, _ in keys))
    medians = {k: {key: statistics.median(r[key] for r in results[k]) for key, _, _ in keys} for k in FILTERS}
    for kind in FILTERS:
        print(f"{kind:<10}" + "".join(f"{fmt.format(medians[kind][key]):>16}" for key, _, fmt in keys))
    if args.cold:
        print(f"\nfinemill one-time cache build (first process on a machine): {cold_build_s():.1f} s")
    if args.pipeline:
        inputs = [
            str(args.data / "crawl"),
            str(args.data / "extraction" / "real_pages_aeb_trafilatura.warc.gz"),
        ]
        for kind in FILTERS:
            out = subprocess.run(
                module_command(__spec__.name, "--pipeline-child", kind, "2", *inputs),
                capture_output=True,
                text=True,
                check=True,
                env=child_env(),
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"\npipeline, {kind}: {r['docs']:,} documents in {r['files']} files (tasks), 2 workers: stage "
                f"{r['wall_s']:.1f} s, url_filter step {r['step_s']:.2f} s summed over tasks, removed {r['removed']}",
                end="",
            )
        print()
    ratio = medians["finemill"]["task_docs_per_s"] / medians["datatrove"]["task_docs_per_s"]
    print(f"\nratio: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
