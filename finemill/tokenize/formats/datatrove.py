"""datatrove's (and nanotron's) token files: `datatrove/{train,val}/shard_NNNNN.ds` + `.ds.index` + `.ds.metadata`.

Layout, as datatrove's `pipeline/tokens/tokenizer.py` (`TokenizedFile`) writes it and `utils/dataset.py`
(`DatatroveFolderDataset`) reads it: `.ds` is the tokens back to back (uint16, or uint32 for vocabularies
above 65,536: its `token_size` 2 or 4); `.ds.index` is each document's end, in tokens, as little-endian
uint64; `.ds.metadata` is three lines: tokenizer name|token size, token count, the count for people. Each
document ends with the end-of-text id, as `DocumentTokenizer` appends its `eos_token`.
"""

from __future__ import annotations

import numpy as np

from finemill.tokenize.formats.base import FormatWriter, publish, tmp_path, with_eot


class Datatrove(FormatWriter):
    name = "datatrove"

    def _open(self) -> None:
        folder = self.tokens_dir / "datatrove" / self.split
        folder.mkdir(parents=True, exist_ok=True)
        self.ds = folder / f"shard_{self.index:05d}.ds"
        self.index_path = self.ds.with_name(self.ds.name + ".index")
        self.meta_path = self.ds.with_name(self.ds.name + ".metadata")
        self.file = open(tmp_path(self.ds), "wb")
        self._eot = np.array([self.eot_id], dtype=self.dtype)
        self._ends: list[np.ndarray] = []  # one uint64 per document: bounded by the shard, not the corpus

    def write(self, documents: list[np.ndarray]) -> None:
        flat = with_eot(documents, self._eot, before=False).astype(self.dtype, copy=False)
        self.file.write(flat.tobytes())
        lengths = np.fromiter((len(d) + 1 for d in documents), np.uint64, len(documents))
        self._ends.append(self.tokens + np.cumsum(lengths, dtype=np.uint64))
        self.tokens += len(flat)

    def finish(self) -> list[str]:
        self.file.close()
        ends = np.concatenate(self._ends) if self._ends else np.zeros(0, np.uint64)
        tmp_path(self.index_path).write_bytes(ends.astype("<u8").tobytes())
        size = self.dtype.itemsize
        tmp_path(self.meta_path).write_text(
            f"finemill tokenizer.json|{size}\n{self.tokens}\n{self.tokens:,} tokens"
        )
        for path in (self.ds, self.index_path, self.meta_path):
            publish(path)
        return [self.relative(p) for p in (self.ds, self.index_path, self.meta_path)]
