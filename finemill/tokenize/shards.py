"""The shard writer: documents -> `OUT/tokens/{train,val}/shard_NNNNN.parquet`, streaming, parallel, resumable.

The document stream. Row groups are visited in a seeded order (`documents.ordered_units`) and documents
inside a row group in a seeded order of their ids (`split.seeded_order`); a document's place in the
stream is (unit number, row number). Each document goes to train or val by a hash of its id. A split's
shard is closed after the document that brings it to `shard_tokens` tokens. All of this depends only on the
input, the seed and the settings, never on `workers` or on interruptions, so every run writes the same
bytes.

Resuming. A shard is written under a hidden temp name and renamed when complete; its parquet footer holds
its counts and the stream position just after its last document. A rerun reads the finished shards of each
split, starts that split right after the last one, and encodes only the documents it still has to write
(documents of finished shards are neither encoded nor kept).

Other formats (`--format`, `formats/`). Each split writer hands every parquet row group it flushes to one
writer per extra format, opened with the shard and finished (moved into place) just before the parquet
shard is renamed, so a finished parquet shard implies its other files and resuming needs nothing more.

Memory. Workers hold one row group each, at most two per worker are in flight, and the writers flush a
parquet row group every `group_tokens` tokens: memory does not grow with the corpus or the shard size.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from finemill import storage
from finemill.errors import FinemillError
from finemill.tokenize.documents import (
    Unit,
    find_document_files,
    kept,
    language_of,
    list_units,
    ordered_units,
    read_unit,
    sources_signature,
)
from finemill.tokenize.formats import FORMATS, PARQUET, FormatWriter
from finemill.tokenize.manifest import (
    FORMAT,
    MANIFEST_NAME,
    TOKENIZER_NAME,
    build_manifest,
    listed_files,
    read_manifest,
    sha256_file,
    write_json_atomic,
)
from finemill.tokenize.mix import mix_units
from finemill.tokenize.split import is_val, seeded_order

if TYPE_CHECKING:
    from finemill.tokenize.encoder import Encoder


SPLITS = ("train", "val")
_META_KEY = "finemill"
_SKIP = -1  # a split's start row meaning "nothing of this split to do in this unit"


@dataclass(frozen=True)
class ShardSettings:
    shard_tokens: int = 100_000_000
    val_fraction: float = 0.005
    seed: int = 0
    workers: int = 1
    group_tokens: int = 1 << 20  # tokens per parquet row group inside a shard (bounds the writer's memory)
    formats: tuple[str, ...] = (PARQUET,)  # parquet is always written; the others beside it (formats/)
    languages: tuple[tuple[str, float], ...] = ()  # --languages: (language, weight) to mix (tokenize/mix.py)

    @property
    def extra_formats(self) -> tuple[type[FormatWriter], ...]:
        return tuple(FORMATS[name] for name in self.formats if name != PARQUET)

    def check(self) -> None:
        unknown = [name for name in self.formats if name != PARQUET and name not in FORMATS]
        if unknown:
            raise FinemillError(
                f"unknown --format {', '.join(unknown)}; choose from {', '.join((PARQUET, *FORMATS))}"
            )
        for fmt in self.extra_formats:
            fmt.check_shard_tokens(self.shard_tokens)
        if self.shard_tokens < 1:
            raise FinemillError("--shard-tokens must be at least 1")
        if not 0.0 <= self.val_fraction < 1.0:
            raise FinemillError("--val-fraction must be in [0, 1)")
        if self.workers < 1:
            raise FinemillError("--workers must be at least 1")


def shard_name(index: int) -> str:
    return f"shard_{index:05d}.parquet"


# -- workers ---------------------------------------------------------------------------------------------

_STATE: dict = {}


def _init_worker(tokenizer_path: str, eot_token: str, backend: str, seed: int, val_fraction: float) -> None:
    # One worker process is one core: HF's own thread pool (used only for fallback documents) must not
    # multiply that. Set before `tokenizers` is first imported in this fresh (spawned) process.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from finemill.tokenize.encoder import Encoder

    encoder = Encoder.from_file(tokenizer_path, eot_token=eot_token, backend=backend)
    _STATE.update(encoder=encoder, seed=seed, val_fraction=val_fraction)


def _encode_unit(task: tuple[int, Unit, tuple[int, int]]) -> tuple[int, int, dict]:
    """Encode the documents of one row group that still have to be written, per split, in stream order.

    Returns (unit number, rows in the unit, {split: (doc ids, rows, token counts, byte counts, ids)}).
    """
    u, unit, starts = task
    encoder, seed, val_fraction = _STATE["encoder"], _STATE["seed"], _STATE["val_fraction"]
    doc_ids, texts = read_unit(unit)
    order = seeded_order(doc_ids, seed)
    # a document left out of the languages' mix belongs to neither split
    in_val = [is_val(doc_ids[i], val_fraction) if kept(unit, doc_ids[i]) else None for i in order]
    out = {}
    for s, split in enumerate(SPLITS):
        start = starts[s]
        if start == _SKIP:
            continue
        want_val = split == "val"
        rows = [r for r in range(start, len(order)) if in_val[r] == want_val]
        picked = [order[r] for r in rows]
        split_texts = [texts[i] for i in picked]
        values, lengths = encoder.encode_flat(split_texts)
        nbytes = np.fromiter(
            (len(t.encode("utf-8", "surrogatepass")) for t in split_texts), np.int64, len(picked)
        )
        out[split] = (
            [doc_ids[i] for i in picked],
            np.asarray(rows, dtype=np.int64),
            lengths,
            nbytes,
            values.astype(encoder.dtype, copy=False),
        )
    return u, unit.rows, out


# -- the writer of one split ------------------------------------------------------------------------------


class _SplitWriter:
    """Appends documents to the current shard of one split; closes it at `shard_tokens` tokens."""

    def __init__(
        self,
        tokens_dir: Path,
        split: str,
        next_index: int,
        settings: ShardSettings,
        dtype: str,
        fingerprint: str,
        encoder: Encoder,
        unit_languages: list[str] | None = None,
    ):
        import pyarrow as pa

        self.unit_languages = unit_languages  # a multilingual run's: each unit's language, for the column
        self.dir = tokens_dir / split
        self.dir.mkdir(parents=True, exist_ok=True)
        self.split, self.index, self.settings, self.fingerprint = split, next_index, settings, fingerprint
        self.value_type = pa.uint16() if dtype == "uint16" else pa.uint32()
        columns = [("id", pa.string()), ("input_ids", pa.list_(self.value_type)), ("num_tokens", pa.int64())]
        self.schema = pa.schema(columns + ([("language", pa.string())] if unit_languages else []))
        self.finished: list[dict] = []
        self.vocab_size, self.eot_id = encoder.vocab_size, encoder.eot_id
        self._reset()

    def _reset(self) -> None:
        self.writer = None
        self.extras: list[FormatWriter] | None = None  # opened with the shard's first row group
        self.documents = self.tokens = self.bytes = 0
        self._ids: list[str] = []
        self._languages: list[str] = []
        self._arrays: list[np.ndarray] = []
        self._buffered = 0

    @property
    def _tmp(self) -> Path:
        return self.dir / f".{shard_name(self.index)}.tmp"

    def add(
        self,
        u: int,
        doc_ids: list[str],
        rows: np.ndarray,
        lengths: np.ndarray,
        nbytes: np.ndarray,
        values: np.ndarray,
    ) -> None:
        ends = np.cumsum(lengths)
        for k, n in enumerate(lengths.tolist()):
            if n == 0:
                continue  # empty document: nothing to train on, counted in the manifest
            self._ids.append(doc_ids[k])
            if self.unit_languages:
                self._languages.append(self.unit_languages[u])
            self._arrays.append(values[ends[k] - n : ends[k]])
            self._buffered += n
            self.documents += 1
            self.tokens += n
            self.bytes += int(nbytes[k])
            if self._buffered >= self.settings.group_tokens:
                self._flush()
            if self.tokens >= self.settings.shard_tokens:
                self._finish(end=(u, int(rows[k]) + 1))

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._ids:
            return
        lengths = np.fromiter((len(a) for a in self._arrays), np.int64, len(self._arrays))
        offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        flat = pa.array(np.concatenate(self._arrays), type=self.value_type)
        table = pa.table(
            [
                pa.array(self._ids, pa.string()),
                pa.ListArray.from_arrays(pa.array(offsets), flat),
                pa.array(lengths, pa.int64()),
                *([pa.array(self._languages, pa.string())] if self.unit_languages else []),
            ],
            schema=self.schema,
        )
        if self.writer is None:
            self.writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd", use_dictionary=False)
            self.extras = [
                cls(self.dir.parent, self.split, self.index, self.vocab_size, self.eot_id)
                for cls in self.settings.extra_formats
            ]
        self.writer.write_table(table)
        for extra in self.extras:
            extra.write(self._arrays)
        self._ids, self._languages, self._arrays, self._buffered = [], [], [], 0

    def _finish(self, end: tuple[int, int]) -> None:
        self._flush()
        record = {
            "path": f"{self.split}/{shard_name(self.index)}",
            "documents": self.documents,
            "tokens": self.tokens,
            "bytes": self.bytes,
            "end": list(end),
            "fingerprint": self.fingerprint,
        }
        # The other formats are complete before the parquet shard appears: a finished shard implies them.
        files = {extra.name: extra.finish() for extra in self.extras}
        if files:
            record["files"] = files
        self.writer.add_key_value_metadata({_META_KEY: json.dumps(record)})
        self.writer.close()
        with open(
            self._tmp, "rb+"
        ) as f:  # on disk before it is renamed, so a power cut cannot expose it empty
            os.fsync(f.fileno())
        os.replace(self._tmp, self.dir / shard_name(self.index))  # the shard appears whole or not at all
        self.finished.append(record)
        self.index += 1
        self._reset()

    def close(self, end: tuple[int, int]) -> None:
        if self.documents:
            self._finish(end)


# -- resuming ----------------------------------------------------------------------------------------------


def _finished_shards(tokens_dir: Path, fingerprint: str) -> dict[str, list[dict]]:
    """The complete shards already on disk, per split; stale temp files are removed."""
    import pyarrow.parquet as pq

    found: dict[str, list[dict]] = {}
    for split in SPLITS:
        folder = tokens_dir / split
        records: list[dict] = []
        if folder.is_dir():
            for tmp in folder.glob(".shard_*.parquet.tmp"):
                tmp.unlink()  # a shard interrupted mid-write; it is rewritten from its start
            for i, path in enumerate(sorted(folder.glob("shard_*.parquet"))):
                try:
                    meta = pq.read_metadata(path).metadata or {}
                    record = json.loads(meta[_META_KEY.encode()])
                except Exception as e:  # not ours, or damaged
                    raise FinemillError(f"{path} is not a finemill shard ({e}); use --overwrite") from e
                if record.get("fingerprint") != fingerprint:
                    raise FinemillError(
                        f"{tokens_dir} holds shards written with other settings, tokenizer or input; "
                        "pass --overwrite to replace them"
                    )
                if path.name != shard_name(i):
                    raise FinemillError(f"{folder} has a gap before {path.name}; pass --overwrite")
                records.append(record)
        found[split] = records
    return found


def _start_row(u: int, resume: tuple[int, int]) -> int:
    if u < resume[0]:
        return _SKIP
    return resume[1] if u == resume[0] else 0


def _tasks(
    units: list[Unit], resume: dict[str, tuple[int, int]]
) -> Iterator[tuple[int, Unit, tuple[int, int]]]:
    for u, unit in enumerate(units):
        starts = tuple(_start_row(u, resume[s]) for s in SPLITS)
        if any(s != _SKIP for s in starts):
            yield u, unit, starts


# -- the run -----------------------------------------------------------------------------------------------


def fingerprint_of(tokenizer_sha: str, settings: ShardSettings, files: list[Path], dtype: str) -> str:
    """What the shards' content depends on; a rerun with another value cannot resume them."""
    key = {
        "format": FORMAT,
        "tokenizer": tokenizer_sha,
        "seed": settings.seed,
        "val_fraction": settings.val_fraction,
        "shard_tokens": settings.shard_tokens,
        "dtype": dtype,
        "sources": sources_signature(files),
    }
    if settings.extra_formats:  # absent for parquet alone, so earlier parquet-only shards still resume
        key["formats"] = sorted(settings.formats)
    if settings.languages:  # absent without --languages, likewise
        key["languages"] = [list(pair) for pair in settings.languages]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def write_shards(
    documents_dir: Path,
    tokens_dir: Path,
    encoder: Encoder,
    settings: ShardSettings | None = None,
    *,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Tokenize the documents into shards under `tokens_dir` and write the manifest; returns it.

    `tokens_dir/tokenizer.json` must be the tokenizer `encoder` was loaded from.
    """
    settings = settings or ShardSettings()
    settings.check()
    documents_dir, tokens_dir = storage.as_path(documents_dir), Path(tokens_dir)
    tokenizer_path = tokens_dir / TOKENIZER_NAME
    files = find_document_files(documents_dir)
    units = ordered_units(list_units(files), settings.seed)
    if settings.languages:
        units = mix_units(units, documents_dir, settings.languages)
    tokenizer_sha = sha256_file(tokenizer_path)
    fingerprint = fingerprint_of(tokenizer_sha, settings, files, encoder.dtype)
    for fmt in settings.extra_formats:
        fmt.dtype_for(encoder.vocab_size)  # a format that cannot hold the vocabulary fails before any work

    done = _complete_manifest(tokens_dir, fingerprint, log)
    if done is not None:
        return done
    finished = _finished_shards(tokens_dir, fingerprint)
    resume = {s: tuple(finished[s][-1]["end"]) if finished[s] else (0, 0) for s in SPLITS}
    if any(finished.values()):
        log("resuming: " + ", ".join(f"{len(finished[s])} {s} shard(s) already written" for s in SPLITS))
    languages = unit_languages(units, documents_dir)
    writers = {
        s: _SplitWriter(
            tokens_dir, s, len(finished[s]), settings, encoder.dtype, fingerprint, encoder, languages
        )
        for s in SPLITS
    }
    _encode_into(writers, list(_tasks(units, resume)), encoder, settings, tokenizer_path, progress)
    for split in SPLITS:
        writers[split].close(end=(len(units), 0))

    splits = {s: finished[s] + writers[s].finished for s in SPLITS}
    manifest = build_manifest(
        encoder=encoder,
        tokenizer_sha256=tokenizer_sha,
        seed=settings.seed,
        val_fraction=settings.val_fraction,
        shard_tokens=settings.shard_tokens,
        splits=splits,
        documents_dir=documents_dir,
        source_documents=sum(unit.rows for unit in units),
        fingerprint=fingerprint,
        formats=settings.formats,
    )
    if not any(manifest["splits"][s]["tokens"] for s in SPLITS):
        raise FinemillError(f"the documents in {documents_dir} hold no text: nothing to tokenize")
    write_json_atomic(tokens_dir / MANIFEST_NAME, manifest)
    return manifest


def unit_languages(units: list[Unit], documents_dir: Path) -> list[str] | None:
    """Each unit's language in a run written per language (`documents/<language>/`), else None: the shards
    of a multilingual run record each document's language in a `language` column."""
    languages = [language_of(unit.path, documents_dir) for unit in units]
    return languages if any(languages) else None


def _complete_manifest(tokens_dir: Path, fingerprint: str, log: Callable[[str], None]) -> dict | None:
    """The manifest of an earlier run with these settings whose shards are all there (nothing to do), or
    None (none, or shards went missing: its manifest is removed and the run resumes, then writes it again).
    A manifest of other settings fails before anything is touched."""
    done = read_manifest(tokens_dir)
    if done is None:
        return None
    if done.get("fingerprint") != fingerprint:
        raise FinemillError(
            f"{tokens_dir} holds shards written with other settings, tokenizer or input; "
            "pass --overwrite to replace them"
        )
    if all((tokens_dir / path).is_file() for path in listed_files(done)):
        log(f"{tokens_dir / MANIFEST_NAME} is complete for these settings: nothing to do")
        return done
    (tokens_dir / MANIFEST_NAME).unlink()
    return None


def _encode_into(
    writers: dict[str, _SplitWriter],
    tasks: list,
    encoder: Encoder,
    settings: ShardSettings,
    tokenizer_path: Path,
    progress: bool,
) -> None:
    """Encode the tasks' documents and hand each split's rows to its writer, in task order, with a bar."""
    from tqdm import tqdm

    bar = tqdm(
        total=sum(t[1].rows for t in tasks), unit="doc", desc="tokenize", disable=not progress, smoothing=0.1
    )
    started, nbytes, ntokens = time.perf_counter(), 0, 0
    for u, rows, out in _run_tasks(tasks, encoder, settings, tokenizer_path):
        for split, (ids, doc_rows, lengths, doc_bytes, values) in out.items():
            writers[split].add(u, ids, doc_rows, lengths, doc_bytes, values)
            nbytes += int(doc_bytes.sum())
            ntokens += int(lengths.sum())
        elapsed = max(time.perf_counter() - started, 1e-9)
        bar.set_postfix_str(
            f"{nbytes / elapsed / 1e6:.1f} MB/s, {ntokens / elapsed / 1e6:.2f}M tok/s", refresh=False
        )
        bar.update(rows)
    bar.close()


def _run_tasks(
    tasks: list, encoder: Encoder, settings: ShardSettings, tokenizer_path: Path
) -> Iterator[tuple[int, int, dict]]:
    """Results in task order; in this process for one worker, else a bounded window over a process pool."""
    if settings.workers == 1 or len(tasks) <= 1:
        _STATE.update(encoder=encoder, seed=settings.seed, val_fraction=settings.val_fraction)
        for task in tasks:
            yield _encode_unit(task)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: the parent has used pyarrow's, tokenizers' and tiktoken's thread pools, which fork does
    # not copy. ProcessPoolExecutor, not multiprocessing.Pool: a worker that dies breaks the pool with an
    # error instead of being respawned forever.
    ctx = mp.get_context("spawn")
    init = (str(tokenizer_path), encoder.eot_token, encoder.backend, settings.seed, settings.val_fraction)
    window = 2 * settings.workers  # results are consumed in order; this bounds how many wait in memory
    pool = ProcessPoolExecutor(settings.workers, mp_context=ctx, initializer=_init_worker, initargs=init)
    try:
        todo = iter(tasks)
        pending = deque(pool.submit(_encode_unit, task) for task in islice(todo, window))
        while pending:
            try:
                result = pending.popleft().result()
            except BrokenProcessPool as e:
                raise FinemillError(
                    "a tokenize worker process died (out of memory? or a script read from stdin, which "
                    "spawned workers cannot re-import); rerun with --workers 1 to see more"
                ) from e
            task = next(todo, None)
            if task is not None:
                pending.append(pool.submit(_encode_unit, task))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
