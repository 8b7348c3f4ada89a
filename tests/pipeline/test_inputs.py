"""Inputs users have besides WARC files (#15 item 5): text already extracted (Dolma JSONL, parquet) runs the
recipe without extraction; files finemill does not read are named with the reason; nothing readable is a
one-line error."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finemill.errors import FinemillError
from finemill.pipeline.inputs import find_inputs
from tests.conftest import FINEWEB_STEPS, run_cli, shared_file

DOLMA = "crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz"  # 697 real documents, text extracted by Dolma
WAT = "crawl/whirlwind.warc.wat.gz"
QUICK_RECIPE = "name: quick\nworkers: 2\nsteps:\n  - extract: {}\n  - gopher_quality: {}\n"


def dolma_records(limit: int | None = None) -> list[dict]:
    with gzip.open(shared_file(DOLMA), "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    return records[:limit] if limit else records


@pytest.fixture(scope="module")
def text_folder(tmp_path_factory) -> Path:
    """What a user's folder may hold: Dolma's JSONL, a WAT file and notes, side by side."""
    folder = tmp_path_factory.mktemp("mixed")
    shutil.copy(shared_file(DOLMA), folder)
    shutil.copy(shared_file(WAT), folder)
    (folder / "README.txt").write_text("where these files come from\n")
    return folder


def test_a_folder_sorts_files_by_kind_and_names_the_rest(text_folder):
    inputs = find_inputs([str(text_folder)])
    assert inputs.kind == "text" and [Path(f).name for f in inputs.files["jsonl"]] == [Path(DOLMA).name]
    assert inputs.skipped == {
        "README.txt": "not a crawl or text file (.txt)",
        "whirlwind.warc.wat.gz": "WAT metadata, no page content",
    }


def test_crawl_folder_skips_the_wat_and_reads_warc_and_wet(tmp_path):
    for name in ("whirlwind.warc.gz", "whirlwind.warc.wet.gz", "whirlwind.warc.wat.gz"):
        shutil.copy(shared_file(f"crawl/{name}"), tmp_path)
    inputs = find_inputs([str(tmp_path)])
    assert inputs.kind == "crawl" and len(inputs.files["crawl"]) == 2
    assert inputs.skipped == {"whirlwind.warc.wat.gz": "WAT metadata, no page content"}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["a.txt", "b.txt"], "no crawl or text files in {folder}: found 2 .txt"),
        (["a.txt", "x.warc.wat.gz"], "found 1 .txt, 1 .wat.gz"),
    ],
)
def test_a_folder_with_nothing_readable_is_one_line(tmp_path, files, message):
    folder = tmp_path / "notes"
    folder.mkdir()
    for name in files:
        (folder / name).write_bytes(b"some notes\n")
    result = run_cli("run", "--input", str(folder), "--output", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message.format(folder=folder) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "stats.json").exists()


def test_a_lone_unreadable_file_is_one_line(tmp_path):
    lone = tmp_path / "page.txt"
    lone.write_text("Just some text.\n")
    result = run_cli("run", "--input", str(lone), "--output", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{lone}: finemill does not read this file (not a crawl or text file (.txt))" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_crawl_and_text_together_are_refused(tmp_path):
    with pytest.raises(FinemillError, match=r"mix 1 crawl file\(s\) and 1 text file\(s\)"):
        find_inputs([str(shared_file("crawl/whirlwind.warc.gz")), str(shared_file(DOLMA))])


def test_the_shared_crawl_folder_reads_its_crawl_files_and_names_the_text_beside_them():
    """The real crawl folder holds 9 crawl files, a WAT and Dolma's extracted JSONL: the crawl is read, the
    JSONL is skipped with the reason (named on its own it runs as text)."""
    folder = shared_file(DOLMA).parent
    inputs = find_inputs([str(folder)])
    assert inputs.kind == "crawl" and len(inputs.files["crawl"]) == 9 and not inputs.files.get("jsonl")
    assert inputs.skipped[Path(DOLMA).name].startswith("pre-extracted text beside crawl files")
    assert inputs.skipped["whirlwind.warc.wat.gz"] == "WAT metadata, no page content"


def test_text_without_a_text_field_is_refused(tmp_path):
    bad = tmp_path / "docs.jsonl"
    bad.write_text(json.dumps({"content": "hello", "id": "1"}) + "\n")
    with pytest.raises(
        FinemillError, match=r"docs.jsonl: the first record has no 'text' field \(it has: content, id\)"
    ):
        find_inputs([str(bad)])
    pq.write_table(pa.table({"body": ["hello"]}), tmp_path / "docs.parquet")
    with pytest.raises(FinemillError, match=r"docs.parquet: no 'text' column \(columns: body\)"):
        find_inputs([str(tmp_path / "docs.parquet")])


@pytest.fixture(scope="module")
def dolma_run(text_folder, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The full FineWeb recipe on the folder of Dolma documents (and its WAT and notes)."""
    out = tmp_path_factory.mktemp("dolma") / "out"
    result = run_cli("run", "--input", str(text_folder), "--output", str(out), "--limit", "300")
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


@pytest.mark.slow  # a whole run (7-17 s): out of the quick subset, which stays under 3 minutes
def test_dolma_jsonl_runs_filters_and_dedup_without_extraction(dolma_run):
    out, result = dolma_run
    stats = json.loads((out / "stats.json").read_text())
    assert stats["input_kind"] == "text" and stats["reader"]["documents"] == 300
    names = [step["name"] for step in stats["steps"]]
    assert names == [step for step in FINEWEB_STEPS if step != "extract"]
    assert stats["steps_skipped"] == {"extract": "inputs are text, already extracted"}
    assert stats["inputs_skipped"] == {
        "README.txt": "not a crawl or text file (.txt)",
        "whirlwind.warc.wat.gz": "WAT metadata, no page content",
    }
    language = stats["steps"][1]
    assert language["docs_in"] == stats["steps"][0]["docs_out"] and language["removed"]  # not all English
    assert "extract: skipped, inputs are text, already extracted" in result.stdout
    assert "not read: 2 input file(s): README.txt (not a crawl or text file (.txt)); " in result.stdout

    docs = pd.read_parquet(out / "documents")
    source = {r["id"]: r for r in dolma_records()}
    assert 0 < len(docs) < 300 and set(docs.id) <= set(source)
    row = docs.iloc[0]
    assert (
        row.url == source[row.id]["metadata"]["warc_url"]
        and row.date == source[row.id]["metadata"]["warc_date"]
    )
    assert (docs.dump == "CC-MAIN-2019-30").all()  # the file's name says which snapshot
    assert "warnings" not in stats


@pytest.mark.slow  # a whole run (7-17 s): out of the quick subset, which stays under 3 minutes
def test_stats_and_inspect_work_on_a_text_run(dolma_run):
    out, _ = dolma_run
    assert run_cli("stats", str(out)).returncode == 0
    inspected = run_cli("inspect", str(out), "--step", "gopher_quality")
    assert inspected.returncode == 0, inspected.stderr[-2000:]
    skipped = run_cli("inspect", str(out), "--step", "extract")
    assert skipped.returncode == 2 and "extract" in skipped.stderr and "Traceback" not in skipped.stderr


def test_parquet_text_column(tmp_path):
    """FineWeb-style parquet (text, id, url, date): the documents keep their ids, urls and dates."""
    records = dolma_records(80)
    table = pa.table(
        {
            "text": [r["text"] for r in records],
            "id": [r["id"] for r in records],
            "url": [r["metadata"]["warc_url"] for r in records],
            "date": [r["metadata"]["warc_date"] for r in records],
        }
    )
    pq.write_table(table, tmp_path / "part-0.parquet")
    (tmp_path / "quick.yaml").write_text(QUICK_RECIPE)
    out = tmp_path / "out"
    result = run_cli(
        "run",
        str(tmp_path / "quick.yaml"),
        "--input",
        str(tmp_path / "part-0.parquet"),
        "--output",
        str(out),
        "--dump",
        "CC-MAIN-2019-30",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stats = json.loads((out / "stats.json").read_text())
    empty = sum(not r["text"] for r in records)  # Dolma has records without text: counted, not documents
    assert empty and stats["reader"]["skipped"] == {"no_text": empty}
    assert stats["reader"]["documents"] == 80 - empty and [s["name"] for s in stats["steps"]] == [
        "gopher_quality"
    ]
    kept = pd.read_parquet(out / "documents")
    removed = pd.read_parquet(out / "removed" / "gopher_quality")
    assert len(kept) + len(removed) == 80 - empty and stats["documents"]["count"] == len(kept)
    assert (kept.dump == "CC-MAIN-2019-30").all()
    by_id = {r["id"]: r for r in records}
    assert all(by_id[row.id]["metadata"]["warc_url"] == row.url for row in kept.itertuples())
    assert all(by_id[row.id]["text"] == row.text for row in kept.itertuples())
