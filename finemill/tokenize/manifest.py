"""`OUT/tokens/manifest.json`: the contract between the shard writer and the training loop.

This module owns the format: `build_manifest` writes it (`finemill tokenize`), `load_manifest` reads and
validates it (`finemill train`, `eval`), so the field names, their types and the version live in one place.
Paths inside are relative to the tokens folder so that the folder can be moved. Everything in it is derived
from the shard files' own footers, so a resumed run writes the same manifest as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finemill import storage
from finemill.common import write_text_atomic
from finemill.errors import FinemillError

if TYPE_CHECKING:
    from finemill.tokenize.encoder import Encoder

FORMAT = "finemill-tokens-v1"
MANIFEST_NAME = "manifest.json"
TOKENIZER_NAME = "tokenizer.json"
# Token id dtypes a shard may use, with the number of ids each holds.
DTYPE_IDS = {"uint16": 1 << 16, "uint32": 1 << 32}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json_atomic(path: Path, obj) -> None:
    """Write JSON under a temp name, then rename: readers never see half a file."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


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
    formats: tuple[str, ...] = ("parquet",),
) -> dict:
    """The manifest dict; `splits` maps split name -> shard records (path, documents, tokens, bytes, and
    `files`: format name -> the paths of that shard in the other formats, when any were written)."""
    split_block = {}
    for name, shards in splits.items():
        split_block[name] = {
            "documents": sum(s["documents"] for s in shards),
            "tokens": sum(s["tokens"] for s in shards),
            "shards": [
                {k: s[k] for k in ("path", "documents", "tokens", "bytes", "files") if k in s} for s in shards
            ],
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
        "formats": list(formats),
        "seed": seed,
        "val_fraction": val_fraction,
        "splits": split_block,
        "bytes_per_token": round(nbytes / tokens, 4) if tokens else None,
        "source": {
            "documents_dir": str(documents_dir)
            if storage.is_remote(documents_dir)
            else str(Path(documents_dir).resolve()),
            "documents": source_documents,
            "bytes": nbytes,  # UTF-8 bytes of all text; empty documents add none
            "empty_documents": source_documents - written,  # 0 tokens: not written to any shard
        },
        "encoder": {"backend": encoder.backend, "note": encoder.reason},
        "shard_tokens": shard_tokens,
        "fingerprint": fingerprint,
    }


def listed_files(manifest: dict) -> list[str]:
    """Every file a manifest names, relative to its tokens folder: the parquet shards and, from manifests
    that have them (older ones do not), each shard's files in the other formats."""
    paths = []
    for split in manifest["splits"].values():
        for shard in split["shards"]:
            paths.append(shard["path"])
            for files in (shard.get("files") or {}).values():
                paths.extend(files)
    return paths


@dataclass(frozen=True)
class TokenManifest:
    """A validated manifest: what a reader of the token shards needs, plus the whole parsed file."""

    path: Path  # the manifest file
    raw: dict[str, Any]
    vocab_size: int
    eot_id: int
    eot_token: str
    tokenizer_sha256: str | None
    tokenizer_path: Path
    dtype: str  # a key of DTYPE_IDS
    splits: dict[str, Any]  # split name -> {"documents", "tokens", "shards": [{"path", "documents", ...}]}

    @property
    def dir(self) -> Path:
        return self.path.parent


def load_manifest(path: str | Path) -> TokenManifest:
    """The manifest of a tokens folder (or the manifest file itself), checked field by field; a one-line
    FinemillError naming the file and the field when it is missing, of another format, or inconsistent."""
    path = Path(path)
    tokens_dir = path.parent if path.name == MANIFEST_NAME else path
    manifest_path = tokens_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        raise FinemillError(
            f"no token manifest at {manifest_path}: run `finemill tokenize` first, or pass its tokens folder"
        )
    try:
        m = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FinemillError(f"{manifest_path}: not valid JSON ({e})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        got = m.get("format") if isinstance(m, dict) else None
        raise FinemillError(f"{manifest_path}: format is {got!r}, expected {FORMAT!r}")
    tok = _field(m, "tokenizer", dict, manifest_path)
    vocab_size = _field(tok, "vocab_size", int, manifest_path, "tokenizer.")
    eot_id = _field(tok, "eot_id", int, manifest_path, "tokenizer.")
    dtype = _field(m, "dtype", str, manifest_path)
    if dtype not in DTYPE_IDS:
        raise FinemillError(f"{manifest_path}: dtype {dtype!r} is not {' or '.join(DTYPE_IDS)}")
    if vocab_size <= 0 or vocab_size > DTYPE_IDS[dtype]:
        raise FinemillError(f"{manifest_path}: vocab_size {vocab_size} does not fit dtype {dtype}")
    if not 0 <= eot_id < vocab_size:
        raise FinemillError(f"{manifest_path}: eot_id {eot_id} is outside the vocab (size {vocab_size})")
    splits = _field(m, "splits", dict, manifest_path)
    if not _field(splits, "train", dict, manifest_path, "splits.").get("shards"):
        raise FinemillError(f"{manifest_path}: the train split has no shards")
    return TokenManifest(
        path=manifest_path,
        raw=m,
        vocab_size=vocab_size,
        eot_id=eot_id,
        eot_token=str(tok.get("eot_token", "<|endoftext|>")),
        tokenizer_sha256=tok.get("sha256"),
        tokenizer_path=tokens_dir / str(tok.get("path", TOKENIZER_NAME)),
        dtype=dtype,
        splits=splits,
    )


def _field(d: dict, key: str, typ: type, where: Path, prefix: str = "") -> Any:
    value = d.get(key)
    if not isinstance(value, typ) or isinstance(value, bool):
        kind = {int: "an integer", str: "a string", dict: "a mapping"}.get(typ, typ.__name__)
        raise FinemillError(f"{where}: key {prefix + key!r} is missing or not {kind}")
    return value
