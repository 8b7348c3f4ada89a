"""The writer interface every extra token format implements, and what they share.

A format writer is opened for one shard of one split, receives that shard's documents (token ids without
end-of-text, in stream order) in batches, and on `finish` moves its files into place and names them.
The parquet shard writer drives it: the same documents, in the same order, cut at the same boundaries.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import numpy as np

from finemill.errors import FinemillError


class FormatWriter:
    """One shard of one split in a trainer's format; subclasses set `name` and implement the three hooks."""

    name: ClassVar[str]
    # The dtype for vocabularies that fit 16 bits and for larger ones (None: the format cannot hold them).
    small_dtype: ClassVar[np.dtype] = np.dtype(np.uint16)
    large_dtype: ClassVar[np.dtype | None] = np.dtype(np.uint32)

    def __init__(self, tokens_dir: Path, split: str, index: int, vocab_size: int, eot_id: int) -> None:
        self.tokens_dir, self.split, self.index, self.eot_id = Path(tokens_dir), split, index, eot_id
        self.dtype = self.dtype_for(vocab_size)
        self.tokens = 0  # ids written to the token file, end-of-text included
        self._open()

    @classmethod
    def dtype_for(cls, vocab_size: int) -> np.dtype:
        """The token dtype for this vocabulary, or a one-line error when the format cannot hold it."""
        if vocab_size <= 1 << 16:
            return cls.small_dtype
        if cls.large_dtype is None or vocab_size > np.iinfo(cls.large_dtype).max + 1:
            raise FinemillError(f"--format {cls.name} cannot hold a vocabulary of {vocab_size} tokens")
        return cls.large_dtype

    @classmethod
    def check_shard_tokens(cls, shard_tokens: int) -> None:
        """A one-line error when shards of this size cannot be written in this format (none by default)."""

    def relative(self, path: Path) -> str:
        return path.relative_to(self.tokens_dir).as_posix()

    def _open(self) -> None:
        raise NotImplementedError

    def write(self, documents: list[np.ndarray]) -> None:
        """Append these documents (ids without end-of-text) to the shard."""
        raise NotImplementedError

    def finish(self) -> list[str]:
        """Complete the shard's files, move them into place; their paths relative to the tokens folder."""
        raise NotImplementedError


def tmp_path(path: Path) -> Path:
    """Where a file is written until it is complete (hidden, so no reader globs it)."""
    return path.with_name(f".{path.name}.tmp")


def publish(path: Path) -> None:
    """Move a completed temp file into place, on disk first so a power cut cannot expose it empty."""
    tmp = tmp_path(path)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def with_eot(documents: list[np.ndarray], eot: np.ndarray, before: bool) -> np.ndarray:
    """The documents as one array, each preceded (before=True) or followed by the end-of-text id."""
    pieces: list[np.ndarray] = []
    for doc in documents:
        pieces.extend((eot, doc) if before else (doc, eot))
    return np.concatenate(pieces) if pieces else eot[:0]
