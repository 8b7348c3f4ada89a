"""Bits per byte: the model's next-token loss in a unit that does not depend on the tokenizer.

    bpb = sum over scored tokens of -ln P(token | the tokens before it in its document) / ln 2 / UTF-8 bytes

Each document is scored on its own, after an end-of-text id as in training; that id is context only (it
stands for no byte of the text). A document longer than the context window is scored with sliding
windows: the first window scores the document's first `block_size` tokens, each next window moves on by
`stride` tokens (default half the context) and scores only the tokens it adds, so every token is scored
exactly once, and every token past the first window sees at least `block_size - stride` tokens before it.

Bytes: of texts, `len(text.encode("utf-8"))`. The run's validation shard holds token ids, not text: its
bytes are the sum of each token's byte length, which is exact for byte-level BPE, whose tokens are byte
strings that concatenate back to the document's UTF-8 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from finemill.errors import FinemillError
from finemill.eval.scoring import Span, score_spans
from finemill.tokenize.encoder import Encoder


@dataclass(frozen=True)
class BpbTotals:
    nats: float  # summed negative log-likelihood of the scored tokens
    bytes: int  # UTF-8 bytes of the documents
    tokens: int  # scored tokens
    documents: int

    @property
    def bits_per_byte(self) -> float:
        return self.nats / math.log(2) / self.bytes if self.bytes else float("nan")

    @property
    def loss(self) -> float:
        """Mean nats per token, comparable with the training loss."""
        return self.nats / self.tokens if self.tokens else float("nan")


def document_spans(ids: np.ndarray, prefix_id: int, block_size: int, stride: int | None = None) -> list[Span]:
    """The windows that score every token of one document once (see the module docstring)."""
    stride = stride or max(1, block_size // 2)
    full = np.concatenate([[prefix_id], np.asarray(ids, dtype=np.int64)])
    n = len(full)
    if n - 1 <= block_size:
        return [Span(full, n - 1)] if n > 1 else []
    spans = [Span(full[: block_size + 1], block_size)]
    end = block_size + 1  # full[1:end] are scored so far
    while end < n:
        new_end = min(end + stride, n)
        spans.append(Span(full[new_end - block_size - 1 : new_end], new_end - end))
        end = new_end
    return spans


def token_byte_lengths(encoder: Encoder) -> np.ndarray:
    """Bytes of each token id (special tokens: 0, they never stand for text in a document)."""
    lengths = np.zeros(encoder.vocab_size, dtype=np.int64)
    specials = set(encoder.special_tokens.values())
    for i in range(encoder.vocab_size):
        if i not in specials:
            lengths[i] = len(encoder.token_bytes(i))
    return lengths


def bpb_totals(
    model: torch.nn.Module,
    documents: Sequence[str] | Sequence[np.ndarray],
    encoder: Encoder,
    *,
    device: torch.device | str = "cpu",
    batch_tokens: int = 16384,
    stride: int | None = None,
    progress: bool = False,
) -> BpbTotals:
    """Nats, bytes and tokens of `documents`: texts, or token-id arrays (the validation shard's rows)."""
    if len(documents) and isinstance(documents[0], str):
        ids = [np.asarray(x, dtype=np.int64) for x in encoder.encode_batch(list(documents))]
        nbytes = sum(len(t.encode("utf-8", "replace")) for t in documents)
    else:
        ids = [np.asarray(x, dtype=np.int64) for x in documents]
        lengths = token_byte_lengths(encoder)
        nbytes = int(sum(lengths[x].sum() for x in ids))
    block = model.config.block_size
    spans = [s for x in ids for s in document_spans(x, encoder.eot_id, block, stride)]
    from tqdm import tqdm

    with tqdm(
        total=len(spans), desc="bits per byte", unit="window", disable=not progress, leave=False
    ) as bar:
        scores = score_spans(
            model,
            spans,
            vocab_size=model.config.vocab_size,
            device=device,
            batch_tokens=batch_tokens,
            progress=bar.update,
        )
    return BpbTotals(float(-scores.logprob.sum()), nbytes, sum(s.scored for s in spans), len(ids))


def bits_per_byte(
    model: torch.nn.Module,
    documents: Sequence[str] | Sequence[np.ndarray],
    encoder: Encoder,
    device: torch.device | str = "cpu",
    **kwargs,
) -> float:
    """Bits per UTF-8 byte of `documents` (texts or token-id arrays) under `model`."""
    return bpb_totals(model, documents, encoder, device=device, **kwargs).bits_per_byte


def read_texts(path: str | Path) -> list[str]:
    """The `text` column of a parquet file, or the `text` field of each line of a .jsonl / .jsonl.gz file."""
    import gzip
    import json

    path = Path(path)
    if not path.is_file():
        raise FinemillError(f"--bpb-texts: no such file {path}")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        if "text" not in schema.names:
            raise FinemillError(f"{path}: no 'text' column (columns: {', '.join(schema.names)})")
        return [t for t in pq.read_table(path, columns=["text"]).column("text").to_pylist() if t]
    if path.name.endswith((".jsonl", ".jsonl.gz", ".json")):
        opener = gzip.open if path.suffix == ".gz" else open
        texts = []
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    text = json.loads(line)["text"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise FinemillError(f"{path}:{n}: not a JSON object with a 'text' field") from None
                if text:
                    texts.append(text)
        return texts
    raise FinemillError(f"--bpb-texts: {path.name} is not .parquet, .jsonl or .jsonl.gz")


def validation_documents(tokens_dir: str | Path, max_tokens: int) -> list[np.ndarray]:
    """The first documents of the run's validation split, in shard order, until `max_tokens` tokens."""
    import pyarrow.parquet as pq

    from finemill.tokenize.tokens_folder import TokenData

    data = TokenData(tokens_dir)
    units = data.units("val")
    if not units:
        raise FinemillError(f"{data.dir} has no validation shard; pass texts with --bpb-texts")
    docs: list[np.ndarray] = []
    total = 0
    for unit in units:
        column = pq.ParquetFile(unit.path).read_row_group(unit.row_group, columns=["input_ids"]).column(0)
        for row in column.to_numpy(zero_copy_only=False):
            docs.append(np.asarray(row, dtype=np.int64))
            total += len(row)
            if total >= max_tokens:
                return docs
    return docs
