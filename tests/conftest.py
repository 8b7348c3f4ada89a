"""Shared test fixtures: where the real third-party data lives, and one run of the bundled sample."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or skip the test: a user's fresh clone has no ../shared."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """OUT folder of `finemill run` (default recipe) on the bundled sample, made once per test session."""
    from finemill.pipeline.recipe import load_recipe
    from finemill.pipeline.run import run_recipe

    out = tmp_path_factory.mktemp("sample_run")
    recipe = load_recipe(None, {"output": str(out), "workers": 2})
    run_recipe(recipe, progress=False)
    return out
