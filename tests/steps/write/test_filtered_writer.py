"""The filtered documents file between MinHash's stages: gzip level 1, the same documents read back."""

from __future__ import annotations

import gzip
import json

from datatrove.data import Document
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from finemill.steps.write.intermediate import FilteredJsonlWriter
from tests.conftest import shared_file


def real_documents() -> list[Document]:
    path = shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    records = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    return [
        Document(
            text=r["text"], id=str(i), metadata={"url": f"https://example.org/{i}", "language_score": 0.9}
        )
        for i, r in enumerate(records)
    ]


def write(writer_class, folder, docs: list[Document]) -> None:
    with writer_class(str(folder), output_filename="${rank}.jsonl.gz") as writer:
        for doc in docs:
            writer.write(doc, rank=3)


def test_same_lines_as_datatrove_jsonl_writer_at_level_1(tmp_path):
    docs = real_documents()
    write(FilteredJsonlWriter, tmp_path / "ours", docs)
    write(JsonlWriter, tmp_path / "theirs", docs)
    ours, theirs = tmp_path / "ours" / "00003.jsonl.gz", tmp_path / "theirs" / "00003.jsonl.gz"
    assert gzip.open(ours).read() == gzip.open(theirs).read()
    assert ours.read_bytes()[8] == 4  # gzip header XFL: 4 = fastest compression, 2 = best (level 9)
    # datatrove's reader reads both files to the same documents (it skips a document without text)
    ours_read, theirs_read = (list(JsonlReader(str(tmp_path / side)).run()) for side in ("ours", "theirs"))
    assert len(ours_read) > 600

    def fields(docs):  # the reader adds each file's own path
        return [(d.id, d.text, {k: v for k, v in d.metadata.items() if k != "file_path"}) for d in docs]

    assert fields(ours_read) == fields(theirs_read)
