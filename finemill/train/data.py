"""Token shards -> batches of packed (context + 1)-token windows, shuffled, split across ranks, resumable.

The input is a tokens folder written by `finemill tokenize`: manifest.json plus parquet shards with one
row per document (`id`, `input_ids`, `num_tokens`), ids without end-of-text; or llm.c `.bin` shards
(`tokenize/llmc_data.py`), whose units are ~1M-token pieces of each file, cut at end-of-text ids.

How the stream is built, per epoch e of a split:
1. The unit of reading is one parquet row group. The row groups are put in a random order drawn from
   (seed, e), and the documents inside each one in a random order drawn from (seed, e, group).
2. Documents are concatenated in that order, each preceded by the end-of-text id, into one long
   stream of `tokens + documents` ids. Epochs have the same length; a new epoch reshuffles.
3. Window w of the epoch is stream[w*T : w*T + T + 1]: inputs are its first T ids, targets its last T,
   so every stream position is a target exactly once. The tail shorter than a window is dropped.
4. Windows are served in shuffled order within blocks of `shuffle_windows` consecutive windows (a
   shuffle buffer of about shuffle_windows x T tokens), so a batch mixes many documents instead of
   reading one document's consecutive windows.
5. Served windows are numbered globally across epochs (j = epoch * windows_per_epoch + i) and grouped
   into global batches of B. Rank r's k-th batch is global batch k * world + r, so ranks never
   overlap; DataLoader worker w of W produces that rank's batches k = start + w + m*W, which the
   DataLoader hands back round-robin, i.e. in order.

So the whole position is one number, the count of windows consumed (all ranks together), and
resuming from it is exact, even at another world size or batch size that divides it. Memory is
bounded by one shuffle block plus about one decoded row group per reader: row groups that hold none
of a reader's windows are skipped without being decoded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from finemill.errors import FinemillError
from finemill.tokenize.tokens_folder import TokenData
from finemill.train.interrupt import ignore_stop_signals


class PackedStream:
    """The packed, shuffled token stream of one split (see the module docstring for the layout)."""

    def __init__(
        self,
        data: TokenData,
        split: str,
        seq_len: int,
        seed: int = 0,
        shuffle: bool = True,
        shuffle_windows: int = 1024,
    ) -> None:
        self.data, self.split, self.seq_len, self.seed, self.shuffle = data, split, seq_len, seed, shuffle
        self.shuffle_windows = shuffle_windows
        self.units = data.units(split)
        self.documents = sum(u.documents for u in self.units)
        self.tokens_per_epoch = sum(u.tokens + u.documents for u in self.units)  # with one separator per doc
        self.windows_per_epoch = max(0, (self.tokens_per_epoch - 1) // seq_len)

    def signature(self) -> dict[str, Any]:
        """What must not change under a resumed run for its position to mean the same windows."""
        return {
            "split": self.split,
            "seq_len": self.seq_len,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "shuffle_windows": self.shuffle_windows,
            "documents": self.documents,
            "tokens_per_epoch": self.tokens_per_epoch,
            "units": len(self.units),
        }

    def unit_order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.units))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.units))

    def pack_unit(self, index: int, epoch: int) -> np.ndarray:
        """Decode one row group and lay out its documents, shuffled, each after an end-of-text id."""
        unit = self.units[index]
        lengths, values = self.data.documents(unit)
        if len(values) != unit.tokens:
            raise FinemillError(
                f"{unit.path} row group {unit.row_group}: input_ids hold {len(values)} tokens, "
                f"num_tokens says {unit.tokens}"
            )
        order = np.arange(unit.documents)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch, index]).permutation(unit.documents)
        starts = np.concatenate([[0], np.cumsum(lengths)])
        out = np.empty(unit.tokens + unit.documents, dtype=self.data.dtype)
        pos = 0
        for d in order:
            n = int(lengths[d])
            out[pos] = self.data.eot_id
            out[pos + 1 : pos + 1 + n] = values[starts[d] : starts[d] + n]
            pos += n + 1
        if len(out) and int(out.max()) >= self.data.vocab_size:
            raise FinemillError(
                f"{unit.path}: token id {int(out.max())} is outside the manifest's vocab (size {self.data.vocab_size})"
            )
        return out


class _EpochReader:
    """Serves the windows of one epoch, block by block in increasing order, holding ~one row group."""

    def __init__(self, stream: PackedStream, epoch: int) -> None:
        self.stream, self.epoch = stream, epoch
        self.order = stream.unit_order(epoch)
        self.next = 0  # position in `order` of the next row group to decode
        self.buf = np.empty(0, dtype=stream.data.dtype)  # stream[buf_start : buf_start + len(buf)]
        self.buf_start = 0
        self.block = -1
        self.block_tokens = self.buf
        self.block_order = np.arange(0)

    def window(self, i: int) -> np.ndarray:
        """The i-th served window of the epoch, (T + 1,): window block_order[i % S] of block i // S."""
        S, T = self.stream.shuffle_windows, self.stream.seq_len
        b, p = divmod(i, S)
        if b != self.block:
            n = min(S, self.stream.windows_per_epoch - b * S)  # the last block may be shorter
            self.block_tokens = self.read(b * S * T, n * T + 1).copy()
            self.block_order = np.arange(n)
            if self.stream.shuffle:
                self.block_order = np.random.default_rng([self.stream.seed, self.epoch, b, 1]).permutation(n)
            self.block = b
        w = int(self.block_order[p])
        return self.block_tokens[w * T : w * T + T + 1]

    def read(self, start: int, n: int) -> np.ndarray:
        """stream[start : start + n]; starts must not decrease from one call to the next."""
        end = start + n
        decoded_end = self.buf_start + len(self.buf)
        if decoded_end <= start:  # nothing buffered is needed: skip whole row groups without decoding them
            while self.next < len(self.order):
                u = self.stream.units[self.order[self.next]]
                if decoded_end + u.tokens + u.documents > start:
                    break
                decoded_end += u.tokens + u.documents
                self.next += 1
            self.buf, self.buf_start = self.buf[:0], decoded_end
        pieces = [self.buf]
        while decoded_end < end:
            arr = self.stream.pack_unit(int(self.order[self.next]), self.epoch)
            self.next += 1
            decoded_end += len(arr)
            pieces.append(arr)
        if len(pieces) > 1:
            self.buf = np.concatenate(pieces)
        self.buf = self.buf[start - self.buf_start :]  # windows come in order: drop what is behind
        self.buf_start = start
        return self.buf[:n]


class WindowBatches(IterableDataset):
    """Endless (x, y) int64 batches, each (B, T), for one rank, from its `start`-th batch on."""

    def __init__(self, stream: PackedStream, batch_size: int, rank: int, world_size: int, start: int) -> None:
        super().__init__()
        self.stream, self.batch_size, self.rank, self.world_size, self.start = (
            stream,
            batch_size,
            rank,
            world_size,
            start,
        )

    def __iter__(self):
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        B, wpe = self.batch_size, self.stream.windows_per_epoch
        reader: _EpochReader | None = None
        k = self.start + worker
        while True:
            g = k * self.world_size + self.rank  # global batch index
            rows = []
            for j in range(g * B, (g + 1) * B):  # global window indices
                epoch, i = divmod(j, wpe)
                if reader is None or reader.epoch != epoch:
                    reader = _EpochReader(self.stream, epoch)
                rows.append(reader.window(i))
            batch = torch.from_numpy(np.stack(rows).astype(np.int64))  # (B, T+1)
            yield batch[:, :-1].contiguous(), batch[:, 1:].contiguous()  # (B, T) inputs, (B, T) targets
            k += workers


class TokenLoader:
    """Iterator of (x, y) batches for one rank, with a state_dict for exact resume."""

    def __init__(
        self,
        data: TokenData,
        split: str,
        batch_size: int,
        seq_len: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
        pin_memory: bool = False,
        shuffle_windows: int = 1024,
    ) -> None:
        self.stream = PackedStream(
            data, split, seq_len, seed=seed, shuffle=shuffle, shuffle_windows=shuffle_windows
        )
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.batches = 0  # batches this rank has handed out (all ranks hand out the same number)
        self._it = None

    @property
    def windows_per_epoch(self) -> int:
        return self.stream.windows_per_epoch

    @property
    def epoch(self) -> float:
        """Epochs consumed so far, all ranks together (fractional)."""
        return self.batches * self.batch_size * self.world_size / max(1, self.windows_per_epoch)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._it is None:
            if self.windows_per_epoch == 0:
                raise FinemillError(
                    f"the {self.stream.split} split has {self.stream.tokens_per_epoch} tokens, fewer than one "
                    f"window of context + 1 = {self.stream.seq_len + 1}"
                )
            ds = WindowBatches(self.stream, self.batch_size, self.rank, self.world_size, self.batches)
            if self.num_workers == 0:
                self._it = iter(ds)
            else:
                loader = DataLoader(
                    ds,
                    batch_size=None,
                    num_workers=self.num_workers,
                    pin_memory=self.pin_memory,
                    prefetch_factor=4,
                    worker_init_fn=ignore_stop_signals,  # a Ctrl-C or SIGTERM is the training loop's to handle
                )
                self._it = iter(loader)
        batch = next(self._it)
        self.batches += 1
        return batch

    def reset(self) -> None:
        """Back to the first batch (validation reads the same batches every time)."""
        self.batches, self._it = 0, None

    def state_dict(self) -> dict[str, Any]:
        return {"windows": self.batches * self.batch_size * self.world_size, **self.stream.signature()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in self.stream.signature().items():
            if state.get(key) != value:
                raise FinemillError(
                    f"cannot resume the data position: {key} was {state.get(key)!r} in the checkpoint and is "
                    f"{value!r} now (the token shards or the data settings changed)"
                )
        per_batch = self.batch_size * self.world_size
        if state["windows"] % per_batch:
            raise FinemillError(
                f"cannot resume the data position: {state['windows']} windows consumed is not a multiple of "
                f"micro_batch_size x world_size = {per_batch}"
            )
        self.batches, self._it = state["windows"] // per_batch, None
