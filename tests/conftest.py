"""Shared test fixtures: where the real third-party data lives, and one run of the bundled sample."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# The FineWeb recipe's steps in order, written out: what the tests expect, not read from the recipe they check.
FINEWEB_STEPS = [
    "url_filter",
    "extract",
    "language",
    "gopher_repetition",
    "gopher_quality",
    "c4_quality",
    "fineweb_quality",
    "minhash",
    "pii",
]


# ----------------------------------------------------------------------------------------------------------
# Scheduling for `-n 2 --dist loadfile` (pytest-xdist, what CI runs): test files go to the processes in
# collection order, a file at a time. Handing out the longest files first lets the many short ones fill in at
# the end, so no process is left running one long file alone (longest-first scheduling; xdist's own default
# orders files by their number of tests). How long each file took is measured, not guessed:
# `python -m pytest -q -p no:cacheprovider --store-durations [FILES]` records the files it ran in DURATIONS (run
# it on a new test file; a file DURATIONS does not list is scheduled last, as if short).
DURATIONS = Path(__file__).with_name("durations.json")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-durations", action="store_true", help=f"write each file's seconds to {DURATIONS}"
    )


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each test process takes its share of the cores: torch's CPU kernels (here and in every subprocess a
        # test starts) on one thread each, instead of two processes each spinning two threads on two cores.
        os.environ.setdefault("OMP_NUM_THREADS", "1")


FILE_SECONDS: dict[str, float] = {}  # this session's seconds per test file (setup, call and teardown)


def file_of(nodeid: str) -> str:
    return nodeid.split("::")[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    items.sort(key=lambda item: -seconds.get(file_of(item.nodeid), 0.0))  # stable: a file keeps its order


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    FILE_SECONDS[file_of(report.nodeid)] = FILE_SECONDS.get(file_of(report.nodeid), 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.getoption("store_durations") and not hasattr(session.config, "workerinput"):
        known = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
        known.update({name: round(seconds, 1) for name, seconds in FILE_SECONDS.items()})
        kept = {
            name: known[name] for name in sorted(known) if (REPO / name).is_file()
        }  # files since removed: out
        DURATIONS.write_text(json.dumps(kept, indent=1) + "\n")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`finemill ARGS...` in a fresh process (the installed entry point's code: `python -m finemill.cli`)."""
    return subprocess.run(
        [sys.executable, "-m", "finemill.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def torchrun_cli(*args: str, ranks: int = 2, timeout: float = 300) -> subprocess.CompletedProcess:
    """`finemill ARGS...` on `ranks` processes of one machine through torchrun, one torch thread each."""
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks)]
        + ["-m", "finemill.cli", *args],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# Comparisons with a reference on real data, run in two parts: every QUICK_EVERY-th item, spread over the
# whole set, in the quick subset and the whole suite; the other items with `-m every_item` (~2 minutes of
# test time), a tier of its own that the suite leaves out (pyproject's addopts), as it leaves out the
# benchmarks: run it on a change to what these tests compare (docs/testing.md).
QUICK_EVERY = 8
QUICK_AND_REST = [
    pytest.param("quick", id="quick-part"),
    pytest.param("rest", id="every-item-rest", marks=[pytest.mark.slow, pytest.mark.every_item]),
]


def part_of(items: list, part: str, every: int = QUICK_EVERY) -> list:
    """`part` of `items` ("quick" or "rest", from QUICK_AND_REST): every `every`-th item, or the others."""
    if part == "quick":
        return items[::every]
    return [item for i, item in enumerate(items) if i % every]


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or skip the test: a user's fresh clone has no ../shared."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder `build` fills, built once per session: under `-n 2` the first test process to need it builds
    it while the other waits, and both read the same folder (only for what tests read and never write)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    folder = tmp_path_factory.getbasetemp().parent / name  # the session's folder, above each process's own
    with FileLock(f"{folder}.lock"):
        if not (folder / ".built").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """OUT folder of `finemill run` with no arguments (the bundled sample, default recipe), run once per
    test session through the real command line in an empty working directory. Its terminal output is
    saved beside it as `cli_output.txt`, and its stderr alone as `cli_stderr.txt`: off a terminal, the
    progress lines, one every FINEMILL_PROGRESS_INTERVAL = 0.5 s here (tests/pipeline/test_progress.py)."""

    def build(cwd: Path) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "finemill.cli", "run"],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, "FINEMILL_PROGRESS_INTERVAL": "0.5"},
        )
        (cwd / "cli_output.txt").write_text(result.stdout + result.stderr)
        (cwd / "cli_stderr.txt").write_text(result.stderr)
        assert result.returncode == 0, result.stderr[-3000:]

    return built_once(tmp_path_factory, "sample_run", build) / "out" / "fineweb"


@pytest.fixture(scope="session")
def sample_tokens(tmp_path_factory, sample_run) -> Path:
    """OUT/tokens of the sample run: `finemill tokenize` with a small vocabulary (the sample is ~450k
    characters) and 5% validation documents, through the real command line."""

    def build(_marker: Path) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "finemill.cli", "tokenize", str(sample_run)]
            + ["--vocab-size", "2048", "--val-fraction", "0.05", "--quiet"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-3000:]

    built_once(tmp_path_factory, "sample_tokens", build)  # written into the sample run's folder
    return sample_run / "tokens"


REAL_CRAWL_FILES = ("crawl/sample-0000.warc.gz", "crawl/CC-MAIN-2020-34-excerpt.warc.gz")


@pytest.fixture(scope="session")
def real_run(tmp_path_factory) -> Path:
    """The default recipe over two small real crawl files, in the test process (workers=1).

    MinHash is left out: its four stages take longer than all other steps on these few pages, and
    deduplication is checked on the sample run."""
    files = [SHARED_DATA / f for f in REAL_CRAWL_FILES]
    if not all(f.is_file() for f in files):
        pytest.skip(f"real crawl files not available in {SHARED_DATA / 'crawl'}")

    def build(out: Path) -> None:
        from finemill.pipeline.recipe import load_recipe
        from finemill.pipeline.run import run_recipe

        recipe = load_recipe(None, {"input": [str(f) for f in files], "output": str(out), "workers": 1})
        recipe.steps = [s for s in recipe.steps if s.name != "minhash"]
        run_recipe(recipe, progress=False)

    return built_once(tmp_path_factory, "real_run", build)


# `finemill run` of the bundled sample with 2 workers, FineWeb's recipe with a 60 s extraction timeout instead
# of 1 s: a page that timed out under machine load in one run only (it happened, in a resumed run) would
# change the output for a reason that has nothing to do with resuming. Killed, interrupted and rerun by
# tests/pipeline/test_stop_and_resume.py.
RESUMABLE_RECIPE = "recipe.yaml"  # the bundled sample (no input paths), output out/fineweb, in the cwd
RESUMABLE_RUN = [sys.executable, "-m", "finemill.cli", "run", RESUMABLE_RECIPE, "--workers", "2", "--quiet"]


def write_resumable_recipe(cwd: Path) -> None:
    from finemill.pipeline.recipe import DEFAULT_RECIPE

    raw = yaml.safe_load(DEFAULT_RECIPE.read_text())
    for step in raw["steps"]:
        step.get("extract", {}).update(timeout=60.0)
    (cwd / RESUMABLE_RECIPE).write_text(yaml.safe_dump(raw))


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory) -> Path:
    """OUT of RESUMABLE_RUN run through once: what a killed or interrupted run must resume to. One per
    session, shared by the kill and the interrupt tests."""

    def build(cwd: Path) -> None:
        write_resumable_recipe(cwd)
        result = subprocess.run(RESUMABLE_RUN, cwd=cwd, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]

    return built_once(tmp_path_factory, "uninterrupted", build) / "out" / "fineweb"


def assert_same_outputs(out: Path, reference: Path) -> None:
    """A resumed run's kept documents and every step's removed documents (id and text) equal `reference`'s."""
    import pandas as pd

    def frame(files: list[Path]) -> pd.DataFrame:
        tables = [pd.read_parquet(f, columns=["id", "text"]) for f in files]
        return pd.concat(tables).sort_values("id").reset_index(drop=True)

    pd.testing.assert_frame_equal(
        frame(sorted(out.glob("documents/*.parquet"))), frame(sorted(reference.glob("documents/*.parquet")))
    )
    for step in sorted(p.name for p in (reference / "removed").iterdir()):
        pd.testing.assert_frame_equal(
            frame(sorted((out / "removed" / step).glob("*.parquet"))),
            frame(sorted((reference / "removed" / step).glob("*.parquet"))),
        )


@dataclass
class SmallRun:
    """A short run of the full recipe over several files, the reference for other executors' runs."""

    recipe: Path  # its recipe file: input files, limit, and the settings below
    out: Path  # its output, run by the local executor


SMALL_LIMIT = 20  # documents per file: every stage runs, in seconds rather than minutes
SMALL_REAL_FILES = ["crawl/sample-0000.warc.gz"]


@pytest.fixture(scope="session")
def small_local_run(tmp_path_factory) -> SmallRun:
    """The bundled sample's two files plus a real WARC file when ../shared/data is there (3 tasks), at most
    SMALL_LIMIT documents each, run locally with 2 workers. The recipe is FineWeb's except: a 60 s extraction
    timeout (1 s makes the output depend on the machine's load) and 4 MinHash buckets (fewer tasks)."""
    root = built_once(tmp_path_factory, "small_run", build_small_run)
    return SmallRun(root / "small.yaml", root / "local")


def build_small_run(root: Path) -> None:
    from finemill.demo.crawl import write_sample_warc
    from finemill.pipeline.recipe import DEFAULT_RECIPE, load_recipe
    from finemill.pipeline.run import run_recipe

    (root / "crawl").mkdir()
    files = []
    for part in range(2):
        write_sample_warc(root / "crawl" / f"sample-{part}.warc.gz", part=part, parts=2)
        files.append(str(root / "crawl" / f"sample-{part}.warc.gz"))
    for relative in SMALL_REAL_FILES:
        if (SHARED_DATA / relative).is_file():
            files.append(
                str(shutil.copy(SHARED_DATA / relative, root / "crawl" / f"real-{Path(relative).name}"))
            )
    raw = yaml.safe_load(DEFAULT_RECIPE.read_text())
    raw.update(input={"paths": files, "limit": SMALL_LIMIT}, workers=2)
    for step in raw["steps"]:
        step.get("extract", {}).update(timeout=60.0)
        step.get("minhash", {}).update(num_buckets=4)
    recipe = root / "small.yaml"
    recipe.write_text(yaml.safe_dump(raw))
    run_recipe(load_recipe(recipe, {"output": str(root / "local")}), progress=False)


def kept_documents(out: Path):
    """A run's kept documents, ids and text, in id order."""
    import pandas as pd

    return pd.read_parquet(out / "documents", columns=["id", "text"]).sort_values("id").reset_index(drop=True)


# The local S3 server of the object-storage tests (moto), and its environment in this process.
from tests.s3_server import s3_env, s3_server  # noqa: E402, F401
