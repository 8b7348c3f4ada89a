"""llm.c's token shards: `llmc/finemill_{train,val}_NNNNNN.bin`.

Layout, as llm.c's `dev/data/data_common.py` writes and `llmc/dataloader.h` reads it: a header of 256
little-endian int32 (magic, version, number of tokens, zeros), then the tokens. GPT-2-sized vocabularies
use magic 20240520, version 1 and uint16 tokens; larger ones llm.c's llama-3 variant, magic 20240801,
version 7 and uint32 tokens. There are no document boundaries: as in llm.c's `fineweb.py`, every document
is preceded by the end-of-text id, which is also what finemill's own training stream does.
"""

from __future__ import annotations

import numpy as np

from finemill.errors import FinemillError
from finemill.tokenize.formats.base import FormatWriter, publish, tmp_path, with_eot

HEADER_INTS = 256
# token dtype -> (magic, version), as llm.c's data_common.py names them (gpt-2, llama-3)
HEADERS = {np.dtype(np.uint16): (20240520, 1), np.dtype(np.uint32): (20240801, 7)}
MAGICS = {magic: (version, dtype) for dtype, (magic, version) in HEADERS.items()}


def header(dtype: np.dtype, tokens: int) -> np.ndarray:
    out = np.zeros(HEADER_INTS, dtype="<i4")
    out[0], out[1] = HEADERS[np.dtype(dtype)]
    out[2] = tokens
    return out


def shard_file_name(split: str, index: int) -> str:
    return f"finemill_{split}_{index:06d}.bin"


MAX_SHARD_TOKENS = (
    1 << 30
)  # the header's int32 count, with room for the end-of-text ids and the last document


class Llmc(FormatWriter):
    name = "llmc"

    @classmethod
    def check_shard_tokens(cls, shard_tokens: int) -> None:
        if shard_tokens > MAX_SHARD_TOKENS:
            raise FinemillError(
                f"--format llmc takes --shard-tokens up to {MAX_SHARD_TOKENS:,}: llm.c's header counts a "
                "shard's tokens in an int32"
            )

    def _open(self) -> None:
        folder = self.tokens_dir / "llmc"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / shard_file_name(self.split, self.index)
        self.file = open(tmp_path(self.path), "wb")
        self.file.write(header(self.dtype, 0).tobytes())  # the count is filled in by finish
        self._eot = np.array([self.eot_id], dtype=self.dtype)

    def write(self, documents: list[np.ndarray]) -> None:
        flat = with_eot(documents, self._eot, before=True).astype(self.dtype, copy=False)
        self.file.write(flat.tobytes())
        self.tokens += len(flat)

    def finish(self) -> list[str]:
        if self.tokens >= 1 << 31:
            raise FinemillError(f"{self.path.name}: {self.tokens} tokens do not fit llm.c's int32 header")
        self.file.seek(0)
        self.file.write(header(self.dtype, self.tokens).tobytes())
        self.file.close()
        publish(self.path)
        return [self.relative(self.path)]
