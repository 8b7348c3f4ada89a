"""End to end: `finemill run` on the bundled sample, on bad input, and resumed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from finemill.pipeline.recipe import load_recipe
from finemill.pipeline.run import run_recipe
from finemill.steps.write.parquet import DOCUMENT_SCHEMA
from tests.conftest import FINEWEB_STEPS
from tests.steps.read.test_reader import record_bytes, write

REMOVING = FINEWEB_STEPS[:-1]  # every step but pii, which changes text
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def documents(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "documents").sort_values("id").reset_index(drop=True)


def test_every_step_of_the_recipe_fires_on_the_sample(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    steps = {s["name"]: s for s in stats["steps"]}
    for name in REMOVING:
        assert steps[name]["docs_out"] < steps[name]["docs_in"], f"{name} removed nothing"
    assert steps["pii"]["counters"].get("replaced_EMAIL_ADDRESS", 0) > 0
    assert stats["reader"]["skipped"], "the sample has non-HTML records that the reader must count"
    kept = stats["documents"]["count"]
    assert 0.2 * stats["reader"]["documents"] < kept < 0.7 * stats["reader"]["documents"]


def test_cli_prints_the_funnel(sample_run):
    output = (sample_run.parents[1] / "cli_output.txt").read_text()
    for step in REMOVING + ["pii"]:
        assert step in output
    assert "kept" in output and "docs/s" in output


def test_documents_have_finewebs_columns_and_only_english(sample_run):
    table = pq.read_table(sample_run / "documents")
    assert table.schema.equals(DOCUMENT_SCHEMA)
    docs = documents(sample_run)
    stats = json.loads((sample_run / "stats.json").read_text())
    assert len(docs) == stats["documents"]["count"] == stats["steps"][-1]["docs_out"]
    assert (docs.language == "en").all() and (docs.language_score > 0.65).all()
    assert (docs.dump == load_recipe().dump).all() and docs.url.str.startswith("http").all()
    assert docs.text.is_unique and docs.id.is_unique
    assert sum(len(t) for t in docs.text) == stats["documents"]["chars"]


def test_pii_is_replaced_in_kept_documents(sample_run):
    emails = {e for text in documents(sample_run).text for e in EMAIL.findall(text)}
    assert emails and emails <= {"email@example.com", "firstname.lastname@example.org"}


def test_every_removed_document_is_kept_with_its_reason(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    for step in stats["steps"]:
        if step["name"] not in REMOVING:
            continue
        removed = pd.read_parquet(sample_run / "removed" / step["name"])
        assert len(removed) == step["docs_in"] - step["docs_out"]
        assert removed.reason.value_counts().to_dict() == step["removed"]
        assert (removed.step == step["name"]).all() and removed.url.notna().all()


def test_rerun_skips_finished_work_and_gives_the_same_output(sample_run, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(sample_run, out)
    before = documents(out)
    stats_before = json.loads((out / "stats.json").read_text())
    recipe = load_recipe(None, {"output": str(out), "workers": 2})
    # Finished run: nothing to redo.
    run_recipe(recipe, progress=False)
    pd.testing.assert_frame_equal(documents(out), before)
    # Interrupted run: the last stage of task 0 and its documents are gone, as after a kill.
    (out / "logs" / "finalize" / "completions" / "00000").unlink()
    (out / "documents" / "00000.parquet").unlink()
    stats = run_recipe(recipe, progress=False)
    pd.testing.assert_frame_equal(documents(out), before)
    assert [s["docs_out"] for s in stats["steps"]] == [s["docs_out"] for s in stats_before["steps"]]


def test_bad_inputs_do_not_stop_the_run(tmp_path):
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    good = [record_bytes(i, payload=_article(i)) for i in range(3)]
    broken = bytearray(good[1])
    broken[40:80] = b"\x00" * 40
    write(crawl / "a-corrupt.warc.gz", good[0], bytes(broken), good[2])
    write(crawl / "b-empty.warc.gz")
    write(crawl / "c-truncated.warc.gz", good[0], good[2][: len(good[2]) // 2])
    recipe = load_recipe(None, {"input": [str(crawl)], "output": str(tmp_path / "out"), "workers": 1})
    recipe.steps = [s for s in recipe.steps if s.name in ("extract", "language")]
    stats = run_recipe(recipe, progress=False)
    assert stats["reader"]["files"] == 3
    assert stats["reader"]["skipped"]["corrupt_record"] == 2
    assert stats["reader"]["documents"] == 3  # records 0 and 2 of the first file, record 0 of the third
    assert stats["documents"]["count"] == 3


def _article(i: int) -> bytes:
    sentences = " ".join(
        f"The town council met on day {i} to discuss the new library, and residents shared their views."
        for _ in range(12)
    )
    return f"<html><body><article><h1>Council meeting {i}</h1><p>{sentences}</p></article></body></html>".encode()
