"""Reading crawl files that are not always well formed.

datatrove's WarcReader stops a whole task at the first broken gzip member or clipped record, and skips
non-HTML or undecodable records without a trace. Real crawl files have all of these. `CrawlReader`
produces exactly the documents datatrove's reader produces for good records (same text, id, url, date),
and for the rest:

- a broken gzip member or record: counted (`skipped_corrupt_record`), reading resumes at the next gzip
  member of a per-record-gzip file, so the records after the bad one are still read;
- a file compressed as ONE gzip stream (some WET files; warcio refuses these): read as one stream;
- non-HTML payloads, request/metadata records, undecodable text, oversized records: counted with a
  reason (`skipped_<reason>`), never silently dropped.

Each document's `dump` is the Common Crawl snapshot its file belongs to where the input says so (the
warcinfo record's `isPartOf: CC-MAIN-2020-34`, else a `CC-MAIN-YYYY-WW` folder or name in its path), and
the recipe's label otherwise (`dump_from_input=False`: the recipe's label always).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from typing import IO

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.readers import WarcReader
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

GZIP_MAGIC = b"\x1f\x8b\x08"
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_RECORD_BYTES = 10 * 2**20  # Common Crawl truncates payloads at 1 MiB; 10x that is not a web page
SCAN_CHUNK = 1 << 20
SNAPSHOT = re.compile(r"CC-MAIN-\d{4}-\d{2}")  # a Common Crawl snapshot's name, e.g. CC-MAIN-2024-22
IS_PART_OF = re.compile(rb"^isPartOf:\s*(CC-MAIN-\d{4}-\d{2})\s*$", re.MULTILINE)


class CrawlReader(WarcReader):
    """WARC/WET reader (gzip per record, one gzip stream, or plain) that survives bad records."""

    name = "🕷 Crawl reader"

    def __init__(
        self, *args, max_record_bytes: int = MAX_RECORD_BYTES, dump_from_input: bool = True, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_record_bytes = max_record_bytes
        self.dump_from_input = dump_from_input
        # how far this task has read its files, for finemill's progress line (finemill.pipeline.progress)
        self._bytes_done = self._bytes_position = self._bytes_opened = 0

    def input_bytes(self) -> tuple[int, int]:
        """(bytes read, bytes of the files opened so far) of this task's input files."""
        return self._bytes_done + self._bytes_position, self._bytes_opened

    def read_file(self, filepath: str) -> DocumentsPipeline:
        dump = snapshot_in_path(f"{self.data_folder.path}/{filepath}") if self.dump_from_input else None
        with self.data_folder.open(filepath, "rb", compression=None) as raw:
            size = _size(raw)
            self._bytes_opened += size
            for index, (record, payload) in enumerate(self._records(raw)):
                self._bytes_position = raw.tell()
                with self.track_time():
                    if record.rec_type == "warcinfo" and self.dump_from_input:
                        dump = snapshot_in_warcinfo(payload) or dump
                    extracted = record_to_dict(record, payload, self.max_record_bytes)
                    if isinstance(extracted, str):
                        self.stat_update(f"skipped_{extracted}")
                        continue
                    document = self.get_document_from_dict(extracted, filepath, index)
                if document:
                    if dump:
                        document.metadata["dump"] = dump
                        self.stat_update("dump_from_input")
                    yield document
        self._bytes_done += size
        self._bytes_position = 0

    def _records(self, raw: IO[bytes]) -> Iterator[tuple]:
        """(record, payload) for every readable record of the file, resynchronising after broken ones."""
        if not _is_gzip(raw):
            yield from self._guarded(ArchiveIterator(raw), raw, resync=False)
            return
        seen = 0
        try:
            for item in self._guarded(ArchiveIterator(raw), raw, resync=True):
                seen += 1
                yield item
        except _WholeStreamGzip:
            # warcio reads the first record of a one-stream file, then refuses: read it again as one
            # stream and skip the records already given out.
            raw.seek(0)
            self.stat_update("files_single_gzip_stream")
            stream = self._guarded(ArchiveIterator(gzip.GzipFile(fileobj=raw)), raw, resync=False)
            for index, item in enumerate(stream):
                if index >= seen:
                    yield item

    def _guarded(self, records: ArchiveIterator, raw: IO[bytes], resync: bool) -> Iterator[tuple]:
        """Yield records; after a failure, resume at the next gzip member. One broken stretch of the file
        (which may hold false gzip headers that fail in turn) counts as one corrupt record."""
        last_good_offset, in_broken_stretch = -1, False
        while True:
            try:
                for record in records:
                    last_good_offset = records.offset  # start of this record (get_record_offset reads on)
                    payload = _read_payload(record, self.max_record_bytes)
                    in_broken_stretch = False
                    yield record, payload
                if not resync or records.offset >= _size(raw):
                    return
                # warcio stops quietly at a truncated gzip member: bytes are left that gave no record.
                last_good_offset = records.offset
                raise EOFError("trailing bytes that are no record")
            except ArchiveLoadFailed as e:
                if "non-chunked gzip" in str(e):
                    raise _WholeStreamGzip from e
            except (OSError, EOFError, ValueError):  # zlib errors, truncated members, bad headers
                pass
            if not in_broken_stretch:
                self.stat_update("skipped_corrupt_record")
                in_broken_stretch = True
            if not resync:
                return
            next_member = _next_gzip_member(raw, last_good_offset + 1)
            if next_member is None:
                return
            raw.seek(next_member)
            last_good_offset = next_member
            records = ArchiveIterator(raw)


def snapshot_in_path(path: str) -> str | None:
    """The last `CC-MAIN-YYYY-WW` in a file's path (`.../crawl-data/CC-MAIN-2024-22/segments/...`)."""
    found = SNAPSHOT.findall(path)
    return found[-1] if found else None


def snapshot_in_warcinfo(payload: bytes | None) -> str | None:
    """The snapshot a warcinfo record names (`isPartOf: CC-MAIN-2020-34`); None for other crawls."""
    found = IS_PART_OF.search(payload or b"")
    return found.group(1).decode() if found else None


class _WholeStreamGzip(Exception):
    """The file is one gzip stream, not one gzip member per record."""


def _size(raw: IO[bytes]) -> int:
    position = raw.tell()
    size = raw.seek(0, 2)
    raw.seek(position)
    return size


def _is_gzip(raw: IO[bytes]) -> bool:
    head = raw.read(3)
    raw.seek(0)
    return head == GZIP_MAGIC


def _next_gzip_member(raw: IO[bytes], start: int) -> int | None:
    """Offset of the next gzip member header at or after `start`, or None at the end of the file."""
    raw.seek(start)
    position = start
    tail = b""
    while chunk := raw.read(SCAN_CHUNK):
        window = tail + chunk
        found = window.find(GZIP_MAGIC)
        if found >= 0:
            return position - len(tail) + found
        tail = window[-2:]
        position += len(chunk)
    return None


def _read_payload(record, max_bytes: int) -> bytes | None:
    """The payload of response/conversion (and warcinfo) records, read now so a clipped record fails here,
    inside the guarded loop. None for other record types (their payload is never used)."""
    if record.rec_type == "warcinfo":
        return record.content_stream().read(max_bytes)  # a few fields, e.g. isPartOf: the snapshot
    if record.rec_type not in ("response", "conversion"):
        return None
    payload = record.content_stream().read(max_bytes + 1)
    if len(payload) <= max_bytes and record.raw_stream.limit > 0:
        raise EOFError("record ends before its Content-Length")  # a clipped record
    return payload  # max_bytes + 1 bytes means oversized; warcio skips the rest of the record


def record_to_dict(record, payload: bytes | None, max_bytes: int = MAX_RECORD_BYTES) -> dict | str:
    """The document fields of a record, exactly as datatrove's `process_record` makes them, or the reason
    it is not a document."""
    import cchardet
    import magic

    if record.rec_type not in ("response", "conversion"):  # WET text records are "conversion"
        return f"record_{record.rec_type}"
    if len(payload) > max_bytes:
        return "too_large"
    mime_type = record.rec_headers.get("WARC-Identified-Payload-Type", None)
    if mime_type is None:  # older crawls have no identified payload type: sniff it as datatrove does
        mime_type = magic.from_buffer(payload, mime=True)
    if mime_type not in HTML_TYPES and not (record.rec_type == "conversion" and mime_type == "text/plain"):
        return "not_html"
    text = _decode(payload, cchardet)
    if text is None:
        return "undecodable"
    headers = record.rec_headers
    url = headers.get("WARC-Target-URI", None) or dict(headers.headers).get("uri")
    date = headers.get("WARC-Date", None) or dict(headers.headers).get("archive-date")
    return {"text": text, "id": headers["WARC-Record-ID"], "url": url, "date": date}


def _decode(payload: bytes, cchardet) -> str | None:
    """UTF-8 first, then the charset cchardet detects (datatrove's rule, which FineWeb used)."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    detected = cchardet.detect(payload)["encoding"]
    if not detected or detected == "UTF-8":
        return None
    try:
        return payload.decode(detected)
    except (UnicodeDecodeError, LookupError):
        return None
