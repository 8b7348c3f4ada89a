"""The crawl reader: datatrove's documents for good records; bad records counted, never fatal."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from finemill.steps.read.warc import CrawlReader
from tests.conftest import shared_file

ARTICLE = "<html><body><article><h1>Title {i}</h1><p>{body}</p></article></body></html>"


def record_bytes(
    i: int,
    payload: bytes | None = None,
    content_type: str = "text/html; charset=utf-8",
    payload_type: str | None = "text/html",
    gzip_it: bool = True,
    uri: str | None = None,
) -> bytes:
    """One WARC response record, as its own gzip member (Common Crawl's layout) or plain."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzip_it)
    body = (
        payload if payload is not None else ARTICLE.format(i=i, body=f"Paragraph number {i}. " * 20).encode()
    )
    http = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
    headers = {
        "WARC-Record-ID": f"<urn:uuid:00000000-0000-0000-0000-{i:012d}>",
        "WARC-Date": "2024-01-01T00:00:00Z",
    }
    if payload_type:
        headers["WARC-Identified-Payload-Type"] = payload_type
    record = writer.create_warc_record(
        uri or f"https://example.com/page/{i}",
        "response",
        payload=io.BytesIO(body),
        http_headers=http,
        warc_headers_dict=headers,
    )
    writer.write_record(record)
    return buffer.getvalue()


def read(path: Path) -> tuple[list, dict]:
    reader = CrawlReader(str(path.parent), glob_pattern=path.name)
    docs = list(reader.run())
    counters = {k: v.total for k, v in reader.stats.stats.items() if k.startswith(("skipped_", "files_"))}
    return docs, counters


def write(path: Path, *chunks: bytes) -> Path:
    path.write_bytes(b"".join(chunks))
    return path


def test_good_records_become_documents(tmp_path):
    docs, counters = read(write(tmp_path / "ok.warc.gz", *(record_bytes(i) for i in range(5))))
    assert [d.metadata["url"] for d in docs] == [f"https://example.com/page/{i}" for i in range(5)]
    assert all("Paragraph number" in d.text for d in docs) and counters == {}


def test_corrupt_member_in_the_middle_skips_only_that_record(tmp_path):
    members = [record_bytes(i) for i in range(6)]
    broken = bytearray(members[2])
    broken[40:80] = b"\x00" * 40  # damage the deflate data of record 2
    docs, counters = read(write(tmp_path / "bad.warc.gz", *members[:2], bytes(broken), *members[3:]))
    assert [d.id[-3:-1] for d in docs] == ["00", "01", "03", "04", "05"]
    assert counters["skipped_corrupt_record"] >= 1


def test_truncated_last_member_keeps_the_records_before(tmp_path):
    members = [record_bytes(i) for i in range(4)]
    docs, counters = read(write(tmp_path / "cut.warc.gz", *members[:3], members[3][: len(members[3]) // 2]))
    assert len(docs) == 3 and counters["skipped_corrupt_record"] == 1


def test_one_gzip_stream_file_is_read_whole(tmp_path):
    plain = b"".join(record_bytes(i, gzip_it=False) for i in range(4))
    docs, counters = read(write(tmp_path / "one.warc.gz", gzip.compress(plain)))
    assert len(docs) == 4 and counters == {"files_single_gzip_stream": 1}


def test_plain_uncompressed_warc(tmp_path):
    docs, _ = read(write(tmp_path / "plain.warc", *(record_bytes(i, gzip_it=False) for i in range(3))))
    assert len(docs) == 3


def test_non_html_payloads_are_counted_not_documents(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    pdf = b"%PDF-1.4\n" + b"0" * 200
    path = write(
        tmp_path / "mixed.warc.gz",
        record_bytes(0),
        record_bytes(1, png, "image/png", "image/png"),
        record_bytes(2, pdf, "application/pdf", None),
        record_bytes(3, b"1.2.3.4", "text/dns", None, uri="dns:example.com"),
        record_bytes(4),
    )
    docs, counters = read(path)
    assert len(docs) == 2 and counters == {"skipped_not_html": 3}


def test_wrong_or_missing_charset_is_detected(tmp_path):
    text = "<html><body><p>" + "Café crème brûlée à la française, très élégant. " * 30 + "</p></body></html>"
    payload = text.encode("windows-1252")
    path = write(
        tmp_path / "charset.warc.gz",
        record_bytes(0, payload, "text/html; charset=utf-8"),
        record_bytes(1, payload, "text/html"),
    )
    docs, counters = read(path)
    assert len(docs) == 2 and all("Café crème brûlée" in d.text for d in docs)


def test_oversized_page_is_skipped_and_the_next_one_read(tmp_path):
    huge = ARTICLE.format(i=0, body="word " * 4_200_000).encode()  # ~21 MB
    docs, counters = read(write(tmp_path / "big.warc.gz", record_bytes(0, huge), record_bytes(1)))
    assert [d.metadata["url"] for d in docs] == ["https://example.com/page/1"]
    assert counters == {"skipped_too_large": 1}


def test_empty_file_gives_nothing(tmp_path):
    docs, counters = read(write(tmp_path / "empty.warc.gz"))
    assert docs == []


def test_real_clipped_record_is_counted():
    docs, counters = read(shared_file("crawl/clipped-record.warc.gz"))
    assert docs == [] and counters == {"skipped_corrupt_record": 1}


def test_real_single_stream_wet():
    docs, counters = read(shared_file("crawl/CC-MAIN-2016-50-excerpt.wet.gz"))
    assert len(docs) == 25 and counters["files_single_gzip_stream"] == 1


@pytest.mark.parametrize(
    "name",
    [
        "crawl/heritrix-2008-mixed-content.warc.gz",
        "crawl/CC-MAIN-2020-34-excerpt.warc.gz",
        "crawl/sample-0000.warc.gz",
        "crawl/CC-2008-2009-arc-samples.warc.gz",
        "crawl/whirlwind.warc.wet.gz",
    ],
)
def test_real_files_match_datatrove_reader(name):
    from datatrove.pipeline.readers import WarcReader

    path = shared_file(name)
    docs, counters = read(path)
    reference = list(WarcReader(str(path.parent), glob_pattern=path.name).run())
    assert [(d.id, d.text, d.metadata["url"]) for d in docs] == [
        (d.id, d.text, d.metadata["url"]) for d in reference
    ]
    assert docs


def test_real_heritrix_skips_are_explained():
    docs, counters = read(shared_file("crawl/heritrix-2008-mixed-content.warc.gz"))
    assert counters["skipped_not_html"] > 100  # images, xml, dns: records
    assert counters["skipped_record_request"] > 0 and counters["skipped_record_metadata"] > 0


class Zeros(io.RawIOBase):
    """`size` zero bytes, produced as read: a gzip bomb's payload without holding it in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_gzip_bomb_record_is_skipped_with_bounded_memory(tmp_path):
    import tracemalloc

    size = 200 * 2**20  # 200 MiB of zeros compress to ~200 KiB
    path = tmp_path / "bomb.warc.gz"
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        bomb = writer.create_warc_record(
            "https://example.com/bomb",
            "response",
            payload=Zeros(size),
            length=size,
            http_headers=http,
            warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"},
        )
        writer.write_record(bomb)
        f.write(record_bytes(1))
    assert path.stat().st_size < 2 * 2**20
    tracemalloc.start()
    docs, counters = read(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert counters == {"skipped_too_large": 1} and [d.metadata["url"] for d in docs] == [
        "https://example.com/page/1"
    ]
    # The 10 MiB cap plus warcio's buffers: one 16 KiB compressed block can inflate ~1000x (deflate's limit),
    # so a few tens of MiB, never the 200 MiB payload.
    assert peak < 100 * 2**20


def warcinfo_bytes(is_part_of: str) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    writer.write_record(writer.create_warcinfo_record("crawl.warc.gz", {"isPartOf": is_part_of}))
    return buffer.getvalue()


def read_dumps(folder: Path, name: str, **kwargs) -> set[str]:
    reader = CrawlReader(str(folder), glob_pattern=name, default_metadata={"dump": "recipe-label"}, **kwargs)
    return {doc.metadata["dump"] for doc in reader.run()}


@pytest.mark.parametrize(
    ("name", "dump"),
    [
        ("CC-MAIN-2020-34-excerpt.warc.gz", "CC-MAIN-2020-34"),
        ("CC-MAIN-2016-50-excerpt.wet.gz", "CC-MAIN-2016-50"),
        ("whirlwind.warc.gz", "CC-MAIN-2024-22"),
        ("heritrix-2008-mixed-content.warc.gz", "recipe-label"),
        ("sample-0000.warc.gz", "recipe-label"),
    ],
)
def test_real_files_are_labelled_with_their_snapshot(name, dump):
    """Common Crawl's warcinfo says which snapshot a file is part of; other crawls (archive.org's heritrix
    `isPartOf: archive.org-shallow`, wget) keep the recipe's label."""
    path = shared_file(f"crawl/{name}")
    assert read_dumps(path.parent, path.name) == {dump}
    assert read_dumps(path.parent, path.name, dump_from_input=False) == {"recipe-label"}


def test_snapshot_from_path_then_warcinfo(tmp_path):
    folder = tmp_path / "crawl-data" / "CC-MAIN-2023-50" / "segments"
    folder.mkdir(parents=True)
    (folder / "a.warc.gz").write_bytes(record_bytes(1))  # no warcinfo: the path tells
    (folder / "b.warc.gz").write_bytes(warcinfo_bytes("CC-MAIN-2024-10") + record_bytes(2))
    assert read_dumps(folder, "a.warc.gz") == {"CC-MAIN-2023-50"}
    assert read_dumps(folder, "b.warc.gz") == {"CC-MAIN-2024-10"}  # the file's own record wins
    (tmp_path / "c.warc.gz").write_bytes(warcinfo_bytes("my-crawl") + record_bytes(3))
    assert read_dumps(tmp_path, "c.warc.gz") == {"recipe-label"}
