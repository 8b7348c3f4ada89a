"""Texts to train or score a classifier on: parquet files (a `text` column), JSON-lines files (.jsonl,
.jsonl.gz, .json.gz: a `text` field per line), folders of them, or a finemill run folder (its documents/)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from finemill import run_folder
from finemill.errors import FinemillError

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".jsonl.zst")


def source_files(source: str | Path) -> list[Path]:
    """The files of one source, sorted; a one-line error for a source that holds none."""
    path = Path(source).expanduser()
    if not path.exists():
        raise FinemillError(f"source not found: {source}")
    if path.is_dir():
        documents = run_folder.documents(path)
        folder = documents if documents.is_dir() else path
        files = sorted(
            p for p in folder.rglob("*") if p.is_file() and _readable(p) and not _hidden(p, folder)
        )
    else:
        files = [path] if _readable(path) else []
    if not files:
        raise FinemillError(
            f"{source}: no parquet or JSON-lines file (.parquet, {', '.join(JSONL_SUFFIXES)})"
        )
    return files


def iter_texts(sources: list[str], limit: int | None = None) -> Iterator[str]:
    """The non-empty texts of every source, in order, at most `limit` in all."""
    count = 0
    for source in sources:
        for path in source_files(source):
            for text in _file_texts(path):
                if not text or not text.strip():
                    continue
                yield text
                count += 1
                if limit is not None and count >= limit:
                    return


def _file_texts(path: Path) -> Iterator[str]:
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        if "text" not in parquet.schema_arrow.names:
            raise FinemillError(f"{path}: no `text` column")
        for batch in parquet.iter_batches(columns=["text"], batch_size=1024):
            yield from batch.column(0).to_pylist()
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise FinemillError(f"{path}:{number}: not a JSON line") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise FinemillError(f"{path}:{number}: no `text` field")
            yield row["text"]


def _readable(path: Path) -> bool:
    return path.name.endswith(".parquet") or path.name.endswith(JSONL_SUFFIXES[:3])


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)
