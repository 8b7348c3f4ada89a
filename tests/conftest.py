"""Shared test fixtures: where the real third-party data lives, and one run of the bundled sample."""

from __future__ import annotations

import subprocess
import sys
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
    """OUT folder of `finemill run` with no arguments (the bundled sample, default recipe), run once per
    test session through the real command line in an empty working directory. Its terminal output is
    saved beside it as `cli_output.txt`."""
    cwd = tmp_path_factory.mktemp("sample_run")
    result = subprocess.run([sys.executable, "-m", "finemill.cli", "run"], cwd=cwd, capture_output=True, text=True)
    (cwd / "cli_output.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "out" / "fineweb"


@pytest.fixture(scope="session")
def sample_tokens(sample_run) -> Path:
    """OUT/tokens of the sample run: `finemill tokenize` with a small vocabulary (the sample is ~450k
    characters) and 5% validation documents, through the real command line."""
    result = subprocess.run(
        [sys.executable, "-m", "finemill.cli", "tokenize", str(sample_run), "--vocab-size", "2048",
         "--val-fraction", "0.05", "--quiet"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return sample_run / "tokens"
