"""llm.c `.bin` shards as `finemill train --data` reads them: the same interface as a tokens folder
(`TokenData`), so the one loader packs them into batches.

Which files: a `.bin` file, a folder of them, or a glob; files named `*_val_*` are the val split, the others
train, in name order (llm.c's own naming). Each file is checked as llm.c's data loader checks it (magic,
version, size from the token count; layout in `formats/llmc.py`). A document is what follows an
end-of-text id up to the next one, which is how llm.c's `fineweb.py` and `finemill tokenize --format llmc`
lay them out; tokens before a file's first end-of-text (a document that llm.c continued from the previous
file) count as one document. Unshuffled, the stream is the files' tokens back to back: the same batches as
the parquet shards of the same `finemill tokenize` pass.

Vocabulary, end-of-text id and tokenizer: from the finemill manifest beside or above the files when there is
one, else from the header's magic, as llm.c fixes them (GPT-2: 50257 ids, end-of-text 50256; llama-3: 128256
ids, 128000 `<|begin_of_text|>` between documents).
"""

from __future__ import annotations

import glob
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from finemill.errors import FinemillError
from finemill.tokenize.formats.llmc import HEADER_INTS, MAGICS
from finemill.tokenize.manifest import MANIFEST_NAME, load_manifest
from finemill.tokenize.tokens_folder import Unit

HEADER_BYTES = HEADER_INTS * 4
UNIT_TOKENS = 1 << 20  # tokens per unit of shuffling and reading: the size of a parquet row group
_SCAN = 1 << 24  # tokens scanned at a time for end-of-text ids, so the scan's memory stays bounded
# magic -> (vocab size, id between documents, its text), the tokenizers llm.c pairs with each header
TOKENIZERS = {20240520: (50257, 50256, "<|endoftext|>"), 20240801: (128256, 128000, "<|begin_of_text|>")}


def _has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def is_llmc(path: str | Path) -> bool:
    """Whether `--data` names llm.c shards rather than a tokens folder."""
    text = str(path)
    if _has_glob(text):
        return True
    p = Path(text)
    if p.is_file():
        return p.suffix == ".bin"
    return p.is_dir() and not (p / MANIFEST_NAME).is_file() and any(p.glob("*.bin"))


def llmc_files(path: str | Path) -> list[Path]:
    text = str(path)
    if _has_glob(text):
        files = [Path(f) for f in glob.glob(text)]
    elif Path(text).is_dir():
        files = list(Path(text).glob("*.bin"))
    else:
        files = [Path(text)]
    files = sorted(f for f in files if f.is_file())
    if not files:
        raise FinemillError(f"no llm.c .bin files match {text}")
    return files


def read_header(path: Path) -> tuple[int, np.dtype]:
    """(token count, token dtype) of an llm.c shard, checked as llm.c's dataloader.h checks it."""
    header = np.fromfile(path, dtype="<i4", count=HEADER_INTS)
    if len(header) < HEADER_INTS or int(header[0]) not in MAGICS:
        raise FinemillError(f"{path}: not an llm.c token shard (bad magic)")
    version, dtype = MAGICS[int(header[0])]
    if int(header[1]) != version:
        raise FinemillError(f"{path}: llm.c header version {int(header[1])}, expected {version}")
    ntok = int(header[2])
    if path.stat().st_size != HEADER_BYTES + ntok * dtype.itemsize:
        raise FinemillError(f"{path}: size does not match the {ntok} tokens its header counts")
    return ntok, dtype


class LlmcData:
    """llm.c shards with `TokenData`'s interface: vocabulary, tokenizer reference, units and documents."""

    def __init__(self, path: str | Path) -> None:
        self.files = llmc_files(path)
        headers = [read_header(f) for f in self.files]
        dtypes = {d for _, d in headers}
        if len(dtypes) > 1:
            raise FinemillError(f"{path}: the files mix uint16 and uint32 tokens (gpt-2 and llama-3 headers)")
        self.dtype = dtypes.pop()
        self._ntok = {f: n for f, (n, _) in zip(self.files, headers, strict=True)}
        self.dir = self.files[0].parent
        self._identify(int(np.fromfile(self.files[0], "<i4", 1)[0]))
        self._spans: dict[tuple[str, int], tuple[int, int]] = {}
        self._units = {"train": [], "val": []}
        for f in self.files:
            self._units["val" if "_val_" in f.name else "train"].extend(self._file_units(f))

    def _identify(self, magic: int) -> None:
        """Vocabulary and tokenizer from a finemill manifest beside or above the files, else from llm.c's."""
        for folder in (self.dir, self.dir.parent):
            if (folder / MANIFEST_NAME).is_file():
                m = load_manifest(folder)
                self.dir, self.vocab_size, self.eot_id, self.eot_token = (
                    m.dir,
                    m.vocab_size,
                    m.eot_id,
                    m.eot_token,
                )
                self.tokenizer_path, self.tokenizer_sha256 = m.tokenizer_path, m.tokenizer_sha256
                return
        self.vocab_size, self.eot_id, self.eot_token = TOKENIZERS[magic]
        self.tokenizer_path, self.tokenizer_sha256 = self.dir / "tokenizer.json", None

    def _tokens(self, path: Path) -> np.ndarray:
        return np.memmap(path, dtype=self.dtype, mode="r", offset=HEADER_BYTES, shape=(self._ntok[path],))

    def _file_units(self, path: Path) -> list[Unit]:
        """The file cut at document starts into units of about UNIT_TOKENS tokens."""
        tokens = self._tokens(path)
        starts = [
            np.flatnonzero(tokens[i : i + _SCAN] == self.eot_id) + i for i in range(0, len(tokens), _SCAN)
        ]
        starts = np.concatenate([np.zeros(1, np.int64), *starts, [len(tokens)]]).astype(np.int64)
        starts = np.unique(starts)  # a file that opens with end-of-text: its 0 appears once
        units, lo = [], 0
        while lo < len(starts) - 1:
            hi = max(lo + 1, int(np.searchsorted(starts, starts[lo] + UNIT_TOKENS, side="right")) - 1)
            hi = min(hi, len(starts) - 1)
            a, b = int(starts[lo]), int(starts[hi])
            separators = int(np.count_nonzero(tokens[a:b] == self.eot_id))
            key = (str(path), len(units))
            self._spans[key] = (a, b)
            units.append(Unit(str(path), len(units), hi - lo, b - a - separators))
            lo = hi
        return units

    def units(self, split: str) -> list[Unit]:
        return list(self._units.get(split, []))

    def documents(self, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
        """(token count of each document, their ids back to back, end-of-text left out) of one unit."""
        a, b = self._spans[(unit.path, unit.row_group)]
        tokens = np.asarray(self._tokens(Path(unit.path))[a:b])
        is_eot = tokens == self.eot_id
        starts = np.flatnonzero(is_eot)
        if not len(starts) or starts[0] != 0:
            starts = np.concatenate([[0], starts])  # a document continued from the previous file
        ends = np.concatenate([starts[1:], [len(tokens)]])
        lengths = ends - starts - is_eot[starts]
        return lengths.astype(np.int64), tokens[~is_eot]

    def check_vocab(self, model_vocab_size: int | None) -> None:
        if model_vocab_size is not None and model_vocab_size != self.vocab_size:
            raise FinemillError(
                f"vocab mismatch: the model has vocab_size {model_vocab_size} but the llm.c shards in {self.dir} "
                f"use a {self.vocab_size}-token vocabulary; leave model.vocab_size unset to take theirs"
            )

    def check_tokenizer_file(self) -> bool:
        """True if the tokenizer.json the shards were made with is here (and matches the manifest's sha256)."""
        if not self.tokenizer_path.is_file() or not self.tokenizer_sha256:
            return False
        if hashlib.sha256(self.tokenizer_path.read_bytes()).hexdigest() != self.tokenizer_sha256:
            raise FinemillError(f"{self.tokenizer_path} does not match the manifest's sha256")
        return True

    def tokenizer_ref(self) -> dict[str, Any]:
        return {
            "path": str(self.tokenizer_path.resolve()) if self.tokenizer_sha256 else None,
            "sha256": self.tokenizer_sha256,
            "vocab_size": self.vocab_size,
            "eot_id": self.eot_id,
            "eot_token": self.eot_token,
            "tokens_dir": str(self.dir.resolve()),
        }
