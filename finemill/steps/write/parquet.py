"""The parquet files a run writes, and their columns: kept documents (FineWeb's) and removed ones (with
their step and reason). Where they go is `finemill.run_folder`'s business."""

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


class AtomicParquetWriter(ParquetWriter):
    """A ParquetWriter whose files appear under their final name only when complete.

    Each file is written as a hidden `.<name>.partial` (pyarrow, pandas and duckdb skip hidden files) and
    renamed when the task closes it after success. A killed or failed task leaves no partial parquet file
    visible; its rerun overwrites the hidden one.
    """

    def __init__(self, output_folder: str, **kwargs) -> None:
        super().__init__(
            output_folder,
            output_filename=".${rank}.parquet.partial",
            compression="zstd",
            max_file_size=-1,
            **kwargs,
        )  # one file per task, named by rank (a task is one input file)
        self._succeeded = True

    def __exit__(self, exc_type, exc_val, exc_tb):
        self._succeeded = exc_type is None
        super().__exit__(exc_type, exc_val, exc_tb)

    def close(self):
        written = list(self._writers)
        super().close()
        if self._succeeded:
            for name in written:
                self.output_folder.mv(name, name.removeprefix(".").removesuffix(".partial"))


class RemovedWriter(AtomicParquetWriter):
    """Writes the documents a step removed to `removed/<step>/`, with the reason the step gave."""

    def __init__(self, output_folder: str, step: str, default_reason: str) -> None:
        super().__init__(output_folder, schema=REMOVED_SCHEMA)
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


class DocumentWriter(AtomicParquetWriter):
    """Writes kept documents to `documents/` in FineWeb's schema (zstd parquet)."""

    def __init__(self, output_folder: str) -> None:
        super().__init__(output_folder, schema=DOCUMENT_SCHEMA)

    def _default_adapter(self, doc: Document) -> dict:
        return fineweb_columns(doc)
