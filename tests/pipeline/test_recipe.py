"""Recipes are validated before anything runs; the CLI reports bad input in one line."""

from __future__ import annotations

import pytest
import yaml

from finemill.errors import FinemillError
from finemill.pipeline.recipe import DEFAULT_RECIPE, load_recipe, parse_recipe
from tests.conftest import FINEWEB_STEPS, run_cli


def raw_default() -> dict:
    return yaml.safe_load(DEFAULT_RECIPE.read_text())


def test_default_recipe_is_fineweb_in_order():
    recipe = load_recipe()
    assert recipe.step_names() == FINEWEB_STEPS
    params = {s.name: s.params for s in recipe.steps}
    assert params["language"] == {"languages": ["en"], "threshold": 0.65, "model": None}
    assert params["minhash"]["num_buckets"] == 14 and params["minhash"]["hashes_per_bucket"] == 8
    assert params["minhash"]["n_grams"] == 5 and params["minhash"]["hash_fc"] == "sha1"
    assert params["c4_quality"] == {"filter_no_terminal_punct": False}


def test_overrides_replace_recipe_values():
    recipe = load_recipe(None, {"input": ["a.warc.gz"], "output": "/tmp/x", "workers": 3, "limit": 5})
    assert (recipe.input.paths, recipe.output, recipe.workers, recipe.input.limit) == (
        ["a.warc.gz"],
        "/tmp/x",
        3,
        5,
    )


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.update(outptu="x"), "unknown key 'outptu'"),
        (lambda r: r["steps"].append({"gopher_qualty": {}}), "unknown step 'gopher_qualty'"),
        (
            lambda r: r["steps"][4].update(gopher_quality={"min_doc_wrds": 50}),
            "unknown key 'steps[4].gopher_quality.min_doc_wrds' (did you mean 'steps[4].gopher_quality.min_doc_words'?)",
        ),
        (
            lambda r: r["steps"][4].update(gopher_quality={"min_doc_words": "fifty"}),
            "steps[4].gopher_quality.min_doc_words: expected",
        ),
        (
            lambda r: r["steps"][2].update(language={"threshold": "high"}),
            "steps[2].language.threshold: expected",
        ),
        (
            lambda r: r["steps"][6].update(fineweb_quality={"rules": "mine"}),
            "expected one of 'fineweb', 'datatrove'",
        ),
        (lambda r: r["steps"].append({"pii": {}}), "step 'pii' appears twice"),
        (lambda r: r.update(workers=0), "'workers' must be >= 1"),
        (lambda r: r["input"].update(path="x"), "unknown key 'input.path'"),
    ],
)
def test_bad_recipes_fail_naming_the_key(mutate, message):
    raw = raw_default()
    mutate(raw)
    with pytest.raises(FinemillError, match=None) as error:
        parse_recipe(raw, {}, source="r.yaml")
    assert message in str(error.value)


def test_int_is_accepted_where_float_is_expected():
    raw = raw_default()
    raw["steps"][2] = {"language": {"threshold": 1}}
    recipe = parse_recipe(raw, {})
    assert recipe.steps[2].params["threshold"] == 1.0


def test_cli_missing_input_is_one_line_without_traceback(tmp_path):
    result = run_cli("run", "--input", str(tmp_path / "nothing-*.warc.gz"), "--output", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "input not found" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_invalid_config_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - gopher_quality: {max_word_lenght: 3}\n")
    result = run_cli("run", str(bad), "--output", str(tmp_path / "o"))
    assert result.returncode == 2
    assert (
        "unknown key 'steps[0].gopher_quality.max_word_lenght'" in result.stderr
        and "Traceback" not in result.stderr
    )
    result = run_cli("run", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2 and "recipe not found" in result.stderr


def test_cli_help_lists_run():
    result = run_cli("--help")
    assert result.returncode == 0 and "run" in result.stdout
    result = run_cli("run", "--help")
    assert "--workers" in result.stdout and "bundled" in result.stdout


@pytest.mark.parametrize(
    "name",
    ["numpy", "fasttext-numpy2-wheel", "trafilatura", "NumPy", "fasttext-wheel", "no-such-distribution", ""],
)
def test_dependency_check_answers_as_datatrove(name):
    from finemill.pipeline.patches import datatrove_dependency_check as dependency_check

    original = dependency_check.datatrove_is_distribution_available.__wrapped__  # past its lru_cache
    assert dependency_check.is_distribution_available(name) == original(name)


def test_an_unknown_step_names_the_closest_one():
    raw = raw_default()
    raw["steps"].append({"gopher_qualty": {}})
    with pytest.raises(FinemillError) as error:
        parse_recipe(raw, {}, source="r.yaml")
    assert "unknown step 'gopher_qualty' (did you mean 'gopher_quality'?); known steps: [" in str(error.value)
    raw["steps"][-1] = {"zzzz": {}}  # nothing close: no guess, the list only
    with pytest.raises(FinemillError) as error:
        parse_recipe(raw, {}, source="r.yaml")
    assert "unknown step 'zzzz'; known steps: [" in str(error.value)


def test_cli_invalid_yaml_names_line_and_column_and_keeps_the_pointer(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - extract: {timeout: 60\n  - language: {}\n")
    result = run_cli("run", str(bad), "--output", str(tmp_path / "o"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.rstrip("\n").splitlines()
    assert lines[0].startswith(f"finemill run: error: {bad}:4:13: invalid YAML: expected ',' or '}}'")
    assert "flow mapping that starts at line 3, column 14" in lines[0]
    # the parser's excerpt, whitespace intact: the ^ stands under column 13 of the line it quotes
    quoted, pointer = lines[1], lines[2]
    assert quoted.strip() == "- language: {}" and pointer.strip() == "^"
    assert pointer.index("^") - quoted.index("-") == 13 - 3
