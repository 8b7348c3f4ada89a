"""Each document's `dump` on real inputs: the input's own snapshot, `--dump` forcing one, and a warning when
real documents would carry the bundled sample's label (#15 item 4)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from finemill.pipeline.recipe import SAMPLE_DUMP, load_recipe
from tests.conftest import shared_file

# The bundled recipe's label, with one cheap step: these tests are about labels, not filtering.
QUICK_RECIPE = f"name: quick\ndump: {SAMPLE_DUMP}\nworkers: 1\nsteps:\n  - c4_quality: {{}}\n"


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    recipe = tmp_path / "quick.yaml"
    recipe.write_text(QUICK_RECIPE)
    return subprocess.run(
        [sys.executable, "-m", "finemill.cli", "run", str(recipe), "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def dumps(out: Path) -> set[str]:
    """The labels of every document of a run, kept or removed."""
    labels = set()
    if (out / "documents").is_dir():
        labels |= set(pd.read_parquet(out / "documents", columns=["dump"]).dump)
    if (out / "removed").is_dir():
        metadata = pd.read_parquet(out / "removed", columns=["metadata"]).metadata
        labels |= set(metadata.map(lambda m: json.loads(m)["dump"]))
    assert labels, f"no documents in {out}"
    return labels


def test_the_bundled_recipes_carry_the_sample_label():
    assert load_recipe().dump == SAMPLE_DUMP and load_recipe("fineweb-fast").dump == SAMPLE_DUMP


def test_real_input_without_a_snapshot_name_gets_a_warning(tmp_path):
    warc = shutil.copy(shared_file("crawl/sample-0000.warc.gz"), tmp_path / "wget.warc.gz")  # a wget crawl
    result = run_cli(tmp_path, "--input", str(warc), "--output", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-2000:]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    read = stats["reader"]["documents"]
    warning = next(line for line in result.stderr.splitlines() if SAMPLE_DUMP in line)
    assert warning.startswith("finemill run: warning:") and f"{read} of {read} documents" in warning
    assert "--dump" in warning
    assert stats["warnings"] == [warning.removeprefix("finemill run: warning: ")]
    assert dumps(tmp_path / "out") == {SAMPLE_DUMP}


@pytest.mark.slow  # a whole run (7-17 s): out of the quick subset, which stays under 3 minutes
def test_dump_option_labels_every_document_and_is_part_of_the_run(tmp_path):
    path = shared_file("crawl/CC-MAIN-2020-34-excerpt.warc.gz")  # its warcinfo says CC-MAIN-2020-34
    out = tmp_path / "out"
    labelled = run_cli(tmp_path, "--input", str(path), "--output", str(out))
    assert labelled.returncode == 0, labelled.stderr[-2000:]
    assert dumps(out) == {"CC-MAIN-2020-34"} and SAMPLE_DUMP not in labelled.stderr
    assert "warnings" not in json.loads((out / "stats.json").read_text())

    refused = run_cli(tmp_path, "--input", str(path), "--output", str(out), "--dump", "my-crawl")
    assert refused.returncode == 2 and "holds a run of another recipe or other inputs" in refused.stderr

    forced = run_cli(
        tmp_path, "--input", str(path), "--output", str(tmp_path / "forced"), "--dump", "my-crawl"
    )
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert dumps(tmp_path / "forced") == {"my-crawl"}
    stats = json.loads((tmp_path / "forced" / "stats.json").read_text())
    assert stats["dump"] == "my-crawl" and stats["dump_from_input"] is False


@pytest.mark.parametrize("given", [None, "CC-MAIN-2024-10"])
def test_the_bundled_sample_keeps_its_label_without_a_warning(tmp_path, given):
    out = tmp_path / "out"
    result = run_cli(tmp_path, "--output", str(out), "--limit", "5", *(["--dump", given] if given else []))
    assert result.returncode == 0, result.stderr[-2000:]
    assert dumps(out) == {given or SAMPLE_DUMP} and "warning" not in result.stderr
