"""`finemill tokenize --format`: Megatron, llm.c and datatrove shards, each read back by its trainer's reader,
hold the same tokens and document boundaries as the parquet shards of the same pass."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from finemill.errors import FinemillError
from finemill.tokenize.cli import format_names
from finemill.tokenize.encoder import Encoder
from finemill.tokenize.formats import FORMATS
from finemill.tokenize.manifest import listed_files, load_manifest
from finemill.tokenize.shards import ShardSettings, write_shards
from tests.conftest import SHARED_DATA
from tests.tokenize.test_shards import SETTINGS, generated_documents, run, write_run

ALL = ("parquet", "megatron", "llmc", "datatrove")
LLMC_HEADER = 256 * 4


def parquet_documents(tokens: Path, manifest: dict) -> dict[str, list[list[np.ndarray]]]:
    """Per split, per shard, the documents' ids as the parquet shards hold them (no end-of-text)."""
    out: dict[str, list[list[np.ndarray]]] = {}
    for split, block in manifest["splits"].items():
        out[split] = [
            [np.asarray(ids) for ids in pq.read_table(tokens / s["path"]).column("input_ids").to_pylist()]
            for s in block["shards"]
        ]
    return out


def read_llmc(path: Path) -> np.ndarray:
    """An llm.c shard as llm.c's data loader reads it: header checks, then the tokens."""
    header = np.fromfile(path, dtype="<i4", count=256)
    magics = {20240520: (1, np.uint16), 20240801: (7, np.uint32)}  # gpt-2, llama-3 (dev/data/data_common.py)
    assert header[0] in magics, "Bad magic in the data file"
    version, dtype = magics[int(header[0])]
    assert header[1] == version, "Bad version in data file"
    ntok = int(header[2])
    assert path.stat().st_size == LLMC_HEADER + ntok * np.dtype(dtype).itemsize  # as dataloader.h checks
    return np.fromfile(path, dtype=dtype, offset=LLMC_HEADER)


def check_llmc(tokens: Path, manifest: dict, docs: dict, eot: int) -> None:
    for split, shards in docs.items():
        for shard, entry in zip(shards, manifest["splits"][split]["shards"], strict=True):
            (path,) = entry["files"]["llmc"]
            assert Path(path).name.startswith(f"finemill_{split}_")  # llm.c's *_train_* / *_val_* names
            got = read_llmc(tokens / path)
            want = np.concatenate([np.concatenate([[eot], d]) for d in shard])  # eot before each document
            assert np.array_equal(got, want)


def check_megatron(tokens: Path, manifest: dict, docs: dict, eot: int) -> None:
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    for split, shards in docs.items():
        for shard, entry in zip(shards, manifest["splits"][split]["shards"], strict=True):
            bin_path, idx_path = entry["files"]["megatron"]
            assert idx_path == bin_path[: -len(".bin")] + ".idx"
            ds = indexed.IndexedDataset(str(tokens / bin_path[: -len(".bin")]))
            assert len(ds) == len(shard)
            assert list(ds.document_indices) == list(range(len(shard) + 1))  # one sequence per document
            for k, doc in enumerate(shard):
                assert np.array_equal(ds[k], np.concatenate([doc, [eot]]))  # eot after, as --append-eod


def check_datatrove(tokens: Path, manifest: dict, docs: dict, eot: int, token_size: int) -> None:
    dataset = pytest.importorskip("datatrove.utils.dataset")
    total = sum(b["tokens"] + b["documents"] for b in manifest["splits"].values())
    seq_len = max(7, total // 2000)  # short windows cross many document ends; a few thousand read in all
    for split, shards in docs.items():
        files = [entry["files"]["datatrove"] for entry in manifest["splits"][split]["shards"]]
        assert all(f[1] == f[0] + ".index" for f in files)
        ds = dataset.DatatroveFolderDataset(
            str(tokens / "datatrove" / split),
            seq_len=seq_len,
            filename_pattern="*.ds",
            token_size=token_size,
            return_positions=True,
        )
        assert [Path(f.file_path).name for f in ds.files] == [Path(f[0]).name for f in files]
        item = 0
        for shard in shards:
            stream = np.concatenate([np.concatenate([d, [eot]]) for d in shard])  # eot after, as eos_token
            starts = np.repeat(np.cumsum([0] + [len(d) + 1 for d in shard[:-1]]), [len(d) + 1 for d in shard])
            for w in range(len(stream) // (seq_len + 1)):  # the reader's windows: the tail is dropped
                got = ds[item]
                item += 1
                lo = w * (seq_len + 1)
                assert np.array_equal(got["input_ids"].numpy(), stream[lo : lo + seq_len + 1])
                # positions restart at each document end the .index file records
                want = np.arange(lo, lo + seq_len + 1) - np.maximum(starts[lo : lo + seq_len + 1], lo)
                assert np.array_equal(got["positions"].numpy(), want)
        assert item == len(ds)


def check_all(tokens: Path, manifest: dict) -> None:
    m = load_manifest(tokens)  # the new fields leave the manifest loadable
    docs = parquet_documents(tokens, manifest)
    for path in listed_files(manifest):
        assert (tokens / path).is_file(), path
    check_llmc(tokens, manifest, docs, m.eot_id)
    check_datatrove(tokens, manifest, docs, m.eot_id, np.dtype(m.dtype).itemsize)
    check_megatron(tokens, manifest, docs, m.eot_id)


def test_format_names_parse():
    assert format_names(None) == ("parquet",)
    assert format_names(["megatron,llmc", "llmc", " Datatrove"]) == (
        "parquet",
        "megatron",
        "llmc",
        "datatrove",
    )
    with pytest.raises(FinemillError, match="unknown --format nope"):
        ShardSettings(formats=("parquet", "nope")).check()


@pytest.fixture(scope="module")
def generated_formats(tmp_path_factory):
    docs = generated_documents()
    out = write_run(tmp_path_factory.mktemp("formats") / "out", docs)
    settings = ShardSettings(**{**SETTINGS.__dict__, "formats": ALL})
    return out, run(out, settings=settings)


def test_generated_formats_read_back(generated_formats):
    out, manifest = generated_formats
    assert manifest["formats"] == list(ALL)
    assert len(manifest["splits"]["train"]["shards"]) >= 2 and manifest["splits"]["val"]["shards"]
    check_all(out / "tokens", manifest)


def test_parquet_shards_are_the_same_bytes_with_or_without_formats(generated_formats, tmp_path: Path):
    out, manifest = generated_formats
    plain = tmp_path / "plain"
    shutil.copytree(out / "documents", plain / "documents")
    (plain / "tokens").mkdir()
    shutil.copy(out / "tokens" / "tokenizer.json", plain / "tokens")
    alone = run(plain, tokenizer=plain / "tokens" / "tokenizer.json")
    for split in ("train", "val"):
        paths = [s["path"] for s in manifest["splits"][split]["shards"]]
        assert paths == [s["path"] for s in alone["splits"][split]["shards"]]
        for p in paths:
            assert pq.read_table(out / "tokens" / p).equals(pq.read_table(plain / "tokens" / p))


def test_resume_and_workers_give_the_same_files(generated_formats, tmp_path: Path):
    out, manifest = generated_formats
    again = tmp_path / "again"
    shutil.copytree(out / "documents", again / "documents")
    (again / "tokens").mkdir()
    shutil.copy(out / "tokens" / "tokenizer.json", again / "tokens")
    settings = ShardSettings(**{**SETTINGS.__dict__, "formats": ALL, "workers": 2})
    first = run(again, tokenizer=again / "tokens" / "tokenizer.json", settings=settings)
    last = manifest["splits"]["train"]["shards"][-1]
    (again / "tokens" / "manifest.json").unlink()
    (again / "tokens" / last["path"]).unlink()  # as if interrupted before the last train shard
    resumed = run(again, tokenizer=again / "tokens" / "tokenizer.json", settings=settings)
    assert resumed == first
    for path in listed_files(manifest):
        assert (again / "tokens" / path).read_bytes() == (out / "tokens" / path).read_bytes(), path


def test_wide_vocab_formats(generated_formats, tmp_path: Path):
    out, _ = generated_formats
    docs = generated_documents()[:60]
    run_dir = write_run(tmp_path / "wide", docs)
    (run_dir / "tokens").mkdir()
    shutil.copy(out / "tokens" / "tokenizer.json", run_dir / "tokens")
    enc = Encoder.from_file(run_dir / "tokens" / "tokenizer.json")
    enc.vocab_size = 70_000  # as if the vocabulary were larger than 65536
    settings = ShardSettings(**{**SETTINGS.__dict__, "formats": ALL})
    manifest = write_shards(
        run_dir / "documents", run_dir / "tokens", enc, settings, progress=False, log=lambda _: None
    )
    assert manifest["dtype"] == "uint32"
    first = manifest["splits"]["train"]["shards"][0]["files"]
    assert np.fromfile(run_dir / "tokens" / first["llmc"][0], "<i4", 2).tolist() == [20240801, 7]
    assert (run_dir / "tokens" / first["megatron"][1]).read_bytes()[17] == 4  # Megatron's int32 code
    check_all(run_dir / "tokens", manifest)


def test_a_format_that_cannot_hold_the_vocabulary_is_one_line():
    with pytest.raises(FinemillError, match="--format megatron cannot hold a vocabulary of 3000000000"):
        FORMATS["megatron"].dtype_for(3_000_000_000)
    with pytest.raises(FinemillError, match="--format llmc takes --shard-tokens up to 1,073,741,824"):
        ShardSettings(shard_tokens=2_000_000_000, formats=("parquet", "llmc")).check()
    ShardSettings(shard_tokens=2_000_000_000).check()  # parquet alone has no such limit


def test_bundled_sample_through_the_cli(sample_run, sample_tokens, tmp_path: Path):
    run_dir = tmp_path / "sample"
    shutil.copytree(sample_run / "documents", run_dir / "documents")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "finemill.cli",
            "tokenize",
            str(run_dir),
            "--tokenizer",
            str(sample_tokens / "tokenizer.json"),
            "--val-fraction",
            "0.05",
            "--shard-tokens",
            "40000",
            "--format",
            "megatron,llmc",
            "--format",
            "datatrove",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((run_dir / "tokens" / "manifest.json").read_text())
    assert len(manifest["splits"]["train"]["shards"]) >= 2
    check_all(run_dir / "tokens", manifest)


def test_real_documents_formats(tmp_path: Path):
    crawl = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"
    if not crawl.is_file():
        pytest.skip(f"real data not available at {crawl}")
    with gzip.open(crawl, "rt", encoding="utf-8") as f:
        docs = [(d["id"], d["text"]) for d in map(json.loads, f)]
    out = write_run(tmp_path / "real", docs, files=2, row_group_size=100)
    settings = ShardSettings(shard_tokens=200_000, val_fraction=0.02, workers=2, formats=ALL)
    manifest = run(out, vocab_size=1024, sample_bytes=300_000, settings=settings)
    assert len(manifest["splits"]["train"]["shards"]) >= 2 and manifest["splits"]["val"]["documents"]
    check_all(out / "tokens", manifest)


def test_cli_names_the_formats_written_and_rejects_unknown_ones(generated_formats, tmp_path: Path, capsys):
    from finemill.cli import main

    out, _ = generated_formats
    run_dir = tmp_path / "cli"
    shutil.copytree(out / "documents", run_dir / "documents")
    tokenizer = str(out / "tokens" / "tokenizer.json")
    assert (
        main(["tokenize", str(run_dir), "--tokenizer", tokenizer, "--format", "llmc", "--workers", "1"]) == 0
    )
    assert f"also as llmc: {run_dir / 'tokens' / 'llmc'}" in capsys.readouterr().out
    assert main(["tokenize", str(run_dir), "--tokenizer", tokenizer, "--format", "llmc,nope"]) != 0
    assert "unknown --format nope; choose from parquet, megatron, llmc, datatrove" in capsys.readouterr().err


def test_a_manifest_from_before_formats_still_loads(generated_formats, tmp_path: Path):
    out, manifest = generated_formats
    old = json.loads(json.dumps(manifest))
    del old["formats"]
    for block in old["splits"].values():
        for shard in block["shards"]:
            del shard["files"]
    (tmp_path / "manifest.json").write_text(json.dumps(old))
    assert load_manifest(tmp_path).splits == old["splits"]
    assert listed_files(old) == [s["path"] for b in old["splits"].values() for s in b["shards"]]
