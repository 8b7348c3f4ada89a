"""Megatron-LM's indexed dataset: `megatron/{train,val}/shard_NNNNN.bin` + `.idx`, one pair per shard.

Layout, as megatron-core's `megatron/core/datasets/indexed_dataset.py` (`_IndexWriter`) writes it:
`.bin` is the tokens of every sequence back to back; `.idx` is the magic `MMIDIDX\\x00\\x00`, version
(uint64, 1), dtype code (uint8: 8 = uint16, 4 = int32), sequence count (uint64), document count + 1
(uint64), then the sequence lengths (int32), the sequence byte offsets into `.bin` (int64) and the
document indices (int64, 0 then each document's end in sequences). Here a document is one sequence and
ends with the end-of-text id, as Megatron's `preprocess_data.py --append-eod` writes. Megatron has no
uint32, so vocabularies above 65,536 tokens are stored as int32, as it does itself. Pass the shard's path
without its suffix (`.../megatron/train/shard_00000`) as Megatron's `--data-path`.
"""

from __future__ import annotations

import struct

import numpy as np

from finemill.tokenize.formats.base import FormatWriter, publish, tmp_path, with_eot

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}


class Megatron(FormatWriter):
    name = "megatron"
    large_dtype = np.dtype(np.int32)

    def _open(self) -> None:
        folder = self.tokens_dir / "megatron" / self.split
        folder.mkdir(parents=True, exist_ok=True)
        self.bin = folder / f"shard_{self.index:05d}.bin"
        self.idx = self.bin.with_suffix(".idx")
        self.file = open(tmp_path(self.bin), "wb")
        self._eot = np.array([self.eot_id], dtype=self.dtype)
        self._lengths: list[np.ndarray] = []  # one int32 per document: bounded by the shard, not the corpus

    def write(self, documents: list[np.ndarray]) -> None:
        flat = with_eot(documents, self._eot, before=False).astype(self.dtype, copy=False)
        self.file.write(flat.tobytes())
        self.tokens += len(flat)
        self._lengths.append(np.fromiter((len(d) + 1 for d in documents), np.int32, len(documents)))

    def finish(self) -> list[str]:
        self.file.close()
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int32)
        pointers = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1].astype(np.int64) * self.dtype.itemsize, out=pointers[1:])
        with open(tmp_path(self.idx), "wb") as f:
            f.write(MAGIC)
            f.write(struct.pack("<Q", VERSION))
            f.write(struct.pack("<B", DTYPE_CODES[self.dtype]))
            f.write(struct.pack("<Q", len(lengths)))
            f.write(struct.pack("<Q", len(lengths) + 1))
            f.write(lengths.astype("<i4").tobytes())
            f.write(pointers.astype("<i8").tobytes())
            f.write(np.arange(len(lengths) + 1, dtype="<i8").tobytes())
        publish(self.bin)
        publish(self.idx)
        return [self.relative(self.bin), self.relative(self.idx)]
