"""`OUT/tokens/manifest.json`: the contract between the shard writer and the training loop.

Paths inside are relative to the tokens folder so that the folder can be moved. Everything in it is derived
from the shard files' own footers, so a resumed run writes the same manifest as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from finemill.tokenize.encoder import Encoder

FORMAT = "finemill-tokens-v1"
MANIFEST_NAME = "manifest.json"
TOKENIZER_NAME = "tokenizer.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json_atomic(path: Path, obj) -> None:
    """Write JSON under a temp name, then rename: readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_manifest(tokens_dir: Path) -> dict | None:
    path = Path(tokens_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None  # a damaged manifest is rebuilt from the shards


def build_manifest(
    *,
    encoder: Encoder,
    tokenizer_sha256: str,
    seed: int,
    val_fraction: float,
    shard_tokens: int,
    splits: dict[str, list[dict]],
    documents_dir: Path,
    source_documents: int,
    fingerprint: str,
) -> dict:
    """The manifest dict; `splits` maps split name -> shard records (path, documents, tokens, bytes)."""
    split_block = {}
    for name, shards in splits.items():
        split_block[name] = {
            "documents": sum(s["documents"] for s in shards),
            "tokens": sum(s["tokens"] for s in shards),
            "shards": [{k: s[k] for k in ("path", "documents", "tokens", "bytes")} for s in shards],
        }
    tokens = sum(b["tokens"] for b in split_block.values())
    nbytes = sum(s["bytes"] for shards in splits.values() for s in shards)
    written = sum(b["documents"] for b in split_block.values())
    return {
        "format": FORMAT,
        "tokenizer": {
            "path": TOKENIZER_NAME,
            "sha256": tokenizer_sha256,
            "vocab_size": encoder.vocab_size,
            "eot_token": encoder.eot_token,
            "eot_id": encoder.eot_id,
            "special_tokens": dict(encoder.special_tokens),
        },
        "dtype": encoder.dtype,
        "seed": seed,
        "val_fraction": val_fraction,
        "splits": split_block,
        "bytes_per_token": round(nbytes / tokens, 4) if tokens else None,
        "source": {
            "documents_dir": str(Path(documents_dir).resolve()),
            "documents": source_documents,
            "bytes": nbytes,  # UTF-8 bytes of all text; empty documents add none
            "empty_documents": source_documents - written,  # 0 tokens: not written to any shard
        },
        "encoder": {"backend": encoder.backend, "note": encoder.reason},
        "shard_tokens": shard_tokens,
        "fingerprint": fingerprint,
    }
