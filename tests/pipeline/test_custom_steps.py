"""A recipe step may be any datatrove PipelineStep named by import path (#15 item 8): checked like built-in
steps, and a filter's removed documents and counts land where the built-in filters' do."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from finemill.errors import FinemillError
from finemill.pipeline.plan import _build_step
from finemill.pipeline.recipe import parse_recipe

REGEX = r"(?i)\bcouncil\b"  # the bundled sample has council pages among its kept documents
RECIPE = {
    "name": "custom",
    "workers": 2,
    "steps": [
        {"extract": {"timeout": 60.0}},
        {"class": "datatrove.pipeline.filters.RegexFilter", "name": "no_council", "regex_exp": REGEX},
        {"class": "datatrove.pipeline.formatters.SymbolLinesFormatter"},  # rewrites text, removes nothing
        {"gopher_quality": {}},
    ],
}


def recipe_with(step: dict) -> dict:
    return {"name": "r", "steps": [{"language": {}}, step]}


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            {"class": "no_such_package.Filter"},
            "class 'no_such_package.Filter' cannot be imported: ModuleNotFoundError",
        ),
        ({"class": "datatrove.pipeline.filters.NoSuchFilter"}, "cannot be imported: AttributeError"),
        (
            {"class": "collections.OrderedDict"},
            "class 'collections.OrderedDict' is not a datatrove PipelineStep",
        ),
        (
            {"class": "datatrove.pipeline.filters.RegexFilter"},
            "steps[1].regex_filter: RegexFilter needs 'regex_exp'",
        ),
        (
            {"class": "datatrove.pipeline.filters.RegexFilter", "regex_ex": "x"},
            "unknown key 'steps[1].regex_filter.regex_ex' (did you mean 'steps[1].regex_filter.regex_exp'?)",
        ),
        (
            {"class": "datatrove.pipeline.filters.RegexFilter", "regex_exp": ["a", "b"]},
            "steps[1].regex_filter.regex_exp: expected str, got ['a', 'b']",
        ),
        (
            {"class": "datatrove.pipeline.filters.RegexFilter", "name": "language", "regex_exp": "x"},
            "the name 'language' is a built-in step's",
        ),
        (
            {"class": "datatrove.pipeline.filters.RegexFilter", "name": "../out", "regex_exp": "x"},
            "must be lower case",
        ),
    ],
)
def test_bad_custom_steps_fail_in_one_line(step, message):
    with pytest.raises(FinemillError) as error:
        parse_recipe(recipe_with(step), {}, source="r.yaml")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_custom_filter_is_named_checked_and_pickles(tmp_path):
    recipe = parse_recipe(
        recipe_with({"class": "datatrove.pipeline.filters.RegexFilter", "regex_exp": "x+"}), {}
    )
    spec = recipe.steps[1]
    assert (spec.name, spec.params, spec.cls) == (
        "regex_filter",
        {"regex_exp": "x+"},
        "datatrove.pipeline.filters.RegexFilter",
    )
    step = pickle.loads(pickle.dumps(_build_step(spec, tmp_path)))  # as it travels to a worker
    assert step.exclusion_writer.output_folder.path == str((tmp_path / "removed" / "regex_filter").resolve())
    assert recipe.steps[0].identity() == {
        "name": "language",
        "params": {},
    }  # fingerprints of earlier runs hold


@pytest.fixture(scope="module")
def custom_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("custom")
    (folder / "custom.yaml").write_text(yaml.safe_dump(RECIPE))
    out = folder / "out"
    result = subprocess.run(
        [sys.executable, "-m", "finemill.cli", "run", str(folder / "custom.yaml"), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no_council" in result.stdout  # a row of the funnel
    return out


@pytest.mark.slow  # a whole run (7-17 s): out of the quick subset, which stays under 3 minutes
def test_custom_filter_on_the_sample_writes_removed_and_stats(custom_run):
    stats = json.loads((custom_run / "stats.json").read_text())
    names = [s["name"] for s in stats["steps"]]
    assert names == ["extract", "no_council", "symbol_lines_formatter", "gopher_quality"]
    step = stats["steps"][1]
    removed = pd.read_parquet(custom_run / "removed" / "no_council")
    assert step["docs_in"] - step["docs_out"] == len(removed) > 0 and step["removed"] == {
        "removed": len(removed)
    }
    assert removed.text.map(lambda text: bool(re.search(REGEX, text))).all()
    assert (removed.step == "no_council").all() and (removed.reason == "removed").all()
    kept = pd.read_parquet(custom_run / "documents")
    assert not kept.text.map(lambda text: bool(re.search(REGEX, text))).any()
    assert stats["settings"]["no_council"] == {"regex_exp": REGEX}
    assert stats["steps"][2]["docs_in"] == stats["steps"][2]["docs_out"] == step["docs_out"]


@pytest.mark.slow  # a whole run (7-17 s): out of the quick subset, which stays under 3 minutes
def test_inspect_and_report_show_the_custom_filter(custom_run, tmp_path):
    inspected = subprocess.run(
        [sys.executable, "-m", "finemill.cli", "inspect", str(custom_run), "--step", "no_council"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert inspected.returncode == 0, inspected.stderr[-2000:]
    assert "no_council" in inspected.stdout and "Traceback" not in inspected.stderr
    report = tmp_path / "report.html"
    stats = subprocess.run(
        [sys.executable, "-m", "finemill.cli", "stats", str(custom_run), "--html", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert stats.returncode == 0, stats.stderr[-2000:]
    assert "no_council" in report.read_text()
