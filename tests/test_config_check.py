"""Recipes and training configs are checked by one checker: the same bad value fails the same way in both,
and a value given on the command line is used even when it is 0 or empty."""

from __future__ import annotations

import pytest
import yaml

from finemill.errors import FinemillError
from finemill.pipeline.recipe import DEFAULT_RECIPE, parse_recipe
from finemill.train.config import load_config
from tests.conftest import run_cli


def recipe_error(path: list, value) -> str:
    """The error of the default recipe with the setting at `path` (keys, step index) set to `value`."""
    raw = yaml.safe_load(DEFAULT_RECIPE.read_text())
    target = raw
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(FinemillError) as error:
        parse_recipe(raw, {}, source="r.yaml")
    return str(error.value)


def train_error(tmp_path, key: str, value) -> str:
    config = tmp_path / "t.yaml"
    section, _, sub = key.partition(".")
    config.write_text(yaml.safe_dump({section: {sub: value}} if sub else {key: value}))
    with pytest.raises(FinemillError) as error:
        load_config(config)
    return str(error.value).replace(str(config), "t.yaml")


# (recipe setting, training setting of the same type, bad value, the error after "<key>: ")
SAME_TYPE = [
    (["workers"], "max_steps", True, "expected int, got True"),  # a bool is not a number
    (["workers"], "max_steps", 2.5, "expected int, got 2.5"),
    (["steps", 2, "language", "threshold"], "lr", "high", "expected float, got 'high'"),
    (["steps", 2, "language", "threshold"], "lr", [1], "expected float, got [1]"),
    (["steps", 6, "fineweb_quality", "rules"], "schedule", "mine", "expected one of "),
]


@pytest.mark.parametrize("recipe_path, train_key, value, expected", SAME_TYPE)
def test_the_same_bad_value_fails_the_same_way(tmp_path, recipe_path, train_key, value, expected):
    recipe_key = recipe_path[0] if len(recipe_path) == 1 else "steps[{}].{}.{}".format(*recipe_path[1:])
    from_recipe = recipe_error(recipe_path, value)
    from_train = train_error(tmp_path, train_key, value)
    assert from_recipe.startswith(f"r.yaml: {recipe_key}: {expected}"), from_recipe
    assert from_train.startswith(f"t.yaml: {train_key}: {expected}"), from_train
    assert "\n" not in from_recipe + from_train


def test_unknown_keys_name_the_closest_one_in_both(tmp_path):
    raw = yaml.safe_load(DEFAULT_RECIPE.read_text())
    raw["wokers"] = 2
    with pytest.raises(FinemillError, match=r"r.yaml: unknown key 'wokers' \(did you mean 'workers'\?\)"):
        parse_recipe(raw, {}, source="r.yaml")
    assert "unknown key 'model.n_heads' (did you mean 'model.n_head'?)" in train_error(
        tmp_path, "model.n_heads", 2
    )


def test_the_same_conversions_in_both(tmp_path):
    raw = yaml.safe_load(DEFAULT_RECIPE.read_text())
    raw["steps"][2]["language"]["threshold"] = "6.5e-1"  # PyYAML reads 6.5e-1 as a number, 65e-2 as a string
    raw["steps"][4]["gopher_quality"]["min_doc_words"] = (
        5e1  # a float with no fraction, where an int is expected
    )
    raw["dump"] = 2024  # a number where a string is expected
    recipe = parse_recipe(raw, {})
    params = {s.name: s.params for s in recipe.steps}
    assert params["language"]["threshold"] == 0.65 and params["gopher_quality"]["min_doc_words"] == 50
    assert recipe.dump == "2024"
    config = tmp_path / "t.yaml"
    config.write_text("lr: 65e-2\nmax_steps: 5.0e+1\nsample_prompt: 2024\n")
    cfg = load_config(config)
    assert (cfg.lr, cfg.max_steps, cfg.sample_prompt) == (0.65, 50, "2024")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--workers", "0"], "'workers' must be >= 1, got 0"),  # not the recipe's workers
        (["--workers", "-3"], "'workers' must be >= 1, got -3"),
        (["--output", ""], "'output' must name a folder, got ''"),  # not the recipe's output
    ],
)
def test_zero_or_empty_on_the_command_line_is_used_not_replaced(tmp_path, args, message):
    if "--output" not in args:
        args = [*args, "--output", str(tmp_path / "o")]
    result = run_cli("run", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_train_command_line_values_are_used_even_when_zero(tmp_path):
    result = run_cli("train", "--data", str(tmp_path), "--max-steps", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'max_steps' must be positive, got 0" in result.stderr


def test_a_typo_in_set_is_named_as_sets_not_the_files(tmp_path):
    config = tmp_path / "t.yaml"
    config.write_text("max_steps: 5\n")
    with pytest.raises(FinemillError) as error:
        load_config(config, {"model.n_layers": "6"})
    message = str(error.value)
    assert message.startswith("--set: unknown key 'model.n_layers' (did you mean 'model.n_layer'?)")
    assert str(config) not in message
    with pytest.raises(FinemillError, match=r"^--set: unknown key 'max_step' \(did you mean 'max_steps'\?\)"):
        load_config(config, {"max_step": "6"})
    with pytest.raises(FinemillError, match=r"^--set: unknown key 'optim.lr'"):
        load_config(config, {"optim.lr": "1"})
    with pytest.raises(FinemillError, match=r"^--set max_steps: expected int, got 'ten'$"):
        load_config(config, {"max_steps": "ten"})
    assert load_config(config, {"model.n_layer": "6"}).model.n_layer == 6  # a right one still applies
    # on the command line: the same words, after the command's name
    result = run_cli("train", "--config", str(config), "--set", "model.n_layers=6")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "finemill train: error: --set: unknown key 'model.n_layers' (did you mean"
    )


def test_invalid_yaml_in_a_training_config_keeps_the_parsers_pointer(tmp_path):
    config = tmp_path / "t.yaml"
    config.write_text("lr: 1e-3\nmodel:\n\tn_layer: 2\n")
    with pytest.raises(FinemillError) as error:
        load_config(config)
    first, quoted, pointer = str(error.value).splitlines()
    assert first == f"{config}:3:1: invalid YAML: found character '\\t' that cannot start any token"
    assert quoted == "    \tn_layer: 2" and pointer == "    ^"
