"""What a run writes, and in which columns.

    OUT/documents/<rank>.parquet   kept documents, FineWeb's columns
    OUT/removed/<step>/<rank>.parquet   every removed document, with its step and reason
    OUT/stats.json                 per-step counts, reasons, characters, time
    OUT/work/                      intermediate files (filtered docs, MinHash signatures, buckets, ...)
    OUT/logs/                      datatrove's per-task logs, stats and completion markers
"""

from __future__ import annotations

import json

import pyarrow as pa
from datatrove.data import Document
from datatrove.pipeline.writers import ParquetWriter

DOCUMENT_SCHEMA = pa.schema(
    [
        ("text", pa.string()),
        ("id", pa.string()),
        ("dump", pa.string()),
        ("url", pa.string()),
        ("date", pa.string()),
        ("file_path", pa.string()),
        ("language", pa.string()),
        ("language_score", pa.float64()),
    ]
)

REMOVED_SCHEMA = pa.schema(
    [
        ("text", pa.string()),
        ("id", pa.string()),
        ("url", pa.string()),
        ("step", pa.string()),
        ("reason", pa.string()),
        ("language", pa.string()),
        ("language_score", pa.float64()),
        ("metadata", pa.string()),  # JSON of all other metadata (cluster ids, file path, ...)
    ]
)


def fineweb_columns(doc: Document) -> dict:
    """A kept document as a FineWeb row."""
    meta = doc.metadata
    return {
        "text": doc.text,
        "id": doc.id,
        "dump": meta.get("dump"),
        "url": meta.get("url"),
        "date": meta.get("date"),
        "file_path": meta.get("file_path"),
        "language": meta.get("language"),
        "language_score": meta.get("language_score"),
    }


class RemovedWriter(ParquetWriter):
    """Writes the documents a step removed to `removed/<step>/`, with the reason the step gave."""

    def __init__(self, output_folder: str, step: str, default_reason: str) -> None:
        super().__init__(
            output_folder,
            output_filename="${rank}.parquet",
            compression="zstd",
            schema=REMOVED_SCHEMA,
            max_file_size=-1,  # one file per task, named by rank (a task is one input file)
        )
        self.step = step
        self.default_reason = default_reason

    def _default_adapter(self, doc: Document) -> dict:
        meta = dict(doc.metadata)
        language_score = meta.pop("language_score", None)
        return {
            "text": doc.text,
            "id": doc.id,
            "url": meta.pop("url", None),
            "step": self.step,
            "reason": meta.pop("filter_reason", None) or self.default_reason,
            "language": meta.pop("language", None),
            "language_score": language_score,
            "metadata": json.dumps(meta, default=str, ensure_ascii=False),
        }


class DocumentWriter(ParquetWriter):
    """Writes kept documents to `documents/` in FineWeb's schema (zstd parquet)."""

    def __init__(self, output_folder: str) -> None:
        super().__init__(
            output_folder,
            output_filename="${rank}.parquet",
            compression="zstd",
            schema=DOCUMENT_SCHEMA,
            max_file_size=-1,  # one file per task, named by rank (a task is one input file)
        )

    def _default_adapter(self, doc: Document) -> dict:
        return fineweb_columns(doc)
