"""Reading `OUT/documents/*.parquet` as work units: one parquet row group each.

A row group is the smallest piece of a parquet file that can be read on its own, so it is the natural unit
of parallel work and of memory: a worker never holds more than one row group of text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from finemill import storage
from finemill.errors import FinemillError

REQUIRED_COLUMNS = ("id", "text")


@dataclass(frozen=True)
class Unit:
    """One row group of one documents file."""

    path: str
    row_group: int
    rows: int
    keep: float = 1.0  # the share of its documents kept when languages are mixed by weight (tokenize/mix.py)


def language_of(path: str | Path, documents_dir: str | Path) -> str | None:
    """The language of a file in a run written per language (`documents/<language>/x.parquet`); None for a
    file directly in `documents/`. Compared as text, so a local path and an object-storage URL read alike."""
    parent = PurePosixPath(str(path)).parent
    return None if parent == PurePosixPath(str(documents_dir)) else parent.name


def find_document_files(documents_dir: Path) -> list[Path]:
    """The run's parquet files, sorted by name; a clear error when there are none."""
    documents_dir = storage.as_path(documents_dir)  # a local folder, or a prefix on object storage
    if not documents_dir.is_dir():
        raise FinemillError(f"no documents folder at {documents_dir} (run `finemill run` first)")
    files = sorted(p for p in documents_dir.glob("**/*.parquet") if p.is_file())  # <language>/ folders too
    if not files:
        raise FinemillError(f"no *.parquet files in {documents_dir} (run `finemill run` first)")
    return files


def list_units(files: list[Path]) -> list[Unit]:
    """All row groups of `files`, in file then row-group order; checks the columns we need."""
    import pyarrow.parquet as pq

    units: list[Unit] = []
    for path in files:
        try:
            meta = storage.parquet_file(path).metadata if storage.is_remote(path) else pq.read_metadata(path)
        except Exception as e:  # pyarrow raises several types for a corrupt or non-parquet file
            raise FinemillError(f"cannot read {path} as parquet: {e}") from e
        names = set(meta.schema.to_arrow_schema().names)
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise FinemillError(f"{path} lacks the column(s) {', '.join(missing)}")
        for rg in range(meta.num_row_groups):
            rows = meta.row_group(rg).num_rows
            if rows:
                units.append(Unit(str(path), rg, rows))
    if not units:
        raise FinemillError(f"the documents in {files[0].parent} have no rows: nothing to tokenize")
    return units


def ordered_units(units: list[Unit], seed: int) -> list[Unit]:
    """A seeded, stable permutation of the units.

    Crawl output is clustered (one site, one dump, one language after another); visiting row groups in a
    seeded order spreads each shard over the whole corpus without ever holding the corpus in memory.
    The key uses the file *name*, so moving the run folder does not change the order.
    """

    def key(u: Unit) -> bytes:
        raw = f"{seed}\0{Path(u.path).name}\0{u.row_group}".encode()
        return hashlib.blake2b(raw, digest_size=16).digest()

    return sorted(units, key=key)


def read_unit(unit: Unit) -> tuple[list[str], list[str]]:
    """(ids, texts) of one row group; nulls read as empty strings."""

    table = storage.parquet_file(storage.as_path(unit.path)).read_row_group(
        unit.row_group, columns=list(REQUIRED_COLUMNS)
    )
    ids = ["" if x is None else str(x) for x in table.column("id").to_pylist()]
    texts = ["" if x is None else x for x in table.column("text").to_pylist()]
    return ids, texts


def kept(unit: Unit, doc_id: str) -> bool:
    """Whether a document of `unit` is in the languages' mix (always, unless languages are mixed)."""
    if unit.keep >= 1.0:
        return True
    return mix_hash(doc_id) < unit.keep


def sources_signature(files: list[Path]) -> list[list]:
    """What identifies the input for resuming: file names and sizes."""
    return [[p.name, p.stat().st_size] for p in files]


def iter_texts(units: list[Unit], max_bytes: int = 0, skip_val: float = 0.0) -> Iterator[str]:
    """Texts in unit order until `max_bytes` UTF-8 bytes (0 = all), leaving out the val split's documents."""
    from finemill.tokenize.split import is_val

    seen = 0
    for unit in units:
        ids, texts = read_unit(unit)
        for doc_id, text in zip(ids, texts, strict=True):
            if not text or (skip_val and is_val(doc_id, skip_val)) or not kept(unit, doc_id):
                continue
            yield text
            seen += len(text.encode("utf-8", "surrogatepass"))
            if max_bytes and seen >= max_bytes:
                return


def mix_hash(doc_id: str) -> float:
    """A document's draw in [0, 1): kept when below its language's fraction."""
    digest = hashlib.blake2b(
        doc_id.encode("utf-8", "surrogatepass"), digest_size=8, person=b"finemill-mix"
    ).digest()
    return int.from_bytes(digest, "big") / 2**64
