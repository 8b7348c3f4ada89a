"""The local executor's forkserver loads what the run's workers need once, before it forks any of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from finemill.pipeline.executors import LocalBackend
from finemill.pipeline.plan import plan_stages
from finemill.pipeline.recipe import DEFAULT_RECIPE, load_recipe

# A fresh process (the test process's forkserver may be running already): start the forkserver inside
# `loading(entries)`, then ask a pool worker, before its task imports anything, what it found loaded.
PROBE = """
import json, sys
import multiprocess
from finemill.pipeline import worker_preload

def loaded(names):
    return {name: name in sys.modules for name in names}

if __name__ == "__main__":
    entries, names = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    with worker_preload.loading(entries):
        multiprocess.forkserver.ensure_running()
    with multiprocess.get_context("forkserver").Pool(1) as pool:
        print(json.dumps(pool.apply(loaded, (names,))))
"""


def worker_finds(tmp_path: Path, entries: list[str], names: list[str]) -> dict[str, bool]:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    result = subprocess.run(
        [sys.executable, str(script), json.dumps(entries), json.dumps(names)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def stages_of(recipe, tmp_path: Path) -> list:
    return plan_stages(recipe, [str(tmp_path / "a.warc.gz")], tmp_path / "out")


def preload_of(stages: list, tmp_path: Path) -> list[str]:
    """What the local backend's executors of every stage give the forkserver to load."""
    backend = LocalBackend()
    executors = [backend.executor(stage, tmp_path / "logs" / stage.name, 2, None) for stage in stages]
    assert all(executor.preload is backend.preload for executor in executors)  # the first stage's sees all
    return list(backend.preload)


def test_the_fineweb_recipe_preloads_its_steps_spacy_and_presidio(tmp_path):
    recipe = load_recipe(DEFAULT_RECIPE, {"output": str(tmp_path / "out")})
    stages = stages_of(recipe, tmp_path)
    entries = preload_of(stages, tmp_path)
    assert entries[0] == "finemill.pipeline.executors"
    assert {type(step).__module__ for stage in stages for step in stage.pipeline} <= set(entries)
    assert "finemill.text.words:import_spacy_tokenizer" in entries
    assert "finemill.steps.pii.scrubber:import_presidio_recognizers" in entries
    recipe.steps[:] = [step for step in recipe.steps if step.name != "pii"]  # without it, no presidio
    assert not any("presidio" in entry for entry in preload_of(stages_of(recipe, tmp_path), tmp_path))


def test_workers_start_with_the_entries_loaded_and_a_failing_entry_is_skipped(tmp_path):
    names = ["finemill.pipeline.executors", "spacy.tokenizer", "presidio_analyzer", "torch"]
    entries = [
        "finemill.pipeline.executors",
        "no_such_module_anywhere",  # skipped: the workers would import it themselves, and fail there
        "finemill.text.words:no_such_function",
        "finemill.text.words:import_spacy_tokenizer",
    ]
    found = worker_finds(tmp_path, entries, names)
    assert found == {
        "finemill.pipeline.executors": True,
        "spacy.tokenizer": True,  # the function ran: spaCy's tokenizer module is loaded
        "presidio_analyzer": False,  # not asked for
        "torch": False,  # hidden during spaCy's import, as the workers themselves import it
    }
    # nothing asked: the worker starts bare
    assert not any(worker_finds(tmp_path, [], names).values())
