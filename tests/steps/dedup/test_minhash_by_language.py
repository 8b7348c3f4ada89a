"""MinHash per language: near-copies are merged within a language, never across two languages."""

from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq
import pytest

from finemill.pipeline.recipe import StepSpec, load_recipe
from finemill.pipeline.run import run_recipe
from finemill.steps.dedup.minhash.signature import language_key
from tests.conftest import shared_file


def near_copies() -> tuple[str, str]:
    """A real document of a few hundred words and the same with its last sentence changed."""
    path = shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        text = next(t for t in (json.loads(line)["text"] for line in f) if 1500 < len(t.split()) < 3000)
    return text, text + "\nThis last sentence was added to the copy."


def run_minhash(tmp_path, by_language: bool) -> list[str]:
    """Kept ids of four documents, two near-copies in each of two languages."""
    text, copy = near_copies()
    rows = [
        {"id": "fr-1", "text": text, "language": "fr"},
        {"id": "fr-2", "text": copy, "language": "fr"},
        {"id": "de-1", "text": text, "language": "de"},
        {"id": "de-2", "text": copy, "language": "de"},
    ]
    folder = tmp_path / ("by-language" if by_language else "together")
    folder.mkdir()
    (folder / "docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    recipe = load_recipe(
        None, {"input": [str(folder / "docs.jsonl")], "output": str(folder / "out"), "workers": 1}
    )
    params = {**next(s for s in recipe.steps if s.name == "minhash").params, "by_language": by_language}
    recipe.steps = [StepSpec("minhash", params)]
    run_recipe(recipe, progress=False)
    return sorted(pq.read_table(folder / "out" / "documents", columns=["id"])["id"].to_pylist())


@pytest.mark.slow
def test_cross_language_near_copies_are_not_merged(tmp_path):
    by_language = run_minhash(tmp_path, by_language=True)
    assert len(by_language) == 2 and {i[:2] for i in by_language} == {"fr", "de"}  # one per language
    assert len(run_minhash(tmp_path, by_language=False)) == 1  # one cluster of four without languages


def test_language_key_fits_the_precision():
    assert language_key("fr", 32) < 2**32 and language_key("fr", 32) != language_key("de", 32)
    assert language_key("fr") < 2**61 - 1  # below every MinHash value's bound, which datatrove reads up to
