"""The bundled recipes and training configs: package data, the checkout's configs/ folder, bare names."""

from __future__ import annotations

from pathlib import Path

import pytest

from finemill.config_files import PACKAGED_CONFIGS, packaged_names, resolve_config
from finemill.errors import FinemillError
from finemill.pipeline.recipe import DEFAULT_RECIPE, load_recipe
from finemill.train.config import load_config
from tests.conftest import REPO


def test_checkout_configs_folder_is_the_packaged_one():
    assert PACKAGED_CONFIGS.is_dir() and DEFAULT_RECIPE.parent == PACKAGED_CONFIGS
    assert (REPO / "configs").resolve() == PACKAGED_CONFIGS.resolve()
    assert {"fineweb", "fineweb-fast", "train-tiny", "train-gpt2-124m"} <= set(packaged_names())


def test_bare_names_resolve_to_bundled_configs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_config("fineweb-fast") == PACKAGED_CONFIGS / "fineweb-fast.yaml"
    assert resolve_config("train-tiny.yaml") == PACKAGED_CONFIGS / "train-tiny.yaml"
    assert load_recipe("fineweb-fast").name == load_recipe(PACKAGED_CONFIGS / "fineweb-fast.yaml").name
    assert load_config(resolve_config("train-tiny")).model.n_layer == 4
    # A file of that name in the current folder wins; a path with a folder is never redirected.
    (tmp_path / "fineweb-fast").write_text("name: mine\n")
    assert resolve_config("fineweb-fast") == Path("fineweb-fast")
    assert resolve_config("elsewhere/fineweb.yaml") == Path("elsewhere/fineweb.yaml")
    with pytest.raises(FinemillError, match="recipe not found: no-such-recipe"):
        load_recipe("no-such-recipe")
