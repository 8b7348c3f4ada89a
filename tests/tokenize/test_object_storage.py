"""`finemill tokenize` with the run folder on object storage (s3://, moto's server: tests/s3_server.py): it reads
the documents from there and writes the shards there, the same shards as from a local folder, and a rerun
resumes from what is on the bucket."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from finemill.cli import main as cli_main
from tests.s3_server import assert_no_secret

TOKENIZE = ["--vocab-size", "2048", "--val-fraction", "0.05", "--quiet"]  # as the sample_tokens fixture


@pytest.mark.slow
def test_tokenize_on_object_storage_writes_the_local_shards(
    sample_run, sample_tokens, s3_env, tmp_path, capsys
):
    url = f"{s3_env.bucket('finemill-tokens')}/run"
    s3_env.upload(sample_run / "documents", f"{url}/documents")  # a run folder holding its documents
    assert cli_main(["tokenize", url, *TOKENIZE]) == 0
    copy = s3_env.download(f"{url}/tokens", tmp_path / "tokens")
    remote, local = (json.loads((d / "manifest.json").read_text()) for d in (copy, sample_tokens))
    assert remote["source"].pop("documents_dir") == f"{url}/documents"
    local["source"].pop("documents_dir")
    assert remote == local  # tokenizer hash, splits, per-shard counts, fingerprint
    shards = sorted(p.relative_to(sample_tokens) for p in sample_tokens.glob("*/shard_*.parquet"))
    assert shards and sorted(p.relative_to(copy) for p in copy.glob("*/shard_*.parquet")) == shards
    for shard in shards:
        assert pq.read_table(copy / shard).equals(pq.read_table(sample_tokens / shard)), shard
    assert (copy / "tokenizer.json").read_bytes() == (sample_tokens / "tokenizer.json").read_bytes()
    assert not [p for p in copy.rglob(".*")], "temporary files are never uploaded"

    # A rerun (here, or on another machine: the local copy is rebuilt from the bucket) has nothing to do.
    assert cli_main(["tokenize", url, "--vocab-size", "2048", "--val-fraction", "0.05"]) == 0
    captured = capsys.readouterr()
    assert "is complete for these settings: nothing to do" in captured.err
    assert_no_secret(captured.out, captured.err, folders=(s3_env.cache,))
