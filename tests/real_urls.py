"""Real URLs from ../shared/data: the extraction index and every record of the crawl files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

INDEX = Path("extraction") / "real_pages_aeb_trafilatura.index.jsonl"
CRAWL = Path("crawl")


def real_urls(data_dir: Path) -> list[str]:
    """Distinct URLs, in file order: the index's `url`, each WARC/WET/WAT record's WARC-Target-URI (as
    finemill's reader reads it) and the Dolma documents' `metadata.url` / `metadata.warc_url`."""
    urls = [json.loads(line)["url"] for line in (data_dir / INDEX).open(encoding="utf-8")]
    for path in sorted((data_dir / CRAWL).glob("*.w*.gz")):
        urls += _target_uris(path)
    for path in sorted((data_dir / CRAWL).glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                metadata = json.loads(line).get("metadata") or {}
                urls += [metadata[k] for k in ("url", "warc_url") if metadata.get(k)]
    return list(dict.fromkeys(urls))


def _target_uris(path: Path) -> list[str]:
    try:
        with path.open("rb") as f:
            return [u for r in ArchiveIterator(f) if (u := r.rec_headers.get_header("WARC-Target-URI"))]
    except ArchiveLoadFailed:  # one gzip stream for the whole file (not per record): read it decompressed
        with gzip.open(path, "rb") as f:
            return [u for r in ArchiveIterator(f) if (u := r.rec_headers.get_header("WARC-Target-URI"))]
