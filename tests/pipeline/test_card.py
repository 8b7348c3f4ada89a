"""OUT/README.md: the dataset card `finemill run` writes and `finemill stats` rewrites, loadable through its
configs by `datasets`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from finemill.cli import main
from finemill.pipeline.card import MARKER, size_category, write_card


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_run_writes_the_card(sample_run: Path):
    card = (sample_run / "README.md").read_text(encoding="utf-8")
    stats = json.loads((sample_run / "stats.json").read_text())
    meta = front_matter(card)
    assert meta["license"] == "odc-by" and meta["language"] == ["en"]
    assert meta["size_categories"] == [size_category(stats["documents"]["count"])]
    configs = {c["config_name"]: c["data_files"][0]["path"] for c in meta["configs"]}
    assert configs == {"default": "documents/*.parquet", "removed": "removed/*/*.parquet"}
    assert MARKER in card
    for step, params in stats["settings"].items():  # the recipe as run, and the funnel
        shown = f"`{json.dumps(params, sort_keys=True)}`" if params else "defaults"
        assert f"| `{step}` | {shown} |" in card
    for step in stats["steps"]:
        assert f"| {step['name']} | {step['docs_in']:,} | {step['docs_out']:,} |" in card
    assert f"`{stats['dump']}`" in card and f"{stats['reader']['files']:,} crawl file(s)" in card
    assert "lid.176" in card and "CC-BY-SA-3.0" in card and "UT1" in card
    for column in pq.read_schema(next((sample_run / "documents").glob("*.parquet"))).names:
        assert f"| `{column}` |" in card
    assert 'datasets.load_dataset("parquet"' in card


def test_the_card_loads_with_datasets(sample_run: Path, tmp_path: Path):
    datasets = pytest.importorskip("datasets")
    run = sample_run  # the whole run folder: its logs, work files and tokens are outside the card's configs
    stats = json.loads((sample_run / "stats.json").read_text())
    kept = datasets.load_dataset(str(run), split="train", cache_dir=str(tmp_path / "cache"))
    assert kept.num_rows == stats["documents"]["count"]
    assert set(kept.column_names) >= {"text", "id", "url", "dump"}
    removed = datasets.load_dataset(str(run), "removed", split="train", cache_dir=str(tmp_path / "cache"))
    reader = stats["reader"]["documents"]
    assert removed.num_rows == reader - stats["documents"]["count"]
    assert set(removed.unique("step")) <= set(stats["settings"])


def test_stats_rewrites_the_card_but_not_a_foreign_readme(sample_run: Path, tmp_path: Path, capsys):
    run = tmp_path / sample_run.name  # the card names the folder
    shutil.copytree(sample_run, run, ignore=shutil.ignore_patterns("tokens", "train-*"))
    (run / "README.md").unlink()
    assert main(["stats", str(run)]) == 0
    assert (run / "README.md").read_text(encoding="utf-8") == (sample_run / "README.md").read_text(
        encoding="utf-8"
    )
    (run / "README.md").write_text("my own notes\n")
    stats = json.loads((run / "stats.json").read_text())
    assert write_card(run, stats, log=lambda _: None) is None
    assert (run / "README.md").read_text() == "my own notes\n"
