"""A tokens folder as training and evaluation read it: the validated manifest, the tokenizer reference, and
the shards' row groups (the unit the training stream shuffles and `finemill eval` reads documents from)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from finemill.errors import FinemillError
from finemill.tokenize.manifest import load_manifest


@dataclass(frozen=True)
class Unit:
    """One parquet row group: the unit of shuffling, reading and memory."""

    path: str
    row_group: int
    documents: int
    tokens: int  # without end-of-text separators


class TokenData:
    """A tokens folder: its validated manifest, tokenizer reference and shards."""

    def __init__(self, path: str | Path) -> None:
        manifest = load_manifest(path)  # validated: one-line errors for a missing or inconsistent manifest
        self.dir = manifest.dir
        self.manifest = manifest.raw
        self.manifest_path = manifest.path
        self.vocab_size: int = manifest.vocab_size
        self.eot_id: int = manifest.eot_id
        self.eot_token: str = manifest.eot_token
        self.tokenizer_sha256: str | None = manifest.tokenizer_sha256
        self.tokenizer_path = manifest.tokenizer_path
        self.dtype = np.dtype(manifest.dtype)

    def check_vocab(self, model_vocab_size: int | None) -> None:
        """Fail clearly when a model's vocabulary does not match the tokenizer these tokens came from."""
        if model_vocab_size is not None and model_vocab_size != self.vocab_size:
            raise FinemillError(
                f"vocab mismatch: the model has vocab_size {model_vocab_size} but the tokens in {self.dir} were "
                f"made with a {self.vocab_size}-token tokenizer (manifest tokenizer.vocab_size); "
                "use tokens from the model's tokenizer, or leave model.vocab_size unset to take the manifest's"
            )

    def check_tokenizer_file(self) -> bool:
        """True if tokenizer.json is present and matches the manifest's sha256 (error if it differs)."""
        if not self.tokenizer_path.is_file():
            return False
        if self.tokenizer_sha256:
            digest = hashlib.sha256(self.tokenizer_path.read_bytes()).hexdigest()
            if digest != self.tokenizer_sha256:
                raise FinemillError(
                    f"{self.tokenizer_path} does not match the manifest's sha256: the tokens were made with "
                    "another tokenizer"
                )
        return True

    def tokenizer_ref(self) -> dict[str, Any]:
        """What a checkpoint records about the tokenizer, to decode and to refuse mismatched data."""
        return {
            "path": str(self.tokenizer_path.resolve()),
            "sha256": self.tokenizer_sha256,
            "vocab_size": self.vocab_size,
            "eot_id": self.eot_id,
            "eot_token": self.eot_token,
            "tokens_dir": str(self.dir.resolve()),
        }

    def units(self, split: str) -> list[Unit]:
        """The split's row groups with their document and token counts (reads only the num_tokens column)."""
        info = self.manifest["splits"].get(split) or {}
        units: list[Unit] = []
        for shard in info.get("shards") or []:
            path = self.dir / shard["path"]
            if not path.is_file():
                raise FinemillError(f"shard listed in {self.manifest_path} is missing: {path}")
            try:
                pf = pq.ParquetFile(path)
            except Exception as e:  # pyarrow raises several types for a bad file
                raise FinemillError(f"{path}: not a readable parquet file ({e})") from None
            missing = {"input_ids", "num_tokens"} - set(pf.schema_arrow.names)
            if missing:
                raise FinemillError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            shard_units = []
            for rg in range(pf.num_row_groups):
                counts = pf.read_row_group(rg, columns=["num_tokens"]).column("num_tokens")
                tokens = int(pc.sum(counts).as_py() or 0)
                shard_units.append(Unit(str(path), rg, pf.metadata.row_group(rg).num_rows, tokens))
            tokens = sum(u.tokens for u in shard_units)
            if "tokens" in shard and int(shard["tokens"]) != tokens:
                raise FinemillError(f"{path}: holds {tokens} tokens but the manifest says {shard['tokens']}")
            units.extend(u for u in shard_units if u.documents)
        return units

    def documents(self, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
        """(token count of each document, all their ids back to back) of one row group, end-of-text left out."""
        col = (
            pq.ParquetFile(unit.path)
            .read_row_group(unit.row_group, columns=["input_ids"])
            .column("input_ids")
        )
        col = col.combine_chunks()
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        return lengths, col.flatten().to_numpy(zero_copy_only=False)
