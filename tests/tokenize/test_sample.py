"""`finemill tokenize` on the bundled sample run: shards agree with the manifest and decode to the documents."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
from tokenizers import Tokenizer


def test_sample_shards_match_manifest_and_round_trip(sample_run, sample_tokens):
    manifest = json.loads((sample_tokens / "manifest.json").read_text())
    tokenizer = Tokenizer.from_file(str(sample_tokens / manifest["tokenizer"]["path"]))
    assert tokenizer.get_vocab_size() == manifest["tokenizer"]["vocab_size"] <= 2048
    documents = pd.read_parquet(sample_run / "documents", columns=["id", "text"]).set_index("id")["text"]
    seen = []
    for split in ("train", "val"):
        entry = manifest["splits"][split]
        assert entry["documents"] > 0
        for shard in entry["shards"]:
            table = pq.read_table(sample_tokens / shard["path"]).to_pydict()
            assert len(table["id"]) == shard["documents"] and sum(table["num_tokens"]) == shard["tokens"]
            for doc_id, ids in zip(table["id"], table["input_ids"], strict=True):
                assert tokenizer.decode(ids, skip_special_tokens=False) == documents[doc_id]
            seen += table["id"]
    assert sorted(seen) == sorted(documents.index)  # every kept document, once
    total = manifest["splits"]["train"]["tokens"] + manifest["splits"]["val"]["tokens"]
    assert abs(manifest["bytes_per_token"] - sum(len(t.encode()) for t in documents) / total) < 0.01
