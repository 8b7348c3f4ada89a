"""The parquet files a run writes, and their columns: kept documents (FineWeb's) and removed ones (with
their step and reason). Where they go is `finemill.run_folder`'s business."""

from __future__ import annotations

import json

import numpy as np
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


def record_batch(rows: list[dict], schema: pa.Schema) -> pa.RecordBatch | None:
    """`pa.RecordBatch.from_pylist(rows, schema=schema)` for schemas of string, float64 and int64 columns, built from
    the columns' buffers: `pa.array` imports pandas on its first call (~0.5 s per process, for a check that
    never applies to lists). None where a value is not what the column holds (datatrove's call answers)."""
    columns = []
    for field in schema:
        values = [row.get(field.name) for row in rows]
        valid = [value is not None for value in values]
        validity = None if all(valid) else pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
        nulls = len(values) - sum(valid)
        if field.type == pa.string():
            if not all(type(value) is str for value, ok in zip(values, valid, strict=True) if ok):
                return None
            encoded = [value.encode("utf-8") if ok else b"" for value, ok in zip(values, valid, strict=True)]
            offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
            np.cumsum([len(b) for b in encoded], out=offsets[1:])
            if offsets[-1] > np.iinfo(np.int32).max:
                return None
            buffers = [
                validity,
                pa.py_buffer(offsets.astype(np.int32).tobytes()),
                pa.py_buffer(b"".join(encoded)),
            ]
        elif field.type == pa.float64():
            if not all(_is_number(value) for value, ok in zip(values, valid, strict=True) if ok):
                return None
            data = np.array(
                [value if ok else 0.0 for value, ok in zip(values, valid, strict=True)], dtype=np.float64
            )
            buffers = [validity, pa.py_buffer(data.tobytes())]
        elif field.type == pa.int64():
            if not all(type(value) is int for value, ok in zip(values, valid, strict=True) if ok):
                return None
            data = np.array([value if ok else 0 for value, ok in zip(values, valid, strict=True)], np.int64)
            buffers = [validity, pa.py_buffer(data.tobytes())]
        else:
            return None
        columns.append(pa.Array.from_buffers(field.type, len(values), buffers, null_count=nulls))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _is_number(value: object) -> bool:
    return isinstance(value, (float, int)) and not isinstance(value, bool)


class AtomicParquetWriter(ParquetWriter):
    """A ParquetWriter whose files appear under their final name only when complete.

    Each file is written as a hidden `.<name>.partial` (pyarrow, pandas and duckdb skip hidden files) and
    renamed when the task closes it after success. A killed or failed task leaves no partial parquet file
    visible; its rerun overwrites the hidden one.
    """

    def __init__(self, output_folder: str, subfolder: str = "", **kwargs) -> None:
        super().__init__(
            output_folder,
            output_filename=subfolder + ".${rank}.parquet.partial",
            compression="zstd",
            max_file_size=-1,
            **kwargs,
        )  # one file per task, named by rank (a task is one input file)
        self._succeeded = True

    def _write_batch(self, filename: str) -> None:
        rows = self._batches.get(filename)
        batch = None
        if rows and self.schema is not None:
            try:
                batch = record_batch(rows, self.schema)
            except (UnicodeEncodeError, ValueError, OverflowError):
                batch = None
        if batch is None:  # datatrove's own conversion, with its errors
            super()._write_batch(filename)
            return
        del self._batches[filename]
        self._writers[filename].write_batch(batch)

    def __exit__(self, exc_type, exc_val, exc_tb):
        self._succeeded = exc_type is None
        super().__exit__(exc_type, exc_val, exc_tb)

    def close(self):
        written = list(self._writers)
        super().close()
        if self._succeeded:
            for name in written:
                folder, slash, partial = name.rpartition("/")
                self.output_folder.mv(
                    name, folder + slash + partial.removeprefix(".").removesuffix(".partial")
                )


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


# The columns a quality classifier step adds (FineWeb-Edu's names); a run without one keeps FineWeb's schema.
SCORE_FIELDS = {"quality_score": pa.float64(), "int_score": pa.int64()}


class DocumentWriter(AtomicParquetWriter):
    """Writes kept documents to `documents/` in FineWeb's schema (zstd parquet), plus `score_columns` (of
    SCORE_FIELDS) when the recipe has a quality classifier step; `by_language`: to `documents/<language>/`,
    one folder per language (a multilingual recipe's)."""

    def __init__(
        self, output_folder: str, by_language: bool = False, score_columns: tuple[str, ...] = ()
    ) -> None:
        schema = DOCUMENT_SCHEMA
        for name in score_columns:
            schema = schema.append(pa.field(name, SCORE_FIELDS[name]))
        super().__init__(output_folder, subfolder="${language}/" if by_language else "", schema=schema)
        self.score_columns = tuple(score_columns)

    def _default_adapter(self, doc: Document) -> dict:
        row = fineweb_columns(doc)
        for name in self.score_columns:
            row[name] = doc.metadata.get(name)
        return row
