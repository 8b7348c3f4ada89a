"""finemill's parquet batches are the ones datatrove's `pa.RecordBatch.from_pylist` builds, without pandas."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from finemill.steps.write.parquet import DOCUMENT_SCHEMA, REMOVED_SCHEMA, RemovedWriter, record_batch
from tests.conftest import shared_file


def real_rows() -> list[dict]:
    """Rows of both schemas from the real crawl documents, with the values a run meets: missing fields,
    None, NaN, non-ASCII text, empty strings."""
    path = shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    records = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    rows = []
    for i, record in enumerate(records):
        rows.append(
            {
                "text": record["text"],
                "id": str(i),
                "url": f"https://example.org/{i}" if i % 5 else None,
                "step": "language",
                "reason": "below_threshold",
                "language": "en" if i % 3 else None,
                "language_score": [0.91, None, math.nan, 1][i % 4],
                "metadata": json.dumps({"k": i}),
                "dump": "CC-MAIN-2019-30",
            }
        )
    rows += [
        {"text": "", "id": "empty"},
        {"text": "naïve \u2603 \U0001f600", "id": "wide", "language_score": 0},
    ]
    return rows


def comparable(batch: pa.RecordBatch) -> list[list]:
    """The batch's values column by column, NaN as a string, with each column's null count."""
    return [
        [
            column.null_count,
            ["NaN" if isinstance(v, float) and math.isnan(v) else v for v in column.to_pylist()],
        ]
        for column in batch.columns
    ]


def test_batches_equal_datatrove_on_real_rows():
    rows = real_rows()
    assert len(rows) > 600
    for schema in (REMOVED_SCHEMA, DOCUMENT_SCHEMA):
        for chunk in (rows[:1], rows[:1000], rows[-2:]):
            ours = record_batch(chunk, schema)
            assert ours is not None
            theirs = pa.RecordBatch.from_pylist(chunk, schema=schema)
            assert ours.schema == theirs.schema
            assert comparable(ours) == comparable(theirs)  # NaN != NaN for pyarrow's equals


def test_values_a_column_does_not_hold_go_to_datatrove():
    assert record_batch([{"text": 1, "id": "a"}], DOCUMENT_SCHEMA) is None
    assert record_batch([{"text": "t", "language_score": True}], DOCUMENT_SCHEMA) is None
    assert record_batch([{"text": "t", "language_score": "0.5"}], DOCUMENT_SCHEMA) is None


def test_removed_writer_writes_the_rows(tmp_path):
    from datatrove.data import Document

    docs = [
        Document(text=f"text {i} é", id=str(i), metadata={"url": f"u{i}", "filter_reason": "r"})
        for i in range(5)
    ]
    with RemovedWriter(str(tmp_path), step="gopher_quality", default_reason="removed") as writer:
        for doc in docs:
            writer.write(doc, rank=0)
    table = pq.read_table(tmp_path / "00000.parquet")
    assert table.column("text").to_pylist() == [d.text for d in docs]
    assert table.column("reason").to_pylist() == ["r"] * 5
    assert table.column("language_score").to_pylist() == [None] * 5


def test_writing_removed_documents_does_not_import_pandas(tmp_path):
    code = (
        "import sys\n"
        "from datatrove.data import Document\n"
        "from finemill.steps.write.parquet import RemovedWriter\n"
        f"with RemovedWriter({str(tmp_path)!r}, step='s', default_reason='r') as w:\n"
        "    w.write(Document(text='t', id='1', metadata={'language_score': 0.5}), rank=0)\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
