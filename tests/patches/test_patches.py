"""finemill's patches (docs/patches.md): the process-wide ones applied by `finemill.pipeline.patches.install()`
only, in every worker too; each skipped with a warning, the library left as installed, where its target has
changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datatrove.executor.base as executor_base
import datatrove.utils._import_utils as import_utils
import dill
import pytest
from datatrove.pipeline.base import PipelineStep
from loguru import logger

from finemill.patches import PatchSkipped, check, hidden_imports
from finemill.pipeline import patches
from finemill.pipeline.patches import datatrove_dependency_check, datatrove_task_logging, ray_loopback
from finemill.steps.pii.presidio_ip_pattern import ascii_bounded_ip_patterns
from tests.conftest import REPO

# Every finemill module a run imports, then install(): which functions datatrove's modules hold at each point.
IMPORTS_THEN_INSTALL = """
import importlib, json
import datatrove.executor.base as executor_base
import datatrove.utils._import_utils as import_utils
def held():
    return [import_utils._is_distribution_available.__module__, executor_base.add_task_logger.__module__,
            executor_base.close_task_logger.__module__]
for module in ["finemill.cli", "finemill.pipeline.run", "finemill.pipeline.plan", "finemill.pipeline.executors",
               "finemill.pipeline.task_logging", "finemill.pipeline.registry", "finemill.steps.pii.scrubber",
               "finemill.steps.extract.trafilatura", "finemill.text.words", "finemill.patches",
               "finemill.pipeline.patches", "finemill.steps.extract.patches"]:
    importlib.import_module(module)
imported = held()
from finemill.pipeline import patches
patches.install()
patches.install()
print(json.dumps([imported, held()]))
"""
ROOT = REPO
DATATROVE = ["datatrove.utils._import_utils", "datatrove.utils.logging", "datatrove.utils.logging"]
FINEMILL = [
    "finemill.pipeline.patches.datatrove_dependency_check",
    "finemill.pipeline.patches.datatrove_task_logging",
    "finemill.pipeline.patches.datatrove_task_logging",
]


def test_importing_finemill_changes_nothing_until_install():
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS_THEN_INSTALL], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported, installed = json.loads(result.stdout.splitlines()[-1])
    assert imported == DATATROVE
    assert installed == FINEMILL


_created_with: list[str] = []  # in each process: the dependency check each Probe's creation met


class Probe(PipelineStep):
    """Records, in the worker that runs it, which dependency check and task logger the worker had."""

    name = "probe"
    _requires_dependencies = ["numpy"]  # its creation (also when unpickled) runs datatrove's dependency check

    def __new__(cls, *args, **kwargs):
        _created_with.append(import_utils._is_distribution_available.__module__)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, out: str) -> None:
        super().__init__()
        self.out = out

    def run(self, data, rank: int = 0, world_size: int = 1):
        logger.info(f"probe info line {rank}")
        logger.warning(f"probe warning line {rank}")
        seen = {"created_with": _created_with[-1], "task_logger": executor_base.add_task_logger.__module__}
        Path(self.out, f"{rank}.json").write_text(json.dumps(seen))
        yield from data or []


# A fresh process runs the executor: pool workers write to the fd 2 of the forkserver that forks them, which
# an earlier test of this session may have started with another stderr than this test's.
RUN_PROBES = """
import sys
from tests.patches.test_patches import Probe
from finemill.pipeline.executors import QuietLocalExecutor
QuietLocalExecutor([Probe(sys.argv[1])], tasks=2, workers=2, logging_dir=sys.argv[2]).run()
"""


def test_worker_processes_install_the_patches(tmp_path):
    """Tasks run in fresh worker processes (datatrove's forkserver pool): there the pipeline's steps are
    rebuilt with finemill's dependency check already in place, and the task logs go to files only."""
    env = {k: v for k, v in os.environ.items() if k != "FINEMILL_VERBOSE"}
    result = subprocess.run(
        [sys.executable, "-c", RUN_PROBES, str(tmp_path), str(tmp_path / "logs")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for rank in range(2):
        seen = json.loads((tmp_path / f"{rank}.json").read_text())
        assert seen == {"created_with": FINEMILL[0], "task_logger": FINEMILL[1]}
        log = (tmp_path / "logs" / "logs" / f"task_{rank:05d}.log").read_text()
        assert f"probe info line {rank}" in log and f"probe warning line {rank}" in log
    terminal = result.stderr
    assert "probe warning line 0" in terminal and "probe warning line 1" in terminal
    assert "probe info line" not in terminal


def datatroves_own(monkeypatch) -> None:
    """datatrove's functions in place, as in a process where nothing is installed (put back after the test)."""
    monkeypatch.setattr(
        import_utils,
        "_is_distribution_available",
        datatrove_dependency_check.datatrove_is_distribution_available,
    )
    monkeypatch.setattr(executor_base, "add_task_logger", datatrove_task_logging.datatrove_add_task_logger)
    monkeypatch.setattr(
        executor_base, "close_task_logger", datatrove_task_logging.datatrove_close_task_logger
    )


def skipped_warning(library: str, record) -> str:
    message = str(record[0].message)
    assert f"{library} {check.installed_version(library)}" in message and "skipped" in message
    return message


def test_dependency_check_left_alone_where_datatrove_changed(monkeypatch):
    def changed(distribution_name: str, strict: bool = False):
        return None

    monkeypatch.setattr(import_utils, "_is_distribution_available", changed)
    with pytest.warns(PatchSkipped) as record:
        assert datatrove_dependency_check.install() is False
    assert "takes (distribution_name, strict)" in skipped_warning("datatrove", record)
    assert import_utils._is_distribution_available is changed

    monkeypatch.delattr(import_utils, "_is_distribution_available")
    with pytest.warns(PatchSkipped, match="no longer exists"):
        assert datatrove_dependency_check.install() is False
    assert not hasattr(import_utils, "_is_distribution_available")


def test_patches_left_alone_outside_the_tested_datatrove_series(monkeypatch):
    datatroves_own(monkeypatch)
    monkeypatch.setattr(check, "installed_version", lambda distribution: "0.11.0")
    with pytest.warns(PatchSkipped, match="tested with releases 0.10.*, not 0.11.0"):
        assert datatrove_dependency_check.install() is False
    with pytest.warns(PatchSkipped, match="tested with releases 0.10.*, not 0.11.0"):
        assert datatrove_task_logging.install() is False
    assert (
        import_utils._is_distribution_available
        is datatrove_dependency_check.datatrove_is_distribution_available
    )
    assert executor_base.add_task_logger is datatrove_task_logging.datatrove_add_task_logger


def test_task_logger_left_alone_where_datatrove_changed(monkeypatch):
    def changed(logging_dir, rank: int):
        return None

    monkeypatch.setattr(executor_base, "add_task_logger", changed)
    with pytest.warns(PatchSkipped) as record:
        assert datatrove_task_logging.install() is False
    assert "add_task_logger takes (logging_dir, rank)" in skipped_warning("datatrove", record)
    assert executor_base.add_task_logger is changed


def test_install_applies_both_once(monkeypatch):
    datatroves_own(monkeypatch)
    monkeypatch.setattr(patches, "_installed", False)
    patches.install()
    assert import_utils._is_distribution_available is datatrove_dependency_check.is_distribution_available
    assert executor_base.add_task_logger is datatrove_task_logging.add_task_logger
    assert executor_base.close_task_logger is datatrove_task_logging.close_task_logger
    monkeypatch.setattr(executor_base, "add_task_logger", datatrove_task_logging.datatrove_add_task_logger)
    patches.install()  # once per process: a later call changes nothing
    assert executor_base.add_task_logger is datatrove_task_logging.datatrove_add_task_logger


def test_presidio_patterns_rewritten_only_where_their_text_is_as_expected():
    from finemill.steps.pii.scrubber import import_presidio_recognizers

    IpRecognizer = import_presidio_recognizers().IpRecognizer  # noqa: N806  (presidio's class)
    from presidio_analyzer import Pattern

    rewritten = ascii_bounded_ip_patterns(IpRecognizer)
    originals = [p for p in IpRecognizer.PATTERNS if p.name != "IPv4"]
    assert [p.name for p in rewritten] == [p.name for p in originals]
    assert all(r"(?<![0-9A-Za-z_:])" in p.regex and r"(?<![\w:])" not in p.regex for p in rewritten)

    class Changed(IpRecognizer):
        PATTERNS = [
            Pattern(p.name, p.regex.replace(r"(?<![\w:])", r"\b"), p.score) for p in IpRecognizer.PATTERNS
        ]

    with pytest.warns(PatchSkipped) as record:
        unchanged = ascii_bounded_ip_patterns(Changed)
    assert "no longer starts with" in skipped_warning("presidio-analyzer", record)
    assert [p.regex for p in unchanged] == [p.regex for p in Changed.PATTERNS if p.name != "IPv4"]


@pytest.fixture
def fresh_hidden_checks():
    hidden_imports.torch_unused_by_spacy.cache_clear()
    hidden_imports.transformers_unused_by_presidio.cache_clear()
    yield
    hidden_imports.torch_unused_by_spacy.cache_clear()
    hidden_imports.transformers_unused_by_presidio.cache_clear()


def test_nothing_hidden_outside_the_tested_series(monkeypatch, fresh_hidden_checks):
    assert hidden_imports.transformers_unused_by_presidio() == ("transformers",)
    hidden_imports.transformers_unused_by_presidio.cache_clear()
    monkeypatch.setattr(check, "installed_version", lambda distribution: "3.0.0")
    with pytest.warns(PatchSkipped, match="presidio-analyzer 3.0.0"):
        assert hidden_imports.transformers_unused_by_presidio() == ()
    with pytest.warns(PatchSkipped, match="thinc 3.0.0"):
        assert hidden_imports.torch_unused_by_spacy() == ()


def test_an_import_needing_a_hidden_module_says_so():
    with pytest.warns(PatchSkipped, match="now needs finemill_no_such_module"), pytest.raises(ImportError):
        with hidden_imports.hidden("finemill_no_such_module"):
            import finemill_no_such_module  # noqa: F401
    assert "finemill_no_such_module" not in sys.modules


def test_ray_switch_scoped_and_left_alone_where_ray_changed(monkeypatch):
    pytest.importorskip("ray")
    from ray._private import ray_constants

    variable = ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR
    monkeypatch.delenv(variable, raising=False)
    before = ray_constants.ENABLE_RAY_CLUSTER
    with ray_loopback.loopback_only() as applied:
        assert applied and ray_constants.ENABLE_RAY_CLUSTER is False and os.environ[variable] == "0"
    assert ray_constants.ENABLE_RAY_CLUSTER is before and variable not in os.environ

    monkeypatch.delattr(ray_constants, "ENABLE_RAY_CLUSTER")
    with pytest.warns(PatchSkipped) as record:
        with ray_loopback.loopback_only() as applied:
            assert not applied and variable not in os.environ
    assert "ENABLE_RAY_CLUSTER" in skipped_warning("ray", record)


def test_trafilatura_runs_as_installed_where_its_lists_are_gone(monkeypatch):
    import types

    import trafilatura
    from lxml import etree

    from finemill.steps.extract.patches import trafilatura_xpaths

    real_lists = trafilatura.xpaths
    trafilatura_xpaths._swap.cache_clear()
    monkeypatch.setattr(trafilatura, "xpaths", types.ModuleType("trafilatura.xpaths"))
    monkeypatch.setitem(sys.modules, "trafilatura.xpaths", trafilatura.xpaths)
    try:
        with pytest.warns(PatchSkipped) as record:
            with trafilatura_xpaths.compiled_xpaths() as compiled:
                assert compiled == 0
                assert all(type(x) is etree.XPath for x in real_lists.OVERALL_DISCARD_XPATH)
        assert "no list of lxml XPath" in skipped_warning("trafilatura", record)
    finally:
        trafilatura_xpaths._swap.cache_clear()  # the next swap reads the real lists again


LOAD_THEN_REPORT = """
import sys, dill
with open(sys.argv[1], "rb") as f:
    executor = dill.load(f)
import datatrove.utils._import_utils as import_utils
print(type(executor).__name__, import_utils._is_distribution_available.__module__)
"""


@pytest.mark.parametrize("backend", ["local", "ray", "slurm"])
def test_every_backends_executor_installs_the_patches_where_it_is_unpickled(backend, tmp_path):
    """A Slurm job loads its executor with dill, Ray workers with cloudpickle (which dill reads too), the
    local pool with dill: in each, a fresh process has the patches once the executor is loaded."""
    from finemill.pipeline.executors import make_backend
    from finemill.pipeline.plan import Stage
    from finemill.pipeline.recipe import ExecutorSpec, RaySpec, SlurmSpec

    if backend == "ray":
        cloudpickle = pytest.importorskip("ray.cloudpickle")
    spec = ExecutorSpec(kind=backend, ray=RaySpec(), slurm=SlurmSpec(partition="cpu"))
    stage = Stage(name="probe", pipeline=[Probe(str(tmp_path))], step_names=["probe"], tasks=1)
    executor = make_backend(spec).executor(stage, tmp_path / "logs", workers=1, previous=None)
    pickled = tmp_path / "executor.pik"
    with pickled.open("wb") as f:
        (cloudpickle if backend == "ray" else dill).dump(executor, f)
    result = subprocess.run(
        [sys.executable, "-c", LOAD_THEN_REPORT, str(pickled)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )  # where the Probe class can be imported
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [type(executor).__name__, FINEMILL[0]]
